// Package proxy is Seven's service proxy: a userspace proxy, one per node,
// that makes Services reachable without iptables.
//
// For every port of every Service with a cluster IP it listens on
// ClusterIP:port (TCP, and UDP as a datagram relay) and, for NodePort and
// LoadBalancer Services, on every node IP at the NodePort; each new
// connection (or UDP flow) goes to one of the Service's endpoints, taken
// from its EndpointSlices.
//
// The package is cut like this:
//
//   - plan.go is pure: Plan turns a Service and its EndpointSlices into the
//     listeners the node needs and, for each, the endpoints eligible for new
//     connections (ready ones; serving terminating ones only when none is
//     ready; traffic policies Local keep this node's endpoints).
//   - pick.go is pure: Pick chooses the endpoint of one new connection from
//     the eligible ones, a round-robin cursor, ClientIP session affinity and
//     the endpoints already tried; the caller stores the decision.
//   - proxy.go is the loop: informers on Services and EndpointSlices feed a
//     work queue keyed by Service; a sync plans the Service and opens, updates
//     or closes its listeners. Nothing polls: an endpoint that leaves the
//     EndpointSlices stops getting new connections as soon as the watch
//     event is handled (milliseconds).
//   - listener.go holds one socket's target and Pick state; tcp.go and
//     udp.go relay bytes; addresses.go makes cluster IPs local.
//
// Modes. In loopback mode (the default, no privileges) cluster IPs come from
// 127.0.0.0/8, which Linux delivers locally as they are. In routed mode
// cluster IPs (e.g. 10.96.0.0/16) are added as /32 addresses, through
// netlink, to a device of their own (default "seven-svc", a dummy, or a
// bridge without ports when the kernel has no dummy driver; created if
// missing, removed at stop if the proxy created it). Not the kubelet's pod
// device seven0, whose addresses the kubelet keeps equal to its pod IPs.
// That needs CAP_NET_ADMIN; the addresses are removed when their last
// listener closes and when the proxy stops. Its test runs only as root
// (TestRouted).
//
// Deleting a Service, or one of its ports, closes its listeners and the
// connections through them. An endpoint that stops being eligible only gets
// no new connections: TCP connections to it go on (as conntrack keeps them
// with kube-proxy), UDP flows to it end and their next datagram picks again.
// With no eligible endpoint a TCP connection is accepted and reset at once
// and a datagram is dropped.
//
// Ports below net.ipv4.ip_unprivileged_port_start (1024 by default) need
// CAP_NET_BIND_SERVICE, in either mode.
package proxy
