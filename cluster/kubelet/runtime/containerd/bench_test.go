package containerd_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkStart starts fixture containers one after another, the image
// present, all joining one network namespace as a pod's, and reports
// the latency of Start (until the process runs).
func BenchmarkStart(b *testing.B) {
	e := newEnv(b)
	rt := e.runtime(b)
	defer cleanup(b, rt)
	ctx := context.Background()
	// The first start imports and unpacks the image.
	if _, err := rt.Start(ctx, fixtureSpec("warm", "sleep", "1h")); err != nil {
		b.Fatal(err)
	}
	ns := netns(b)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		spec := fixtureSpec(fmt.Sprintf("b%d", i), "sleep", "1h")
		spec.NetNS = ns
		start := time.Now()
		st, err := rt.Start(ctx, spec)
		if err != nil || !st.Running() {
			b.Fatalf("start: %+v %v", st, err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
