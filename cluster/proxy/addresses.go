package proxy

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
)

// addresses makes cluster IPs local addresses of the node.
type addresses interface {
	setup() error
	add(ip string) error
	remove(ip string) error
	teardown() error
}

// loopbackAddresses needs nothing: Linux delivers all of 127.0.0.0/8 on lo.
type loopbackAddresses struct{}

func (loopbackAddresses) setup() error    { return nil }
func (loopbackAddresses) teardown() error { return nil }
func (loopbackAddresses) remove(string) error {
	return nil
}

func (loopbackAddresses) add(ip string) error {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return err
	}
	if !a.IsLoopback() {
		return fmt.Errorf("loopback mode: %s is not a loopback address (use a 127.x service-cluster-ip-range, or routed mode)", ip)
	}
	return nil
}

// routedAddresses adds cluster IPs as host addresses (/32, /128) to a dummy
// interface with ip(8). It needs CAP_NET_ADMIN.
type routedAddresses struct {
	iface   string
	log     *slog.Logger
	created bool
	added   map[string]bool
}

func (r *routedAddresses) setup() error {
	r.added = map[string]bool{}
	if _, err := ipCmd("link", "show", "dev", r.iface); err == nil {
		return nil
	}
	if _, err := ipCmd("link", "add", r.iface, "type", "dummy"); err != nil {
		// Kernels without the dummy driver (some microVMs): lo takes
		// host addresses as well.
		if _, loErr := ipCmd("addr", "show", "dev", "lo"); loErr != nil {
			return fmt.Errorf("create interface %s: %w", r.iface, err)
		}
		r.log.Warn("no dummy interface, adding cluster IPs to lo", "interface", r.iface, "err", err)
		r.iface = "lo"
		return nil
	}
	r.created = true
	if _, err := ipCmd("link", "set", r.iface, "up"); err != nil {
		return fmt.Errorf("bring up %s: %w", r.iface, err)
	}
	return nil
}

func (r *routedAddresses) add(ip string) error {
	if _, err := ipCmd("addr", "add", hostPrefix(ip), "dev", r.iface); err != nil && !strings.Contains(err.Error(), "File exists") {
		return err
	}
	r.added[ip] = true
	return nil
}

func (r *routedAddresses) remove(ip string) error {
	if !r.added[ip] {
		return nil
	}
	delete(r.added, ip)
	_, err := ipCmd("addr", "del", hostPrefix(ip), "dev", r.iface)
	return err
}

// teardown removes the addresses added, and the interface if it was created.
func (r *routedAddresses) teardown() error {
	for ip := range r.added {
		if err := r.remove(ip); err != nil {
			r.log.Error("remove address", "ip", ip, "err", err)
		}
	}
	if r.created {
		r.created = false
		if _, err := ipCmd("link", "del", r.iface); err != nil {
			return err
		}
	}
	return nil
}

func hostPrefix(ip string) string {
	if strings.Contains(ip, ":") {
		return ip + "/128"
	}
	return ip + "/32"
}

// ipCmd runs ip(8) with args.
func ipCmd(args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
