package kubelet

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/kubelet/podsync"
	"github.com/project-seven/seven/cluster/kubelet/runtime"
)

type probeKind string

const (
	liveness  probeKind = "Liveness"
	readiness probeKind = "Readiness"
	startup   probeKind = "Startup"
)

// prober runs the probes of running containers, one goroutine per probe,
// and keeps their results for the pod sync.
type prober struct {
	k       *Kubelet
	mu      sync.Mutex
	cancels map[string]context.CancelFunc // by container id
	pods    map[string]types.UID          // container id → pod
	results map[string]podsync.Probes
}

func newProber(k *Kubelet) *prober {
	return &prober{k: k, cancels: map[string]context.CancelFunc{}, pods: map[string]types.UID{}, results: map[string]podsync.Probes{}}
}

func (p *prober) get(id string) podsync.Probes {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.results[id]
}

// ensure starts the probes of a running container if not yet running.
func (p *prober) ensure(ctx context.Context, pod *corev1.Pod, c *corev1.Container, st runtime.Status, podIP string) {
	if c.LivenessProbe == nil && c.ReadinessProbe == nil && c.StartupProbe == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.cancels[st.ID]; ok {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	p.cancels[st.ID], p.pods[st.ID] = cancel, pod.UID
	p.results[st.ID] = podsync.Probes{}
	for kind, pr := range map[probeKind]*corev1.Probe{liveness: c.LivenessProbe, readiness: c.ReadinessProbe, startup: c.StartupProbe} {
		if pr != nil {
			p.k.wg.Add(1)
			go func() {
				defer p.k.wg.Done()
				p.run(ctx, pod, c, st, podIP, kind, pr)
			}()
		}
	}
}

// forget stops the probes of every container of pod not in keep.
func (p *prober) forget(uid types.UID, keep map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, pu := range p.pods {
		if pu == uid && !keep[id] {
			p.cancels[id]()
			delete(p.cancels, id)
			delete(p.pods, id)
			delete(p.results, id)
		}
	}
}

func (p *prober) update(id string, f func(*podsync.Probes)) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.cancels[id]; !ok {
		return false
	}
	r := p.results[id]
	before := r
	f(&r)
	p.results[id] = r
	return r != before
}

func seconds(v int32, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

func (p *prober) run(ctx context.Context, pod *corev1.Pod, c *corev1.Container, st runtime.Status, podIP string, kind probeKind, pr *corev1.Probe) {
	period := seconds(pr.PeriodSeconds, 10)
	timeout := seconds(pr.TimeoutSeconds, 1)
	successes, failures := max(pr.SuccessThreshold, 1), pr.FailureThreshold
	if failures <= 0 {
		failures = 3
	}
	if kind != readiness {
		successes = 1
	}
	clk := p.k.clock
	if d := st.StartedAt.Add(time.Duration(pr.InitialDelaySeconds) * time.Second).Sub(clk.Now()); d > 0 {
		select {
		case <-ctx.Done():
			return
		case <-clk.After(d):
		}
	}
	tick := clk.NewTicker(period)
	defer tick.Stop()
	var okRun, failRun int32
	for {
		gated := false
		if kind != startup && c.StartupProbe != nil {
			gated = !p.get(st.ID).Started
		}
		if !gated {
			ok, msg := p.k.runHandler(ctx, pod, c, st.ID, podIP, pr.ProbeHandler, timeout)
			if ctx.Err() != nil {
				return
			}
			if ok {
				okRun, failRun = okRun+1, 0
			} else {
				okRun, failRun = 0, failRun+1
				p.k.recorder.Eventf(pod, corev1.EventTypeWarning, "Unhealthy", "%s probe failed: %s", kind, msg)
			}
			changed, done := false, false
			switch kind {
			case liveness:
				if failRun >= failures {
					changed = p.update(st.ID, func(r *podsync.Probes) { r.LivenessFailed = true })
					done = true
				}
			case readiness:
				if okRun >= successes {
					changed = p.update(st.ID, func(r *podsync.Probes) { r.Ready = true })
				} else if failRun >= failures {
					changed = p.update(st.ID, func(r *podsync.Probes) { r.Ready = false })
				}
			case startup:
				if okRun >= 1 {
					changed = p.update(st.ID, func(r *podsync.Probes) { r.Started = true })
					done = true
				} else if failRun >= failures {
					changed = p.update(st.ID, func(r *podsync.Probes) { r.StartupFailed = true })
					done = true
				}
			}
			if changed {
				p.k.wake(pod.UID)
			}
			if done {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		}
	}
}

// runHandler runs one probe or lifecycle handler and reports success with a
// message for failures.
func (k *Kubelet) runHandler(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id, podIP string, h corev1.ProbeHandler, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case h.Exec != nil:
		var out bytes.Buffer
		code, err := k.rt.Exec(ctx, id, runtime.ExecOptions{Command: h.Exec.Command, Stdout: &out, Stderr: &out})
		if err != nil {
			return false, err.Error()
		}
		if ctx.Err() != nil {
			return false, fmt.Sprintf("command timed out after %s", timeout)
		}
		if code != 0 {
			return false, fmt.Sprintf("command exited with %d: %s", code, truncate(out.String(), 256))
		}
		return true, ""
	case h.HTTPGet != nil:
		g := h.HTTPGet
		port, err := resolvePort(g.Port, c)
		if err != nil {
			return false, err.Error()
		}
		host := g.Host
		if host == "" {
			host = podIP
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: g.Path}
		if u.Path == "" {
			u.Path = "/"
		}
		if p, q, ok := cutQuery(g.Path); ok {
			u.Path, u.RawQuery = p, q
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return false, err.Error()
		}
		req.Header.Set("User-Agent", "kube-probe/seven")
		for _, hd := range g.HTTPHeaders {
			req.Header.Add(hd.Name, hd.Value)
		}
		resp, err := k.probeClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return false, fmt.Sprintf("HTTP probe failed with statuscode: %d: %s", resp.StatusCode, truncate(string(body), 128))
		}
		return true, ""
	case h.TCPSocket != nil:
		port, err := resolvePort(h.TCPSocket.Port, c)
		if err != nil {
			return false, err.Error()
		}
		host := h.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	case h.GRPC != nil:
		return grpcProbe(ctx, podIP, h.GRPC.Port, ptr.Deref(h.GRPC.Service, ""), timeout)
	}
	return false, "probe has no handler"
}

func cutQuery(path string) (string, string, bool) {
	for i := 0; i < len(path); i++ {
		if path[i] == '?' {
			return path[:i], path[i+1:], true
		}
	}
	return "", "", false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// resolvePort turns a probe port (number or container port name) into a number.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("port %q not found in container %s", p.StrVal, c.Name)
}

func newProbeClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, as in Kubernetes
			Proxy:             nil,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}
