package kubelet

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// /metrics: a few of the upstream kubelet's own metrics, under their
// upstream names and labels, in the Prometheus text format.

// apiMetrics counts the kubelet API's requests.
type apiMetrics struct {
	mu       sync.Mutex
	requests map[requestKey]uint64
}

// requestKey is the labels of kubelet_http_requests_total.
type requestKey struct {
	method, path string
	longRunning  bool
}

func (m *apiMetrics) countRequest(r *http.Request) {
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	key := requestKey{method: r.Method, path: first}
	switch first {
	case "exec", "attach", "portForward":
		key.longRunning = true
	case "containerLogs":
		key.longRunning = r.URL.Query().Get("follow") == "true"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests == nil {
		m.requests = map[requestKey]uint64{}
	}
	m.requests[key]++
}

func (m *apiMetrics) snapshot() map[requestKey]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[requestKey]uint64, len(m.requests))
	for k, v := range m.requests {
		out[k] = v
	}
	return out
}

func (k *Kubelet) handleMetrics(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP kubelet_node_name The node's name. The count is always 1.\n# TYPE kubelet_node_name gauge\nkubelet_node_name{node=%q} 1\n", k.cfg.NodeName)

	pods := map[string]bool{}
	states := map[string]int{}
	if list, err := k.rt.List(); err == nil {
		for _, c := range list {
			state := "exited"
			if c.Running() {
				state = "running"
				pods[c.Spec.PodUID] = true
			}
			states[state]++
		}
	}
	fmt.Fprintf(&b, "# HELP kubelet_running_pods Number of pods that have a running pod sandbox\n# TYPE kubelet_running_pods gauge\nkubelet_running_pods %d\n", len(pods))
	b.WriteString("# HELP kubelet_running_containers Number of containers currently running\n# TYPE kubelet_running_containers gauge\n")
	for _, state := range []string{"exited", "running"} {
		fmt.Fprintf(&b, "kubelet_running_containers{container_state=%q} %d\n", state, states[state])
	}

	phases := map[corev1.PodPhase]int{}
	if k.podLister != nil {
		if list, err := k.podLister.List(labelsEverything()); err == nil {
			for _, p := range list {
				phases[p.Status.Phase]++
			}
		}
	}
	b.WriteString("# HELP kubelet_desired_pods The number of pods the kubelet is being instructed to run.\n# TYPE kubelet_desired_pods gauge\n")
	total := 0
	for _, n := range phases {
		total += n
	}
	fmt.Fprintf(&b, "kubelet_desired_pods{static=\"\"} %d\n", total)

	reqs := k.metrics.snapshot()
	keys := make([]requestKey, 0, len(reqs))
	for key := range reqs {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].path != keys[j].path {
			return keys[i].path < keys[j].path
		}
		return keys[i].method < keys[j].method
	})
	b.WriteString("# HELP kubelet_http_requests_total Number of the http requests received since the server started\n# TYPE kubelet_http_requests_total counter\n")
	for _, key := range keys {
		fmt.Fprintf(&b, "kubelet_http_requests_total{long_running=\"%t\",method=%q,path=%q,server_type=\"readwrite\"} %d\n",
			key.longRunning, key.method, key.path, reqs[key])
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}
