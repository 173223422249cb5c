package docker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/cluster/docker/dockertarget"
	"github.com/project-seven/seven/cluster/docker/dockertest"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/target"
)

// TestConformance runs the conformance suite (core profile by default)
// against a 1 + 3 cluster in containers, then checks nothing is left.
// Environment: SEVEN_CONFORMANCE_PROFILE, SEVEN_CONFORMANCE_FOCUS,
// SEVEN_CONFORMANCE_REPORT_DIR (also receives the container logs),
// SEVEN_DOCKER_NODE_MODE (cni, kubelet or hollow; default the cluster's default).
func TestConformance(t *testing.T) {
	if os.Getenv("SEVEN_E2E") == "" {
		t.Skip("the whole suite in containers runs under make e2e (SEVEN_E2E=1); go test ./... stays fast")
	}
	image := dockertest.Image(t)
	cfg := dockertarget.Config{Nodes: 3, Image: image, NodeMode: docker.NodeMode(os.Getenv("SEVEN_DOCKER_NODE_MODE"))}
	dir := os.Getenv("SEVEN_CONFORMANCE_REPORT_DIR")
	if dir != "" {
		cfg.LogDir = filepath.Join(dir, "docker-logs")
	}
	tgt, err := dockertarget.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c := tgt.Cluster(); c != nil {
			// Run tears the target down; this catches what it might leave.
			dockertest.Terminate(t, c)
		}
	})
	opts := conformance.OptionsFromEnv("")
	opts.ReportDir = dir
	r := conformance.Run(t, tgt, opts)
	t.Logf("conformance on docker: %+v", r.Totals)
}

// TestDockerTarget boots the docker target, checks the environment it hands
// the specs (client, capabilities, faults through the suite's interface) and
// tears it down leaving nothing behind.
func TestDockerTarget(t *testing.T) {
	image := dockertest.Image(t)
	f, err := target.Lookup(target.DockerTargetName)
	if err != nil {
		t.Fatalf("the docker target is not registered: %v", err)
	}
	if _, err := f(target.FactoryOptions{Extra: map[string]string{"nodes": "2"}}); err != nil {
		t.Fatalf("factory: %v", err)
	}
	tgt, err := dockertarget.New(dockertarget.Config{Nodes: 3, Image: image, Logger: dockertest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err := tgt.Setup(ctx)
	t.Cleanup(func() {
		c := tgt.Cluster()
		if c == nil {
			return
		}
		dockertest.Terminate(t, c) // exports logs if the test failed, removes, checks for leftovers
	})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	for _, c := range []target.Capability{target.ReplicaSet, target.NodeLifecycle, target.StopNode, target.Partition} {
		if !env.Capabilities.Has(c) {
			t.Errorf("capability %s missing: %v", c, env.Capabilities.Strings())
		}
	}
	if env.Timings == nil || env.Timings.Preset != "fast" {
		t.Errorf("timings %+v, want the fast preset from the target", env.Timings)
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	nodes := tgt.Cluster().Nodes()
	victim := nodes[0].Name

	// A partition through the suite's Faults stops the node's heartbeats.
	if err := env.Faults.Partition(ctx, victim); err != nil {
		t.Fatal(err)
	}
	awaitLease(t, cs, victim, "stale", func(age time.Duration) bool { return age > 4*time.Second })
	if err := env.Faults.Heal(ctx, victim); err != nil {
		t.Fatal(err)
	}
	awaitLease(t, cs, victim, "fresh", func(age time.Duration) bool { return age < 2*time.Second })
	if err := tgt.Teardown(ctx); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	dockertest.AssertNoLeaks(t, tgt.Cluster().Name())
}

func awaitLease(t *testing.T, cs kubernetes.Interface, node, what string, ok func(time.Duration) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	saw := "no lease"
	for {
		l, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node, metav1.GetOptions{})
		if err == nil && l.Spec.RenewTime != nil {
			age := time.Since(l.Spec.RenewTime.Time)
			if ok(age) {
				return
			}
			saw = "age " + age.Round(100*time.Millisecond).String()
		} else if err != nil {
			saw = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("lease of %s not %s: %s", node, what, saw)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
