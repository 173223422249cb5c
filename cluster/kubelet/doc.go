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
//   - images.go: a container's image: imagePullPolicy (decideImage, pure),
//     imagePullSecrets → registry credentials, the image events and waiting
//     reasons of upstream's image manager (ErrImagePull, ImagePullBackOff,
//     ErrImageNeverPull, InvalidImageName). imagepull.go: pulls into the
//     node's image store outside the pod workers, one at a time, a pull per
//     reference and credentials however many pods wait for it.
//   - env.go, volumes.go: container environment and volumes.
//   - security.go: what a container runs as (containerSecurity, pure): user
//     and group from the security contexts and the image's USER, groups,
//     capabilities, privileged, no_new_privs, read-only root.
//   - probes.go: liveness, readiness and startup probes; lifecycle handlers.
//   - sandbox.go: the pod network behind one interface, for the node's
//     podCIDR (from the config or the Node's spec.podCIDR). CNI mode (as
//     root): a network namespace per pod, plugged into the node bridge by
//     the CNI plugins (package podnet), which every container of the pod
//     joins. Loopback mode (rootless, a reported deviation): pods share the
//     node's namespace with IPs from a 127/8 podCIDR (ipam.go).
//   - network.go: CNI mode's routes: a watch on every Node keeps a route to
//     each other node's podCIDR via its InternalIP (resynced every
//     NodeStatusUpdate period, which repairs routes lost with a link).
//   - hostport.go: hostPorts forwarded from the node to pods in namespaces.
//   - server.go, stats.go: the HTTPS kubelet API, upstream's paths and
//     parameters: /containerLogs, /exec, /attach, /portForward (package
//     streaming speaks their SPDY and WebSocket protocols), /pods,
//     /stats/summary, /metrics, /metrics/cadvisor, /healthz.
//     server_auth.go: its access control (a serving certificate of the
//     cluster CA, client certificates required: 401 without, 403 for
//     users the Authorizer refuses); server_exec.go: exec and attach
//     (attach follows the container's log and writes to its stdin FIFO);
//     server_portforward.go: port-forward to localhost in the pod's
//     network namespace; server_metrics.go: /metrics.
//
// API writes: one pods/status write per pod start (a sync that runs before
// the informer has seen the kubelet's own write works from the pod that write
// returned, so it neither writes again nor conflicts). Events go through
// Config.EventClient, which should have rate limits of its own (as the
// Kubernetes kubelet's --event-qps), so that a burst of Events never delays
// status writes.
//
// Sub-packages: podsync (the pure decisions), streaming (the exec, attach
// and port-forward wire protocols), runtime (containers as
// processes, cgroup v1 and v2 limits; runtime/seven-shim is the small shim
// binary), runtime/containerd (containers in containerd, chosen by
// Config.ContainerRuntime, `--runtime containerd`), podnet (routed mode),
// crilog (CRI log files), stats (Summary API types), acceptance (the issue's
// acceptance through kubectl).
//
// POD_IP: Kubernetes does not inject it, and neither does Seven; the fixture
// reads it, so manifests set it through the downward API
// (env POD_IP valueFrom fieldRef status.podIP).
//
// A kubelet stopped and started again over the same RootDir adopts the
// containers that kept running (their shims are detached) and neither kills
// nor duplicates them.
package kubelet
