package image

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
)

// FixtureRepository is the repository of the fixture images every node has.
const FixtureRepository = "seven.local/fixture"

// LabelFixtureBinary is the config label holding the digest of the fixture
// binary an image was built from.
const LabelFixtureBinary = "dev.seven.fixture.binary"

// fixtureImages are the fixture images: the same binary, configured apart.
var fixtureImages = []struct{ tag, env string }{
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
	images := make([]layoutImage, len(fixtureImages))
	for i, img := range fixtureImages {
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
	files := []File{{Path: "/fixture", Mode: 0o755, Source: binary}}

	// Stream the layout straight into Import: nothing is written twice.
	pr, pw := io.Pipe()
	built := make(chan error, 1)
	go func() {
		err := writeLayout(pw, images, files)
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
