package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"

	"github.com/distribution/reference"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Import adds the images of an OCI image-layout tarball (gzip- or
// zstd-compressed or not; layers likewise) and returns their normalised references, in the
// order of index.json. Each image's name comes from its index.json
// annotations: io.containerd.image.name, or else an
// org.opencontainers.image.ref.name that is a full reference (a bare tag
// names nothing). A multi-platform index contributes the manifest for this
// platform. Blobs are verified against their digests; a reference already
// present is replaced.
//
// Docker's legacy archive (manifest.json without index.json, what docker save
// wrote before Docker 25) is accepted too: its images are named by their
// RepoTags, and each gets an OCI manifest made up from manifest.json, so its
// Digest is not the one a registry would show.
//
// A failed import (a corrupt or truncated tarball, a missing blob) leaves the
// store as it was: every image is checked before any reference is written,
// and the blobs the import added are removed again. (A concurrent import of
// the same content that found such a blob already present would lose it; the
// reference it writes then fails Get until the image is imported again.)
func (s *Store) Import(r io.Reader) ([]string, error) {
	imp := &Store{dir: s.dir, created: new([]digest.Digest)}
	refs, err := imp.importLayout(r)
	if err != nil {
		for _, d := range *imp.created {
			os.Remove(s.blobPath(d))
		}
		return nil, fmt.Errorf("import: %w", err)
	}
	return refs, nil
}

func (s *Store) importLayout(r io.Reader) ([]string, error) {
	rd, closeRd, err := decompress(r)
	if err != nil {
		return nil, err
	}
	defer closeRd()
	tb, err := s.readTarball(tar.NewReader(rd))
	if err != nil {
		return nil, err
	}
	// Check every image before naming any, so a bad tarball changes no name.
	var recs []record
	switch {
	case tb.index != nil:
		recs, err = s.layoutRecords(tb.index)
	case tb.dockerManifest != nil:
		recs, err = s.dockerRecords(tb)
	default:
		err = errors.New("not an image tarball: no index.json (OCI layout) nor manifest.json (docker save)")
	}
	if err != nil {
		return nil, err
	}
	return s.writeRecords(recs)
}

// writeRecords writes the records of an import, putting back the previous
// records if one cannot be written.
func (s *Store) writeRecords(recs []record) ([]string, error) {
	refs := make([]string, 0, len(recs))
	previous := map[string][]byte{} // nil: none
	for _, rec := range recs {
		if _, seen := previous[rec.Ref]; !seen {
			data, _ := os.ReadFile(s.recordPath(rec.Ref))
			previous[rec.Ref] = data
		}
		if err := s.writeRecord(rec); err != nil {
			for ref, data := range previous {
				if data == nil {
					os.Remove(s.recordPath(ref))
				} else {
					_ = s.writeFileAtomic(s.recordPath(ref), data) // best effort: the write error is the one to report
				}
			}
			return nil, err
		}
		refs = append(refs, rec.Ref)
	}
	return refs, nil
}

// tarball is what Import keeps of a tarball once its blobs are stored.
type tarball struct {
	index []byte // index.json
	// Docker's legacy archive: manifest.json, the JSON files it names, its
	// other files (stored as blobs, by digest) and its symlinks.
	dockerManifest []byte
	jsonFiles      map[string][]byte
	files          map[string]ocispec.Descriptor
	links          map[string]string
}

// readTarball reads a tarball through, storing its blobs.
func (s *Store) readTarball(tr *tar.Reader) (*tarball, error) {
	tb := &tarball{jsonFiles: map[string][]byte{}, files: map[string]ocispec.Descriptor{}, links: map[string]string{}}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tb, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tarball: %w", err)
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if hdr.Typeflag == tar.TypeSymlink {
			tb.links[name] = hdr.Linkname
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		switch {
		case name == "index.json":
			if tb.index, err = readAllLimited(tr, maxJSON); err != nil {
				return nil, fmt.Errorf("index.json: %w", err)
			}
		case name == ocispec.ImageLayoutFile:
			var layout ocispec.ImageLayout
			data, err := readAllLimited(tr, maxJSON)
			if err == nil {
				err = json.Unmarshal(data, &layout)
			}
			if err != nil {
				return nil, fmt.Errorf("oci-layout: %w", err)
			}
			if layout.Version != ocispec.ImageLayoutVersion {
				return nil, fmt.Errorf("oci-layout: unsupported version %q", layout.Version)
			}
		case strings.HasPrefix(name, "blobs/"):
			alg, hex, _ := strings.Cut(strings.TrimPrefix(name, "blobs/"), "/")
			d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
			if err := checkDigest(d); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if err := s.putBlob(d, tr); err != nil {
				return nil, err
			}
		case name == "manifest.json":
			if tb.dockerManifest, err = readAllLimited(tr, maxJSON); err != nil {
				return nil, fmt.Errorf("manifest.json: %w", err)
			}
		case strings.HasSuffix(name, ".json"):
			if tb.jsonFiles[name], err = readAllLimited(tr, maxJSON); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		case path.Base(name) == "layer.tar":
			desc, err := s.putBlobByContent(tr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			tb.files[name] = desc
		}
		// Anything else (repositories, <layer>/json, VERSION) is not needed.
	}
}

// layoutRecords checks the images of an OCI layout's index.json.
func (s *Store) layoutRecords(indexJSON []byte) ([]record, error) {
	var index ocispec.Index
	if err := json.Unmarshal(indexJSON, &index); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	var recs []record
	for _, desc := range index.Manifests {
		name := imageName(desc.Annotations)
		if name == "" {
			return nil, fmt.Errorf("manifest %s: no image name in index.json (annotation %s, or a full %s)",
				desc.Digest, AnnotationImageName, ocispec.AnnotationRefName)
		}
		named, err := parseRef(name)
		if err != nil {
			return nil, err
		}
		rec, err := s.checkImage(desc.Digest, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", named, err)
		}
		if c, ok := named.(reference.Canonical); ok && c.Digest() != rec.Manifest {
			return nil, fmt.Errorf("%s: the manifest's digest is %s", named, rec.Manifest)
		}
		rec.Ref = named.String()
		recs = append(recs, rec)
	}
	return recs, nil
}

// imageName is the name index.json gives a manifest, or "".
func imageName(annotations map[string]string) string {
	if n := annotations[AnnotationImageName]; n != "" {
		return n
	}
	if n := annotations[ocispec.AnnotationRefName]; strings.ContainsAny(n, "/:@") {
		return n
	}
	return ""
}

// manifestOrIndex holds the fields that tell an image manifest from an index
// (OCI or Docker media types alike).
type manifestOrIndex struct {
	Manifests []ocispec.Descriptor `json:"manifests"`
	Config    *ocispec.Descriptor  `json:"config"`
}

// checkImage follows d (a manifest, or an index to this platform's manifest)
// and checks that the manifest, its config and its layers are all stored. It
// returns the record of the image, without its Ref.
func (s *Store) checkImage(d digest.Digest, depth int) (record, error) {
	if err := checkDigest(d); err != nil {
		return record{}, err
	}
	var mi manifestOrIndex
	if err := s.readJSONBlob(d, &mi); err != nil {
		return record{}, err
	}
	if mi.Config == nil {
		if depth >= 2 || len(mi.Manifests) == 0 {
			return record{}, fmt.Errorf("blob %s is neither an image manifest nor an index", d)
		}
		next, err := s.pickPlatform(mi.Manifests)
		if err != nil {
			return record{}, fmt.Errorf("index %s: %w", d, err)
		}
		return s.checkImage(next, depth+1)
	}
	var m ocispec.Manifest
	if err := s.readJSONBlob(d, &m); err != nil {
		return record{}, err
	}
	if err := checkDescriptors(m); err != nil {
		return record{}, err
	}
	if _, err := s.readConfig(m); err != nil {
		return record{}, err
	}
	rec := record{Manifest: d, Config: m.Config.Digest}
	for _, l := range m.Layers {
		if !s.hasBlob(l.Digest) {
			return record{}, fmt.Errorf("layer %s is missing from the tarball", l.Digest)
		}
		rec.Size += l.Size
	}
	return rec, nil
}

// pickPlatform chooses, among an index's manifests, the one for this
// platform whose blob is present; an index of one manifest gives that one.
func (s *Store) pickPlatform(manifests []ocispec.Descriptor) (digest.Digest, error) {
	for _, m := range manifests {
		p := m.Platform
		if p != nil && p.OS == runtime.GOOS && p.Architecture == runtime.GOARCH && s.hasBlob(m.Digest) {
			return m.Digest, nil
		}
	}
	if len(manifests) == 1 {
		return manifests[0].Digest, nil
	}
	return "", fmt.Errorf("no manifest for %s/%s", runtime.GOOS, runtime.GOARCH)
}

// checkDescriptors checks that a manifest names its blobs with digests the
// store can hold, so that no digest turns into a path outside it.
func checkDescriptors(m ocispec.Manifest) error {
	if err := checkDigest(m.Config.Digest); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for _, l := range m.Layers {
		if err := checkDigest(l.Digest); err != nil {
			return fmt.Errorf("layer: %w", err)
		}
	}
	return nil
}

// checkDigest accepts well-formed sha256 digests only.
func checkDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("bad digest %q: %w", d, err)
	}
	if d.Algorithm() != digest.SHA256 {
		return fmt.Errorf("unsupported digest algorithm in %q", d)
	}
	return nil
}

// decompress returns a reader of r's content, decompressing gzip or zstd if
// its first bytes say so, and a function releasing the decompressor.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	default:
		return br, func() {}, nil
	}
}

// readAllLimited reads r to its end, failing beyond limit bytes.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return data, err
}
