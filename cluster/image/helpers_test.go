package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// entry is one tar entry of a test layer.
type entry struct {
	name string
	typ  byte // tar.TypeReg if zero
	body string
	link string
	mode int64
}

// layer is a test layer, gzip- or zstd-compressed or not.
type layer struct {
	entries []entry
	gzip    bool
	zstd    bool
}

// tarBytes returns a tar of entries.
func tarBytes(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body[:hdr.Size])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layoutTar returns an OCI layout tarball with one image made of layers,
// written independently of Build. annotations name the manifest in index.json.
func layoutTar(t testing.TB, annotations map[string]string, cfg ocispec.ImageConfig, layers []layer) []byte {
	t.Helper()
	blobs := map[digest.Digest][]byte{}
	add := func(data []byte) digest.Digest {
		d := digest.FromBytes(data)
		blobs[d] = data
		return d
	}
	img := ocispec.Image{Config: cfg, RootFS: ocispec.RootFS{Type: "layers"}}
	img.OS, img.Architecture = "linux", "amd64"
	var descs []ocispec.Descriptor
	for _, l := range layers {
		raw := tarBytes(t, l.entries)
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, digest.FromBytes(raw))
		mt := ocispec.MediaTypeImageLayer
		switch {
		case l.gzip:
			raw, mt = gzipBytes(t, raw), ocispec.MediaTypeImageLayerGzip
		case l.zstd:
			raw, mt = zstdBytes(t, raw), ocispec.MediaTypeImageLayerZstd
		}
		descs = append(descs, ocispec.Descriptor{MediaType: mt, Digest: add(raw), Size: int64(len(raw))})
	}
	configJSON := mustJSON(t, img)
	manifestJSON := mustJSON(t, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: add(configJSON), Size: int64(len(configJSON))},
		Layers:    descs,
	})
	md := add(manifestJSON)
	index := mustJSON(t, ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		Manifests: []ocispec.Descriptor{{
			MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(manifestJSON)), Annotations: annotations,
		}},
	})
	var files []entry
	files = append(files, entry{name: "index.json", body: string(index)}, entry{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`})
	for d, data := range blobs {
		files = append(files, entry{name: "blobs/sha256/" + d.Encoded(), body: string(data)})
	}
	return tarBytes(t, files)
}

func zstdBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(data, nil)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func named(ref string) map[string]string {
	return map[string]string{AnnotationImageName: ref}
}

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readTree returns the files of a rootfs: path → content, "<dir>" for a
// directory, "-> target" for a symlink.
func readTree(t testing.TB, root string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			tree[rel] = "-> " + target
			return err
		case d.IsDir():
			tree[rel] = "<dir>"
		default:
			data, err := os.ReadFile(p)
			tree[rel] = string(data)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}
