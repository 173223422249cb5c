package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/project-seven/seven/cluster/image/registrytest"
)

// testImage is a small image: a file and an entrypoint.
func testImage(content string) registrytest.Image {
	return registrytest.Image{
		Files:      []registrytest.File{{Path: "/etc", Mode: fs.ModeDir}, {Path: "/etc/hello", Content: []byte(content)}},
		Entrypoint: []string{"/bin/hello"},
		Env:        []string{"PATH=/bin"},
	}
}

func TestPull(t *testing.T) {
	reg := registrytest.Start(t)
	// About a megabyte of incompressible content: a small image.
	big := make([]byte, 1<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	img := testImage("v1\n")
	img.Files = append(img.Files, registrytest.File{Path: "/data", Content: big})
	pushed := reg.Push(t, "app:v1", img)
	s := openStore(t)
	ctx := context.Background()

	t.Run("ByTag", func(t *testing.T) {
		start := time.Now()
		p, err := s.Pull(ctx, reg.Ref("app:v1"), PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("pulled %s (%d bytes fetched) in %v", p.Ref, p.Fetched, time.Since(start))
		if p.Ref != reg.Ref("app:v1") || p.Digest != pushed || p.Fetched < 1<<20 {
			t.Errorf("pulled %+v, want digest %s", p, pushed)
		}
		got, err := s.Get(reg.Ref("app:v1"))
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != pushed || !reflect.DeepEqual(got.Config.Entrypoint, []string{"/bin/hello"}) || !reflect.DeepEqual(got.Config.Env, []string{"PATH=/bin"}) {
			t.Errorf("image %+v", got)
		}
		tree := readTree(t, got.RootFS)
		if tree["etc/hello"] != "v1\n" || tree["data"] != string(big) {
			t.Errorf("rootfs holds %d files, etc/hello %q", len(tree), tree["etc/hello"])
		}
		if list, _ := s.List(); len(list) != 1 || list[0].Digest != pushed {
			t.Errorf("List = %+v", list)
		}
	})

	t.Run("AgainFetchesNoBlob", func(t *testing.T) {
		start := time.Now()
		p, err := s.Pull(ctx, reg.Ref("app:v1"), PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("pulled again in %v", time.Since(start))
		if p.Fetched != 0 || p.Digest != pushed {
			t.Errorf("second pull %+v: fetched %d bytes, want 0", p, p.Fetched)
		}
	})

	t.Run("NewDigestUnderTheSameTag", func(t *testing.T) {
		pushed2 := reg.Push(t, "app:v1", testImage("v2\n"))
		p, err := s.Pull(ctx, reg.Ref("app:v1"), PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(reg.Ref("app:v1"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Digest != pushed2 || got.Digest != pushed2 || readTree(t, got.RootFS)["etc/hello"] != "v2\n" {
			t.Errorf("after a push of %s, pulled %s and Get gives %s", pushed2, p.Digest, got.Digest)
		}
	})

	t.Run("ByDigest", func(t *testing.T) {
		s := openStore(t)
		ref := reg.Ref("app@" + pushed)
		p, err := s.Pull(ctx, ref, PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Ref != ref || p.Digest != pushed {
			t.Errorf("pulled %+v", p)
		}
		if _, err := s.Get(ref); err != nil {
			t.Error(err)
		}
		if _, err := s.Get(reg.Ref("app:v1")); !errors.Is(err, ErrNotFound) {
			t.Errorf("a pull by digest named the tag too: %v", err)
		}
	})
}

func TestPullIndex(t *testing.T) {
	reg := registrytest.Start(t)
	other := "s390x"
	if runtime.GOARCH == other {
		other = "riscv64"
	}
	foreign := testImage("foreign\n")
	foreign.Architecture = other
	index, manifests := reg.PushIndex(t, "multi:v1", foreign, testImage("native\n"))
	ctx := context.Background()

	for _, ref := range []string{reg.Ref("multi:v1"), reg.Ref("multi@" + index)} {
		s := openStore(t)
		p, err := s.Pull(ctx, ref, PullOptions{})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if p.Digest != manifests[1] {
			t.Errorf("%s: pulled manifest %s, want linux/%s's %s", ref, p.Digest, runtime.GOARCH, manifests[1])
		}
		got, err := s.Get(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if readTree(t, got.RootFS)["etc/hello"] != "native\n" {
			t.Errorf("%s: rootfs of the wrong platform", ref)
		}
		if _, err := s.Get(reg.Ref("multi@" + manifests[1])); err != nil {
			t.Errorf("by the platform manifest's digest: %v", err)
		}
	}

	t.Run("NoManifestForThisPlatform", func(t *testing.T) {
		reg.PushIndex(t, "foreign:v1", foreign)
		s := openStore(t)
		before := storeFiles(t, s)
		_, err := s.Pull(ctx, reg.Ref("foreign:v1"), PullOptions{})
		if err == nil || !strings.Contains(err.Error(), "no manifest for linux/"+runtime.GOARCH) {
			t.Errorf("pull of a foreign-only index: %v", err)
		}
		if after := storeFiles(t, s); !reflect.DeepEqual(before, after) {
			t.Errorf("store changed: %v → %v", before, after)
		}
	})
}

// TestPullRefused checks the failures of a pull: each gives a clear error
// and leaves the store, which holds an imported image, as it was.
func TestPullRefused(t *testing.T) {
	ctx := context.Background()
	unknownDigest := digest.FromString("nothing").String()
	for _, tc := range []struct {
		name  string
		opts  []registrytest.Option
		ref   string // in the registry; default app:v1
		creds []Credentials
		// want: a *RegistryError with this status (0: any other error) and
		// a message containing msg.
		status int
		msg    string
	}{
		{name: "Unauthorized", opts: []registrytest.Option{registrytest.WithBasicAuth("user", "secret")},
			status: 401, msg: "401 Unauthorized: registry 127.0.0.1:"},
		{name: "WrongCredentials", opts: []registrytest.Option{registrytest.WithBasicAuth("user", "secret")},
			creds: []Credentials{{Username: "user", Password: "wrong"}}, status: 401, msg: "refused the credentials"},
		{name: "ServerError", opts: []registrytest.Option{registrytest.WithMiddleware(failing(0))},
			status: 500, msg: "answered 500 Internal Server Error"},
		{name: "ServerErrorOnALayer", opts: []registrytest.Option{registrytest.WithMiddleware(failing(1))},
			status: 500, msg: "answered 500 Internal Server Error"},
		{name: "ManifestUnknown", ref: "nope:v1", status: 404, msg: "manifest unknown: registry 127.0.0.1:"},
		{name: "UnknownDigest", ref: "app@" + unknownDigest, status: 404, msg: "manifest unknown"},
		{name: "BlobNotMatchingItsDigest", opts: []registrytest.Option{registrytest.WithMiddleware(tamperBlobs)},
			msg: "sha256"},
		{name: "ManifestNotMatchingItsDigest", ref: "app@", opts: []registrytest.Option{registrytest.WithMiddleware(tamperManifests)},
			msg: "does not match"},
		{name: "TruncatedBlob", opts: []registrytest.Option{registrytest.WithMiddleware(truncateBlobs)},
			msg: "blob sha256:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.Start(t, tc.opts...)
			pushed := reg.Push(t, "app:v1", testImage("v1\n"))
			ref := tc.ref
			switch ref {
			case "":
				ref = "app:v1"
			case "app@":
				ref += pushed
			}
			s := openStore(t)
			if _, err := s.Import(bytes.NewReader(layoutTar(t, named("example.com/kept:v1"), ocispec.ImageConfig{}, []layer{{entries: []entry{{name: "kept", body: "yes"}}}}))); err != nil {
				t.Fatal(err)
			}
			kept, err := s.Get("example.com/kept:v1")
			if err != nil {
				t.Fatal(err)
			}
			before := storeFiles(t, s)

			_, err = s.Pull(ctx, reg.Ref(ref), PullOptions{Credentials: tc.creds})
			t.Logf("error: %v", err)
			var re *RegistryError
			switch {
			case err == nil:
				t.Fatal("pull succeeded")
			case tc.status != 0 && (!errors.As(err, &re) || re.StatusCode != tc.status):
				t.Errorf("error %v; want a registry error with status %d", err, tc.status)
			case !strings.Contains(err.Error(), tc.msg):
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if after := storeFiles(t, s); !reflect.DeepEqual(before, after) {
				t.Errorf("the store changed:\nbefore %v\nafter  %v", before, after)
			}
			if got, err := s.Get("example.com/kept:v1"); err != nil || got.Digest != kept.Digest {
				t.Errorf("the imported image: %v", err)
			}
		})
	}
}

func TestPullCredentials(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithBasicAuth("user", "secret"))
	pushed := reg.Push(t, "private:v1", testImage("private\n"))
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		creds []Credentials
	}{
		{"UserPassword", []Credentials{{Username: "user", Password: "secret"}}},
		{"Auth", []Credentials{{Auth: "dXNlcjpzZWNyZXQ="}}}, // user:secret
		{"SecondOfTwo", []Credentials{{Username: "user", Password: "old"}, {Username: "user", Password: "secret"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			p, err := s.Pull(ctx, reg.Ref("private:v1"), PullOptions{Credentials: tc.creds})
			if err != nil {
				t.Fatal(err)
			}
			if p.Digest != pushed {
				t.Errorf("pulled %s, want %s", p.Digest, pushed)
			}
		})
	}
}

// TestPullInsecureList reaches a registry by a name that is not loopback
// (every connection goes to the test registry): over HTTPS only, unless the
// name is listed as insecure.
func TestPullInsecureList(t *testing.T) {
	reg := registrytest.Start(t)
	pushed := reg.Push(t, "app:v1", testImage("v1\n"))
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, reg.Host)
	}}
	defer tr.CloseIdleConnections()
	const ref = "registry.test:5000/app:v1"
	ctx := context.Background()

	s := openStore(t)
	before := storeFiles(t, s)
	_, err := s.Pull(ctx, ref, PullOptions{Transport: tr})
	if err == nil || !strings.Contains(err.Error(), "https://registry.test:5000/v2/") {
		t.Errorf("pull from an unlisted registry serving plain HTTP: %v", err)
	}
	// go-containerregistry falls back to plain HTTP for private addresses;
	// Seven does not.
	_, err = s.Pull(ctx, "10.255.0.1:5000/app:v1", PullOptions{Transport: tr})
	if err == nil || !strings.Contains(err.Error(), "refusing plain HTTP to 10.255.0.1:5000") {
		t.Errorf("pull from an unlisted private address serving plain HTTP: %v", err)
	}
	if after := storeFiles(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("the store changed: %v", after)
	}
	for _, insecure := range []string{"registry.test:5000", "registry.test"} {
		p, err := s.Pull(ctx, ref, PullOptions{Transport: tr, Insecure: []string{insecure}})
		if err != nil || p.Digest != pushed {
			t.Errorf("Insecure %q: pulled %+v, %v", insecure, p, err)
		}
	}
}

func TestPullLocalDomain(t *testing.T) {
	s := openStore(t)
	_, err := s.Pull(context.Background(), "seven.local/fixture:v9", PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "not a registry") {
		t.Errorf("pull from seven.local: %v", err)
	}
	if _, err := s.Pull(context.Background(), "Bad:Name", PullOptions{}); err == nil || !strings.Contains(err.Error(), "invalid image reference") {
		t.Errorf("pull of an invalid reference: %v", err)
	}
}

func TestPullable(t *testing.T) {
	for ref, want := range map[string]bool{
		"busybox":                     true,
		"registry.example.com/app:v1": true,
		"127.0.0.1:5000/app":          true,
		"seven.local/fixture:v1":      false,
		"Bad":                         false,
	} {
		if got := Pullable(ref); got != want {
			t.Errorf("Pullable(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestPlainHTTPAllowed(t *testing.T) {
	for _, tc := range []struct {
		host     string
		insecure []string
		want     bool
	}{
		{"localhost:5000", nil, true},
		{"localhost", nil, true},
		{"127.0.0.1:5000", nil, true},
		{"127.1.2.3:5000", nil, true},
		{"[::1]:5000", nil, true},
		{"10.1.2.3:5000", nil, false},
		{"10.1.2.3:5000", []string{"10.0.0.0/8"}, true},
		{"registry.example.com", nil, false},
		{"registry.example.com:5000", []string{"registry.example.com"}, true},
		{"registry.example.com:5000", []string{"registry.example.com:5000"}, true},
		{"registry.example.com:5000", []string{"registry.example.com:5001"}, false},
		{"index.docker.io", []string{"registry.example.com"}, false},
	} {
		if got := plainHTTPAllowed(tc.host, tc.insecure); got != tc.want {
			t.Errorf("plainHTTPAllowed(%q, %q) = %v, want %v", tc.host, tc.insecure, got, tc.want)
		}
	}
}

// failing answers 500 to every request after the first n blob requests
// (n = 0: to every request).
func failing(n int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		var blobs atomic.Int32
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n == 0 || (strings.Contains(r.URL.Path, "/blobs/") && int(blobs.Add(1)) > n) {
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// tamperBlobs flips the last byte of every blob served.
func tamperBlobs(next http.Handler) http.Handler {
	return rewrite(next, "/blobs/", func(b []byte) []byte {
		if len(b) > 0 {
			b[len(b)-1] ^= 0xff
		}
		return b
	})
}

// tamperManifests adds a space to every manifest served by digest.
func tamperManifests(next http.Handler) http.Handler {
	return rewrite(next, "/manifests/sha256:", func(b []byte) []byte { return append(b, ' ') })
}

// rewrite passes the bodies of GETs whose path contains part through f.
func rewrite(next http.Handler, part string, f func([]byte) []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, part) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		body := f(rec.body.Bytes())
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.status())
		_, _ = w.Write(body)
	})
}

// truncateBlobs serves half of every blob, promising all of it, then drops
// the connection.
func truncateBlobs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		body := rec.body.Bytes()
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status())
		_, _ = w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	})
}

type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// storeFiles lists the files of a store (path → size), staging included.
func storeFiles(t testing.TB, s *Store) map[string]int64 {
	t.Helper()
	files := map[string]int64{}
	err := filepath.WalkDir(s.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.Dir(), p)
		files[rel] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestPullDockerHubName checks where a short Docker Hub name is pulled from,
// with a transport standing in for Docker Hub.
func TestPullDockerHubName(t *testing.T) {
	var got []string
	tr := roundTrip(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.Method+" "+r.URL.String())
		status := http.StatusNotFound
		if r.URL.Path == "/v2/" {
			status = http.StatusOK
		}
		return &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})
	s := openStore(t)
	_, err := s.Pull(context.Background(), "busybox", PullOptions{Transport: tr})
	var re *RegistryError
	if !errors.As(err, &re) || re.Registry != "docker.io" || re.Ref != "docker.io/library/busybox:latest" {
		t.Errorf("error %v", err)
	}
	want := []string{"GET https://index.docker.io/v2/", "GET https://index.docker.io/v2/library/busybox/manifests/latest"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
