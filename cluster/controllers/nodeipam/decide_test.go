package nodeipam

import (
	"errors"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCIDRSet(t *testing.T) {
	tests := []struct {
		cluster string
		mask    int
		want    []string // successive allocations
		size    int
	}{
		{"10.244.0.0/16", 24, []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"}, 256},
		{"10.244.0.0/23", 24, []string{"10.244.0.0/24", "10.244.1.0/24"}, 2},
		{"10.0.0.0/8", 26, []string{"10.0.0.0/26", "10.0.0.64/26"}, 1 << 18},
		{"fd00::/104", 112, []string{"fd00::/112", "fd00::1:0/112"}, 256},
	}
	for _, tc := range tests {
		s, err := NewCIDRSet(netip.MustParsePrefix(tc.cluster), tc.mask)
		if err != nil {
			t.Fatal(err)
		}
		if s.Size() != tc.size {
			t.Errorf("%s/%d: size %d, want %d", tc.cluster, tc.mask, s.Size(), tc.size)
		}
		for _, w := range tc.want {
			got, err := s.Allocate()
			if err != nil || got.String() != w {
				t.Errorf("%s/%d: got %s, %v; want %s", tc.cluster, tc.mask, got, err, w)
			}
		}
	}
	for _, bad := range []struct {
		cluster string
		mask    int
	}{{"10.244.0.0/16", 8}, {"10.244.0.0/16", 33}, {"10.0.0.0/4", 30}} {
		if _, err := NewCIDRSet(netip.MustParsePrefix(bad.cluster), bad.mask); err == nil {
			t.Errorf("%s /%d accepted", bad.cluster, bad.mask)
		}
	}
}

func TestCIDRSetFullOccupyRelease(t *testing.T) {
	s, _ := NewCIDRSet(netip.MustParsePrefix("10.0.0.0/23"), 24)
	if !s.Occupy(netip.MustParsePrefix("10.0.1.0/24")) {
		t.Fatal("occupy refused")
	}
	for _, p := range []string{"10.0.2.0/24", "10.0.0.0/25", "10.0.0.128/24", "192.168.0.0/24"} {
		if s.Occupy(netip.PrefixFrom(netip.MustParsePrefix(p).Addr(), netip.MustParsePrefix(p).Bits())) {
			t.Errorf("occupied foreign %s", p)
		}
	}
	if got, _ := s.Allocate(); got.String() != "10.0.0.0/24" {
		t.Errorf("got %s", got)
	}
	if _, err := s.Allocate(); !errors.Is(err, ErrFull) {
		t.Errorf("full set gave %v", err)
	}
	s.Release(netip.MustParsePrefix("10.0.1.0/24"))
	if got, err := s.Allocate(); err != nil || got.String() != "10.0.1.0/24" {
		t.Errorf("after release got %s, %v", got, err)
	}
}

func node(name, cidr string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if cidr != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidr, []string{cidr}
	}
	return n
}

func TestAllocator(t *testing.T) {
	s, _ := NewCIDRSet(netip.MustParsePrefix("10.244.0.0/22"), 24)
	a := NewAllocator(s)
	// Rebuild: two nodes already hold ranges, one holds a foreign one.
	for _, n := range []*corev1.Node{node("a", "10.244.0.0/24"), node("b", "10.244.2.0/24")} {
		if err := a.Observe(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Observe(node("x", "192.168.0.0/24")); err == nil {
		t.Error("foreign range tracked")
	}
	if err := a.Observe(node("dup", "10.244.0.0/24")); err == nil {
		t.Error("range held twice")
	}
	if _, ok, _ := a.Assign(node("a", "10.244.0.0/24")); ok {
		t.Error("node with a range got another")
	}
	c, ok, err := a.Assign(node("c", ""))
	if err != nil || !ok || c.String() != "10.244.1.0/24" {
		t.Fatalf("c got %s %v %v", c, ok, err)
	}
	// A retry before the write is seen gets the same range.
	if again, _, _ := a.Assign(node("c", "")); again != c {
		t.Errorf("retry got %s, want %s", again, c)
	}
	d, _, _ := a.Assign(node("d", ""))
	if d.String() != "10.244.3.0/24" {
		t.Errorf("d got %s", d)
	}
	if _, _, err := a.Assign(node("e", "")); !errors.Is(err, ErrFull) {
		t.Errorf("e: %v, want full", err)
	}
	a.Release("b")
	if e, _, err := a.Assign(node("e", "")); err != nil || e.String() != "10.244.2.0/24" {
		t.Errorf("e after release got %s, %v", e, err)
	}
}
