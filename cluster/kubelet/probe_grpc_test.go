package kubelet

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// serveGRPC runs a gRPC server on a loopback port until the test ends.
func serveGRPC(t *testing.T, register func(*grpc.Server)) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	register(s)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// slowHealth answers Check only after the probe has given up.
type slowHealth struct {
	healthpb.UnimplementedHealthServer
}

func (slowHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// TestGRPCProbe runs gRPC probes through the kubelet's handler against real
// servers speaking the standard health protocol.
func TestGRPCProbe(t *testing.T) {
	hs := health.NewServer() // "" is SERVING from the start
	hs.SetServingStatus("web", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
	healthy := serveGRPC(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, hs) })
	noHealth := serveGRPC(t, func(*grpc.Server) {})
	slow := serveGRPC(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, slowHealth{}) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := int32(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()

	const timeout = 300 * time.Millisecond
	tests := []struct {
		name    string
		port    int32
		service *string
		ok      bool
		msg     string // prefix of the failure message
	}{
		{"the server as a whole", healthy, nil, true, ""},
		{"a serving service", healthy, ptr.To("web"), true, ""},
		{"a service not serving", healthy, ptr.To("db"), false, `service unhealthy (responded with "NOT_SERVING")`},
		{"an unknown service", healthy, ptr.To("cache"), false, "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service"},
		{"no health service", noHealth, nil, false, "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health"},
		{"nothing listening", closed, nil, false, `timeout: failed to connect service "127.0.0.1:` + strconv.Itoa(int(closed)) + `" within 300ms: context deadline exceeded`},
		{"a check slower than the timeout", slow, nil, false, "timeout: health rpc did not complete within 300ms"},
	}
	k := &Kubelet{}
	c := &corev1.Container{Name: "app"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			ok, msg := k.runHandler(context.Background(), &corev1.Pod{}, c, "", "127.0.0.1",
				corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: tt.port, Service: tt.service}}, timeout)
			if ok != tt.ok || !strings.HasPrefix(msg, tt.msg) || (tt.ok && msg != "") {
				t.Errorf("got %v %q, want %v %q", ok, msg, tt.ok, tt.msg)
			}
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("took %v: the timeout does not bound the probe", took)
			}
		})
	}

	// A status change is seen by the next probe.
	hs.SetServingStatus("web", healthpb.HealthCheckResponse_NOT_SERVING)
	ok, msg := k.runHandler(context.Background(), &corev1.Pod{}, c, "", "127.0.0.1",
		corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: healthy, Service: ptr.To("web")}}, timeout)
	if ok || msg != `service unhealthy (responded with "NOT_SERVING")` {
		t.Errorf("after the change: %v %q", ok, msg)
	}
}
