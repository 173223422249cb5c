package kubelet

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/exec"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	"github.com/project-seven/seven/cluster/kubelet/streaming/streamingtest"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// secureNode is a kubelet serving its API as a kubeadm node does: a
// serving certificate of the cluster CA, client certificates required.
type secureNode struct {
	*cluster
	pki  *apiserver.PKI
	base string // https://<kubelet>
	cni  bool
}

// newSecureNode starts an API server and one kubelet with certificates
// from its PKI; in CNI mode (root) pods get network namespaces of their own.
func newSecureNode(t *testing.T, cni bool) *secureNode {
	t.Helper()
	srv, rc := apiservertest.StartServer(t, apiservertest.Options{})
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	images, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := images.EnsureFixtures(fixturetest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	certs, err := srv.PKI().WriteKubeletCertificates(filepath.Join(t.TempDir(), "pki"), "node-1", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Client: client, NodeName: "node-1", NodeIP: "127.0.0.1", RootDir: t.TempDir(), Images: images,
		Timings: timings.Fast(), Logger: testLogger(), StopPodsOnExit: true,
		ServingConfig: ServingConfig{TLSCertFile: certs.CertFile, TLSPrivateKeyFile: certs.KeyFile, ClientCAFile: certs.ClientCAFile},
	}
	if cni {
		cfg.Mode, cfg.Routes, cfg.CNIBinDirs = ModeCNI, &fakeRoutes{}, []string{cnitest.Plugins(t)}
		cfg.Bridge = fmt.Sprintf("s7s%d", os.Getpid()%100000)
		cfg.PodCIDR = fmt.Sprintf("10.%d.%d.0/24", 100+rand.IntN(100), rand.IntN(256))
	} else {
		cfg.PodCIDR = randomCIDR()
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kubelet: %v", err)
		}
	})
	eventually(t, 20*time.Second, func() (bool, string) {
		return k.ServerAddress() != "" && k.Synced(), "kubelet not serving"
	})
	c := &cluster{t: t, rest: rc, client: client, k: k}
	return &secureNode{cluster: c, pki: srv.PKI(), base: "https://" + k.ServerAddress(), cni: cni}
}

// clientConfig is a rest.Config for the kubelet that verifies its serving
// certificate against the cluster CA and presents a client certificate of
// user in groups.
func (n *secureNode) clientConfig(t *testing.T, user string, groups ...string) *rest.Config {
	t.Helper()
	certPEM, keyPEM, err := n.pki.Issue(user, groups, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	return &rest.Config{Host: n.base, TLSClientConfig: rest.TLSClientConfig{CAData: n.pki.CAPEM, CertData: certPEM, KeyData: keyPEM}}
}

// apiServerClient is the API server's identity towards kubelets.
func (n *secureNode) apiServerClient(t *testing.T) *rest.Config {
	return n.clientConfig(t, apiserver.KubeletClientUser, apiserver.KubeletClientGroup)
}

func (n *secureNode) get(t *testing.T, cfg *rest.Config, path string) (int, string) {
	t.Helper()
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(n.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestKubeletAPIAuth: no client certificate is 401, one from another CA
// too; a certificate of the cluster CA for neither the API server nor an
// admin is 403; the API server's is 200, on every path.
func TestKubeletAPIAuth(t *testing.T) {
	n := newSecureNode(t, false)

	anonymous := &rest.Config{Host: n.base, TLSClientConfig: rest.TLSClientConfig{CAData: n.pki.CAPEM}}
	foreign, err := apiserver.LoadOrCreatePKI(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fc, fk, err := foreign.Issue(apiserver.KubeletClientUser, []string{apiserver.KubeletClientGroup}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	impostor := &rest.Config{Host: n.base, TLSClientConfig: rest.TLSClientConfig{CAData: n.pki.CAPEM, CertData: fc, KeyData: fk}}

	for _, path := range []string{"/healthz", "/pods", "/stats/summary", "/metrics", "/metrics/cadvisor", "/containerLogs/default/x/y"} {
		if code, _ := n.get(t, anonymous, path); code != http.StatusUnauthorized {
			t.Errorf("%s without a client certificate: %d, want 401", path, code)
		}
		if code, _ := n.get(t, impostor, path); code != http.StatusUnauthorized {
			t.Errorf("%s with a certificate of another CA: %d, want 401", path, code)
		}
		if code, body := n.get(t, n.clientConfig(t, "jane", "developers"), path); code != http.StatusForbidden || !strings.Contains(body, "user=jane") {
			t.Errorf("%s as a non-admin: %d %q, want 403", path, code, body)
		}
	}
	for _, cfg := range []*rest.Config{n.apiServerClient(t), n.clientConfig(t, "admin", "system:masters")} {
		if code, body := n.get(t, cfg, "/healthz"); code != http.StatusOK || body != "ok" {
			t.Errorf("healthz as %s: %d %q", cfg.CertData[:0], code, body)
		}
		if code, body := n.get(t, cfg, "/pods"); code != http.StatusOK || !strings.Contains(body, `"kind":"PodList"`) {
			t.Errorf("pods: %d %q", code, body)
		}
	}
	// The metrics count what was asked, under upstream names.
	_, metrics := n.get(t, n.apiServerClient(t), "/metrics")
	for _, want := range []string{`kubelet_node_name{node="node-1"} 1`, "kubelet_running_pods ", `kubelet_http_requests_total{long_running="false",method="GET",path="pods",server_type="readwrite"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}

	// A streaming request without a certificate never reaches the upgrade.
	u, _ := url.Parse(n.base + "/exec/default/x/y?command=true&output=1")
	res := streamingtest.Stream(context.Background(), anonymous, streamingtest.SPDY, http.MethodPost, u, nil, false)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "Unauthorized") {
		t.Errorf("exec without a client certificate: %v", res.Err)
	}
}

// TestKubeletAPIStreaming drives exec, attach and port-forward on a real
// pod with the upstream clients, over SPDY and WebSockets.
func TestKubeletAPIStreaming(t *testing.T) {
	t.Run("loopback", func(t *testing.T) { testStreaming(t, newSecureNode(t, false)) })
	t.Run("cni", func(t *testing.T) {
		requireRoot(t, "port-forward into a pod's network namespace")
		testStreaming(t, newSecureNode(t, true))
	})
}

func testStreaming(t *testing.T, n *secureNode) {
	web := fixturePod("web", "seven.local/fixture:v1")
	if n.cni {
		// Listening on every interface of its namespace, localhost
		// included, which is where port-forward connects.
		web.Spec.Containers[0].Env = nil
	}
	cat := fixturePod("cat", "seven.local/fixture:v1")
	cat.Spec.Containers[0].Args = []string{"cat"}
	cat.Spec.Containers[0].Stdin = true
	n.create(withReadiness(web))
	n.create(cat)
	n.waitPod("web", 20*time.Second, "ready", ready)
	n.waitPod("cat", 20*time.Second, "running", running)
	cfg := n.apiServerClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, tr := range streamingtest.Transports {
		t.Run(string(tr), func(t *testing.T) {
			// exec with the upstream parameters: output, errors, exit code.
			q := url.Values{"command": {"/fixture", "exit", "3"}, "output": {"1"}, "error": {"1"}}
			u, _ := url.Parse(n.base + "/exec/default/web/app?" + q.Encode())
			res := streamingtest.Stream(ctx, cfg, tr, http.MethodPost, u, nil, false)
			if code, ok := res.Err.(exec.ExitError); !ok || code.ExitStatus() != 3 {
				t.Errorf("exec exit 3: %+v", res)
			}
			q = url.Values{"command": {"/fixture", "cat"}, "input": {"1"}, "output": {"1"}, "error": {"1"}}
			u, _ = url.Parse(n.base + "/exec/default/web/app?" + q.Encode())
			res = streamingtest.Stream(ctx, cfg, tr, http.MethodPost, u, strings.NewReader("through stdin\n"), false)
			if res.Err != nil || res.Stdout != "through stdin\n" {
				t.Errorf("exec cat: %+v", res)
			}

			// attach: what goes in on stdin comes out of the container's
			// stdout; the session ends when the input does (not the
			// container: it is not stdinOnce).
			q = url.Values{"input": {"1"}, "output": {"1"}, "error": {"1"}}
			u, _ = url.Parse(n.base + "/attach/default/cat/app?" + q.Encode())
			in, inW := io.Pipe()
			out := make(chan streamingtest.Result, 1)
			actx, acancel := context.WithCancel(ctx)
			go func() { out <- streamingtest.Stream(actx, cfg, tr, http.MethodPost, u, in, false) }()
			line := "hello " + string(tr)
			// The attach starts following the log at some point after the
			// request: write until the line comes back.
			echoed := false
			for i := 0; i < 50 && !echoed; i++ {
				fmt.Fprintln(inW, line)
				eventuallyLog(t, n, "cat", line, 200*time.Millisecond, &echoed)
			}
			inW.Close()
			acancel()
			<-out
			if !echoed {
				t.Errorf("attach: %q never reached the container", line)
			}

			// A container without stdin refuses input.
			u, _ = url.Parse(n.base + "/attach/default/web/app?" + q.Encode())
			res = streamingtest.Stream(ctx, cfg, tr, http.MethodPost, u, strings.NewReader("x"), false)
			if res.Err == nil || !strings.Contains(res.Err.Error(), "stdin") {
				t.Errorf("attach with stdin to a container without: %+v", res)
			}

			// port-forward to the fixture's HTTP port.
			u, _ = url.Parse(n.base + "/portForward/default/web")
			fw, err := streamingtest.PortForward(cfg, tr, u, 8080)
			if err != nil {
				t.Fatalf("port-forward: %v", err)
			}
			defer fw.Close()
			for i := range 3 {
				conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fw.Local), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatalf("request %d through the forward: %v", i, err)
				}
				body, _ := io.ReadAll(resp.Body)
				conn.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"hostname":"web"`) {
					t.Errorf("request %d through the forward: %d %s", i, resp.StatusCode, body)
				}
			}
		})
	}
}

// eventuallyLog sets *found when the pod's log (through the kubelet API)
// has line, waiting up to d.
func eventuallyLog(t *testing.T, n *secureNode, pod, line string, d time.Duration, found *bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		_, logs := n.get(t, n.apiServerClient(t), "/containerLogs/default/"+pod+"/app")
		if strings.Contains(logs, line) {
			*found = true
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKubeletServingCertificate: the kubelet serves the certificate it
// was given, which verifies against the cluster CA for its IP.
func TestKubeletServingCertificate(t *testing.T) {
	n := newSecureNode(t, false)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(n.pki.CAPEM)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(n.base, "https://"), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("the kubelet's certificate does not verify against the cluster CA: %v", err)
	}
	defer conn.Close()
	if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "system:node:node-1" {
		t.Errorf("serving certificate for %q", cn)
	}
}

// TestThroughAPIServer: kubectl's path, the API server's pods/exec,
// pods/attach, pods/portforward and pods/log proxied to the kubelet, with
// both of kubectl's transports (WebSockets, translated or tunnelled by the
// API server, and SPDY, passed through).
func TestThroughAPIServer(t *testing.T) {
	n := newSecureNode(t, false)
	cat := fixturePod("cat", "seven.local/fixture:v1")
	cat.Spec.Containers[0].Args = []string{"cat"}
	cat.Spec.Containers[0].Stdin = true
	n.create(withReadiness(fixturePod("web", "seven.local/fixture:v1")))
	n.create(cat)
	n.waitPod("web", 20*time.Second, "ready", ready)
	n.waitPod("cat", 20*time.Second, "running", running)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rc := n.client.CoreV1().RESTClient()

	for _, tr := range streamingtest.Transports {
		t.Run(string(tr), func(t *testing.T) {
			u := rc.Post().Resource("pods").Namespace("default").Name("web").SubResource("exec").
				VersionedParams(&corev1.PodExecOptions{Container: "app", Command: []string{"/fixture", "cat"}, Stdin: true, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
			res := streamingtest.Stream(ctx, n.rest, tr, http.MethodPost, u, strings.NewReader("via the API server\n"), false)
			if res.Err != nil || res.Stdout != "via the API server\n" {
				t.Errorf("exec cat: %+v", res)
			}
			u = rc.Post().Resource("pods").Namespace("default").Name("web").SubResource("exec").
				VersionedParams(&corev1.PodExecOptions{Command: []string{"/fixture", "exit", "7"}, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
			res = streamingtest.Stream(ctx, n.rest, tr, http.MethodPost, u, nil, false)
			if code, ok := res.Err.(exec.ExitError); !ok || code.ExitStatus() != 7 {
				t.Errorf("exec exit 7: %+v", res)
			}

			u = rc.Post().Resource("pods").Namespace("default").Name("cat").SubResource("attach").
				VersionedParams(&corev1.PodAttachOptions{Stdin: true, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
			in, inW := io.Pipe()
			out := make(chan streamingtest.Result, 1)
			actx, acancel := context.WithCancel(ctx)
			go func() { out <- streamingtest.Stream(actx, n.rest, tr, http.MethodPost, u, in, false) }()
			line := "attached via the API server over " + string(tr)
			echoed := false
			for i := 0; i < 50 && !echoed; i++ {
				fmt.Fprintln(inW, line)
				eventuallyLog(t, n, "cat", line, 200*time.Millisecond, &echoed)
			}
			inW.Close()
			acancel()
			<-out
			if !echoed {
				t.Errorf("attach: %q never reached the container", line)
			}

			u = rc.Post().Resource("pods").Namespace("default").Name("web").SubResource("portforward").URL()
			fw, err := streamingtest.PortForward(n.rest, tr, u, 8080)
			if err != nil {
				t.Fatalf("port-forward: %v", err)
			}
			defer fw.Close()
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", fw.Local))
			if err != nil {
				t.Fatalf("GET through the forward: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), `"hostname":"web"`) {
				t.Errorf("through the forward: %s", body)
			}
		})
	}

	logs, err := n.client.CoreV1().Pods("default").GetLogs("cat", &corev1.PodLogOptions{TailLines: ptrTo[int64](1)}).Do(ctx).Raw()
	if err != nil || !strings.HasPrefix(string(logs), "attached via the API server") {
		t.Errorf("pods/log tailLines=1: %q, %v", logs, err)
	}
}

// TestAPIServerVerifiesKubelets: a kubelet serving a certificate the
// cluster CA did not issue gets no request from the API server.
func TestAPIServerVerifiesKubelets(t *testing.T) {
	srv, rc := apiservertest.StartServer(t, apiservertest.Options{})
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	images, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := images.EnsureFixtures(fixturetest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	certs, err := srv.PKI().WriteKubeletCertificates(filepath.Join(t.TempDir(), "pki"), "node-1", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// Self-signed serving certificate; the client CA is the cluster's, so
	// the API server's certificate would be accepted if it were sent.
	k, err := New(Config{Client: client, NodeName: "node-1", NodeIP: "127.0.0.1", PodCIDR: randomCIDR(), RootDir: t.TempDir(), Images: images,
		Timings: timings.Fast(), Logger: testLogger(), StopPodsOnExit: true, ServingConfig: ServingConfig{ClientCAFile: certs.ClientCAFile}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Start(ctx) }()
	defer func() { cancel(); <-done }()
	c := &cluster{t: t, rest: rc, client: client, k: k}
	c.create(fixturePod("web", "seven.local/fixture:v1"))
	c.waitPod("web", 20*time.Second, "running", running)
	err = client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{}).Do(context.Background()).Error()
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != http.StatusServiceUnavailable || !strings.Contains(status.Status().Message, "certificate") {
		t.Errorf("logs from a kubelet with a self-signed certificate: %v, want 503 for its certificate", err)
	}
	u := client.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("web").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: []string{"/fixture", "exit", "0"}, Stdout: true}, scheme.ParameterCodec).URL()
	for _, tr := range streamingtest.Transports {
		if res := streamingtest.Stream(context.Background(), rc, tr, http.MethodPost, u, nil, false); res.Err == nil {
			t.Errorf("exec over %s through a kubelet with a self-signed certificate succeeded", tr)
		}
	}
}
