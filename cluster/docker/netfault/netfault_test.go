package netfault

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func TestPlan(t *testing.T) {
	rules, err := plan([]netip.Prefix{netip.MustParsePrefix("172.30.0.2/32"), netip.MustParsePrefix("10.244.1.7/24")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.chain+" "+map[uint32]string{offSrc: "saddr", offDst: "daddr"}[r.offset]+" "+r.prefix.String())
	}
	want := "input saddr 172.30.0.2/32,output daddr 172.30.0.2/32,forward saddr 172.30.0.2/32,forward daddr 172.30.0.2/32," +
		"input saddr 10.244.1.0/24,output daddr 10.244.1.0/24,forward saddr 10.244.1.0/24,forward daddr 10.244.1.0/24"
	if strings.Join(got, ",") != want {
		t.Errorf("plan\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	if _, err := plan([]netip.Prefix{netip.MustParsePrefix("fd00::/64")}); err == nil {
		t.Error("want an error for IPv6")
	}
}

func TestExprs(t *testing.T) {
	tests := []struct {
		prefix   string
		wantMask []byte // nil: no bitwise step
	}{
		{"172.30.0.2/32", nil},
		{"10.244.1.0/24", []byte{255, 255, 255, 0}},
		{"10.0.0.0/9", []byte{255, 128, 0, 0}},
		{"0.0.0.0/0", []byte{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			p := netip.MustParsePrefix(tt.prefix)
			e := exprs(match{"output", offDst, p})
			var mask []byte
			var cmp *expr.Cmp
			for _, x := range e {
				switch x := x.(type) {
				case *expr.Bitwise:
					mask = x.Mask
				case *expr.Cmp:
					cmp = x
				}
			}
			if !bytes.Equal(mask, tt.wantMask) {
				t.Errorf("mask %v, want %v", mask, tt.wantMask)
			}
			a := p.Addr().As4()
			if cmp == nil || !bytes.Equal(cmp.Data, a[:]) {
				t.Errorf("cmp %+v, want %v", cmp, a)
			}
			if v, ok := e[len(e)-1].(*expr.Verdict); !ok || v.Kind != expr.VerdictDrop {
				t.Errorf("last expression %T, want a drop verdict", e[len(e)-1])
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes([]string{"172.30.0.2", "10.244.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].String() != "172.30.0.2/32" || got[1].String() != "10.244.1.0/24" {
		t.Errorf("got %v", got)
	}
	if _, err := ParsePrefixes([]string{"node-1"}); err == nil {
		t.Error("want an error for a name")
	}
}

// TestDropInNetNS installs and clears the table in a fresh network namespace
// of a locked thread, so the host's firewall is never touched.
func TestDropInNetNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	done := make(chan error, 1)
	go func() {
		// The thread stays locked and is discarded when the goroutine ends.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		done <- func() error {
			if err := Drop([]netip.Prefix{netip.MustParsePrefix("172.30.0.2/32"), netip.MustParsePrefix("10.244.2.0/24")}); err != nil {
				return err
			}
			if on, err := Active(); err != nil || !on {
				return fmt.Errorf("after Drop: active=%v err=%v", on, err)
			}
			// Replacing works (the old table is deleted in the same batch).
			if err := Drop([]netip.Prefix{netip.MustParsePrefix("172.30.0.3/32")}); err != nil {
				return err
			}
			if err := Clear(); err != nil {
				return err
			}
			if on, err := Active(); err != nil || on {
				return fmt.Errorf("after Clear: active=%v err=%v", on, err)
			}
			return Clear() // idempotent
		}()
	}()
	if err := <-done; err != nil {
		if strings.Contains(err.Error(), "operation not permitted") {
			t.Skipf("no network namespaces here: %v", err)
		}
		t.Fatal(err)
	}
}
