package kubelet

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/kubelet/stats"
)

// cpuSamples keeps the previous CPU reading of each container (and of the
// node, key "") to turn cumulative figures into rates.
type cpuSamples struct {
	mu sync.Mutex
	m  map[string]stats.Sample
}

func (c *cpuSamples) rate(key string, cur stats.Sample) *uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]stats.Sample{}
	}
	prev := c.m[key]
	c.m[key] = cur
	return stats.NanoCores(prev, cur)
}

type containerFigures struct {
	namespace, pod, uid, container, id, image string
	started                                   time.Time
	s                                         stats.Sample
	workingSet, rss                           uint64
}

// figures reads the stats of every running container.
func (k *Kubelet) figures() []containerFigures {
	list, err := k.rt.List()
	if err != nil {
		return nil
	}
	var out []containerFigures
	for _, c := range list {
		if !c.Running() {
			continue
		}
		s, err := k.rt.Stats(c.ID)
		if err != nil {
			continue
		}
		out = append(out, containerFigures{
			namespace: c.Spec.PodNamespace, pod: c.Spec.PodName, uid: c.Spec.PodUID, container: c.Spec.Name,
			id: c.ID, image: c.Spec.Image, started: c.StartedAt,
			s: stats.Sample{Time: s.Time, CPUNanos: s.CPUUsageNanos}, workingSet: s.MemoryWorkingSet, rss: s.MemoryRSS,
		})
	}
	return out
}

// Summary computes the Summary API response.
func (k *Kubelet) Summary() stats.Summary {
	now := k.clock.Now()
	sum := stats.Summary{Node: stats.NodeStats{NodeName: k.cfg.NodeName, StartTime: metav1.NewTime(k.started)}, Pods: []stats.PodStats{}}
	if cpu, err := stats.NodeCPU(); err == nil {
		s := stats.Sample{Time: now, CPUNanos: cpu}
		sum.Node.CPU = &stats.CPUStats{Time: metav1.NewTime(now), UsageCoreNanoSeconds: ptr.To(cpu), UsageNanoCores: k.samples.rate("", s)}
	}
	if total, avail, err := stats.NodeMemory(); err == nil {
		ws := total - avail
		sum.Node.Memory = &stats.MemoryStats{Time: metav1.NewTime(now), AvailableBytes: ptr.To(avail), UsageBytes: ptr.To(ws), WorkingSetBytes: ptr.To(ws)}
	}
	pods := map[string]*stats.PodStats{}
	var order []string
	for _, f := range k.figures() {
		p := pods[f.uid]
		if p == nil {
			p = &stats.PodStats{PodRef: stats.PodReference{Name: f.pod, Namespace: f.namespace, UID: f.uid}, StartTime: metav1.NewTime(f.started),
				CPU:    &stats.CPUStats{Time: metav1.NewTime(f.s.Time), UsageCoreNanoSeconds: ptr.To[uint64](0), UsageNanoCores: ptr.To[uint64](0)},
				Memory: &stats.MemoryStats{Time: metav1.NewTime(f.s.Time), WorkingSetBytes: ptr.To[uint64](0), RSSBytes: ptr.To[uint64](0), UsageBytes: ptr.To[uint64](0)}}
			pods[f.uid] = p
			order = append(order, f.uid)
		}
		if f.started.Before(p.StartTime.Time) {
			p.StartTime = metav1.NewTime(f.started)
		}
		cs := stats.ContainerStats{Name: f.container, StartTime: metav1.NewTime(f.started),
			CPU:    &stats.CPUStats{Time: metav1.NewTime(f.s.Time), UsageCoreNanoSeconds: ptr.To(f.s.CPUNanos), UsageNanoCores: k.samples.rate(f.id, f.s)},
			Memory: &stats.MemoryStats{Time: metav1.NewTime(f.s.Time), WorkingSetBytes: ptr.To(f.workingSet), RSSBytes: ptr.To(f.rss), UsageBytes: ptr.To(f.workingSet)}}
		p.Containers = append(p.Containers, cs)
		*p.CPU.UsageCoreNanoSeconds += f.s.CPUNanos
		if cs.CPU.UsageNanoCores != nil {
			*p.CPU.UsageNanoCores += *cs.CPU.UsageNanoCores
		}
		*p.Memory.WorkingSetBytes += f.workingSet
		*p.Memory.RSSBytes += f.rss
		*p.Memory.UsageBytes += f.workingSet
	}
	for _, uid := range order {
		sum.Pods = append(sum.Pods, *pods[uid])
	}
	return sum
}

func (k *Kubelet) handleSummary(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(k.Summary())
}

// handleCadvisor serves the cAdvisor metrics Seven has, in the Prometheus
// text format.
func (k *Kubelet) handleCadvisor(w http.ResponseWriter, _ *http.Request) {
	figs := k.figures()
	sort.Slice(figs, func(i, j int) bool {
		a, b := figs[i], figs[j]
		return a.namespace+"/"+a.pod+"/"+a.container < b.namespace+"/"+b.pod+"/"+b.container
	})
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	labels := func(f containerFigures) string {
		return fmt.Sprintf(`container=%q,id=%q,image=%q,name=%q,namespace=%q,pod=%q`,
			f.container, "/seven/pod"+f.uid+"/"+f.id, f.image, f.id, f.namespace, f.pod)
	}
	b.WriteString("# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.\n# TYPE container_cpu_usage_seconds_total counter\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "container_cpu_usage_seconds_total{%s} %g %d\n", labels(f), float64(f.s.CPUNanos)/1e9, f.s.Time.UnixMilli())
	}
	b.WriteString("# HELP container_memory_working_set_bytes Current working set in bytes.\n# TYPE container_memory_working_set_bytes gauge\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "container_memory_working_set_bytes{%s} %d %d\n", labels(f), f.workingSet, f.s.Time.UnixMilli())
	}
	b.WriteString("# HELP container_memory_rss Size of RSS in bytes.\n# TYPE container_memory_rss gauge\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "container_memory_rss{%s} %d %d\n", labels(f), f.rss, f.s.Time.UnixMilli())
	}
	b.WriteString("# HELP container_start_time_seconds Start time of the container since unix epoch in seconds.\n# TYPE container_start_time_seconds gauge\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "container_start_time_seconds{%s} %d\n", labels(f), f.started.Unix())
	}
	_, _ = w.Write([]byte(b.String()))
}
