package docker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/cluster/docker/dockertest"
)

// BenchmarkBoot1Plus3 measures the time from NewCluster to a 1 + 3 cluster
// with every node Ready, once the image exists (the goal is under 15 s).
// Run it as: go test -run '^$' -bench Boot -benchtime 5x ./cluster/docker/
// It reports the median as median-s.
func BenchmarkBoot1Plus3(b *testing.B) {
	image := dockertest.Image(b)
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		c, err := docker.NewCluster(context.Background(), docker.WithImage(image), docker.WithNodes(3), docker.WithName(dockertest.Name(b)))
		d := time.Since(start)
		b.StopTimer()
		dockertest.Terminate(b, c)
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, d)
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "median-s")
	b.ReportMetric(took[len(took)-1].Seconds(), "max-s")
	b.Logf("boot times: %v", took)
}
