// Package stats holds the kubelet Summary API types (the JSON of
// k8s.io/kubelet/pkg/apis/stats/v1alpha1, the subset Seven fills) and reads
// node-level CPU and memory from /proc.
package stats

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Summary is the response of /stats/summary.
type Summary struct {
	Node NodeStats  `json:"node"`
	Pods []PodStats `json:"pods"`
}

// NodeStats are node-level figures.
type NodeStats struct {
	NodeName  string       `json:"nodeName"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
}

// PodReference names a pod.
type PodReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

// PodStats are one pod's figures: the sum of its containers'.
type PodStats struct {
	PodRef     PodReference     `json:"podRef"`
	StartTime  metav1.Time      `json:"startTime"`
	Containers []ContainerStats `json:"containers"`
	CPU        *CPUStats        `json:"cpu,omitempty"`
	Memory     *MemoryStats     `json:"memory,omitempty"`
}

// ContainerStats are one container's figures.
type ContainerStats struct {
	Name      string       `json:"name"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
}

// CPUStats: usage as a rate (nanocores) and cumulative (core-nanoseconds).
type CPUStats struct {
	Time                 metav1.Time `json:"time"`
	UsageNanoCores       *uint64     `json:"usageNanoCores,omitempty"`
	UsageCoreNanoSeconds *uint64     `json:"usageCoreNanoSeconds,omitempty"`
}

// MemoryStats in bytes.
type MemoryStats struct {
	Time            metav1.Time `json:"time"`
	AvailableBytes  *uint64     `json:"availableBytes,omitempty"`
	UsageBytes      *uint64     `json:"usageBytes,omitempty"`
	WorkingSetBytes *uint64     `json:"workingSetBytes,omitempty"`
	RSSBytes        *uint64     `json:"rssBytes,omitempty"`
}

// Sample is a cumulative CPU reading at a time.
type Sample struct {
	Time     time.Time
	CPUNanos uint64
}

// NanoCores is the CPU rate between two samples.
func NanoCores(prev, cur Sample) *uint64 {
	dt := cur.Time.Sub(prev.Time)
	if prev.Time.IsZero() || dt <= 0 || cur.CPUNanos < prev.CPUNanos {
		return nil
	}
	v := uint64(float64(cur.CPUNanos-prev.CPUNanos) / dt.Seconds())
	return &v
}

// clockTicks is USER_HZ.
const clockTicks = 100

// NodeCPU reads the node's cumulative busy CPU time from /proc/stat.
func NodeCPU() (uint64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[0] != "cpu" {
			continue
		}
		var busy uint64
		// user nice system idle iowait irq softirq steal: all but idle and iowait.
		for i, v := range fields[1:9] {
			if i == 3 || i == 4 {
				continue
			}
			n, _ := strconv.ParseUint(v, 10, 64)
			busy += n
		}
		return busy * uint64(time.Second) / clockTicks, nil
	}
	return 0, sc.Err()
}

// NodeMemory reads total and available memory from /proc/meminfo.
func NodeMemory() (total, available uint64, err error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "MemTotal":
			total = n * 1024
		case "MemAvailable":
			available = n * 1024
		}
	}
	return total, available, sc.Err()
}
