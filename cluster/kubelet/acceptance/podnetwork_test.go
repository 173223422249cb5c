package acceptance_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/local"
)

// kubectlBinary builds the real kubectl command code as a binary of its own.
func kubectlBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "kubectl")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/kubectl")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build kubectl: %v\n%s", err, msg)
	}
	return out
}

// TestPodNetworkAcceptance is the pod-network issue's acceptance on a local
// one-node cluster run as root, as a person would try it: kubectl create
// deployment of the fixture (a server on every interface, no POD_IP) with
// three replicas is 3/3 Ready with three distinct non-loopback IPs, and
// kubectl port-forward pod/X 18080:8080 answers on localhost:18080.
func TestPodNetworkAcceptance(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("a network namespace per pod needs root, and CI runs as root")
		}
		t.Skip("a network namespace per pod needs root")
	}
	kubectlBin := kubectlBinary(t)
	c := bootLocal(t, local.Config{Nodes: 1, Network: kubelet.ModeCNI})
	kc := c.KubeconfigPath()
	run := func(args ...string) (string, error) {
		out, err := exec.Command(kubectlBin, append([]string{"--kubeconfig", kc}, args...)...).CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		out, err := run("get", "nodes", "--no-headers")
		return err == nil && strings.Count(out, " Ready ") == 1, fmt.Sprintf("nodes: %s %v", out, err)
	})
	must("create", "deployment", "web", "--image=seven.local/fixture:v1", "--replicas=3")
	if out, err := run("rollout", "status", "deployment/web", "--timeout=60s"); err != nil {
		pods, _ := run("get", "pods", "-o", "wide")
		events, _ := run("get", "events")
		t.Fatalf("rollout: %v %s\npods:\n%s\nevents:\n%s", err, out, pods, events)
	}
	out := must("get", "pods", "-l", "app=web", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.status.containerStatuses[0].restartCount}{"\n"}{end}`)
	var first string
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("pods: %q", out)
		}
		ip, err := netip.ParseAddr(f[1])
		if err != nil || ip.IsLoopback() || seen[f[1]] || f[2] != "0" {
			t.Errorf("pod %s: IP %s, restarts %s: want a distinct non-loopback IP and no restart", f[0], f[1], f[2])
		}
		seen[f[1]] = true
		if first == "" {
			first = f[0]
		}
	}
	if len(seen) != 3 {
		t.Fatalf("want 3 pods, got %q", out)
	}

	pf := exec.Command(kubectlBin, "--kubeconfig", kc, "port-forward", "pod/"+first, "18080:8080")
	stdout, err := pf.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	pf.Stderr = os.Stderr
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pf.Process.Kill(); _ = pf.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n') // "Forwarding from 127.0.0.1:18080 -> 8080"
	if err != nil || !strings.Contains(line, "18080") {
		t.Fatalf("kubectl port-forward: %q %v", line, err)
	}
	resp, err := http.Get("http://localhost:18080/")
	if err != nil {
		t.Fatalf("localhost:18080 through kubectl port-forward: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"hostname":"`+first+`"`) {
		t.Errorf("localhost:18080 answered %q, not pod %s", body, first)
	}
}
