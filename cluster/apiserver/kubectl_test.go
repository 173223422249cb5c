package apiserver_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
)

// kubectlMu serialises in-process kubectl runs: kubectl keeps some process
// state (the fatal-error handler) in globals.
var kubectlMu sync.Mutex

type kubectlFatal struct {
	msg  string
	code int
}

// kubectl runs the real kubectl command code in-process against kubeconfig.
func kubectl(t *testing.T, kubeconfig, stdin string, args ...string) (string, error) {
	t.Helper()
	kubectlMu.Lock()
	defer kubectlMu.Unlock()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	flags := genericclioptions.NewConfigFlags(true)
	all := append([]string{"kubectl", "--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(filepath.Dir(kubeconfig), "cache")}, args...)
	c := cmd.NewKubectlCommand(cmd.KubectlOptions{Arguments: all, ConfigFlags: flags, IOStreams: streams})
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

const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: seven.local/fixture:v1
        ports:
        - containerPort: 8080
          name: http
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: http
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
`

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	srv, _ := apiservertest.StartServer(t, apiservertest.Options{})
	dir := t.TempDir()
	data, err := os.ReadFile(srv.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKubectl(t *testing.T) {
	kc := writeKubeconfig(t)
	files := t.TempDir()
	must := func(stdin string, args ...string) string {
		t.Helper()
		// kubectl reads "-f -" from the process's stdin: hand it a file instead.
		args = append([]string(nil), args...)
		for i, a := range args {
			if a == "-" && stdin != "" {
				path := filepath.Join(files, fmt.Sprintf("m%d.yaml", len(stdin)))
				if err := os.WriteFile(path, []byte(stdin), 0o600); err != nil {
					t.Fatal(err)
				}
				args[i] = path
			}
		}
		out, err := kubectl(t, kc, stdin, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	contains := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Fatalf("output lacks %q:\n%s", w, out)
			}
		}
	}

	contains(must(manifest, "apply", "-f", "-"), "deployment.apps/web created", "service/web created", "configmap/web-config created")
	// Applying again goes through the three-way strategic merge patch path.
	contains(must(manifest, "apply", "-f", "-"), "deployment.apps/web unchanged", "service/web unchanged")
	changed := strings.Replace(manifest, "greeting: hello", "greeting: bonjour", 1)
	contains(must(changed, "apply", "-f", "-"), "configmap/web-config configured")
	contains(must("", "get", "configmap", "web-config", "-o", "jsonpath={.data.greeting}"), "bonjour")

	contains(must("", "get", "deployments"), "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "web")
	contains(must("", "get", "deploy", "web", "-o", "wide"), "CONTAINERS", "IMAGES", "SELECTOR", "seven.local/fixture:v1", "app=web")
	contains(must("", "get", "svc", "web", "-o", "wide"), "CLUSTER-IP", "PORT(S)", "80/TCP")
	contains(must("", "get", "deployment", "web", "-o", "yaml"), "kind: Deployment", "maxSurge: 25%", "uid:")
	contains(must("", "get", "all"), "service/web", "deployment.apps/web")
	contains(must("", "describe", "deployment", "web"), "Name:", "web", "Replicas:", "RollingUpdateStrategy:")
	contains(must("", "label", "deployment", "web", "tier=frontend"), "deployment.apps/web labeled")
	contains(must("", "get", "deploy", "-l", "tier=frontend", "-o", "name"), "deployment.apps/web")
	contains(must("", "scale", "deploy/web", "--replicas=5"), "deployment.apps/web scaled")
	contains(must("", "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"), "5")
	contains(must("", "get", "--raw", "/readyz"), "ok")
	contains(must("", "api-resources"), "deployments", "deploy", "apps/v1", "true", "Deployment")

	// get -w prints the current state, then changes, until the request times out.
	watchOut := make(chan string, 1)
	go func() {
		out, _ := kubectl(t, kc, "", "get", "configmaps", "-w", "--request-timeout=4s")
		watchOut <- out
	}()
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Keep changing a ConfigMap until the watch has surely started and seen one.
	var out string
	for i := 0; out == ""; i++ {
		_, _ = cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("watched-%d", i)}}, metav1.CreateOptions{})
		select {
		case out = <-watchOut:
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("kubectl get -w did not end after its request timeout")
		}
	}
	contains(out, "web-config", "watched-1")

	contains(must(manifest, "delete", "-f", "-"), `deployment.apps "web" deleted`, `service "web" deleted`, `configmap "web-config" deleted`)
	if out, err := kubectl(t, kc, "", "get", "deployment", "web"); err == nil {
		t.Fatalf("deployment still there after delete: %s", out)
	}
}
