package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// AnnotationImageName is the index.json annotation holding the full image
// reference, as containerd and Docker write it.
const AnnotationImageName = "io.containerd.image.name"

// Config is the runtime configuration of an image.
type Config struct {
	Entrypoint []string
	Cmd        []string
	Env        []string // KEY=VALUE
	WorkingDir string
	User       string
	Labels     map[string]string
}

// File is one entry of the layer Build writes.
type File struct {
	// Path in the image; a leading "/" is optional.
	Path string
	// Mode holds the permission bits, with fs.ModeDir for a directory or
	// fs.ModeSymlink for a symbolic link. Zero permission bits mean 0755
	// for a directory, the source file's bits for Source, 0644 otherwise.
	Mode fs.FileMode
	// Content is a regular file's content; when nil, Source is read instead.
	Content []byte
	// Source is a file on disk whose content the entry gets.
	Source string
	// Linkname is a symbolic link's target.
	Linkname string
}

// Build writes an OCI image-layout tarball holding one image, ref, with a
// single uncompressed layer made of files and the runtime configuration cfg.
// The output depends only on its inputs (fixed timestamps, files sorted by
// path), so building twice gives the same digests. Sources are read twice:
// once to digest the layer, once to write it.
func Build(w io.Writer, ref string, cfg Config, files []File) error {
	if err := writeLayout(w, []layoutImage{{ref: ref, config: cfg}}, files, false); err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	return nil
}

// layoutImage is one image of a layout; all the images of a layout share the
// same single layer.
type layoutImage struct {
	ref    string
	config Config
}

// epoch is the timestamp of every tar entry Build writes.
var epoch = time.Unix(0, 0).UTC()

// writeLayout writes an OCI layout tarball with images sharing one layer.
// With dockerManifest it also writes manifest.json naming the same blobs, as
// docker save has since Docker 25, so that older Docker loads it too.
func writeLayout(w io.Writer, images []layoutImage, files []File, dockerManifest bool) error {
	files, err := sortedFiles(files)
	if err != nil {
		return err
	}
	// First pass: the layer's digest and size, needed by the config and by
	// the tar header of the layer blob, without holding the layer in memory.
	h := sha256.New()
	size, err := writeLayer(h, files)
	if err != nil {
		return err
	}
	layer := ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageLayer,
		Digest:    digest.NewDigest(digest.SHA256, h),
		Size:      size,
	}

	var blobs []blob // configs and manifests, after the layer
	var entries []dockerManifestEntry
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
	}
	for _, img := range images {
		named, err := parseRef(img.ref)
		if err != nil {
			return err
		}
		tag := tagOf(named)
		if tag == "" {
			return fmt.Errorf("image reference %s has no tag", named)
		}
		platform := ocispec.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
		config, err := json.Marshal(ocispec.Image{
			Platform: platform,
			Config: ocispec.ImageConfig{
				Entrypoint: img.config.Entrypoint,
				Cmd:        img.config.Cmd,
				Env:        img.config.Env,
				WorkingDir: img.config.WorkingDir,
				User:       img.config.User,
				Labels:     img.config.Labels,
			},
			RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}},
		})
		if err != nil {
			return err
		}
		configBlob := newBlob(ocispec.MediaTypeImageConfig, config)
		manifest, err := json.Marshal(ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageManifest,
			Config:    configBlob.desc,
			Layers:    []ocispec.Descriptor{layer},
		})
		if err != nil {
			return err
		}
		manifestBlob := newBlob(ocispec.MediaTypeImageManifest, manifest)
		blobs = append(blobs, configBlob, manifestBlob)
		entries = append(entries, dockerManifestEntry{
			Config:   blobName(configBlob.desc.Digest),
			RepoTags: []string{named.String()},
			Layers:   []string{blobName(layer.Digest)},
		})
		desc := manifestBlob.desc
		desc.Platform = &platform
		desc.Annotations = map[string]string{
			ocispec.AnnotationRefName: tag,
			AnnotationImageName:       named.String(),
		}
		index.Manifests = append(index.Manifests, desc)
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	layoutJSON, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	if err := writeTarFile(tw, ocispec.ImageLayoutFile, layoutJSON); err != nil {
		return err
	}
	if err := writeTarFile(tw, "index.json", indexJSON); err != nil {
		return err
	}
	if dockerManifest {
		manifestJSON, err := json.Marshal(entries)
		if err != nil {
			return err
		}
		if err := writeTarFile(tw, "manifest.json", manifestJSON); err != nil {
			return err
		}
	}
	// Second pass: the layer itself, checked against the first.
	if err := tw.WriteHeader(blobHeader(layer.Digest, layer.Size)); err != nil {
		return err
	}
	h2 := sha256.New()
	if _, err := writeLayer(io.MultiWriter(tw, h2), files); err != nil {
		return err
	}
	if digest.NewDigest(digest.SHA256, h2) != layer.Digest {
		return errors.New("a source file changed while the layer was written")
	}
	written := map[digest.Digest]bool{layer.Digest: true}
	for _, b := range blobs {
		if written[b.desc.Digest] {
			continue // two images with the same config
		}
		written[b.desc.Digest] = true
		if err := tw.WriteHeader(blobHeader(b.desc.Digest, b.desc.Size)); err != nil {
			return err
		}
		if _, err := tw.Write(b.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// blob is a small JSON blob with its descriptor.
type blob struct {
	desc ocispec.Descriptor
	data []byte
}

func newBlob(mediaType string, data []byte) blob {
	return blob{
		desc: ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))},
		data: data,
	}
}

// blobName is the path of a blob in a layout.
func blobName(d digest.Digest) string {
	return path.Join("blobs", d.Algorithm().String(), d.Encoded())
}

func blobHeader(d digest.Digest, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     blobName(d),
		Mode:     0o644,
		Size:     size,
		ModTime:  epoch,
	}
}

func writeTarFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// sortedFiles validates files and returns them with clean relative paths,
// sorted (a directory sorts before what it holds).
func sortedFiles(files []File) ([]File, error) {
	out := make([]File, 0, len(files))
	seen := map[string]bool{}
	for _, f := range files {
		name, err := cleanName(f.Path)
		if err != nil {
			return nil, err
		}
		if name == "." {
			return nil, fmt.Errorf("file %q: empty path", f.Path)
		}
		if seen[name] {
			return nil, fmt.Errorf("file %q: listed twice", f.Path)
		}
		seen[name] = true
		f.Path = name
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// writeLayer writes the layer tar of files to w and returns its size.
func writeLayer(w io.Writer, files []File) (int64, error) {
	cw := &countingWriter{w: w}
	tw := tar.NewWriter(cw)
	for _, f := range files {
		if err := writeLayerEntry(tw, f); err != nil {
			return 0, fmt.Errorf("file %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

func writeLayerEntry(tw *tar.Writer, f File) error {
	hdr := &tar.Header{Name: f.Path, ModTime: epoch}
	perm := int64(f.Mode.Perm())
	switch {
	case f.Mode&fs.ModeDir != 0:
		hdr.Typeflag, hdr.Name = tar.TypeDir, f.Path+"/"
		if perm == 0 {
			perm = 0o755
		}
		hdr.Mode = perm
		return tw.WriteHeader(hdr)
	case f.Mode&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, f.Linkname, 0o777
		return tw.WriteHeader(hdr)
	case f.Mode.Type() != 0:
		return fmt.Errorf("unsupported file type %s", f.Mode.Type())
	case f.Content != nil || f.Source == "":
		if perm == 0 {
			perm = 0o644
		}
		hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, perm, int64(len(f.Content))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, bytes.NewReader(f.Content))
		return err
	}
	src, err := os.Open(f.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("source %s is not a regular file", f.Source)
	}
	if perm == 0 {
		perm = int64(fi.Mode().Perm())
	}
	hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, perm, fi.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, src, fi.Size()); err != nil {
		return fmt.Errorf("source %s: %w", f.Source, err)
	}
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
