// Package docker runs the reference orchestrator as a cluster of Docker
// containers, like kind: one control-plane container (API server on embedded
// etcd, scheduler, controllers) and N node containers on a dedicated network,
// built on testcontainers-go.
//
// What it owns:
//
//   - the node image (image.go): a FROM scratch image with the static `seven`
//     and `fixture` binaries, built locally with no pulls and tagged by the
//     hash of the binaries, so re-runs reuse it;
//   - the cluster lifecycle (cluster.go): NewCluster with functional options,
//     readiness by condition (/readyz through the mapped port, then every node
//     Ready), a host kubeconfig, Terminate that removes everything carrying
//     the cluster's label (containers, network, volumes), ExportLogs;
//   - faults (faults.go): stop/start, SIGKILL, pause/unpause a node container,
//     partition a node by disconnecting it from the cluster network (its IP is
//     kept on reconnect) or by dropping its packets to chosen peers inside its
//     network namespace (drop.go, `seven netfault`, package netfault), heal,
//     restart the control plane. *Cluster satisfies the conformance suite's
//     target.Faults as is (dockertarget registers the "docker" target);
//   - the `seven cluster create|delete|list|kubeconfig|fault` commands (cli.go).
//
// Every container and network carries the label LabelCluster=<name>, so
// clusters are found again (Attach, List, Delete) by a later process and leak
// checks can filter on it. Ryuk (testcontainers' reaper) is not used: its
// image cannot be pulled on machines without a registry, and clean-up is this
// package's job.
//
// Nodes: what a node container runs is chosen in one place (nodeCommand in
// layout.go) by NodeMode. NodeCNI (the default) runs `seven node --mode
// cni`: the kubelet, the proxy and a node-local DNS; every pod in a network
// namespace of its own, plugged into the node's bridge by the CNI plugins
// (in the image at /opt/cni/bin), with an IP of the node's podCIDR routed
// between node containers. NodeKubelet runs the kubelet alone; NodeHollow
// runs `seven hollow-nodes --count 1`, an API-only node that only heartbeats.
package docker
