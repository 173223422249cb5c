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

// RouteProtocol marks the routes Seven owns (rtm_protocol; any value above
// the kernel's reserved ones is free for routing daemons).
const RouteProtocol = netlink.RouteProtocol(77)

// Config configures a Network.
type Config struct {
	// NetNS is the path of the network namespace to manage (for example
	// /var/run/netns/x); empty means the current one.
	NetNS  string
	Logger *slog.Logger
}

// Network manages the routes of one node to the other nodes' pods. It needs
// CAP_NET_ADMIN. Methods are safe for concurrent use.
type Network struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	h  *netlink.Handle
}

// New opens the namespace.
func New(cfg Config) (*Network, error) {
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
	return &Network{cfg: cfg, log: cfg.Logger, h: h}, nil
}

// Close releases the netlink socket; the routes stay (pods outlive a kubelet
// restart).
func (n *Network) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.h.Close()
}

// Teardown removes the routes Seven owns.
func (n *Network) Teardown() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	routes, err := n.listRoutes()
	errs = append(errs, err)
	for _, r := range routes {
		errs = append(errs, n.h.RouteDel(n.route(r)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("podnet teardown: %w", err)
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
	local, err := n.localAddrs()
	if err != nil {
		return fmt.Errorf("sync routes: %w", err)
	}
	replace, del := Plan(have, RemoteOnly(want, local))
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

// localAddrs are the IPv4 addresses of this namespace.
func (n *Network) localAddrs() (map[netip.Addr]bool, error) {
	list, err := n.h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	out := map[netip.Addr]bool{}
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok {
			out[ip] = true
		}
	}
	return out, nil
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
