package kubelet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	grpcinsecure "google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// grpcProbe checks a container with the standard gRPC health protocol
// (grpc.health.v1.Health/Check), as the upstream kubelet does: a plaintext
// connection from the node to host:port, a Check of service ("" asks about
// the server as a whole), all within ctx's deadline (the probe's
// timeoutSeconds). SERVING is a success; anything else — another status, an
// unknown service, a server without the health service, no connection
// before the deadline — is a failure, with upstream's message.
//
// Like the upstream kubelet (without the alpha GRPCContainerProbeTLS gate)
// it never uses TLS.
func grpcProbe(ctx context.Context, host string, port int32, service string, timeout time.Duration) (bool, string) {
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	// passthrough: the address is an IP, never a name to resolve.
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(grpcinsecure.NewCredentials()),
		grpc.WithUserAgent("kube-probe/seven"))
	if err != nil {
		return false, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err)
	}
	defer conn.Close()
	// Upstream dials blocking: the connection must be up before the deadline,
	// however often it is refused meanwhile.
	conn.Connect()
	for st := conn.GetState(); st != connectivity.Ready; st = conn.GetState() {
		if !conn.WaitForStateChange(ctx, st) {
			return false, fmt.Sprintf("timeout: failed to connect service %q within %v: %+v", addr, timeout, ctx.Err())
		}
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		if st, ok := status.FromError(err); ok {
			switch st.Code() {
			case codes.Unimplemented:
				return false, "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + st.Message()
			case codes.DeadlineExceeded:
				return false, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout)
			}
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return false, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout)
		}
		return false, fmt.Sprintf("error: health rpc probe failed: %+v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return false, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String())
	}
	return true, ""
}
