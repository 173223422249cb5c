package main_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runSevenEnv runs the seven binary with env added to the test's and
// returns its stderr and exit code.
func runSevenEnv(t *testing.T, env []string, args ...string) (stderr string, code int) {
	t.Helper()
	cmd := exec.Command(sevenBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err := cmd.Run()
	if exitErr := (*exec.ExitError)(nil); err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("seven %v: %v", args, err)
	}
	return errOut.String(), cmd.ProcessState.ExitCode()
}

// TestInsecureRegistriesFlag: seven kubelet, node and up take
// --insecure-registries as hosts, host:port pairs and CIDRs, and refuse
// URLs and malformed entries while parsing flags, before starting anything.
// A good value gets past the flags to the command's next complaint (no
// kubeconfig, no --node-ip, a bad --log-level).
func TestInsecureRegistriesFlag(t *testing.T) {
	noKubeconfig := []string{"KUBECONFIG="}
	commands := map[string]struct {
		args  []string
		after string // what the command says once its flags parse
	}{
		"kubelet": {[]string{"kubelet"}, "--kubeconfig is required"},
		"node":    {[]string{"node"}, "--node-ip is required"},
		"up":      {[]string{"up", "--log-level", "nonsense"}, "--log-level"},
	}
	for name, cmd := range commands {
		t.Run(name, func(t *testing.T) {
			for _, good := range []string{
				"registry.example:5000,10.0.0.0/8, 192.168.1.7 ,registry.example,[fd00::1]:5000,fd00::1,",
			} {
				args := append(append([]string{}, cmd.args...), "--insecure-registries", good, "--insecure-registries", "other.example")
				if name != "up" {
					args = append(args, "--image-import-hint", "seven cluster load-image --name demo IMAGE")
				}
				errOut, code := runSevenEnv(t, noKubeconfig, args...)
				if code == 0 || !strings.Contains(errOut, cmd.after) || strings.Contains(errOut, "insecure-registries") {
					t.Errorf("seven %s --insecure-registries %q: exit %d, stderr %q; want the flags parsed and %q", name, good, code, errOut, cmd.after)
				}
			}
			for bad, want := range map[string]string{
				"http://registry.example:5000": "not a URL",
				"registry.example/path":        "is not a CIDR",
				"10.0.0.0/33":                  "is not a CIDR",
				"registry.example:http":        "port from 1 to 65535",
				"registry.example:0":           "port from 1 to 65535",
				":5000":                        "port from 1 to 65535",
				"[fd00::1":                     "is not a host, host:port or CIDR",
			} {
				args := append(append([]string{}, cmd.args...), "--insecure-registries", "ok.example,"+bad)
				errOut, code := runSevenEnv(t, noKubeconfig, args...)
				if code == 0 || !strings.Contains(errOut, "-insecure-registries") || !strings.Contains(errOut, want) || strings.Contains(errOut, cmd.after) {
					t.Errorf("seven %s --insecure-registries %q: exit %d, stderr %q; want it refused with %q", name, bad, code, errOut, want)
				}
			}
		})
	}
}
