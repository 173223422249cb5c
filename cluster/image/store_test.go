package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestBuildImportGet(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(src, []byte("#!/bin/true\n"), 0o750); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Entrypoint: []string{"/bin/tool"},
		Cmd:        []string{"serve", "--fast"},
		Env:        []string{"A=1", "B=two"},
		WorkingDir: "/work",
		User:       "1000:1000",
		Labels:     map[string]string{"purpose": "test"},
	}
	files := []File{
		{Path: "/etc/greeting", Content: []byte("hello\n")},
		{Path: "bin/tool", Source: src},
		{Path: "/work", Mode: fs.ModeDir | 0o700},
		{Path: "/bin/alias", Mode: fs.ModeSymlink, Linkname: "tool"},
		{Path: "/etc/secret", Content: []byte("s"), Mode: 0o600},
	}
	var buf bytes.Buffer
	if err := Build(&buf, "example/tool:1.0", cfg, files); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := Build(&again, "example/tool:1.0", cfg, files); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two builds of the same image differ")
	}

	s := openStore(t)
	refs, err := s.Import(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	const ref = "docker.io/example/tool:1.0"
	if !reflect.DeepEqual(refs, []string{ref}) {
		t.Fatalf("imported %q", refs)
	}
	img, err := s.Get("example/tool:1.0")
	if err != nil {
		t.Fatal(err)
	}
	if img.Ref != ref || !strings.HasPrefix(img.ID, "sha256:") || !strings.HasPrefix(img.Digest, "sha256:") {
		t.Errorf("image %+v", img)
	}
	if !reflect.DeepEqual(img.Config, cfg) {
		t.Errorf("config\n got %+v\nwant %+v", img.Config, cfg)
	}
	want := map[string]string{
		"etc":          "<dir>",
		"etc/greeting": "hello\n",
		"etc/secret":   "s",
		"bin":          "<dir>",
		"bin/tool":     "#!/bin/true\n",
		"bin/alias":    "-> tool",
		"work":         "<dir>",
	}
	if got := readTree(t, img.RootFS); !maps.Equal(got, want) {
		t.Errorf("rootfs\n got %v\nwant %v", got, want)
	}
	for name, mode := range map[string]fs.FileMode{"bin/tool": 0o750, "etc/secret": 0o600, "etc/greeting": 0o644, "work": 0o700 | fs.ModeDir} {
		fi, err := os.Lstat(filepath.Join(img.RootFS, name))
		if err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v (%v), want %v", name, fi.Mode(), err, mode)
		}
	}

	// The same image by digest reference and by ID.
	byDigest, err := s.Get("example/tool@" + img.Digest)
	if err != nil || byDigest.ID != img.ID || byDigest.Ref != "docker.io/example/tool@"+img.Digest {
		t.Errorf("by digest: %+v, %v", byDigest, err)
	}
	byID, err := s.Get(img.ID)
	if err != nil || byID.Ref != ref || byID.RootFS != img.RootFS {
		t.Errorf("by ID: %+v, %v", byID, err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Ref != ref || list[0].ID != img.ID || list[0].Size <= 0 {
		t.Errorf("List = %+v, %v", list, err)
	}

	// The store survives reopening.
	s2, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if img2, err := s2.Get(ref); err != nil || img2.RootFS != img.RootFS {
		t.Errorf("reopened: %+v, %v", img2, err)
	}
}

func TestBuildRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		ref   string
		files []File
	}{
		"digest ref":   {ref: "x@sha256:" + strings.Repeat("a", 64)},
		"bad ref":      {ref: "X"},
		"traversal":    {ref: "x", files: []File{{Path: "../etc/passwd"}}},
		"twice":        {ref: "x", files: []File{{Path: "/a"}, {Path: "a"}}},
		"root":         {ref: "x", files: []File{{Path: "/"}}},
		"no source":    {ref: "x", files: []File{{Path: "a", Source: "/does/not/exist"}}},
		"device files": {ref: "x", files: []File{{Path: "a", Mode: fs.ModeDevice}}},
	} {
		if err := Build(&bytes.Buffer{}, tc.ref, Config{}, tc.files); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func TestGetNotFound(t *testing.T) {
	s := openStore(t)
	for _, ref := range []string{"fixture", "seven.local/fixture:v1", "x@sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("b", 64)} {
		if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := s.Get("Not A Ref"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an invalid ref = %v, want a parse error", err)
	}
}

func TestImportCompressed(t *testing.T) {
	layers := []layer{
		{entries: []entry{{name: "a", body: "from a gzip layer"}}, gzip: true},
		{entries: []entry{{name: "b", body: "from a plain layer"}}},
		{entries: []entry{{name: "c", body: "from a zstd layer"}}, zstd: true},
	}
	tarball := gzipBytes(t, layoutTar(t, named("app:v1"), ocispec.ImageConfig{Cmd: []string{"run"}}, layers))
	s := openStore(t)
	if _, err := s.Import(bytes.NewReader(tarball)); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get("app:v1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "from a gzip layer", "b": "from a plain layer", "c": "from a zstd layer"}
	if got := readTree(t, img.RootFS); !maps.Equal(got, want) {
		t.Errorf("rootfs %v, want %v", got, want)
	}
}

func TestImportMultiPlatform(t *testing.T) {
	single := layoutTar(t, nil, ocispec.ImageConfig{Cmd: []string{"mine"}}, []layer{{entries: []entry{{name: "f", body: "x"}}}})
	// Re-wrap the single manifest in a platform index, next to a manifest
	// for another platform whose blobs the tarball lacks (as docker save does).
	var entries []entry
	var index ocispec.Index
	tr := tar.NewReader(bytes.NewReader(single))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		data := new(bytes.Buffer)
		data.ReadFrom(tr)
		if hdr.Name == "index.json" {
			if err := json.Unmarshal(data.Bytes(), &index); err != nil {
				t.Fatal(err)
			}
			continue
		}
		entries = append(entries, entry{name: hdr.Name, body: data.String()})
	}
	mine := index.Manifests[0]
	mine.Platform = &ocispec.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	other := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("elsewhere"), Size: 9,
		Platform: &ocispec.Platform{OS: "plan9", Architecture: "mips"},
	}
	nested := mustJSON(t, ocispec.Index{Versioned: index.Versioned, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{other, mine}})
	nd := digest.FromBytes(nested)
	top := mustJSON(t, ocispec.Index{Versioned: index.Versioned, Manifests: []ocispec.Descriptor{{
		MediaType: ocispec.MediaTypeImageIndex, Digest: nd, Size: int64(len(nested)), Annotations: named("multi:1"),
	}}})
	entries = append(entries, entry{name: "blobs/sha256/" + nd.Encoded(), body: string(nested)}, entry{name: "index.json", body: string(top)})

	s := openStore(t)
	if _, err := s.Import(bytes.NewReader(tarBytes(t, entries))); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get("multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != mine.Digest.String() || !reflect.DeepEqual(img.Config.Cmd, []string{"mine"}) {
		t.Errorf("picked %s %+v, want %s", img.Digest, img.Config, mine.Digest)
	}
}

func TestImportNames(t *testing.T) {
	for _, tc := range []struct {
		annotations map[string]string
		want        string // "" for an error
	}{
		{named("docker.io/library/busybox:latest"), "docker.io/library/busybox:latest"},
		{map[string]string{ocispec.AnnotationRefName: "seven.local/app:v2"}, "seven.local/app:v2"},
		{map[string]string{ocispec.AnnotationRefName: "latest", AnnotationImageName: "busybox"}, "docker.io/library/busybox:latest"},
		{map[string]string{ocispec.AnnotationRefName: "latest"}, ""}, // a bare tag names nothing
		{nil, ""},
	} {
		tarball := layoutTar(t, tc.annotations, ocispec.ImageConfig{}, []layer{{entries: []entry{{name: "f"}}}})
		refs, err := openStore(t).Import(bytes.NewReader(tarball))
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%v: imported %q, want an error", tc.annotations, refs)
		case tc.want != "" && (err != nil || len(refs) != 1 || refs[0] != tc.want):
			t.Errorf("%v: imported %q, %v; want %s", tc.annotations, refs, err, tc.want)
		}
	}
}

func TestImportRejectsBadTarballs(t *testing.T) {
	good := layoutTar(t, named("app:v1"), ocispec.ImageConfig{}, []layer{{entries: []entry{{name: "f", body: "x"}}}})
	without := func(skip string) []byte {
		var out []entry
		tr := tar.NewReader(bytes.NewReader(good))
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}
			data := new(bytes.Buffer)
			data.ReadFrom(tr)
			if !strings.Contains(hdr.Name, skip) {
				out = append(out, entry{name: hdr.Name, body: data.String()})
			}
		}
		return tarBytes(t, out)
	}
	// A blob whose content does not match its name.
	var corrupt []entry
	tr := tar.NewReader(bytes.NewReader(good))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		data := new(bytes.Buffer)
		data.ReadFrom(tr)
		body := data.String()
		if strings.HasPrefix(hdr.Name, "blobs/") && body == string(tarBytes(t, []entry{{name: "f", body: "x"}})) {
			body = string(tarBytes(t, []entry{{name: "f", body: "y"}}))
		}
		corrupt = append(corrupt, entry{name: hdr.Name, body: body})
	}
	layerDigest := digest.FromBytes(tarBytes(t, []entry{{name: "f", body: "x"}}))

	for name, tarball := range map[string][]byte{
		"no index":      without("index.json"),
		"missing layer": without(layerDigest.Encoded()),
		"corrupt blob":  tarBytes(t, corrupt),
		"not a tar":     []byte("hello"),
		"bad layout":    tarBytes(t, []entry{{name: "oci-layout", body: `{"imageLayoutVersion":"9"}`}}),
		"bad blob name": tarBytes(t, []entry{{name: "blobs/sha256/not-a-digest", body: "x"}}),
		"bad algorithm": tarBytes(t, []entry{{name: "blobs/md5/" + strings.Repeat("a", 32), body: "x"}}),
	} {
		s := openStore(t)
		if refs, err := s.Import(bytes.NewReader(tarball)); err == nil {
			t.Errorf("%s: imported %q", name, refs)
		} else {
			t.Logf("%s: %v", name, err)
		}
		if list, _ := s.List(); len(list) != 0 {
			t.Errorf("%s: the store lists %v", name, list)
		}
	}
}

func TestImportReplacesRef(t *testing.T) {
	s := openStore(t)
	for _, body := range []string{"one", "two"} {
		var buf bytes.Buffer
		if err := Build(&buf, "app:v1", Config{}, []File{{Path: "f", Content: []byte(body)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(&buf); err != nil {
			t.Fatal(err)
		}
		img, err := s.Get("app:v1")
		if err != nil {
			t.Fatal(err)
		}
		if got := readTree(t, img.RootFS)["f"]; got != body {
			t.Errorf("f = %q, want %q", got, body)
		}
	}
}

func TestWhiteouts(t *testing.T) {
	layers := []layer{
		{entries: []entry{
			{name: "a/x", body: "x"},
			{name: "a/y", body: "y"},
			{name: "b/", typ: tar.TypeDir},
			{name: "b/z", body: "z"},
			{name: "c/old", body: "old"},
			{name: "c/sub/old", body: "old"},
			{name: "d", body: "a file that becomes a directory"},
			{name: "e/", typ: tar.TypeDir},
			{name: "link", typ: tar.TypeSymlink, link: "a/y"},
		}},
		{gzip: true, entries: []entry{
			{name: "a/.wh.x"},
			{name: ".wh.b"},
			{name: "c/new", body: "new"}, // before the opaque marker: it must survive it
			{name: "c/.wh..wh..opq"},
			{name: "c/sub/new", body: "new"},
			{name: ".wh.d"},
			{name: "d/inside", body: "i"},
			{name: "e", body: "a directory that becomes a file"},
			{name: "link", body: "a symlink that becomes a file"},
			{name: ".wh.nothing-there"},
		}},
		{entries: []entry{
			{name: "a/x", body: "back"},
			{name: "hard", typ: tar.TypeLink, link: "a/y"},
		}},
	}
	s := openStore(t)
	if _, err := s.Import(bytes.NewReader(layoutTar(t, named("wh:1"), ocispec.ImageConfig{}, layers))); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get("wh:1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a":         "<dir>",
		"a/x":       "back",
		"a/y":       "y",
		"c":         "<dir>",
		"c/new":     "new",
		"c/sub":     "<dir>",
		"c/sub/new": "new",
		"d":         "<dir>",
		"d/inside":  "i",
		"e":         "a directory that becomes a file",
		"link":      "a symlink that becomes a file",
		"hard":      "y",
	}
	if got := readTree(t, img.RootFS); !maps.Equal(got, want) {
		t.Errorf("rootfs\n got %v\nwant %v", got, want)
	}
}

func TestUnpackRejectsEscapes(t *testing.T) {
	outside := t.TempDir()
	for name, layers := range map[string][]layer{
		"dotdot":          {{entries: []entry{{name: "../../escaped", body: "x"}}}},
		"dotdot inside":   {{entries: []entry{{name: "a/../../escaped", body: "x"}}}},
		"hard link out":   {{entries: []entry{{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}}}},
		"through symlink": {{entries: []entry{{name: "s", typ: tar.TypeSymlink, link: outside}}}, {entries: []entry{{name: "s/escaped", body: "x"}}}},
		"relative symlink": {
			{entries: []entry{{name: "s", typ: tar.TypeSymlink, link: "../../../../../../../../" + outside}}},
			{entries: []entry{{name: "s/escaped", body: "x"}}},
		},
		"whiteout of the root":   {{entries: []entry{{name: "f", body: "x"}}}, {entries: []entry{{name: ".wh.."}}}},
		"whiteout of the parent": {{entries: []entry{{name: "a/f", body: "x"}}}, {entries: []entry{{name: "a/.wh..."}}}},
		"whiteout out":           {{entries: []entry{{name: "s", typ: tar.TypeSymlink, link: outside}}}, {entries: []entry{{name: "s/.wh.keep"}}}},
	} {
		if err := os.WriteFile(filepath.Join(outside, "keep"), []byte("k"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := openStore(t)
		_, err := s.Import(bytes.NewReader(layoutTar(t, named("evil:1"), ocispec.ImageConfig{}, layers)))
		if err == nil {
			_, err = s.Get("evil:1")
		}
		if err == nil {
			t.Errorf("%s: unpacked", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
		if got := readTree(t, outside); !maps.Equal(got, map[string]string{"keep": "k"}) {
			t.Errorf("%s: outside directory now %v", name, got)
		}
		if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "rootfs")); len(entries) != 0 {
			t.Errorf("%s: a rootfs was kept", name)
		}
		if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(entries) != 0 {
			t.Errorf("%s: staging left behind: %v", name, entries)
		}
	}
}

func TestConcurrentGet(t *testing.T) {
	var buf bytes.Buffer
	files := []File{{Path: "big", Content: bytes.Repeat([]byte("0123456789abcdef"), 1<<16)}}
	for i := range 50 {
		files = append(files, File{Path: filepath.Join("dir", string(rune('a'+i%26))+strings.Repeat("x", i)), Content: []byte("f")})
	}
	if err := Build(&buf, "app:v1", Config{}, files); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Import(&buf); err != nil {
		t.Fatal(err)
	}
	// Several stores on one directory stand for several processes.
	stores := []*Store{first}
	for range 3 {
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	var wg sync.WaitGroup
	roots := make([]string, 16)
	errs := make([]error, 16)
	for i := range roots {
		wg.Go(func() {
			img, err := stores[i%len(stores)].Get("app:v1")
			if err == nil {
				roots[i] = img.RootFS
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i := range roots {
		if errs[i] != nil || roots[i] != roots[0] {
			t.Errorf("Get %d: %q, %v (first: %q)", i, roots[i], errs[i], roots[0])
		}
	}
	if got := readTree(t, roots[0]); len(got) != 52 {
		t.Errorf("rootfs has %d entries, want 52", len(got))
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Errorf("staging left behind: %v", entries)
	}
}
