package main_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/project-seven/seven/fixtures/fixturetest"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// sevenBinary builds cmd/seven once for the test process.
func sevenBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "seven-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "seven")
		cmd := exec.Command("go", "build", "-o", binary, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	fixturetest.Cleanup()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// startUp runs `seven up` and waits for its ready line.
func startUp(t *testing.T, dataDir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(sevenBinary(t), "up", "--data-dir", dataDir, "--address", "127.0.0.1:0", "--nodes", "0", "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "seven: ready") {
				ready <- sc.Text()
			}
		}
	}()
	select {
	case line := <-ready:
		want := "seven: ready, kubeconfig at " + filepath.Join(dataDir, "kubeconfig")
		if line != want {
			t.Fatalf("ready line %q, want %q", line, want)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("seven up did not become ready in 60s")
	}
	return cmd
}

// Every acknowledged object survives a SIGKILL of `seven up`.
func TestUpSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cmd := startUp(t, dir)
	client := func() *kubernetes.Clientset {
		cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		return kubernetes.NewForConfigOrDie(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := client()
	const n = 50
	for i := 0; i < n; i++ {
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ack-%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	startUp(t, dir)
	list, err := client().CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, cm := range list.Items {
		got[cm.Name] = true
	}
	for i := 0; i < n; i++ {
		if !got[fmt.Sprintf("ack-%d", i)] {
			t.Errorf("ack-%d lost after SIGKILL", i)
		}
	}
}
