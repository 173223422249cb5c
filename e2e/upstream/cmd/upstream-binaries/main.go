// Command upstream-binaries builds the upstream Kubernetes binaries the swap
// matrix runs (make upstream-binaries), or finds them in the cache, and
// prints where they are.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/project-seven/seven/e2e/upstream"
)

func main() {
	components := flag.String("components", strings.Join(upstream.Components, ","), "comma-separated k8s.io/kubernetes/cmd/<name> to build")
	output := flag.String("output", "", "cache root (default _output/upstream)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	b, err := upstream.Build(ctx, upstream.BuildOptions{Components: strings.Split(*components, ","), OutputDir: *output, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "upstream-binaries:", err)
		os.Exit(1)
	}
	how := "built"
	if b.Cached {
		how = "cached"
	}
	fmt.Printf("k8s.io/kubernetes %s: %s (%s in %s)\n", b.Version, b.Dir, how, time.Since(start).Round(time.Millisecond))
}
