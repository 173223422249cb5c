// Package netfault drops packets to and from chosen address ranges inside the
// current network namespace, with nftables spoken over netlink in pure Go (a
// scratch image has no iptables or nft). It is how cluster/docker partitions
// a node selectively — from the control plane only, or from some nodes —
// with connections that hang the way they do in a real partition, rather
// than failing at once as when the interface disappears.
//
// Everything lives in one table, Table: Drop replaces it atomically, Clear
// deletes it. It runs inside a node container (`seven netfault`, through
// docker exec) and needs CAP_NET_ADMIN there.
package netfault

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Table is the nftables table (family ip) holding the drop rules.
const Table = "seven_fault"

// Offsets of the addresses in an IPv4 header.
const (
	offSrc = 12
	offDst = 16
)

// match is one rule: drop when the address at offset lies in prefix.
type match struct {
	chain  string // "input", "output" or "forward"
	offset uint32
	prefix netip.Prefix
}

// plan lists the rules that cut traffic to and from prefixes: incoming by
// source, outgoing by destination, forwarded (pods behind a bridge) by both.
func plan(prefixes []netip.Prefix) ([]match, error) {
	var out []match
	for _, p := range prefixes {
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("prefix %s: only IPv4 is supported", p)
		}
		p = p.Masked()
		out = append(out,
			match{"input", offSrc, p},
			match{"output", offDst, p},
			match{"forward", offSrc, p},
			match{"forward", offDst, p},
		)
	}
	return out, nil
}

// exprs is the nftables program of one match: load the address, mask it to
// the prefix length (unless /32), compare, drop.
func exprs(m match) []expr.Any {
	addr := m.prefix.Addr().As4()
	e := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: m.offset, Len: 4}}
	if bits := m.prefix.Bits(); bits < 32 {
		mask := make([]byte, 4)
		binary.BigEndian.PutUint32(mask, ^uint32(0)<<(32-bits))
		if bits == 0 {
			mask = []byte{0, 0, 0, 0}
		}
		e = append(e, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}})
	}
	return append(e,
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:]},
		&expr.Verdict{Kind: expr.VerdictDrop},
	)
}

var hooks = map[string]*nftables.ChainHook{
	"input":   nftables.ChainHookInput,
	"output":  nftables.ChainHookOutput,
	"forward": nftables.ChainHookForward,
}

// Drop replaces the table with rules dropping every packet to or from
// prefixes. An empty list is Clear.
func Drop(prefixes []netip.Prefix) error {
	rules, err := plan(prefixes)
	if err != nil {
		return err
	}
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	if err := deleteTable(c); err != nil {
		return err
	}
	if len(rules) == 0 {
		return flush(c)
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: Table})
	chains := map[string]*nftables.Chain{}
	for _, name := range []string{"input", "output", "forward"} {
		chains[name] = c.AddChain(&nftables.Chain{
			Name: name, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: hooks[name], Priority: nftables.ChainPriorityFilter,
		})
	}
	for _, m := range rules {
		c.AddRule(&nftables.Rule{Table: t, Chain: chains[m.chain], Exprs: exprs(m)})
	}
	return flush(c)
}

// Clear deletes the table: nothing is dropped any more.
func Clear() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	if err := deleteTable(c); err != nil {
		return err
	}
	return flush(c)
}

// Active reports whether the table exists.
func Active() (bool, error) {
	c, err := nftables.New()
	if err != nil {
		return false, fmt.Errorf("netlink: %w", err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == Table {
			return true, nil
		}
	}
	return false, nil
}

// deleteTable queues the table's deletion when it exists (a batch deleting a
// missing table would fail as a whole).
func deleteTable(c *nftables.Conn) error {
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == Table {
			c.DelTable(t)
		}
	}
	return nil
}

func flush(c *nftables.Conn) error {
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return nil
}

// Main runs `seven netfault drop PREFIX|IP…`, `seven netfault clear` or
// `seven netfault status`.
func Main(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seven netfault", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: seven netfault drop PREFIX|IP... | clear | status\n\nDrops packets to and from the given IPv4 ranges in this network namespace (needs CAP_NET_ADMIN).")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errors.New("missing command")
	}
	switch rest[0] {
	case "drop":
		prefixes, err := ParsePrefixes(rest[1:])
		if err != nil {
			return err
		}
		if err := Drop(prefixes); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dropping traffic to and from %v\n", prefixes)
		return nil
	case "clear":
		if err := Clear(); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "cleared")
		return nil
	case "status":
		on, err := Active()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "active=%v\n", on)
		return nil
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", rest[0])
}

// ParsePrefixes reads IPv4 prefixes; a bare address is a /32.
func ParsePrefixes(args []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, a := range args {
		if p, err := netip.ParsePrefix(a); err == nil {
			out = append(out, p)
			continue
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix", a)
		}
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}
