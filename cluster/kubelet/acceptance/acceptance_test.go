package acceptance_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	kruntime "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

func TestMain(m *testing.M) {
	kruntime.ReexecMain()
	// Nodes run as root give each pod a network namespace through the
	// CNI plugins: build them for this test binary.
	if err := cnitest.SetPath(); err != nil {
		fmt.Fprintln(os.Stderr, "build the CNI plugins:", err)
		os.Exit(1)
	}
	code := m.Run()
	fixturetest.Cleanup()
	cnitest.Cleanup()
	os.Exit(code)
}

// kubectlMu serialises in-process kubectl runs: kubectl keeps its fatal-error
// handler in a global.
var kubectlMu sync.Mutex

type kubectlFatal struct {
	msg  string
	code int
}

// kubectl runs the real kubectl command code in-process.
func kubectl(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	kubectlMu.Lock()
	defer kubectlMu.Unlock()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	all := append([]string{"kubectl", "--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(filepath.Dir(kubeconfig), "kubectl-cache")}, args...)
	c := cmd.NewKubectlCommand(cmd.KubectlOptions{Arguments: all, ConfigFlags: genericclioptions.NewConfigFlags(true), IOStreams: streams})
	c.SetArgs(all[1:])
	c.SetOut(&out)
	c.SetErr(&errOut)
	cmdutil.BehaviorOnFatal(func(msg string, code int) { panic(kubectlFatal{msg, code}) })
	defer cmdutil.DefaultBehaviorOnFatal()
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				f, ok := r.(kubectlFatal)
				if !ok {
					panic(r)
				}
				err = fmt.Errorf("exit %d: %s", f.code, strings.TrimSpace(f.msg))
			}
		}()
		err = c.Execute()
	}()
	if err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w (stderr: %s)", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: seven.local/fixture:v1
        env:
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /readyz, port: http}
          periodSeconds: 1
`

// TestAcceptance is the acceptance through kubectl against a local
// cluster of two nodes: a Deployment of the fixture becomes 3/3 Ready, its
// logs are served, and exec in one pod reaches another pod by its IP.
//
// Local clusters use fixed loopback ranges (node n: pods in 127.244.n.0/24),
// so another local cluster running on the same host at the same time (a
// conformance run) takes the same pod IPs: a fixture then cannot bind its IP
// and the test fails.
func TestAcceptance(t *testing.T) {
	dir := t.TempDir()
	c := bootLocal(t, local.Config{Nodes: 2, DataDir: dir})
	start := time.Now()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(start).Seconds(), what) }
	kc := c.KubeconfigPath()
	must := func(args ...string) string {
		t.Helper()
		out, err := kubectl(t, kc, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Both nodes registered and Ready.
	eventually(t, 30*time.Second, func() (bool, string) {
		out, err := kubectl(t, kc, "get", "nodes", "--no-headers")
		return err == nil && strings.Count(out, " Ready ") == 2, fmt.Sprintf("nodes: %s %v", out, err)
	})

	step("nodes ready")
	manifest := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(manifest, []byte(deployment), 0o600); err != nil {
		t.Fatal(err)
	}
	must("apply", "-f", manifest)
	if _, err := kubectl(t, kc, "rollout", "status", "deployment/web", "--timeout=60s"); err != nil {
		pods, _ := kubectl(t, kc, "get", "pods", "-o", "wide")
		desc, _ := kubectl(t, kc, "describe", "pods")
		events, _ := kubectl(t, kc, "get", "events")
		t.Fatalf("%v\npods:\n%s\n%s\nevents:\n%s", err, pods, desc, events)
	}
	step("rollout done")
	eventually(t, 10*time.Second, func() (bool, string) {
		out, err := kubectl(t, kc, "get", "deployment", "web", "--no-headers")
		f := strings.Fields(out)
		return err == nil && len(f) > 1 && f[1] == "3/3", fmt.Sprintf("deployment: %q %v", out, err)
	})

	// name ip node, one line per pod
	out := must("get", "pods", "-l", "app=web", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.spec.nodeName}{"\n"}{end}`)
	type pod struct{ name, ip, node string }
	var pods []pod
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			pods = append(pods, pod{f[0], f[1], f[2]})
		}
	}
	if len(pods) != 3 {
		t.Fatalf("pods: %q", out)
	}
	// Prefer a pair on different nodes.
	from, to := pods[0], pods[1]
	for _, p := range pods[1:] {
		if p.node != from.node {
			to = p
			break
		}
	}
	t.Logf("exec in %s (%s) → %s (%s on %s)", from.name, from.node, to.name, to.ip, to.node)

	logs := must("logs", to.name)
	if !strings.Contains(logs, "serving") && !strings.Contains(logs, to.ip) {
		t.Errorf("kubectl logs %s: %q", to.name, logs)
	}
	answer := must("exec", from.name, "--", "fixture", "get", "http://"+to.ip+":8080/")
	if !strings.Contains(answer, to.name) || !strings.Contains(answer, "v1") {
		t.Errorf("exec answer %q does not come from %s (another local cluster on this host using the same loopback pod IPs answers so)", answer, to.name)
	}

	step("logs and exec done")
	must("delete", "deployment", "web", "--wait=false")
}

// bootLocal starts a local cluster with the fixture images (and a quiet
// logger) and waits until it serves; it stops at the end of the test.
func bootLocal(t *testing.T, cfg local.Config) *local.Cluster {
	t.Helper()
	cfg.FixtureBinary, cfg.Address = fixturetest.Binary(t), "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	c, err := local.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		defer func(at time.Time) { t.Logf("cluster stopped in %v", time.Since(at)) }(time.Now())
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cluster stopped with %v", err)
		}
	})
	select {
	case <-c.Ready():
	case err := <-done:
		t.Fatalf("cluster failed: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("cluster not ready after 60s")
	}
	return c
}

func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
