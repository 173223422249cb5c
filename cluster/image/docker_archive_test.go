package image

import (
	"archive/tar"
	"bytes"
	"maps"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// testdata/docker-save-legacy.tar.gz is `docker save` output of Docker 20.10
// (the legacy format: manifest.json, no index.json) for this Dockerfile, with
// files etc/greeting ("hello"), one ("one"), two ("two") and link -> one
// (which COPY follows, so the image holds a copy of one):
//
//	FROM scratch
//	COPY etc /etc
//	COPY one link /
//	COPY two /sub/
//	ENV GREETING=hi
//	ENTRYPOINT ["/nothing"]
//	CMD ["arg"]
//	WORKDIR /sub
func TestImportDockerSaveLegacy(t *testing.T) {
	f, err := os.Open("testdata/docker-save-legacy.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := openStore(t)
	refs, err := s.Import(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"docker.io/seven-test/legacy:1"}; !slices.Equal(refs, want) {
		t.Fatalf("imported %q, want %q", refs, want)
	}
	img, err := s.Get("seven-test/legacy:1")
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != "sha256:0f68143da77b6a9ad93d4769574bd3a993f1e927b947696d70433bd811897e6f" {
		t.Errorf("ID %s, want the one docker showed", img.ID)
	}
	c := img.Config
	if !reflect.DeepEqual(c.Entrypoint, []string{"/nothing"}) || !reflect.DeepEqual(c.Cmd, []string{"arg"}) ||
		!slices.Contains(c.Env, "GREETING=hi") || c.WorkingDir != "/sub" {
		t.Errorf("config %+v", c)
	}
	want := map[string]string{
		"etc":          "<dir>",
		"etc/greeting": "hello\n",
		"one":          "one\n",
		"link":         "one\n",
		"sub":          "<dir>",
		"sub/two":      "two\n",
	}
	if got := readTree(t, img.RootFS); !maps.Equal(got, want) {
		t.Errorf("rootfs\n got %v\nwant %v", got, want)
	}
}

// A Docker 25+ archive read through its manifest.json alone: the config is a
// blob, and the layer paths are symlinks to blobs.
func TestImportDockerManifestWithSymlinks(t *testing.T) {
	layerTar := tarBytes(t, []entry{{name: "f", body: "via a symlink"}})
	ld := digest.FromBytes(layerTar)
	config := mustJSON(t, ocispec.Image{
		Config: ocispec.ImageConfig{Cmd: []string{"c"}},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{ld}},
	})
	cd := digest.FromBytes(config)
	manifest := mustJSON(t, []dockerManifestEntry{{
		Config:   "blobs/sha256/" + cd.Encoded(),
		RepoTags: []string{"app:1", "app:latest"},
		Layers:   []string{"abc/layer.tar"},
	}})
	tarball := tarBytes(t, []entry{
		{name: "blobs/sha256/" + cd.Encoded(), body: string(config)},
		{name: "blobs/sha256/" + ld.Encoded(), body: string(layerTar)},
		{name: "abc/layer.tar", typ: tar.TypeSymlink, link: "../blobs/sha256/" + ld.Encoded()},
		{name: "manifest.json", body: string(manifest)},
	})
	s := openStore(t)
	refs, err := s.Import(bytes.NewReader(tarball))
	if want := []string{"docker.io/library/app:1", "docker.io/library/app:latest"}; err != nil || !slices.Equal(refs, want) {
		t.Fatalf("imported %q, %v; want %q", refs, err, want)
	}
	img, err := s.Get("app")
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, img.RootFS); !maps.Equal(got, map[string]string{"f": "via a symlink"}) {
		t.Errorf("rootfs %v", got)
	}
}
