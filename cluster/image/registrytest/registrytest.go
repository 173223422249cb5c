// Package registrytest runs an OCI registry inside the test process
// (go-containerregistry's in-memory registry behind httptest, plain HTTP on
// 127.0.0.1) and pushes small images to it.
//
// Start serves the registry, optionally behind HTTP basic auth and behind
// middleware a test writes (answering 500, tampering with blobs). Push and
// PushIndex build one-layer images from files and push them past the auth and
// the middleware, through a second, bare address of the same registry, so a
// test of refusals still has something to refuse.
package registrytest

import (
	"archive/tar"
	"bytes"
	"crypto/subtle"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Registry is a running test registry.
type Registry struct {
	// Host is the address pulls use, 127.0.0.1:<port>.
	Host string
	// URL is http://Host.
	URL string

	pushHost string
	closers  []func()
}

// Option configures Start.
type Option func(*config)

type config struct {
	user, password string
	middleware     []func(http.Handler) http.Handler
}

// WithBasicAuth makes the registry answer 401 (with a Basic challenge) to
// requests without this user and password.
func WithBasicAuth(user, password string) Option {
	return func(c *config) { c.user, c.password = user, password }
}

// WithMiddleware wraps the registry's handler, inside the basic auth if any;
// the first middleware given is the outermost.
func WithMiddleware(m func(http.Handler) http.Handler) Option {
	return func(c *config) { c.middleware = append(c.middleware, m) }
}

// Start serves a registry until the test ends.
func Start(tb testing.TB, opts ...Option) *Registry {
	tb.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	bare := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	h := bare
	for i := len(cfg.middleware) - 1; i >= 0; i-- {
		h = cfg.middleware[i](h)
	}
	if cfg.user != "" {
		h = basicAuth(h, cfg.user, cfg.password)
	}
	srv := httptest.NewServer(h)
	push := httptest.NewServer(bare)
	r := &Registry{
		Host:     strings.TrimPrefix(srv.URL, "http://"),
		URL:      srv.URL,
		pushHost: strings.TrimPrefix(push.URL, "http://"),
		closers:  []func(){srv.Close, push.Close},
	}
	tb.Cleanup(r.Close)
	return r
}

// Close stops the registry (at the latest when the test ends): its address
// then refuses connections.
func (r *Registry) Close() {
	for _, c := range r.closers {
		c()
	}
	r.closers = nil
}

func basicAuth(next http.Handler, user, password string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Ref is the reference of repo (name:tag or name@digest) in this registry.
func (r *Registry) Ref(repo string) string { return r.Host + "/" + repo }

// File is one entry of an image's layer: a regular file, or a directory
// when Mode has fs.ModeDir.
type File struct {
	Path    string
	Mode    fs.FileMode // permission bits; default 0644 for a file, 0755 for a directory
	Content []byte
}

// Image is what Push builds: one gzip-compressed layer of Files and a
// config (Docker media types, as docker push writes).
type Image struct {
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string
	// OS and Architecture default to linux and runtime.GOARCH.
	OS, Architecture string
}

// Push pushes img as repo (name:tag, without the registry) and returns the
// manifest's digest.
func (r *Registry) Push(tb testing.TB, repo string, img Image) string {
	tb.Helper()
	i := build(tb, img)
	ref, err := name.ParseReference(r.pushHost+"/"+repo, name.Insecure)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, i); err != nil {
		tb.Fatalf("push %s: %v", repo, err)
	}
	d, err := i.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d.String()
}

// PushIndex pushes an index (a manifest list) of imgs as repo and returns
// its digest and the digests of the images' manifests, in order. Each
// entry's platform is its image's OS and Architecture.
func (r *Registry) PushIndex(tb testing.TB, repo string, imgs ...Image) (string, []string) {
	tb.Helper()
	var idx v1.ImageIndex = empty.Index
	var digests []string
	for _, img := range imgs {
		i := build(tb, img)
		cf, err := i.ConfigFile()
		if err != nil {
			tb.Fatal(err)
		}
		d, err := i.Digest()
		if err != nil {
			tb.Fatal(err)
		}
		digests = append(digests, d.String())
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: i, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture},
		}})
	}
	ref, err := name.ParseReference(r.pushHost+"/"+repo, name.Insecure)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		tb.Fatalf("push index %s: %v", repo, err)
	}
	d, err := idx.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d.String(), digests
}

// build makes a one-layer image.
func build(tb testing.TB, img Image) v1.Image {
	tb.Helper()
	data := layerTar(tb, img.Files)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	cf := &v1.ConfigFile{
		OS:           img.OS,
		Architecture: img.Architecture,
		Config:       v1.Config{Entrypoint: img.Entrypoint, Cmd: img.Cmd, Env: img.Env},
		RootFS:       v1.RootFS{Type: "layers"},
	}
	if cf.OS == "" {
		cf.OS = "linux"
	}
	if cf.Architecture == "" {
		cf.Architecture = runtime.GOARCH
	}
	i, err := mutate.ConfigFile(empty.Image, cf)
	if err != nil {
		tb.Fatal(err)
	}
	if i, err = mutate.AppendLayers(i, layer); err != nil {
		tb.Fatal(err)
	}
	return i
}

// layerTar is a tar of files with fixed timestamps.
func layerTar(tb testing.TB, files []File) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: strings.TrimPrefix(f.Path, "/"), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg,
			Mode: int64(f.Mode.Perm()), Size: int64(len(f.Content))}
		if f.Mode.IsDir() {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
			if hdr.Mode == 0 {
				hdr.Mode = 0o755
			}
		} else if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Content); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
