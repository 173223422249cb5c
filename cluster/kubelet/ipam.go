package kubelet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ipam hands out pod IPs from the node's podCIDR. Allocations are files
// <dir>/<ip> holding the pod UID, so a restarted kubelet keeps them.
//
// Loopback mode: the podCIDR is a range of 127.0.0.0/8, which Linux routes to
// lo as a whole, so a pod can bind its IP with no setup.
//
// It serves loopback mode only (sandbox.go); in CNI mode the host-local
// plugin hands out the IPs.
type ipam struct {
	mu     sync.Mutex
	dir    string
	prefix netip.Prefix
	// busy, when set, lists addresses to pass over though free here
	// (loopback mode: IPs some process on the host already has sockets on,
	// such as another local cluster's pods in the same range).
	busy  func() map[netip.Addr]bool
	byUID map[string]netip.Addr
	used  map[netip.Addr]string
}

var errNoIPs = errors.New("no free pod IPs in the node's podCIDR")

func newIPAM(dir, cidr string) (*ipam, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR: %w", err)
	}
	if !prefix.Addr().Is4() {
		return nil, fmt.Errorf("pod CIDR %s: only IPv4 is supported", cidr)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	a := &ipam{dir: dir, prefix: prefix.Masked(), byUID: map[string]netip.Addr{}, used: map[netip.Addr]string{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	for _, e := range entries {
		ip, err := netip.ParseAddr(e.Name())
		if err != nil || !a.prefix.Contains(ip) {
			continue
		}
		uid, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		a.byUID[string(uid)], a.used[ip] = ip, string(uid)
	}
	return a, nil
}

// allocate returns uid's IP, allocating one on first call.
func (a *ipam) allocate(uid string) (string, error) {
	if ip := a.lookup(uid); ip != "" {
		return ip, nil
	}
	var busy map[netip.Addr]bool
	if a.busy != nil {
		busy = a.busy() // outside the lock: it may read /proc
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip, ok := a.byUID[uid]; ok {
		return ip.String(), nil
	}
	// .0 is the network, .1 the node's gateway address; the last is broadcast.
	ip := a.prefix.Addr().Next().Next()
	for ; a.prefix.Contains(ip); ip = ip.Next() {
		if _, taken := a.used[ip]; taken || busy[ip] || !a.prefix.Contains(ip.Next()) {
			continue
		}
		if err := os.WriteFile(filepath.Join(a.dir, ip.String()), []byte(uid), 0o644); err != nil {
			return "", fmt.Errorf("ipam: %w", err)
		}
		a.byUID[uid], a.used[ip] = ip, uid
		return ip.String(), nil
	}
	return "", errNoIPs
}

// lookup returns uid's IP if it has one.
func (a *ipam) lookup(uid string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip, ok := a.byUID[uid]; ok {
		return ip.String()
	}
	return ""
}

// release frees uid's IP and returns it ("" when it had none).
func (a *ipam) release(uid string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	ip, ok := a.byUID[uid]
	if !ok {
		return ""
	}
	_ = os.Remove(filepath.Join(a.dir, ip.String()))
	delete(a.byUID, uid)
	delete(a.used, ip)
	return ip.String()
}

// socketIPCache caches hostSocketIPs: reading /proc/net/tcp walks the
// kernel's whole socket hash table (milliseconds), too slow for every pod of
// a burst.
type socketIPCache struct {
	mu   sync.Mutex
	at   time.Time
	ips  map[netip.Addr]bool
	ttl  time.Duration
	read func() map[netip.Addr]bool
}

func (c *socketIPCache) get() map[netip.Addr]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ips == nil || time.Since(c.at) > c.ttl {
		c.ips, c.at = c.read(), time.Now()
	}
	return c.ips
}

// hostSocketIPs lists the IPv4 addresses that sockets of this network
// namespace are bound to (/proc/net/tcp and udp), wildcard excepted.
//
// It reads /proc/thread-self/net on a locked thread: /proc/net shows the
// namespace of the process's main thread, which need not be ours (a test
// that switched a thread's namespace can leave the main thread there).
func hostSocketIPs() map[netip.Addr]bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dir := "/proc/thread-self/net"
	if _, err := os.Stat(dir); err != nil {
		dir = "/proc/net"
	}
	out := map[netip.Addr]bool{}
	for _, f := range []string{dir + "/tcp", dir + "/udp"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 2 {
				continue
			}
			if ip, ok := parseProcNetAddr(fields[1]); ok && !ip.IsUnspecified() {
				out[ip] = true
			}
		}
	}
	return out
}

// parseProcNetAddr parses "0100007F:1F90" (an IPv4 address in host byte
// order on little-endian machines, then the port).
func parseProcNetAddr(s string) (netip.Addr, bool) {
	hexIP, _, ok := strings.Cut(s, ":")
	if !ok || len(hexIP) != 8 {
		return netip.Addr{}, false
	}
	v, err := strconv.ParseUint(hexIP, 16, 32)
	if err != nil {
		return netip.Addr{}, false
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	return netip.AddrFrom4(b), true
}
