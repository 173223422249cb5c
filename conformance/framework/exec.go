package framework

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// Exec runs argv in the pod's first container through the API (pods/exec,
// WebSocket first, SPDY as a fallback) and returns its output. A non-zero
// exit is an error that includes stderr.
func (f *F) Exec(ctx context.Context, pod string, argv ...string) (string, error) {
	req := f.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(f.Namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: argv, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(f.Config, http.MethodGet, req.URL().String())
	if err != nil {
		return "", fmt.Errorf("exec: %w", err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(f.Config, http.MethodPost, req.URL())
	if err != nil {
		return "", fmt.Errorf("exec: %w", err)
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, httpstream.IsUpgradeFailure)
	if err != nil {
		return "", fmt.Errorf("exec: %w", err)
	}
	var stdout, stderr bytes.Buffer
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return stdout.String(), fmt.Errorf("exec %v in %s: %w (stderr: %s)", argv, pod, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// Fixture runs a fixture command (`/fixture ARGS…`) in the pod.
func (f *F) Fixture(ctx context.Context, pod string, args ...string) (string, error) {
	return f.Exec(ctx, pod, append([]string{"/fixture"}, args...)...)
}
