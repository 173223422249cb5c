package podnet

import (
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Route sends a podCIDR to the node that holds it.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

func (r Route) String() string { return r.Dst.String() + " via " + r.Via.String() }

// Routes is what node self needs to reach every other node's pods: a route
// to each other Node's IPv4 podCIDR via its IPv4 InternalIP. Nodes without
// either are skipped, as are podCIDRs that overlap self's or an earlier
// node's (by name) podCIDR. The result is sorted by destination.
func Routes(self string, nodes []*corev1.Node) []Route {
	sorted := slices.Clone(nodes)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var taken []netip.Prefix
	for _, n := range sorted {
		if n.Name == self {
			taken = append(taken, podCIDRs(n)...)
		}
	}
	var out []Route
	for _, n := range sorted {
		if n.Name == self {
			continue
		}
		via, ok := internalIP(n)
		if !ok {
			continue
		}
		for _, p := range podCIDRs(n) {
			if p.Contains(via) || overlapsAny(p, taken) {
				continue
			}
			taken = append(taken, p)
			out = append(out, Route{Dst: p, Via: via})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dst.String() < out[j].Dst.String() })
	return out
}

func overlapsAny(p netip.Prefix, list []netip.Prefix) bool {
	for _, q := range list {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}

// podCIDRs are the Node's IPv4 pod ranges (spec.podCIDRs, else spec.podCIDR).
func podCIDRs(n *corev1.Node) []netip.Prefix {
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err == nil && p.Addr().Is4() {
			out = append(out, p.Masked())
		}
	}
	return out
}

// internalIP is the Node's first IPv4 InternalIP.
func internalIP(n *corev1.Node) (netip.Addr, bool) {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err == nil && ip.Is4() && !ip.IsLoopback() && !ip.IsUnspecified() {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// Plan turns the routes a node has (the ones it owns) into the changes that
// make them want: routes to replace (new, or with another gateway) and routes
// to delete.
func Plan(have, want []Route) (replace, del []Route) {
	cur := map[netip.Prefix]netip.Addr{}
	for _, r := range have {
		cur[r.Dst] = r.Via
	}
	wanted := map[netip.Prefix]bool{}
	for _, r := range want {
		wanted[r.Dst] = true
		if via, ok := cur[r.Dst]; !ok || via != r.Via {
			replace = append(replace, r)
		}
	}
	for _, r := range have {
		if !wanted[r.Dst] {
			del = append(del, r)
		}
	}
	return replace, del
}

// RemoteOnly drops the routes via an address of this very namespace: nodes
// sharing one (a local cluster run as root) reach each other's bridges
// directly, and a route via a local address would shadow them.
func RemoteOnly(routes []Route, local map[netip.Addr]bool) []Route {
	var out []Route
	for _, r := range routes {
		if !local[r.Via] {
			out = append(out, r)
		}
	}
	return out
}
