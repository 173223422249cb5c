package apiserver_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/kubelet/streaming"
	"github.com/project-seven/seven/cluster/kubelet/streaming/streamingtest"
)

// standIn is a kubelet's API as far as the API server can tell: the
// upstream exec protocol (package streaming) behind TLS, recording what the
// API server sent.
type standIn struct {
	mu   sync.Mutex
	seen []string // "user path?query" of each request
	srv  *httptest.Server
}

func newStandIn(t *testing.T, cert tls.Certificate) *standIn {
	s := &standIn{}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := "anonymous"
		if len(r.TLS.PeerCertificates) > 0 {
			c := r.TLS.PeerCertificates[0].Subject
			user = c.CommonName + "/" + strings.Join(c.Organization, ",")
		}
		s.mu.Lock()
		s.seen = append(s.seen, user+" "+r.URL.Path+"?"+r.URL.RawQuery)
		s.mu.Unlock()
		opts, err := streaming.ParseOptions(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		streaming.ServeRemoteCommand(w, r, opts, streaming.Config{}, func(_ context.Context, st streaming.Streams) error {
			fmt.Fprint(st.Stdout, strings.Join(r.URL.Query()["command"], " "))
			return nil
		})
	}))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standIn) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// onNode registers a Node whose kubelet is at addr and a pod bound to it.
func onNode(t *testing.T, cs kubernetes.Interface, node, addr string) {
	t.Helper()
	ctx := context.Background()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(p)
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p-" + node, Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "seven.local/fixture:v1"}}},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestKubeletProxy: pods/exec reaches the kubelet with the upstream
// kubelet parameters (input, output, error, tty, command), over SPDY and
// over kubectl's v5 WebSocket (translated to SPDY), from the API server's
// kubelet client identity; a kubelet whose certificate the cluster CA did
// not issue gets nothing.
func TestKubeletProxy(t *testing.T) {
	srv, rc := apiservertest.StartServer(t, apiservertest.Options{})
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := srv.PKI().Issue("system:node:good", []string{"system:nodes"}, []string{"127.0.0.1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	good, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	foreignPKI, err := apiserver.LoadOrCreatePKI(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err = foreignPKI.Issue("system:node:bad", nil, []string{"127.0.0.1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	kGood, kBad := newStandIn(t, good), newStandIn(t, bad)
	onNode(t, cs, "good", strings.TrimPrefix(kGood.srv.URL, "https://"))
	onNode(t, cs, "bad", strings.TrimPrefix(kBad.srv.URL, "https://"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	execURL := func(pod string) *url.URL {
		return cs.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name(pod).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Command: []string{"echo", "hi"}, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
	}
	for _, tr := range streamingtest.Transports {
		res := streamingtest.Stream(ctx, rc, tr, http.MethodPost, execURL("p-good"), nil, false)
		if res.Err != nil || res.Stdout != "echo hi" {
			t.Errorf("exec over %s: %+v", tr, res)
		}
		if res := streamingtest.Stream(ctx, rc, tr, http.MethodPost, execURL("p-bad"), nil, false); res.Err == nil {
			t.Errorf("exec over %s reached a kubelet with a certificate of another CA", tr)
		}
	}
	want := "kube-apiserver-kubelet-client/kubeadm:cluster-admins /exec/default/p-good/c?command=echo&command=hi&error=1&output=1"
	got := kGood.requests()
	if len(got) != 2 || got[0] != want || got[1] != want {
		t.Errorf("the kubelet saw %q, want twice %q", got, want)
	}
	if got := kBad.requests(); len(got) != 0 {
		t.Errorf("the kubelet with a foreign certificate served %q", got)
	}
}
