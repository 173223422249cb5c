package image

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// LocalDomain is the registry domain of the images that only imports and the
// fixtures put into a store (seven.local/fixture:v1): no registry serves
// it, so nothing pulls from it.
const LocalDomain = "seven.local"

// Pullable reports whether a registry may serve a reference: false for an
// invalid reference and for references under LocalDomain.
func Pullable(ref string) bool {
	named, err := parseRef(ref)
	return err == nil && reference.Domain(named) != LocalDomain
}

// Credentials authenticate a pull to a registry, as a docker config's entry
// does: a user name and password, or Auth, or a token.
type Credentials struct {
	Username string
	Password string
	// Auth is base64("user:password"), the "auth" field of a docker config.
	Auth string
	// IdentityToken is an OAuth2 refresh token; RegistryToken a bearer
	// token sent as it is.
	IdentityToken string
	RegistryToken string
}

// PullOptions says how Pull reaches a registry.
type PullOptions struct {
	// Credentials are tried in order, each while the registry refuses the
	// previous ones (401 or 403); none means an anonymous pull.
	Credentials []Credentials
	// Insecure lists the registries that may be reached over plain HTTP,
	// and over HTTPS without checking their certificate (Docker's
	// insecure-registries): host, host:port or a CIDR of IP addresses.
	// Loopback registries (localhost, 127.0.0.0/8, [::1]) may be reached
	// over plain HTTP without being listed; every other one over HTTPS only.
	Insecure []string
	// Transport replaces the HTTP transport when set (the HTTPS-only rule
	// above still applies).
	Transport http.RoundTripper
}

// Pulled describes a pulled image.
type Pulled struct {
	Summary
	// Fetched is how many bytes of blobs the pull downloaded: 0 when the
	// store already held every blob of the image.
	Fetched int64
}

// RegistryError is a registry's refusal of a pull.
type RegistryError struct {
	// Registry is the registry's host[:port]; Ref the reference pulled.
	Registry string
	Ref      string
	// StatusCode is the HTTP status of the refusal.
	StatusCode int
	// Code is the first error code of the registry's answer, if it gave one
	// (MANIFEST_UNKNOWN, UNAUTHORIZED, ...).
	Code string
	// Anonymous: the request carried no credentials.
	Anonymous bool
	// detail is the failed request and the registry's answer.
	detail error
}

func (e *RegistryError) Error() string {
	var what string
	switch {
	case e.StatusCode == http.StatusUnauthorized && e.Anonymous:
		what = fmt.Sprintf("401 Unauthorized: registry %s requires credentials, and the pull had none", e.Registry)
	case e.StatusCode == http.StatusUnauthorized:
		what = fmt.Sprintf("401 Unauthorized: registry %s refused the credentials", e.Registry)
	case e.StatusCode == http.StatusForbidden:
		what = fmt.Sprintf("403 Forbidden: registry %s denied access to %s", e.Registry, e.Ref)
	case e.Code == string(transport.ManifestUnknownErrorCode), e.Code == string(transport.NameUnknownErrorCode),
		e.StatusCode == http.StatusNotFound && e.Code == "":
		what = fmt.Sprintf("manifest unknown: registry %s has no image %s", e.Registry, e.Ref)
	case e.Code == string(transport.BlobUnknownErrorCode):
		what = fmt.Sprintf("blob unknown: registry %s lacks a blob of %s", e.Registry, e.Ref)
	default:
		what = fmt.Sprintf("registry %s answered %d %s", e.Registry, e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.detail == nil {
		return what
	}
	return what + " (" + strings.TrimSpace(e.detail.Error()) + ")"
}

func (e *RegistryError) Unwrap() error { return e.detail }

// Pull fetches an image from its registry (the OCI distribution API, which
// Docker's registry v2 speaks) into the store and records its reference, as
// Import does. ref is a reference by tag or by digest; a short Docker Hub name
// ("busybox") means docker.io/library/busybox:latest. An index (a manifest
// list) resolves to its linux/<GOARCH> manifest. Blobs the store holds are not
// fetched again; every fetched blob is checked against its digest, and the
// layers are unpacked before the reference is written.
//
// A failed pull leaves the store as it was: the blobs it added are removed
// and no reference changes (with Import's caveat about a concurrent writer of
// the same blobs). A pull interrupted by a crash leaves only staging files
// (removed by the next Open after a day) and complete, unreferenced blobs.
//
// A registry's refusal is a *RegistryError; a registry that cannot be
// reached gives an error naming it.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (Pulled, error) {
	named, err := parseRef(ref)
	if err != nil {
		return Pulled{}, fmt.Errorf("pull: %w", err)
	}
	host := reference.Domain(named)
	if host == LocalDomain {
		return Pulled{}, fmt.Errorf("pull %s: %s is not a registry: import the image", named, LocalDomain)
	}
	var nameOpts []name.Option
	if plainHTTPAllowed(host, opts.Insecure) {
		nameOpts = append(nameOpts, name.Insecure)
	}
	remoteRef, err := name.ParseReference(named.String(), nameOpts...)
	if err != nil {
		return Pulled{}, fmt.Errorf("pull %s: %w", named, err)
	}
	creds := opts.Credentials
	if len(creds) == 0 {
		creds = []Credentials{{}}
	}
	var errs []error
	for _, c := range creds {
		imp := &Store{dir: s.dir, created: new([]digest.Digest)}
		p := &puller{store: s, imp: imp, ref: remoteRef, named: named, host: host, creds: c, opts: opts}
		pulled, err := p.pull(ctx)
		if err == nil {
			return pulled, nil
		}
		for _, d := range *imp.created {
			os.Remove(s.blobPath(d))
		}
		errs = append(errs, err)
		var re *RegistryError
		if !errors.As(err, &re) || (re.StatusCode != http.StatusUnauthorized && re.StatusCode != http.StatusForbidden) {
			break
		}
	}
	return Pulled{}, fmt.Errorf("pull %s: %w", named, errors.Join(errs...))
}

// puller is one attempt at a pull, with one set of credentials.
type puller struct {
	store *Store // the store pulled into
	imp   *Store // its view journaling the blobs this attempt adds
	ref   name.Reference
	named reference.Named
	host  string
	creds Credentials
	opts  PullOptions
	tr    *pullTransport
	rp    *remote.Puller
	// fetched counts the bytes of the blobs downloaded.
	fetched int64
}

// Retries of one request, for network flakes and 5xx answers; the caller
// (the kubelet's back-off) retries whole pulls.
var pullRetry = remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}

func (p *puller) pull(ctx context.Context) (Pulled, error) {
	p.tr = &pullTransport{base: p.opts.Transport, insecure: p.opts.Insecure}
	if p.tr.base == nil {
		p.tr.base = defaultTransport(listed(p.host, p.opts.Insecure))
	}
	var err error
	p.rp, err = remote.NewPuller(
		remote.WithAuth(authn.FromConfig(authn.AuthConfig{
			Username: p.creds.Username, Password: p.creds.Password, Auth: p.creds.Auth,
			IdentityToken: p.creds.IdentityToken, RegistryToken: p.creds.RegistryToken,
		})),
		remote.WithTransport(p.tr),
		remote.WithUserAgent("seven"),
		remote.WithRetryBackoff(pullRetry),
	)
	if err != nil {
		return Pulled{}, err
	}
	manifest, err := p.fetchManifest(ctx)
	if err != nil {
		return Pulled{}, err
	}
	var m ocispec.Manifest
	if err := p.imp.readJSONBlob(manifest, &m); err != nil {
		return Pulled{}, err
	}
	if err := checkDescriptors(m); err != nil {
		return Pulled{}, fmt.Errorf("manifest %s: %w", manifest, err)
	}
	for _, desc := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if err := p.fetchBlob(ctx, desc); err != nil {
			return Pulled{}, err
		}
	}
	rec, err := p.imp.checkImage(manifest, 0)
	if err != nil {
		return Pulled{}, err
	}
	cfg, err := p.imp.readConfig(m)
	if err != nil {
		return Pulled{}, err
	}
	if _, err := p.store.rootfs(m.Layers, cfg.RootFS.DiffIDs); err != nil {
		return Pulled{}, fmt.Errorf("unpack: %w", err)
	}
	rec.Ref = p.named.String()
	if _, err := p.store.writeRecords([]record{rec}); err != nil {
		return Pulled{}, err
	}
	return Pulled{
		Summary: Summary{Ref: rec.Ref, ID: rec.Config.String(), Digest: rec.Manifest.String(), Size: rec.Size},
		Fetched: p.fetched,
	}, nil
}

// fetchManifest fetches the manifest ref names, through an index to this
// platform's manifest if need be, stores it and returns its digest.
func (p *puller) fetchManifest(ctx context.Context) (digest.Digest, error) {
	desc, err := p.rp.Get(ctx, p.ref)
	if err != nil {
		return "", p.registryError(err)
	}
	for depth := 0; ; depth++ {
		d := digest.Digest(desc.Digest.String())
		if err := checkDigest(d); err != nil {
			return "", err
		}
		var mi manifestOrIndex
		if err := json.Unmarshal(desc.Manifest, &mi); err != nil {
			return "", fmt.Errorf("manifest %s: %w", d, err)
		}
		if mi.Config != nil {
			if err := p.imp.putBlob(d, bytes.NewReader(desc.Manifest)); err != nil {
				return "", err
			}
			return d, nil
		}
		if len(mi.Manifests) == 0 || depth >= 1 {
			return "", fmt.Errorf("manifest %s (%s) is neither an image manifest nor an index", d, desc.MediaType)
		}
		child, err := choosePlatform(mi.Manifests)
		if err != nil {
			return "", fmt.Errorf("index %s: %w", d, err)
		}
		if err := checkDigest(child.Digest); err != nil {
			return "", fmt.Errorf("index %s: %w", d, err)
		}
		if desc, err = p.rp.Get(ctx, p.ref.Context().Digest(child.Digest.String())); err != nil {
			return "", p.registryError(err)
		}
		if int64(len(desc.Manifest)) != child.Size {
			return "", fmt.Errorf("manifest %s: %d bytes, the index says %d", child.Digest, len(desc.Manifest), child.Size)
		}
	}
}

// fetchBlob stores a blob unless the store has it.
func (p *puller) fetchBlob(ctx context.Context, desc ocispec.Descriptor) error {
	if p.imp.hasBlob(desc.Digest) {
		return nil
	}
	layer, err := p.rp.Layer(ctx, p.ref.Context().Digest(desc.Digest.String()))
	if err != nil {
		return p.registryError(err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return p.registryError(err)
	}
	defer rc.Close()
	// Beyond its size a blob cannot match its digest: read no further.
	cr := &countingReader{r: io.LimitReader(rc, desc.Size+1)}
	if err := p.imp.putBlob(desc.Digest, cr); err != nil {
		return fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	p.fetched += cr.n
	return nil
}

// registryError turns a failed request into a *RegistryError when the
// registry answered with an error status, and names the registry when it
// could not be reached; other errors are returned as they are.
func (p *puller) registryError(err error) error {
	anonymous := p.creds == (Credentials{})
	var te *transport.Error
	if errors.As(err, &te) {
		re := &RegistryError{Registry: p.host, Ref: p.named.String(), StatusCode: te.StatusCode, Anonymous: anonymous, detail: err}
		if len(te.Errors) > 0 {
			re.Code = string(te.Errors[0].Code)
		}
		return re
	}
	// A failed ping reaches us with its cause flattened into a string; the
	// transport saw the answer.
	status, netErr := p.tr.lastFailure()
	switch {
	case status >= 400:
		return &RegistryError{Registry: p.host, Ref: p.named.String(), StatusCode: status, Anonymous: anonymous, detail: err}
	case netErr != nil && ctxErr(err) == nil:
		return fmt.Errorf("registry %s unreachable: %w", p.host, err)
	}
	return err
}

func ctxErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// choosePlatform picks the linux/<GOARCH> manifest of an index.
func choosePlatform(manifests []ocispec.Descriptor) (ocispec.Descriptor, error) {
	for _, m := range manifests {
		if p := m.Platform; p != nil && p.OS == "linux" && p.Architecture == runtime.GOARCH {
			return m, nil
		}
	}
	if len(manifests) == 1 && manifests[0].Platform == nil {
		return manifests[0], nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("no manifest for linux/%s", runtime.GOARCH)
}

// plainHTTPAllowed says whether a registry may be reached over plain HTTP:
// a loopback one, or one listed as insecure.
func plainHTTPAllowed(host string, insecure []string) bool {
	return isLoopback(host) || listed(host, insecure)
}

func isLoopback(host string) bool {
	h := hostname(host)
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// listed says whether host (host[:port]) is in an insecure list of hosts,
// host:port pairs and CIDRs.
func listed(host string, insecure []string) bool {
	h := hostname(host)
	ip := net.ParseIP(h)
	for _, e := range insecure {
		if e == host || e == h {
			return true
		}
		if _, cidr, err := net.ParseCIDR(e); err == nil && ip != nil && cidr.Contains(ip) {
			return true
		}
	}
	return false
}

// hostname strips the port from host[:port] (and the brackets of an IPv6
// address).
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// The default transports: one that checks certificates, one for insecure
// registries that does not. Shared, so pulls reuse connections.
var (
	transportsOnce         sync.Once
	secureTr, insecureTr   http.RoundTripper
	responseHeaderDeadline = time.Minute
)

func defaultTransport(skipVerify bool) http.RoundTripper {
	transportsOnce.Do(func() {
		base, ok := remote.DefaultTransport.(*http.Transport)
		if !ok {
			base = http.DefaultTransport.(*http.Transport)
		}
		secure := base.Clone()
		secure.ResponseHeaderTimeout = responseHeaderDeadline
		insecure := secure.Clone()
		insecure.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // Docker's insecure-registries, asked for by name
		secureTr, insecureTr = secure, insecure
	})
	if skipVerify {
		return insecureTr
	}
	return secureTr
}

// pullTransport is the HTTP transport of one pull attempt. It refuses plain
// HTTP to hosts that are neither loopback nor insecure (go-containerregistry
// would also try it for private addresses), and remembers how the last
// request ended, which go-containerregistry does not always pass on.
type pullTransport struct {
	base     http.RoundTripper
	insecure []string

	mu         sync.Mutex
	lastStatus int   // of the last request, if it got an answer
	lastErr    error // of the last request, if it got none
}

func (t *pullTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !plainHTTPAllowed(req.URL.Host, t.insecure) {
		return nil, fmt.Errorf("refusing plain HTTP to %s: not a loopback registry nor an insecure one", req.URL.Host)
	}
	resp, err := t.base.RoundTrip(req)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err != nil:
		t.lastStatus, t.lastErr = 0, err
	case resp.StatusCode == http.StatusUnauthorized && req.URL.Path == "/v2/" && req.Header.Get("Authorization") == "":
		// The ping's challenge: the answer expected before credentials.
		t.lastStatus, t.lastErr = 0, nil
	default:
		t.lastStatus, t.lastErr = resp.StatusCode, nil
	}
	return resp, err
}

// lastFailure is how the last request failed: an error status, or an error
// without an answer; zero values when it succeeded.
func (t *pullTransport) lastFailure() (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lastStatus < 400 {
		return 0, t.lastErr
	}
	return t.lastStatus, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
