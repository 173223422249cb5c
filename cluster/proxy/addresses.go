package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultInterface is the device routed mode adds cluster IPs to. It is
// not the kubelet's pod device (seven0), whose addresses the kubelet keeps in
// step with its pods.
const DefaultInterface = "seven-svc"

// addresses makes cluster IPs local addresses of the node.
type addresses interface {
	setup() error
	add(ip string) error
	remove(ip string) error
	teardown() error
}

// loopbackAddresses needs nothing: Linux delivers all of 127.0.0.0/8 on lo.
type loopbackAddresses struct{}

func (loopbackAddresses) setup() error        { return nil }
func (loopbackAddresses) teardown() error     { return nil }
func (loopbackAddresses) remove(string) error { return nil }

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
// device through netlink. It needs CAP_NET_ADMIN.
type routedAddresses struct {
	iface   string
	log     *slog.Logger
	h       *netlink.Handle
	link    netlink.Link
	created bool
	added   map[string]bool
}

func (r *routedAddresses) setup() error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	r.h = h
	r.added = map[string]bool{}
	link, err := h.LinkByName(r.iface)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		attrs := netlink.LinkAttrs{Name: r.iface}
		err = h.LinkAdd(&netlink.Dummy{LinkAttrs: attrs})
		if errors.Is(err, unix.EOPNOTSUPP) {
			// A kernel without the dummy driver: a bridge without ports
			// holds addresses just as well.
			err = h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs})
		}
		if err != nil {
			h.Close()
			return fmt.Errorf("add %s: %w", r.iface, err)
		}
		r.created = true
		link, err = h.LinkByName(r.iface)
	}
	if err == nil {
		err = h.LinkSetUp(link)
	}
	if err != nil {
		_ = r.cleanupLink()
		h.Close()
		return fmt.Errorf("set up %s: %w", r.iface, err)
	}
	r.link = link
	return nil
}

func hostAddr(ip string) (*netlink.Addr, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, err
	}
	return &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}}, nil
}

func (r *routedAddresses) add(ip string) error {
	a, err := hostAddr(ip)
	if err != nil {
		return err
	}
	if err := r.h.AddrAdd(r.link, a); err != nil && !errors.Is(err, unix.EEXIST) {
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
	a, err := hostAddr(ip)
	if err != nil {
		return err
	}
	if err := r.h.AddrDel(r.link, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return err
	}
	return nil
}

// teardown removes the addresses added, and the device if it was created.
func (r *routedAddresses) teardown() error {
	if r.h == nil {
		return nil
	}
	defer r.h.Close()
	var errs []error
	for ip := range r.added {
		errs = append(errs, r.remove(ip))
	}
	errs = append(errs, r.cleanupLink())
	return errors.Join(errs...)
}

func (r *routedAddresses) cleanupLink() error {
	if !r.created {
		return nil
	}
	r.created = false
	link, err := r.h.LinkByName(r.iface)
	if err != nil {
		return nil // Already gone.
	}
	if err := r.h.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete %s: %w", r.iface, err)
	}
	return nil
}
