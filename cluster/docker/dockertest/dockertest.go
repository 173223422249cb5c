// Package dockertest boots Docker clusters (cluster/docker) for tests: it
// skips when no Docker Engine is reachable (and fails when CI=true), builds
// the node image once per test binary, terminates each cluster at cleanup,
// exports the containers' logs when the test failed, and checks that nothing
// labelled with the cluster is left behind.
package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/project-seven/seven/cluster/docker"
)

// Require skips the test when no Docker Engine answers, or fails it when the
// environment variable CI is "true" (CI must run these tests).
func Require(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := docker.Available(ctx); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true and these tests need a Docker Engine: %v", err)
		}
		tb.Skipf("skipping: these tests need a Docker Engine (%v); start dockerd or set DOCKER_HOST", err)
	}
}

var (
	imageOnce sync.Once
	imageTag  string
	imageErr  error
)

// Image builds (or reuses) the node image from this checkout once per test
// binary and returns its tag.
func Image(tb testing.TB) string {
	tb.Helper()
	Require(tb)
	imageOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		imageTag, imageErr = docker.EnsureImage(ctx, docker.ImageSource{}, nil)
		if imageErr == nil {
			tb.Logf("node image %s (%s)", imageTag, time.Since(start).Round(time.Millisecond))
		}
	})
	if imageErr != nil {
		tb.Fatalf("node image: %v", imageErr)
	}
	return imageTag
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// Name is a cluster name unique to this test run: "st-", part of the test's
// name and a random suffix.
func Name(tb testing.TB) string {
	base := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(tb.Name()), "-"), "-")
	if len(base) > 24 {
		base = strings.Trim(base[len(base)-24:], "-")
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "st-" + base + "-" + hex.EncodeToString(b[:])
}

// Logger writes the harness's logs to the test's output.
func Logger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Cluster boots a cluster for the test with the shared image, a unique name
// and the test's logger; opts come last and override them. At cleanup it
// exports logs when the test failed (to $SEVEN_ARTIFACTS/<test>, or a kept
// temporary directory), terminates the cluster and fails on leftovers.
func Cluster(tb testing.TB, opts ...docker.Option) *docker.Cluster {
	tb.Helper()
	image := Image(tb)
	all := append([]docker.Option{
		docker.WithName(Name(tb)),
		docker.WithImage(image),
		docker.WithLogger(Logger(tb)),
	}, opts...)
	c, err := docker.NewCluster(context.Background(), all...)
	tb.Cleanup(func() { Terminate(tb, c) })
	if err != nil {
		tb.Fatalf("boot cluster: %v", err)
	}
	return c
}

// Terminate exports logs if tb failed, removes the cluster and checks that
// nothing of it is left.
func Terminate(tb testing.TB, c *docker.Cluster) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if tb.Failed() {
		dir, err := artifactsDir(tb)
		if err == nil {
			err = c.ExportLogs(ctx, dir)
		}
		if err != nil {
			tb.Logf("export logs: %v", err)
		} else {
			tb.Logf("container logs in %s", dir)
		}
	}
	if err := c.Terminate(ctx); err != nil {
		tb.Errorf("terminate cluster %s: %v", c.Name(), err)
	}
	AssertNoLeaks(tb, c.Name())
}

func artifactsDir(tb testing.TB) (string, error) {
	name := unsafeChars.ReplaceAllString(tb.Name(), "_")
	if root := os.Getenv("SEVEN_ARTIFACTS"); root != "" {
		dir := filepath.Join(root, "docker-logs", name)
		return dir, os.MkdirAll(dir, 0o755)
	}
	return os.MkdirTemp("", "seven-docker-logs-"+name+"-")
}

// AssertNoLeaks fails tb when any container or network carries the cluster's label.
func AssertNoLeaks(tb testing.TB, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	left, err := docker.Leftovers(ctx, name)
	if err != nil {
		tb.Errorf("leak check: %v", err)
		return
	}
	if len(left) > 0 {
		tb.Errorf("cluster %s left behind: %s", name, strings.Join(left, ", "))
	}
}

// Describe is a short summary of a cluster for logs.
func Describe(c *docker.Cluster) string {
	var nodes []string
	for _, n := range c.Nodes() {
		nodes = append(nodes, fmt.Sprintf("%s=%s(%s)", n.Name, n.Container, n.IP))
	}
	return fmt.Sprintf("%s api=%s nodes=[%s]", c.Name(), c.APIServer(), strings.Join(nodes, " "))
}
