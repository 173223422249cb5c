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
	ctrdimages "github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/project-seven/seven/cluster/image"
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
		if img, err = importImage(ctx, r.client, r.images, name, want); err != nil {
			return nil, fmt.Errorf("import image %s into containerd: %w", name, err)
		}
		r.log.Info("image imported into containerd", "image", name, "digest", want)
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

// Import copies image ref from the node's image store into containerd, in
// the namespace of ctx (namespaces.WithNamespace; "k8s.io" is the CRI
// plugin's), and unpacks it into snapshotter. So the images of a node
// without a registry — the fixtures, the pause image — reach an upstream
// kubelet's containerd as they reach Seven's.
func Import(ctx context.Context, c *client.Client, images *image.Store, ref, snapshotter string) error {
	stored, err := images.Get(ref)
	if err != nil {
		return err
	}
	img, err := importImage(ctx, c, images, stored.Ref, digest.Digest(stored.Digest))
	if err != nil {
		return fmt.Errorf("import image %s into containerd: %w", ref, err)
	}
	if err := img.Unpack(ctx, snapshotter); err != nil {
		return fmt.Errorf("unpack image %s: %w", ref, err)
	}
	return nil
}

// importImage copies a manifest, its config and its layers into
// containerd's content store and points the image record name at it. The
// lease keeps the blobs from the garbage collector until the record (and
// the manifest's gc.ref labels) hold them.
func importImage(ctx context.Context, c *client.Client, images *image.Store, name string, manifest digest.Digest) (client.Image, error) {
	ctx, release, err := c.WithLease(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = release(context.WithoutCancel(ctx)) }()

	raw, err := readBlob(images, manifest)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", manifest, err)
	}
	cs := c.ContentStore()
	gcLabels := map[string]string{"containerd.io/gc.ref.content.config": m.Config.Digest.String()}
	for i, l := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if i > 0 {
			gcLabels["containerd.io/gc.ref.content.l."+strconv.Itoa(i-1)] = l.Digest.String()
		}
		if err := copyBlob(ctx, images, cs, l); err != nil {
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
	rec := ctrdimages.Image{Name: name, Target: target}
	is := c.ImageService()
	created, err := is.Create(ctx, rec)
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		created, err = is.Update(ctx, rec, "target")
	}
	if err != nil {
		return nil, fmt.Errorf("image record: %w", err)
	}
	return client.NewImage(c, created), nil
}

func copyBlob(ctx context.Context, images *image.Store, cs content.Store, desc ocispec.Descriptor) error {
	if _, err := cs.Info(ctx, desc.Digest); err == nil {
		return nil
	}
	f, err := images.Blob(desc.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := content.WriteBlob(ctx, cs, desc.Digest.String(), f, desc); err != nil {
		return fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return nil
}

func readBlob(images *image.Store, d digest.Digest) ([]byte, error) {
	f, err := images.Blob(d)
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
