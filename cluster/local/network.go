package local

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// serviceDevice makes the dummy device that holds a CNI-mode cluster's
// local addresses: the nodes' and the cluster DNS server's, given here, and
// the ClusterIPs, which the proxy adds. Pods reach them through their bridge's
// gateway; being on a device of the cluster's own, they go with it.
func serviceDevice(name string, ips ...string) error {
	_ = removeDevice(name) // left over by a cluster that was killed
	attrs := netlink.LinkAttrs{Name: name}
	err := netlink.LinkAdd(&netlink.Dummy{LinkAttrs: attrs})
	if errors.Is(err, unix.EOPNOTSUPP) {
		err = netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}) // no dummy driver
	}
	if err != nil {
		return fmt.Errorf("add device %s: %w", name, err)
	}
	link, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.LinkSetUp(link)
	}
	for _, ip := range ips {
		if err != nil {
			break
		}
		a := netip.MustParseAddr(ip)
		err = netlink.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(32, 32)}})
	}
	if err != nil {
		_ = removeDevice(name)
		return fmt.Errorf("set up device %s: %w", name, err)
	}
	return nil
}

func removeDevice(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return nil // gone already
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("remove device %s: %w", name, err)
	}
	return nil
}
