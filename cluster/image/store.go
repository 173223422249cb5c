package image

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrNotFound is returned, wrapped, by Get for a reference the store does not
// hold.
var ErrNotFound = errors.New("image not found")

// Store is a directory-backed local image store. Its methods are safe for
// concurrent use, also by several processes sharing the directory.
type Store struct {
	dir string
	// unpacking serialises the unpacking of one rootfs within this process
	// (chain ID → *sync.Mutex); across processes the rename decides.
	unpacking sync.Map
	// created, in the view of the store an Import works through, lists the
	// blobs the import added, for removal if it fails.
	created *[]digest.Digest
}

// Image is a stored image, ready to run.
type Image struct {
	// Ref is the normalised reference asked for; for an image ID, the first
	// reference (in sorted order) with that ID.
	Ref string
	// ID is the digest of the image config, "sha256:…", as Docker shows it.
	ID string
	// Digest is the manifest digest: Ref's repository @ Digest names this
	// image exactly.
	Digest string
	// Config is the runtime configuration from the image config.
	Config Config
	// RootFS is the directory holding the unpacked layers. It is shared by
	// every image with the same layers: treat it as read-only.
	RootFS string
}

// Summary describes a stored reference.
type Summary struct {
	Ref    string
	ID     string
	Digest string
	// Size is the total size of the layers as stored (compressed or not).
	Size int64
}

// record is what refs/<escaped ref> holds.
type record struct {
	Ref      string        `json:"ref"`
	Manifest digest.Digest `json:"manifest"`
	Config   digest.Digest `json:"config"`
	Size     int64         `json:"size"`
}

// Limits on what the store reads into memory.
const (
	maxJSON  = 8 << 20        // an index, manifest or config
	staleTmp = 24 * time.Hour // staging files older than this are leftovers of a crash
)

// Open opens the store in dir, creating it if needed, and removes staging
// files left behind by crashed processes.
func Open(dir string) (*Store, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	s := &Store{dir: dir}
	for _, sub := range []string{filepath.Join("blobs", "sha256"), "refs", "rootfs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	entries, _ := os.ReadDir(s.tmpDir())
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTmp {
			os.RemoveAll(filepath.Join(s.tmpDir(), e.Name()))
		}
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Get returns the image a reference names: a reference ("fixture",
// "seven.local/fixture:v1"), a digest reference ("name@sha256:…", the
// manifest digest) or an image ID ("sha256:…", the config digest). The image's
// layers are unpacked on first use. A reference the store does not hold gives
// an error wrapping ErrNotFound.
func (s *Store) Get(ref string) (*Image, error) {
	rec, err := s.resolve(ref)
	if err != nil {
		return nil, err
	}
	m, cfg, err := s.readImage(rec)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", rec.Ref, err)
	}
	rootfs, err := s.rootfs(m.Layers, cfg.RootFS.DiffIDs)
	if err != nil {
		return nil, fmt.Errorf("image %s: unpack: %w", rec.Ref, err)
	}
	c := cfg.Config
	return &Image{
		Ref:    rec.Ref,
		ID:     rec.Config.String(),
		Digest: rec.Manifest.String(),
		Config: Config{
			Entrypoint: c.Entrypoint,
			Cmd:        c.Cmd,
			Env:        c.Env,
			WorkingDir: c.WorkingDir,
			User:       c.User,
			Labels:     c.Labels,
		},
		RootFS: rootfs,
	}, nil
}

// List returns every stored reference, sorted.
func (s *Store) List() ([]Summary, error) {
	recs, err := s.records()
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(recs))
	for _, r := range recs {
		out = append(out, Summary{Ref: r.Ref, ID: r.Config.String(), Digest: r.Manifest.String(), Size: r.Size})
	}
	return out, nil
}

// resolve finds the record a reference, digest reference or ID names.
func (s *Store) resolve(ref string) (record, error) {
	if id, ok := parseID(ref); ok {
		recs, err := s.records()
		if err != nil {
			return record{}, err
		}
		for _, r := range recs {
			if r.Config == id {
				return r, nil
			}
		}
		return record{}, fmt.Errorf("image %s: %w", ref, ErrNotFound)
	}
	named, err := parseRef(ref)
	if err != nil {
		return record{}, err
	}
	if canonical, ok := named.(reference.Canonical); ok {
		// A pull by an index's digest records the reference as it is.
		if r, err := s.readRecord(named.String()); err == nil {
			return r, nil
		}
		recs, err := s.records()
		if err != nil {
			return record{}, err
		}
		for _, r := range recs {
			rn, err := reference.ParseNormalizedNamed(r.Ref)
			if err == nil && rn.Name() == named.Name() && r.Manifest == canonical.Digest() {
				r.Ref = named.String()
				return r, nil
			}
		}
		return record{}, fmt.Errorf("image %s: %w", named, ErrNotFound)
	}
	r, err := s.readRecord(named.String())
	if errors.Is(err, fs.ErrNotExist) {
		return record{}, fmt.Errorf("image %s: %w", named, ErrNotFound)
	}
	return r, err
}

// readImage reads the manifest and config of a record, checking they agree.
func (s *Store) readImage(rec record) (ocispec.Manifest, ocispec.Image, error) {
	var m ocispec.Manifest
	if err := s.readJSONBlob(rec.Manifest, &m); err != nil {
		return m, ocispec.Image{}, err
	}
	if err := checkDescriptors(m); err != nil {
		return m, ocispec.Image{}, err
	}
	cfg, err := s.readConfig(m)
	return m, cfg, err
}

// readConfig reads the config of a manifest and checks it describes the
// manifest's layers.
func (s *Store) readConfig(m ocispec.Manifest) (ocispec.Image, error) {
	var cfg ocispec.Image
	if err := s.readJSONBlob(m.Config.Digest, &cfg); err != nil {
		return cfg, err
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return cfg, fmt.Errorf("config %s lists %d layers, manifest %d", m.Config.Digest, len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	return cfg, nil
}

// records returns every record, sorted by reference.
func (s *Store) records() ([]record, error) {
	entries, err := os.ReadDir(s.refsDir())
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var recs []record
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(s.refsDir(), e.Name()))
		if err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		var r record
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("list images: %s: %w", e.Name(), err)
		}
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b record) int { return strings.Compare(a.Ref, b.Ref) })
	return recs, nil
}

// readRecord reads the record of a normalised reference.
func (s *Store) readRecord(ref string) (record, error) {
	var r record
	data, err := os.ReadFile(s.recordPath(ref))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("image %s: bad record: %w", ref, err)
	}
	return r, nil
}

// writeRecord stores a record, replacing the reference's previous one.
func (s *Store) writeRecord(r record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.writeFileAtomic(s.recordPath(r.Ref), data)
}

// writeFileAtomic writes data to a staging file and renames it to name.
func (s *Store) writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(s.tmpDir(), "file-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// putBlob stores the content of r under digest d, verifying it. A blob the
// store has already is only drained from r.
func (s *Store) putBlob(d digest.Digest, r io.Reader) error {
	if s.hasBlob(d) {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	f, err := os.CreateTemp(s.tmpDir(), "blob-")
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && digest.NewDigest(digest.SHA256, h) != d {
		err = fmt.Errorf("blob %s: content does not match its digest", d)
	}
	if err == nil {
		err = s.commitBlob(f.Name(), d)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// commitBlob renames a staged file into place as blob d, or drops it if the
// store has d already, and journals the blobs it adds.
func (s *Store) commitBlob(staged string, d digest.Digest) error {
	if s.hasBlob(d) {
		return os.Remove(staged)
	}
	if err := os.Rename(staged, s.blobPath(d)); err != nil {
		return err
	}
	if s.created != nil {
		*s.created = append(*s.created, d)
	}
	return nil
}

// putBlobByContent stores the content of r as a blob and returns its
// descriptor (an uncompressed layer's media type).
func (s *Store) putBlobByContent(r io.Reader) (ocispec.Descriptor, error) {
	f, err := os.CreateTemp(s.tmpDir(), "blob-")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	d := digest.NewDigest(digest.SHA256, h)
	if err == nil {
		err = s.commitBlob(f.Name(), d)
	}
	if err != nil {
		os.Remove(f.Name())
		return ocispec.Descriptor{}, err
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: n}, nil
}

func (s *Store) blobSize(d digest.Digest) (int64, error) {
	fi, err := os.Stat(s.blobPath(d))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (s *Store) hasBlob(d digest.Digest) bool {
	fi, err := os.Stat(s.blobPath(d))
	return err == nil && fi.Mode().IsRegular()
}

// readJSONBlob decodes a small JSON blob.
func (s *Store) readJSONBlob(d digest.Digest, v any) error {
	if err := checkDigest(d); err != nil {
		return err
	}
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	defer f.Close()
	data, err := readAllLimited(f, maxJSON)
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	return nil
}

func (s *Store) blobPath(d digest.Digest) string {
	return filepath.Join(s.dir, "blobs", d.Algorithm().String(), d.Encoded())
}

func (s *Store) recordPath(ref string) string {
	return filepath.Join(s.refsDir(), url.QueryEscape(ref))
}

func (s *Store) refsDir() string { return filepath.Join(s.dir, "refs") }
func (s *Store) tmpDir() string  { return filepath.Join(s.dir, "tmp") }
