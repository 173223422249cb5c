package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// ErrFull is returned when every range of the cluster CIDR is taken.
var ErrFull = errors.New("cluster CIDR is full")

// CIDRSet hands out the subnets of one mask size inside a cluster CIDR.
// It is not safe for concurrent use.
type CIDRSet struct {
	cluster netip.Prefix
	mask    int
	size    int          // how many subnets exist
	used    map[int]bool // subnet index -> taken
	next    int          // where the next search starts (round robin)
}

// NewCIDRSet returns an empty set of the /mask subnets of cluster.
func NewCIDRSet(cluster netip.Prefix, mask int) (*CIDRSet, error) {
	cluster = cluster.Masked()
	bits := cluster.Addr().BitLen()
	if mask < cluster.Bits() || mask > bits {
		return nil, fmt.Errorf("node mask /%d does not fit cluster CIDR %s", mask, cluster)
	}
	if mask-cluster.Bits() > 24 {
		return nil, fmt.Errorf("node mask /%d cuts %s into more than 2^24 subnets", mask, cluster)
	}
	return &CIDRSet{cluster: cluster, mask: mask, size: 1 << (mask - cluster.Bits()), used: map[int]bool{}}, nil
}

// Size is how many subnets the set holds; Used how many are taken.
func (s *CIDRSet) Size() int { return s.size }

// Used is how many subnets are taken.
func (s *CIDRSet) Used() int { return len(s.used) }

// subnet returns the i-th subnet.
func (s *CIDRSet) subnet(i int) netip.Prefix {
	bits := s.cluster.Addr().BitLen()
	base := new(big.Int).SetBytes(s.cluster.Addr().AsSlice())
	off := new(big.Int).Lsh(big.NewInt(int64(i)), uint(bits-s.mask))
	b := base.Add(base, off).FillBytes(make([]byte, bits/8))
	addr, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(addr, s.mask)
}

// index returns the index of p in the set, or ok=false when p is not one of its subnets.
func (s *CIDRSet) index(p netip.Prefix) (int, bool) {
	if p.Bits() != s.mask || !s.cluster.Contains(p.Addr()) || p.Masked() != p {
		return 0, false
	}
	bits := s.cluster.Addr().BitLen()
	a := new(big.Int).SetBytes(p.Addr().AsSlice())
	base := new(big.Int).SetBytes(s.cluster.Addr().AsSlice())
	i := new(big.Int).Rsh(a.Sub(a, base), uint(bits-s.mask))
	return int(i.Int64()), true
}

// Allocate takes the next free subnet.
func (s *CIDRSet) Allocate() (netip.Prefix, error) {
	for k := range s.size {
		i := (s.next + k) % s.size
		if !s.used[i] {
			s.used[i] = true
			s.next = (i + 1) % s.size
			return s.subnet(i), nil
		}
	}
	return netip.Prefix{}, ErrFull
}

// Occupy marks p taken. It reports false when p is not a subnet of the set
// (another range, another mask) and so was not recorded.
func (s *CIDRSet) Occupy(p netip.Prefix) bool {
	i, ok := s.index(p)
	if ok {
		s.used[i] = true
	}
	return ok
}

// Release frees p; a range outside the set is ignored.
func (s *CIDRSet) Release(p netip.Prefix) {
	if i, ok := s.index(p); ok {
		delete(s.used, i)
	}
}
