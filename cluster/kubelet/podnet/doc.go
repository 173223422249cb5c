// Package podnet is the kubelet's pod network: a network namespace per pod,
// plugged into the node by the CNI plugins, and routes to the other nodes'
// pods.
//
// Each pod gets a network namespace of its own, pinned at a path under the
// kubelet's root (NewNetNS), which its containers join. CNI (cni.go) runs the
// reference plugins through libcni, as containerd does for an upstream
// kubelet: loopback brings lo up, bridge puts a veth from the pod's eth0 on
// the node bridge (cni0; local clusters name one per node) whose address is
// the pods' gateway, and host-local hands out the pod IP from the node's
// podCIDR. No masquerading: pod IPs travel between nodes unchanged.
//
// For every other Node with a spec.podCIDR and an InternalIP the node keeps a
// route podCIDR via InternalIP (marked with RouteProtocol, so the routes
// Seven owns are told apart from everyone else's and stale ones are removed).
// A pod on node A reaching a pod on node B therefore goes A → B directly on
// the node network, and cutting a node's network (a partition of its
// container) cuts its pods too. Nodes sharing one host namespace (a local
// cluster run as root) need no routes: every bridge is directly connected.
//
// A host whose firewall drops forwarded traffic by default (Docker's) gets
// accept rules for the podCIDR (forward.go).
//
// The decisions are pure (Routes, Plan, table-tested); Network applies them
// through netlink, in the current network namespace or in the one named by
// Config.NetNS (tests).
package podnet
