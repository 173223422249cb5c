package image

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// Normalize returns the canonical form of an image reference, as Docker reads
// it: "fixture" is "docker.io/library/fixture:latest", "seven.local/fixture:v1"
// stays as it is, and "name@sha256:…" keeps its digest (and loses any tag).
func Normalize(ref string) (string, error) {
	named, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return named.String(), nil
}

// parseRef parses and normalises a reference.
func parseRef(ref string) (reference.Named, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return named, nil
}

// parseID reads an image ID ("sha256:<64 hex>", the config digest), as
// distinct from a reference.
func parseID(s string) (digest.Digest, bool) {
	if !strings.HasPrefix(s, "sha256:") {
		return "", false
	}
	d, err := digest.Parse(s)
	return d, err == nil
}

// tagOf returns the tag of a normalised, tagged reference ("v1"), or "".
func tagOf(named reference.Named) string {
	if t, ok := named.(reference.Tagged); ok {
		return t.Tag()
	}
	return ""
}
