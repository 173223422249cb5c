// Package podnet is the kubelet's routed-mode pod network: pod IPs on the
// node and routes to the other nodes' pods.
//
// Pods are processes sharing the node's network namespace (see package
// runtime), so a pod "has" its IP by binding it. In routed mode each node
// holds a dummy interface (seven0 by default) carrying every pod IP of the
// node as a /32; the kernel then treats those IPs as local, so a pod can bind
// its own IP and packets for it that arrive on any interface are delivered.
// A dummy interface was chosen over a bridge because nothing needs layer 2:
// there are no per-pod network namespaces to plug in, only addresses to own.
// On kernels built without the dummy driver the device is a bridge without
// ports, which holds addresses the same way.
//
// For every other Node with a spec.podCIDR and an InternalIP the node keeps a
// route podCIDR via InternalIP (marked with RouteProtocol, so the routes
// Seven owns are told apart from everyone else's and stale ones are removed).
// A pod on node A reaching a pod on node B therefore goes A → B directly on
// the node network, and cutting a node's network (a partition of its
// container) cuts its pods too.
//
// The decisions are pure (Routes, Plan, PlanAddrs, table-tested); Network
// applies them through netlink, in the current network namespace or in the
// one named by Config.NetNS (tests).
package podnet
