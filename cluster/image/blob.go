package image

import (
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
)

// Blob opens a stored blob (a manifest, config or layer) by digest, for a
// consumer that keeps images in a content store of its own (the containerd
// runtime copies an image's blobs into containerd). The caller closes it.
func (s *Store) Blob(d digest.Digest) (io.ReadCloser, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	return f, nil
}
