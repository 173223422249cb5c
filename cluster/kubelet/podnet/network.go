package podnet

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// DefaultDevice is the node interface that holds the pod IPs.
const DefaultDevice = "seven0"

// RouteProtocol marks the routes Seven owns (rtm_protocol; any value above
// the kernel's reserved ones is free for routing daemons).
const RouteProtocol = netlink.RouteProtocol(77)

// Config configures a Network.
type Config struct {
	// Device is the dummy interface for the pod IPs; default DefaultDevice.
	Device string
	// NetNS is the path of the network namespace to manage (for example
	// /var/run/netns/x); empty means the current one.
	NetNS  string
	Logger *slog.Logger
}

// Network manages the pod IPs and pod routes of one node. It needs
// CAP_NET_ADMIN. Methods are safe for concurrent use.
type Network struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	h    *netlink.Handle
	link netlink.Link
}

// New opens the namespace and makes sure the device exists and is up.
func New(cfg Config) (*Network, error) {
	if cfg.Device == "" {
		cfg.Device = DefaultDevice
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var h *netlink.Handle
	var err error
	if cfg.NetNS == "" {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	} else {
		var ns netns.NsHandle
		if ns, err = netns.GetFromPath(cfg.NetNS); err != nil {
			return nil, fmt.Errorf("podnet: open %s: %w", cfg.NetNS, err)
		}
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
		ns.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("podnet: netlink: %w", err)
	}
	n := &Network{cfg: cfg, log: cfg.Logger, h: h}
	if err := n.ensureLink(); err != nil {
		h.Close()
		return nil, fmt.Errorf("podnet: %w", err)
	}
	return n, nil
}

func (n *Network) ensureLink() error {
	link, err := n.h.LinkByName(n.cfg.Device)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		attrs := netlink.LinkAttrs{Name: n.cfg.Device}
		aerr := n.h.LinkAdd(&netlink.Dummy{LinkAttrs: attrs})
		if errors.Is(aerr, unix.EOPNOTSUPP) {
			// A kernel without the dummy driver: a bridge without ports
			// holds addresses just as well.
			aerr = n.h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs})
		}
		if aerr != nil && !errors.Is(aerr, unix.EEXIST) {
			return fmt.Errorf("add %s: %w", n.cfg.Device, aerr)
		}
		link, err = n.h.LinkByName(n.cfg.Device)
	}
	if err != nil {
		return fmt.Errorf("find %s: %w", n.cfg.Device, err)
	}
	if err := n.h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", n.cfg.Device, err)
	}
	n.link = link
	return nil
}

// Close releases the netlink socket; the device, addresses and routes stay
// (pods outlive a kubelet restart).
func (n *Network) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.h.Close()
}

// Teardown removes the device (and with it the pod IPs) and the routes Seven
// owns.
func (n *Network) Teardown() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	routes, err := n.listRoutes()
	errs = append(errs, err)
	for _, r := range routes {
		errs = append(errs, n.h.RouteDel(n.route(r)))
	}
	if err := n.h.LinkDel(n.link); err != nil && !errors.Is(err, unix.ENODEV) {
		errs = append(errs, fmt.Errorf("delete %s: %w", n.cfg.Device, err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("podnet teardown: %w", err)
	}
	return nil
}

func hostNet(ip netip.Addr) *net.IPNet {
	return &net.IPNet{IP: net.IP(ip.AsSlice()), Mask: net.CIDRMask(ip.BitLen(), ip.BitLen())}
}

// AddPodIP puts a pod IP on the device (idempotent).
func (n *Network) AddPodIP(ip netip.Addr) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.h.AddrReplace(n.link, &netlink.Addr{IPNet: hostNet(ip)}); err != nil {
		return fmt.Errorf("add pod IP %s: %w", ip, err)
	}
	return nil
}

// DelPodIP removes a pod IP from the device (idempotent).
func (n *Network) DelPodIP(ip netip.Addr) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.h.AddrDel(n.link, &netlink.Addr{IPNet: hostNet(ip)}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("delete pod IP %s: %w", ip, err)
	}
	return nil
}

// PodIPs lists the pod IPs on the device.
func (n *Network) PodIPs() ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.listAddrs()
}

func (n *Network) listAddrs() ([]netip.Addr, error) {
	addrs, err := n.h.AddrList(n.link, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", n.cfg.Device, err)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok {
			out = append(out, ip)
		}
	}
	return out, nil
}

// SyncPodIPs makes the device hold exactly want.
func (n *Network) SyncPodIPs(want []netip.Addr) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.ensureLink(); err != nil { // recreated if someone deleted it
		return fmt.Errorf("sync pod IPs: %w", err)
	}
	have, err := n.listAddrs()
	if err != nil {
		return fmt.Errorf("sync pod IPs: %w", err)
	}
	add, del := PlanAddrs(have, want)
	var errs []error
	for _, ip := range add {
		if err := n.h.AddrReplace(n.link, &netlink.Addr{IPNet: hostNet(ip)}); err != nil {
			errs = append(errs, fmt.Errorf("add %s: %w", ip, err))
		}
	}
	for _, ip := range del {
		if err := n.h.AddrDel(n.link, &netlink.Addr{IPNet: hostNet(ip)}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("delete %s: %w", ip, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync pod IPs: %w", err)
	}
	return nil
}

// Routes lists the routes Seven owns.
func (n *Network) Routes() ([]Route, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.listRoutes()
}

func (n *Network) listRoutes() ([]Route, error) {
	list, err := n.h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	out := make([]Route, 0, len(list))
	for _, r := range list {
		if r.Dst == nil {
			continue
		}
		dst, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		via, ok2 := netip.AddrFromSlice(r.Gw.To4())
		ones, _ := r.Dst.Mask.Size()
		if ok && ok2 {
			out = append(out, Route{Dst: netip.PrefixFrom(dst, ones), Via: via})
		}
	}
	return out, nil
}

func (n *Network) route(r Route) *netlink.Route {
	return &netlink.Route{
		Dst:      &net.IPNet{IP: net.IP(r.Dst.Addr().AsSlice()), Mask: net.CIDRMask(r.Dst.Bits(), 32)},
		Gw:       net.IP(r.Via.AsSlice()),
		Protocol: RouteProtocol,
		Table:    unix.RT_TABLE_MAIN,
	}
}

// SyncRoutes makes the routes Seven owns exactly want. A route whose gateway
// is unreachable is reported in the error; the others are still applied.
func (n *Network) SyncRoutes(want []Route) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	have, err := n.listRoutes()
	if err != nil {
		return fmt.Errorf("sync routes: %w", err)
	}
	replace, del := Plan(have, want)
	var errs []error
	for _, r := range del {
		if err := n.h.RouteDel(n.route(r)); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete %s: %w", r, err))
		} else {
			n.log.Info("pod route removed", "route", r.String())
		}
	}
	for _, r := range replace {
		if err := n.h.RouteReplace(n.route(r)); err != nil {
			errs = append(errs, fmt.Errorf("add %s: %w", r, err))
		} else {
			n.log.Info("pod route set", "route", r.String())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync routes: %w", err)
	}
	return nil
}

// DefaultIP is the first IPv4 address of the interface that carries the
// default route: the node's InternalIP when none is given.
func DefaultIP() (netip.Addr, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst != nil && !r.Dst.IP.IsUnspecified() || r.LinkIndex == 0 {
			continue
		}
		link, err := netlink.LinkByIndex(r.LinkIndex)
		if err != nil {
			continue
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && ip.IsGlobalUnicast() {
				return ip, nil
			}
		}
	}
	return netip.Addr{}, errors.New("no IPv4 address on the default route's interface")
}
