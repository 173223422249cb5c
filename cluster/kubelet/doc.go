// Package kubelet is Seven's node agent: it registers its Node, renews its
// Lease, keeps NodeStatus current, runs the pods bound to it as real
// processes (through package runtime), reports their status, and serves the
// kubelet API (logs, exec, stats) that the API server proxies to.
//
// The decisions live in package podsync (pure); this package is the I/O
// around them:
//
//   - kubelet.go: Config, New, Start (the lifecycle and the wiring).
//   - node.go: Node registration, NodeStatus updates, the node Lease.
//   - pods.go: one worker per pod, serialised: sandbox (IP, volumes, hosts
//     and resolv.conf), Decide, kill/start/remove, status write, deletion.
//   - env.go, volumes.go: container environment and volumes.
//   - probes.go: liveness, readiness and startup probes; lifecycle handlers.
//   - ipam.go: pod IPs from the node's podCIDR.
//   - server.go, stats.go: the HTTPS kubelet API.
//
// POD_IP: Kubernetes does not inject it, and neither does Seven; the fixture
// reads it, so manifests set it through the downward API
// (env POD_IP valueFrom fieldRef status.podIP).
//
// A kubelet stopped and started again over the same RootDir adopts the
// containers that kept running (their shims are detached) and neither kills
// nor duplicates them.
package kubelet
