package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestFixtureArchive: a fixture archive imports as the image EnsureFixtures
// builds, through its OCI index and, alone, through its docker save
// manifest.json.
func TestFixtureArchive(t *testing.T) {
	bin := fakeBinary(t, 64<<10)
	var archive bytes.Buffer
	if err := WriteFixtureArchive(&archive, bin, "v2"); err != nil {
		t.Fatal(err)
	}
	ensured := openStore(t)
	if err := ensured.EnsureFixtures(bin); err != nil {
		t.Fatal(err)
	}
	want, err := ensured.Get(FixtureRepository + ":v2")
	if err != nil {
		t.Fatal(err)
	}

	for name, tarball := range map[string][]byte{
		"oci layout":       archive.Bytes(),
		"docker save only": withoutEntries(t, archive.Bytes(), "index.json", "oci-layout"),
	} {
		s := openStore(t)
		refs, err := s.Import(bytes.NewReader(tarball))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(refs, []string{FixtureRepository + ":v2"}) {
			t.Errorf("%s: imported %q", name, refs)
		}
		img, err := s.Get(FixtureRepository + ":v2")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.ID != want.ID || !reflect.DeepEqual(img.Config, want.Config) {
			t.Errorf("%s: image %s %+v, EnsureFixtures built %s %+v", name, img.ID, img.Config, want.ID, want.Config)
		}
		if got, _ := os.ReadFile(filepath.Join(img.RootFS, "fixture")); !bytes.Equal(got, mustRead(t, bin)) {
			t.Errorf("%s: /fixture is not the binary", name)
		}
	}

	if err := WriteFixtureArchive(io.Discard, bin, "v9"); err == nil {
		t.Error("tag v9: no error")
	}
}

// TestImportTruncatedLeavesNoTrace: an import that fails after storing some
// blobs removes them again, and names no image.
func TestImportTruncatedLeavesNoTrace(t *testing.T) {
	bin := fakeBinary(t, 64<<10)
	var archive bytes.Buffer
	if err := WriteFixtureArchive(&archive, bin, "v1"); err != nil {
		t.Fatal(err)
	}
	full := archive.Bytes()
	for name, tarball := range map[string][]byte{
		"cut in the layer":      full[:len(full)/2],
		"cut in the last blob":  full[:lastEntryData(t, full)+10], // the layer and a config are whole
		"without the manifests": withoutEntries(t, full, "index.json", "manifest.json"),
	} {
		s := openStore(t)
		// A blob present before must survive.
		if _, err := s.Import(bytes.NewReader(layoutTar(t, named("other:v1"), ocispec.ImageConfig{}, []layer{{entries: []entry{{name: "f", body: "x"}}}}))); err != nil {
			t.Fatal(err)
		}
		before := readTree(t, s.Dir())
		_, err := s.Import(bytes.NewReader(tarball))
		if err == nil {
			t.Errorf("%s: imported", name)
			continue
		}
		if name != "without the manifests" && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: %v, not io.ErrUnexpectedEOF", name, err)
		}
		if after := readTree(t, s.Dir()); !reflect.DeepEqual(after, before) {
			t.Errorf("%s: the store changed: %d files before, %d after", name, len(before), len(after))
		}
	}
}

// withoutEntries returns a copy of a tarball without the named entries.
func withoutEntries(t testing.TB, tarball []byte, names ...string) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		skip := false
		for _, n := range names {
			skip = skip || hdr.Name == n
		}
		if skip {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// lastEntryData is the offset of the last entry's content in a tarball.
func lastEntryData(t testing.TB, tarball []byte) int {
	t.Helper()
	r := bytes.NewReader(tarball)
	tr := tar.NewReader(r)
	last := -1
	for {
		if _, err := tr.Next(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		last = len(tarball) - r.Len()
	}
	return last
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
