package image

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Whiteout names (the OCI image spec's, from AUFS): ".wh.NAME" deletes NAME
// of the lower layers; ".wh..wh..opq" in a directory hides everything the
// lower layers put in it.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// errUnsafePath marks a layer entry that would reach outside the rootfs.
var errUnsafePath = errors.New("path escapes the image root")

// chainID identifies a stack of layers by their uncompressed digests (the
// OCI ChainID): images with the same layers share one rootfs.
func chainID(diffIDs []digest.Digest) digest.Digest {
	if len(diffIDs) == 0 {
		return digest.FromString("")
	}
	c := diffIDs[0]
	for _, d := range diffIDs[1:] {
		c = digest.FromString(c.String() + " " + d.String())
	}
	return c
}

// rootfs returns the directory with these layers unpacked, unpacking them
// first unless this or another process already did.
func (s *Store) rootfs(layers []ocispec.Descriptor, diffIDs []digest.Digest) (string, error) {
	key := chainID(diffIDs)
	final := filepath.Join(s.dir, "rootfs", key.Encoded())
	if isDir(final) {
		return final, nil
	}
	mu, _ := s.unpacking.LoadOrStore(key, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if isDir(final) {
		return final, nil
	}
	tmp, err := os.MkdirTemp(s.tmpDir(), "rootfs-")
	if err != nil {
		return "", err
	}
	err = s.unpack(tmp, layers, diffIDs)
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.RemoveAll(tmp)
		if isDir(final) {
			return final, nil // another process renamed its copy first
		}
		return "", err
	}
	return final, nil
}

func isDir(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.IsDir()
}

// unpack applies the layers in order onto the directory dir.
func (s *Store) unpack(dir string, layers []ocispec.Descriptor, diffIDs []digest.Digest) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for i, l := range layers {
		if err := s.applyBlob(root, l.Digest, diffIDs[i]); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l.Digest, err)
		}
	}
	return nil
}

// applyBlob applies one stored layer, checking its uncompressed content
// against the diff ID the config declares.
func (s *Store) applyBlob(root *os.Root, d, diffID digest.Digest) error {
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return err
	}
	defer f.Close()
	rd, closeRd, err := decompress(f)
	if err != nil {
		return err
	}
	defer closeRd()
	h := sha256.New()
	tee := io.TeeReader(rd, h)
	if err := applyLayer(root, tee); err != nil {
		return err
	}
	// The diff ID covers the whole tar stream, end-of-archive padding included.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return err
	}
	if got := digest.NewDigest(digest.SHA256, h); got != diffID {
		return fmt.Errorf("uncompressed content is %s, the config says %s", got, diffID)
	}
	return nil
}

// applyLayer extracts a layer tar onto root: entries replace what lower
// layers left at their path (directories merge), whiteouts delete. Device
// nodes and FIFOs are skipped (creating them needs privileges), owners are
// ignored, and directories keep owner rwx so the store can remove them.
func applyLayer(root *os.Root, r io.Reader) error {
	tr := tar.NewReader(r)
	kept := map[string]bool{}            // paths this layer wrote, and their parents
	dirModes := map[string]fs.FileMode{} // directories this layer wrote
	var opaque []string                  // directories whose lower content is hidden
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return err
		}
		dir, base := path.Split(name)
		dir = path.Clean(dir) // "" becomes "."
		switch {
		case base == whiteoutOpaque:
			opaque = append(opaque, dir)
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			hidden := strings.TrimPrefix(base, whiteoutPrefix)
			if hidden == "" || hidden == "." || hidden == ".." {
				return fmt.Errorf("%w: whiteout %q", errUnsafePath, hdr.Name)
			}
			target := path.Join(dir, hidden)
			if err := root.RemoveAll(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("whiteout %s: %w", name, err)
			}
			continue
		case name == ".":
			continue // the root itself
		}
		switch hdr.Typeflag {
		case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
		default:
			continue
		}
		if err := writeEntry(root, name, hdr, tr); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirModes[name] = hdr.FileInfo().Mode()
		}
		for p := name; p != "."; p = path.Dir(p) {
			kept[p] = true
		}
	}
	for _, dir := range opaque {
		if err := hideLower(root, dir, kept); err != nil {
			return fmt.Errorf("opaque whiteout in %s: %w", dir, err)
		}
	}
	for name, mode := range dirModes {
		if fi, err := root.Lstat(name); err != nil || !fi.IsDir() {
			continue // removed or replaced later in the layer
		}
		if err := root.Chmod(name, modeBits(mode)|0o700); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// writeEntry creates one layer entry at name.
func writeEntry(root *os.Root, name string, hdr *tar.Header, r io.Reader) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if fi, err := root.Lstat(name); err == nil && !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
		if err := root.RemoveAll(name); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil
	case tar.TypeSymlink:
		return root.Symlink(hdr.Linkname, name)
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return err
		}
		return root.Link(target, name)
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return root.Chmod(name, modeBits(hdr.FileInfo().Mode()))
}

// hideLower removes from dir everything this layer did not write (kept holds
// the paths it wrote and their parents).
func hideLower(root *os.Root, dir string, kept map[string]bool) error {
	f, err := root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := path.Join(dir, e.Name())
		switch {
		case !kept[child]:
			if err := root.RemoveAll(child); err != nil {
				return err
			}
		case e.IsDir():
			if err := hideLower(root, child, kept); err != nil {
				return err
			}
		}
	}
	return nil
}

// modeBits keeps the bits chmod applies: permissions, setuid, setgid, sticky.
func modeBits(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// cleanName turns a tar entry name into a clean path relative to the image
// root ("." for the root), rejecting any ".." component.
func cleanName(name string) (string, error) {
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("%w: %q", errUnsafePath, name)
		}
	}
	clean := strings.TrimPrefix(path.Clean("/"+name), "/")
	if clean == "" {
		return ".", nil
	}
	return clean, nil
}
