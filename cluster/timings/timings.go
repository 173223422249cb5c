// Package timings holds every interval of the reference orchestrator in one
// place. Two presets exist: Kubernetes (the upstream defaults) and Fast (seconds,
// for test clusters). The preset in force is published in the cluster as the
// ConfigMap kube-system/seven-timings so that the conformance suite reads its
// bounds from the target rather than assuming them.
package timings

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// ConfigMap coordinates: where the preset in force is published.
const (
	ConfigMapNamespace = "kube-system"
	ConfigMapName      = "seven-timings"
	presetKey          = "preset"
)

// Timings is every configurable interval. Field names are the ConfigMap keys
// (lower camel case) and the flag names (kebab case).
type Timings struct {
	// NodeLeaseDuration is the kubelet's Lease duration; it renews every quarter of it.
	NodeLeaseDuration time.Duration
	// NodeStatusUpdate is how often the kubelet reports NodeStatus.
	NodeStatusUpdate time.Duration
	// NodeMonitorGracePeriod: a node whose Lease is older becomes Unknown.
	NodeMonitorGracePeriod time.Duration
	// NodeMonitorPeriod is how often the node lifecycle controller checks nodes.
	NodeMonitorPeriod time.Duration
	// DefaultTolerationSeconds is added to pods for not-ready/unreachable NoExecute taints.
	DefaultTolerationSeconds time.Duration
	// CrashBackOffInitial and CrashBackOffMax bound the container restart back-off.
	CrashBackOffInitial time.Duration
	CrashBackOffMax     time.Duration
	// ImagePullBackOffInitial and ImagePullBackOffMax bound image pull retries.
	ImagePullBackOffInitial time.Duration
	ImagePullBackOffMax     time.Duration
	// JobBackOffInitial and JobBackOffMax bound the Job controller's pod retry back-off.
	JobBackOffInitial time.Duration
	JobBackOffMax     time.Duration
	// PodResync is how often the kubelet re-checks every pod even without events.
	PodResync time.Duration
	// LeaderLeaseDuration, LeaderRenewDeadline and LeaderRetryPeriod drive leader election.
	LeaderLeaseDuration time.Duration
	LeaderRenewDeadline time.Duration
	LeaderRetryPeriod   time.Duration
	// EndpointsSyncDelay batches endpoint updates.
	EndpointsSyncDelay time.Duration
	// ConfigVolumeSync is how often mounted ConfigMap and Secret files are refreshed.
	ConfigVolumeSync time.Duration
	// WatchBookmark is the interval of watch bookmark events.
	WatchBookmark time.Duration
}

// Preset names.
const (
	PresetFast       = "fast"
	PresetKubernetes = "kubernetes"
)

// Kubernetes returns the upstream defaults.
func Kubernetes() Timings {
	return Timings{
		NodeLeaseDuration:        40 * time.Second,
		NodeStatusUpdate:         10 * time.Second,
		NodeMonitorGracePeriod:   50 * time.Second,
		NodeMonitorPeriod:        5 * time.Second,
		DefaultTolerationSeconds: 300 * time.Second,
		CrashBackOffInitial:      10 * time.Second,
		CrashBackOffMax:          300 * time.Second,
		ImagePullBackOffInitial:  10 * time.Second,
		ImagePullBackOffMax:      300 * time.Second,
		JobBackOffInitial:        10 * time.Second,
		JobBackOffMax:            360 * time.Second,
		PodResync:                60 * time.Second,
		LeaderLeaseDuration:      15 * time.Second,
		LeaderRenewDeadline:      10 * time.Second,
		LeaderRetryPeriod:        2 * time.Second,
		EndpointsSyncDelay:       time.Second,
		ConfigVolumeSync:         60 * time.Second,
		WatchBookmark:            60 * time.Second,
	}
}

// Fast returns intervals of seconds or less, for test clusters.
func Fast() Timings {
	return Timings{
		NodeLeaseDuration:        4 * time.Second,
		NodeStatusUpdate:         time.Second,
		NodeMonitorGracePeriod:   5 * time.Second,
		NodeMonitorPeriod:        500 * time.Millisecond,
		DefaultTolerationSeconds: 5 * time.Second,
		CrashBackOffInitial:      500 * time.Millisecond,
		CrashBackOffMax:          5 * time.Second,
		ImagePullBackOffInitial:  500 * time.Millisecond,
		ImagePullBackOffMax:      5 * time.Second,
		JobBackOffInitial:        200 * time.Millisecond,
		JobBackOffMax:            2 * time.Second,
		PodResync:                5 * time.Second,
		LeaderLeaseDuration:      4 * time.Second,
		LeaderRenewDeadline:      3 * time.Second,
		LeaderRetryPeriod:        500 * time.Millisecond,
		EndpointsSyncDelay:       50 * time.Millisecond,
		ConfigVolumeSync:         time.Second,
		WatchBookmark:            5 * time.Second,
	}
}

// Preset returns the named preset.
func Preset(name string) (Timings, error) {
	switch name {
	case PresetFast:
		return Fast(), nil
	case PresetKubernetes:
		return Kubernetes(), nil
	}
	return Timings{}, fmt.Errorf("unknown timings preset %q (want %q or %q)", name, PresetFast, PresetKubernetes)
}

// Data renders t as ConfigMap data: one key per field in lower camel case with a
// Go duration value, plus "preset".
func (t Timings) Data(preset string) map[string]string {
	data := map[string]string{presetKey: preset}
	v := reflect.ValueOf(t)
	for i := 0; i < v.NumField(); i++ {
		data[key(v.Type().Field(i).Name)] = v.Field(i).Interface().(time.Duration).String()
	}
	return data
}

// FromData parses ConfigMap data written by Data. Keys it does not know are an
// error; keys it lacks keep the values of base.
func FromData(base Timings, data map[string]string) (Timings, string, error) {
	t := base
	v := reflect.ValueOf(&t).Elem()
	fields := map[string]int{}
	for i := 0; i < v.NumField(); i++ {
		fields[key(v.Type().Field(i).Name)] = i
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == presetKey {
			continue
		}
		i, ok := fields[k]
		if !ok {
			return base, "", fmt.Errorf("timings: unknown key %q", k)
		}
		d, err := time.ParseDuration(data[k])
		if err != nil {
			return base, "", fmt.Errorf("timings: %s: %w", k, err)
		}
		v.Field(i).SetInt(int64(d))
	}
	return t, data[presetKey], nil
}

func key(field string) string { return strings.ToLower(field[:1]) + field[1:] }
