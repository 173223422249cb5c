package nodeipam

import (
	"fmt"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// Allocator remembers which node holds which subnet of a CIDRSet. It is safe
// for concurrent use.
type Allocator struct {
	mu     sync.Mutex
	set    *CIDRSet
	byNode map[string]netip.Prefix
}

// NewAllocator returns an allocator over set.
func NewAllocator(set *CIDRSet) *Allocator {
	return &Allocator{set: set, byNode: map[string]netip.Prefix{}}
}

// nodeCIDR returns the first pod CIDR node holds, if any.
func nodeCIDR(n *corev1.Node) (netip.Prefix, bool, error) {
	s := n.Spec.PodCIDR
	if len(n.Spec.PodCIDRs) > 0 {
		s = n.Spec.PodCIDRs[0]
	}
	if s == "" {
		return netip.Prefix{}, false, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, true, fmt.Errorf("node %s: pod CIDR %q: %w", n.Name, s, err)
	}
	return p, true, nil
}

// Observe records the subnet node already holds. It returns an error when
// the range is outside the cluster CIDR, malformed, or held by another node
// (it is then not recorded for node).
func (a *Allocator) Observe(node *corev1.Node) error {
	p, ok, err := nodeCIDR(node)
	if err != nil || !ok {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for other, q := range a.byNode {
		if q == p && other != node.Name {
			return fmt.Errorf("node %s: pod CIDR %s is already held by node %s", node.Name, p, other)
		}
	}
	if old, ok := a.byNode[node.Name]; ok && old != p {
		a.set.Release(old)
	}
	if !a.set.Occupy(p) {
		delete(a.byNode, node.Name)
		return fmt.Errorf("node %s: pod CIDR %s is not a /%d of the cluster CIDR %s", node.Name, p, a.set.mask, a.set.cluster)
	}
	a.byNode[node.Name] = p
	return nil
}

// Assign returns the subnet node should get: none (ok=false) when it holds
// one already, else the one allocated to it earlier (a write that did not
// land yet) or a new one.
func (a *Allocator) Assign(node *corev1.Node) (p netip.Prefix, ok bool, err error) {
	if _, has, err := nodeCIDR(node); has || err != nil {
		return netip.Prefix{}, false, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.byNode[node.Name]; ok {
		return p, true, nil
	}
	p, err = a.set.Allocate()
	if err != nil {
		return netip.Prefix{}, false, err
	}
	a.byNode[node.Name] = p
	return p, true, nil
}

// Release frees the subnet of a deleted node.
func (a *Allocator) Release(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.byNode[name]; ok {
		a.set.Release(p)
		delete(a.byNode, name)
	}
}

// Held returns the subnet held for name.
func (a *Allocator) Held(name string) (netip.Prefix, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.byNode[name]
	return p, ok
}
