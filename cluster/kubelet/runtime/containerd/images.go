package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ensureImage returns the containerd image for ref, copying it from the
// node's image store and unpacking it into the snapshotter when containerd
// does not hold this version of it yet.
func (r *Runtime) ensureImage(ctx context.Context, ref string) (client.Image, error) {
	stored, err := r.images.Get(ref)
	if err != nil {
		return nil, err
	}
	name, want := stored.Ref, digest.Digest(stored.Digest)
	r.importMu.Lock()
	defer r.importMu.Unlock()
	if r.imported[name] == want.String() {
		img, err := r.client.GetImage(ctx, name)
		if err == nil && img.Target().Digest == want {
			return img, nil
		}
	}
	img, err := r.client.GetImage(ctx, name)
	switch {
	case err == nil && img.Target().Digest == want:
	case err == nil || errdefs.IsNotFound(err):
		if img, err = r.importImage(ctx, name, want); err != nil {
			return nil, fmt.Errorf("import image %s into containerd: %w", name, err)
		}
	default:
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	unpacked, err := img.IsUnpacked(ctx, r.snapshotter)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	if !unpacked {
		if err := img.Unpack(ctx, r.snapshotter); err != nil {
			return nil, fmt.Errorf("unpack image %s: %w", name, err)
		}
	}
	r.imported[name] = want.String()
	return img, nil
}

// importImage copies a manifest, its config and its layers into
// containerd's content store and points the image record name at it. The
// lease keeps the blobs from the garbage collector until the record (and
// the manifest's gc.ref labels) hold them.
func (r *Runtime) importImage(ctx context.Context, name string, manifest digest.Digest) (client.Image, error) {
	ctx, release, err := r.client.WithLease(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = release(context.WithoutCancel(ctx)) }()

	raw, err := r.readBlob(manifest)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", manifest, err)
	}
	cs := r.client.ContentStore()
	gcLabels := map[string]string{"containerd.io/gc.ref.content.config": m.Config.Digest.String()}
	for i, l := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if i > 0 {
			gcLabels["containerd.io/gc.ref.content.l."+strconv.Itoa(i-1)] = l.Digest.String()
		}
		if err := r.copyBlob(ctx, cs, l); err != nil {
			return nil, err
		}
	}
	mediaType := m.MediaType
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageManifest
	}
	target := ocispec.Descriptor{MediaType: mediaType, Digest: manifest, Size: int64(len(raw))}
	if err := content.WriteBlob(ctx, cs, manifest.String(), bytes.NewReader(raw), target, content.WithLabels(gcLabels)); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	rec := images.Image{Name: name, Target: target}
	is := r.client.ImageService()
	created, err := is.Create(ctx, rec)
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		created, err = is.Update(ctx, rec, "target")
	}
	if err != nil {
		return nil, fmt.Errorf("image record: %w", err)
	}
	r.log.Info("image imported into containerd", "image", name, "digest", manifest)
	return client.NewImage(r.client, created), nil
}

func (r *Runtime) copyBlob(ctx context.Context, cs content.Store, desc ocispec.Descriptor) error {
	if _, err := cs.Info(ctx, desc.Digest); err == nil {
		return nil
	}
	f, err := r.images.Blob(desc.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := content.WriteBlob(ctx, cs, desc.Digest.String(), f, desc); err != nil {
		return fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return nil
}

func (r *Runtime) readBlob(d digest.Digest) ([]byte, error) {
	f, err := r.images.Blob(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	return b, nil
}
