package containerd

import (
	"context"
	"fmt"
	"time"

	cgroup1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	cgroup2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/typeurl/v2"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// Stats implements runtime.Runtime from the task's cgroup metrics, as
// cAdvisor figures them: the working set is usage less inactive file pages.
func (r *Runtime) Stats(id string) (krt.Stats, error) {
	ctx, cancel := context.WithTimeout(r.nsCtx(context.Background()), 10*time.Second)
	defer cancel()
	m, err := r.metrics(ctx, id)
	if err != nil {
		return krt.Stats{}, fmt.Errorf("stats %s: %w", id, err)
	}
	s := krt.Stats{Time: time.Now()}
	switch m := m.(type) {
	case *cgroup1.Metrics:
		if m.CPU != nil && m.CPU.Usage != nil {
			s.CPUUsageNanos = m.CPU.Usage.Total
		}
		if mem := m.Memory; mem != nil && mem.Usage != nil {
			s.MemoryWorkingSet = sub(mem.Usage.Usage, mem.TotalInactiveFile)
			s.MemoryRSS = mem.TotalRSS
		}
	case *cgroup2.Metrics:
		if m.CPU != nil {
			s.CPUUsageNanos = m.CPU.UsageUsec * 1000
		}
		if mem := m.Memory; mem != nil {
			s.MemoryWorkingSet = sub(mem.Usage, mem.InactiveFile)
			s.MemoryRSS = mem.Anon
		}
	default:
		return krt.Stats{}, fmt.Errorf("stats %s: unknown metrics type %T", id, m)
	}
	return s, nil
}

func (r *Runtime) metrics(ctx context.Context, id string) (any, error) {
	ctr, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, err
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return nil, err
	}
	return taskMetrics(ctx, task)
}

func taskMetrics(ctx context.Context, task client.Task) (any, error) {
	m, err := task.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	return typeurl.UnmarshalAny(m.Data)
}

// oomInMetrics says whether the task's cgroup counted an OOM kill (read
// before the task, and its cgroup, are deleted).
func oomInMetrics(ctx context.Context, task client.Task) bool {
	m, err := taskMetrics(ctx, task)
	if err != nil {
		return false
	}
	switch m := m.(type) {
	case *cgroup1.Metrics:
		return m.MemoryOomControl != nil && m.MemoryOomControl.OomKill > 0
	case *cgroup2.Metrics:
		return m.MemoryEvents != nil && m.MemoryEvents.OomKill > 0
	}
	return false
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
