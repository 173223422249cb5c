package podnet

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// A host whose filter FORWARD chain drops by default (Docker sets the policy
// to DROP, and with br_netfilter even traffic between two ports of one bridge
// crosses that chain) would drop pod traffic. Rules in a table of our own
// cannot help: a packet accepted there is still dropped by the other chain on
// the same hook. So the kubelet inserts two accept rules for its podCIDR
// (from it, to it) into that chain itself, tagged so that they are found
// again and removed when the node goes. Where the chain does not exist or
// accepts by default (a node container's own namespace), nothing is done.

// forwardTag marks the rules Seven owns in a foreign chain.
func forwardTag(cidr netip.Prefix) []byte { return []byte("seven-pods " + cidr.String()) }

// AllowForward makes sure the filter FORWARD chain accepts traffic from and
// to cidr. It reports whether it changed anything.
func AllowForward(cidr netip.Prefix) (bool, error) {
	c, err := nftables.New()
	if err != nil {
		return false, fmt.Errorf("nftables: %w", err)
	}
	table, chain, ok := dropForwardChain(c)
	if !ok {
		return false, nil
	}
	rules, err := c.GetRules(table, chain)
	if err != nil {
		return false, fmt.Errorf("list forward rules: %w", err)
	}
	tag := forwardTag(cidr)
	for _, r := range rules {
		if bytes.Equal(r.UserData, tag) {
			return false, nil
		}
	}
	for _, offset := range []uint32{12, 16} { // source, destination address
		c.InsertRule(&nftables.Rule{Table: table, Chain: chain, Exprs: matchPrefix(offset, cidr), UserData: tag})
	}
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("insert forward rules: %w", err)
	}
	return true, nil
}

// RemoveForward removes what AllowForward inserted for cidr.
func RemoveForward(cidr netip.Prefix) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	table, chain, ok := forwardChain(c)
	if !ok {
		return nil
	}
	rules, err := c.GetRules(table, chain)
	if err != nil {
		return fmt.Errorf("list forward rules: %w", err)
	}
	tag := forwardTag(cidr)
	var errs []error
	for _, r := range rules {
		if bytes.Equal(r.UserData, tag) {
			errs = append(errs, c.DelRule(r))
		}
	}
	errs = append(errs, c.Flush())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove forward rules: %w", err)
	}
	return nil
}

func forwardChain(c *nftables.Conn) (*nftables.Table, *nftables.Chain, bool) {
	table, err := c.ListTableOfFamily("filter", nftables.TableFamilyIPv4)
	if err != nil {
		return nil, nil, false
	}
	chain, err := c.ListChain(table, "FORWARD")
	if err != nil {
		return nil, nil, false
	}
	return table, chain, true
}

func dropForwardChain(c *nftables.Conn) (*nftables.Table, *nftables.Chain, bool) {
	table, chain, ok := forwardChain(c)
	if !ok || chain.Policy == nil || *chain.Policy != nftables.ChainPolicyDrop {
		return nil, nil, false
	}
	return table, chain, true
}

// matchPrefix accepts IPv4 packets whose address at offset (12: source,
// 16: destination) lies in p.
func matchPrefix(offset uint32, p netip.Prefix) []expr.Any {
	p = p.Masked()
	mask := make([]byte, 4)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	addr := p.Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
}
