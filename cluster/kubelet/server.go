package kubelet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/kubelet/crilog"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// ServingConfig is the kubelet API's TLS and access control, as upstream's
// --tls-cert-file, --tls-private-key-file, --client-ca-file and
// authorization settings.
type ServingConfig struct {
	// TLSCertFile and TLSPrivateKeyFile are the serving certificate (PEM),
	// issued by the cluster CA for the node's name and IP. Without them
	// the kubelet makes a self-signed one at start (and warns): an API
	// server that verifies kubelets then refuses to talk to it.
	TLSCertFile       string
	TLSPrivateKeyFile string
	// ClientCAFile holds the CA certificates (PEM) that client
	// certificates must chain to. Without it every request is anonymous
	// and allowed, as upstream's kubelet does with its flag defaults
	// (--anonymous-auth, --authorization-mode=AlwaysAllow), with a warning.
	ClientCAFile string
	// Authorizer decides what an authenticated client may do; default
	// StaticAuthorizer (see server_auth.go).
	Authorizer Authorizer
}

// listen opens the kubelet API's TLS listener.
func (k *Kubelet) listen() (*http.Server, error) {
	cert, err := k.servingCertificate()
	if err != nil {
		return nil, err
	}
	auth, err := k.newAuthenticator()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(k.cfg.NodeIP, strconv.Itoa(k.cfg.ServerPort)))
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"}, // upgrades (SPDY, WebSocket) need HTTP/1.1
		MinVersion:   tls.VersionTLS12,
		// A certificate is asked for but checked by the authenticator, so
		// that a missing or foreign one is a 401, not a failed handshake.
		ClientAuth: tls.RequestClientCert,
	}
	k.mu.Lock()
	k.listener = tls.NewListener(ln, tlsConfig)
	k.mu.Unlock()
	return &http.Server{
		Handler:           k.secure(auth, k.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(k.log.Handler(), slog.LevelDebug), // failed handshakes
	}, nil
}

// servingCertificate loads TLSCertFile and TLSPrivateKeyFile, or makes a
// self-signed certificate when none is configured.
func (k *Kubelet) servingCertificate() (tls.Certificate, error) {
	c := k.cfg.ServingConfig
	if c.TLSCertFile != "" || c.TLSPrivateKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSPrivateKeyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("serving certificate: %w", err)
		}
		return cert, nil
	}
	k.log.Warn("kubelet API serves a self-signed certificate: no --tls-cert-file given, and API servers that verify kubelets will refuse this one")
	return selfSigned(k.cfg.NodeName, k.cfg.NodeIP)
}

func (k *Kubelet) serve(ctx context.Context, srv *http.Server) {
	// Upgraded sessions (exec, attach, port-forward) are hijacked
	// connections that Shutdown does not track: their requests' contexts
	// end with the kubelet's, and the sessions with them.
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(k.listener) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			k.log.Error("kubelet server failed", "err", err)
		}
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		_ = srv.Close() // followed logs
	}
}

// Handler serves the kubelet API, without authentication (listen puts it
// behind secure).
func (k *Kubelet) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", k.handleLogs)
	for _, p := range []string{"/{namespace}/{pod}/{container}", "/{namespace}/{pod}/{uid}/{container}"} {
		mux.HandleFunc("/exec"+p, k.handleExec)
		mux.HandleFunc("/attach"+p, k.handleAttach)
	}
	mux.HandleFunc("/portForward/{namespace}/{pod}", k.handlePortForward)
	mux.HandleFunc("/portForward/{namespace}/{pod}/{uid}", k.handlePortForward)
	mux.HandleFunc("GET /stats/summary", k.handleSummary)
	mux.HandleFunc("GET /metrics", k.handleMetrics)
	mux.HandleFunc("GET /metrics/cadvisor", k.handleCadvisor)
	mux.HandleFunc("GET /pods", k.handlePods)
	return mux
}

// selfSigned makes a serving certificate for name and ip signed by itself
// (the fallback without TLSCertFile).
func selfSigned(name, ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serving key: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name + "@kubelet"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name},
	}
	if p := net.ParseIP(ip); p != nil {
		tmpl.IPAddresses = []net.IP{p}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serving certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// writeError answers with a Kubernetes Status.
func writeError(w http.ResponseWriter, err error) {
	status := apierrors.APIStatus(nil)
	if !errors.As(err, &status) {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_ = json.NewEncoder(w).Encode(st)
}

// findContainer locates the runtime container of namespace/pod/container:
// the latest attempt, or the one before it with previous.
func (k *Kubelet) findRuntimeContainer(namespace, podName, container string, previous bool) (*corev1.Pod, krt.Status, error) {
	if k.podLister == nil {
		return nil, krt.Status{}, apierrors.NewServiceUnavailable("kubelet is starting")
	}
	pod, err := k.podLister.Pods(namespace).Get(podName)
	if err != nil {
		return nil, krt.Status{}, apierrors.NewNotFound(corev1.Resource("pods"), podName)
	}
	if container == "" {
		if len(pod.Spec.Containers) != 1 {
			return nil, krt.Status{}, apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", podName))
		}
		container = pod.Spec.Containers[0].Name
	}
	if findContainer(pod, container) == nil {
		return nil, krt.Status{}, apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, podName))
	}
	var attempts []krt.Status
	for _, c := range k.containersOf(pod.UID) {
		if c.Spec.Name == container {
			attempts = append(attempts, c)
		}
	}
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].Spec.Attempt > attempts[j].Spec.Attempt })
	i := 0
	if previous {
		i = 1
	}
	if len(attempts) <= i {
		if previous {
			return nil, krt.Status{}, apierrors.NewBadRequest(fmt.Sprintf("previous terminated container %q in pod %q not found", container, podName))
		}
		return nil, krt.Status{}, apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start", container, podName))
	}
	return pod, attempts[i], nil
}

func boolParam(q map[string][]string, name string) bool {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	b, _ := strconv.ParseBool(v)
	return b
}

// flushWriter flushes after every write (followed logs).
type flushWriter struct {
	w http.ResponseWriter
	f http.Flusher
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if f.f != nil {
		f.f.Flush()
	}
	return n, err
}

func (k *Kubelet) handleLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	_, c, err := k.findRuntimeContainer(r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container"), boolParam(q, "previous"))
	if err != nil {
		writeError(w, err)
		return
	}
	opts := crilog.Options{Follow: boolParam(q, "follow"), Timestamps: boolParam(q, "timestamps")}
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, apierrors.NewBadRequest("tailLines must be a non-negative integer"))
			return
		}
		opts.TailLines = &n
	}
	if v := q.Get("limitBytes"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			writeError(w, apierrors.NewBadRequest("limitBytes must be a positive integer"))
			return
		}
		opts.LimitBytes = n
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			writeError(w, apierrors.NewBadRequest("sinceSeconds must be a positive integer"))
			return
		}
		opts.Since = k.clock.Now().Add(-time.Duration(n) * time.Second)
	} else if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, apierrors.NewBadRequest("sinceTime must be RFC3339"))
			return
		}
		opts.Since = t
	}
	id := c.ID
	opts.Done = func() bool {
		st, err := k.rt.Status(id)
		return err != nil || !st.Running()
	}
	w.Header().Set("Content-Type", "text/plain")
	var out io.Writer = w
	if opts.Follow {
		f, _ := w.(http.Flusher)
		out = flushWriter{w, f}
	}
	if err := crilog.Read(r.Context(), c.LogPath, opts, out); err != nil {
		k.log.Debug("serving logs", "err", err)
	}
}

// handlePods lists the pods this kubelet runs (as the kubelet's /pods does).
func (k *Kubelet) handlePods(w http.ResponseWriter, _ *http.Request) {
	list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	if k.podLister != nil {
		pods, _ := k.podLister.List(labelsEverything())
		for _, p := range pods {
			list.Items = append(list.Items, *p)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}
