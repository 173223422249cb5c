package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// mediaTypeDockerConfig is the media type of a Docker image config, which an
// OCI config reads the same.
const mediaTypeDockerConfig = "application/vnd.docker.container.image.v1+json"

// dockerManifestEntry is one image of a legacy docker save archive's
// manifest.json.
type dockerManifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// dockerRecords turns the images of a legacy docker save archive into OCI
// manifests and checks them.
func (s *Store) dockerRecords(tb *tarball) ([]record, error) {
	var entries []dockerManifestEntry
	if err := json.Unmarshal(tb.dockerManifest, &entries); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	var recs []record
	for _, e := range entries {
		if len(e.RepoTags) == 0 {
			return nil, fmt.Errorf("manifest.json: image %s has no RepoTags to name it by", e.Config)
		}
		m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest}
		config, err := s.dockerFile(tb, e.Config)
		if err != nil {
			return nil, err
		}
		m.Config = config
		m.Config.MediaType = mediaTypeDockerConfig
		for _, l := range e.Layers {
			layer, err := s.dockerFile(tb, l)
			if err != nil {
				return nil, err
			}
			m.Layers = append(m.Layers, layer)
		}
		data, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		md := digest.FromBytes(data)
		if err := s.putBlob(md, bytes.NewReader(data)); err != nil {
			return nil, err
		}
		rec, err := s.checkImage(md, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.RepoTags[0], err)
		}
		for _, tag := range e.RepoTags {
			named, err := parseRef(tag)
			if err != nil {
				return nil, err
			}
			rec.Ref = named.String()
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// dockerFile returns the descriptor of a file of a legacy archive, following
// symlinks, storing a JSON file as a blob on first use.
func (s *Store) dockerFile(tb *tarball, name string) (ocispec.Descriptor, error) {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	for range 8 {
		target, ok := tb.links[name]
		if !ok {
			break
		}
		name = strings.TrimPrefix(path.Clean("/"+path.Join(path.Dir(name), target)), "/")
	}
	if desc, ok := tb.files[name]; ok {
		return desc, nil
	}
	if data, ok := tb.jsonFiles[name]; ok {
		d := digest.FromBytes(data)
		if err := s.putBlob(d, bytes.NewReader(data)); err != nil {
			return ocispec.Descriptor{}, err
		}
		return ocispec.Descriptor{Digest: d, Size: int64(len(data))}, nil
	}
	if rest, ok := strings.CutPrefix(name, "blobs/sha256/"); ok {
		d := digest.NewDigestFromEncoded(digest.SHA256, rest)
		if checkDigest(d) == nil && s.hasBlob(d) {
			size, err := s.blobSize(d)
			return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: d, Size: size}, err
		}
	}
	return ocispec.Descriptor{}, errors.New("manifest.json names " + name + ", which the archive lacks")
}
