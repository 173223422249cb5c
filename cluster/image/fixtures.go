package image

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/opencontainers/go-digest"
)

// FixtureRepository is the repository of the fixture images every node has.
const FixtureRepository = "seven.local/fixture"

// LabelFixtureBinary is the config label holding the digest of the fixture
// binary an image was built from.
const LabelFixtureBinary = "dev.seven.fixture.binary"

// fixtureImage is a fixture image's tag and the variable that sets it apart.
type fixtureImage struct{ tag, env string }

// fixtureImages are the fixture images: the same binary, configured apart.
var fixtureImages = []fixtureImage{
	{"v1", "FIXTURE_VERSION=v1"},
	{"v2", "FIXTURE_VERSION=v2"},
	{"v3", "FIXTURE_VERSION=v3"},
	{"broken", "FIXTURE_BROKEN=1"},
}

// FixtureRefs returns the references of the fixture images:
// seven.local/fixture:v1, :v2, :v3 and :broken.
func FixtureRefs() []string {
	refs := make([]string, len(fixtureImages))
	for i, img := range fixtureImages {
		refs[i] = FixtureRepository + ":" + img.tag
	}
	return refs
}

// EnsureFixtures makes sure the store holds the fixture images built from the
// fixture binary at path binary (see fixtures/README.md): :v1, :v2 and :v3
// run it with FIXTURE_VERSION set, :broken with FIXTURE_BROKEN=1; all have
// Entrypoint ["/fixture"] and Cmd ["serve"], and share one layer holding the
// binary at /fixture, so they share one rootfs. It does nothing if all four
// are present and were built from a binary with the same content.
func (s *Store) EnsureFixtures(binary string) error {
	sum, err := fileDigest(binary)
	if err != nil {
		return fmt.Errorf("fixture images: %w", err)
	}
	if s.fixturesBuiltFrom(sum) {
		return nil
	}
	images, files := fixtureLayout(binary, sum, fixtureImages)

	// Stream the layout straight into Import: nothing is written twice.
	pr, pw := io.Pipe()
	built := make(chan error, 1)
	go func() {
		err := writeLayout(pw, images, files, false)
		pw.CloseWithError(err)
		built <- err
	}()
	_, err = s.Import(pr)
	pr.CloseWithError(io.ErrClosedPipe) // unblocks the writer if Import stopped early
	buildErr := <-built
	switch {
	case err != nil: // a build error reaches Import through the pipe
		return fmt.Errorf("fixture images: %w", err)
	case buildErr != nil:
		return fmt.Errorf("fixture images: build: %w", buildErr)
	}
	return nil
}

// WriteFixtureArchive writes the fixture image of one tag (v1, v2, v3 or
// broken; see FixtureRefs), built from the fixture binary as EnsureFixtures
// builds it, as a tarball that both Import and `docker load` read: an OCI
// layout with the manifest.json of docker save.
func WriteFixtureArchive(w io.Writer, binary, tag string) error {
	i := slices.IndexFunc(fixtureImages, func(img fixtureImage) bool { return img.tag == tag })
	if i < 0 {
		return fmt.Errorf("fixture image %q: no such tag (v1, v2, v3, broken)", tag)
	}
	sum, err := fileDigest(binary)
	if err != nil {
		return fmt.Errorf("fixture image %s: %w", tag, err)
	}
	images, files := fixtureLayout(binary, sum, fixtureImages[i:i+1])
	if err := writeLayout(w, images, files, true); err != nil {
		return fmt.Errorf("fixture image %s: %w", tag, err)
	}
	return nil
}

// fixtureLayout is the layout of some fixture images built from binary,
// whose digest is sum.
func fixtureLayout(binary string, sum digest.Digest, fixtures []fixtureImage) ([]layoutImage, []File) {
	images := make([]layoutImage, len(fixtures))
	for i, img := range fixtures {
		images[i] = layoutImage{
			ref: FixtureRepository + ":" + img.tag,
			config: Config{
				Entrypoint: []string{"/fixture"},
				Cmd:        []string{"serve"},
				Env:        []string{"PATH=/", img.env},
				Labels:     map[string]string{LabelFixtureBinary: sum.String()},
			},
		}
	}
	return images, []File{{Path: "/fixture", Mode: 0o755, Source: binary}}
}

// fixturesBuiltFrom says whether every fixture image is stored and labelled
// with this binary digest.
func (s *Store) fixturesBuiltFrom(sum digest.Digest) bool {
	for _, ref := range FixtureRefs() {
		rec, err := s.readRecord(ref)
		if err != nil {
			return false
		}
		_, cfg, err := s.readImage(rec)
		if err != nil || cfg.Config.Labels[LabelFixtureBinary] != sum.String() {
			return false
		}
	}
	return true
}

// fileDigest is the sha256 digest of a file's content.
func fileDigest(name string) (digest.Digest, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return digest.NewDigest(digest.SHA256, h), nil
}
