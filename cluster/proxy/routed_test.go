package proxy

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
)

// TestRouted runs the proxy in routed mode: cluster IPs outside 127/8 are
// added to an interface. It needs CAP_NET_ADMIN, so it runs only as root,
// and it removes what it added.
func TestRouted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("routed mode needs CAP_NET_ADMIN: run as root")
	}
	serviceRange := fmt.Sprintf("10.%d.0.0/16", 200+rand.IntN(50))
	c := startAPI(t, serviceRange)
	ips := randomIPs(2)
	for _, ip := range ips {
		startFixture(t, ip, 8080)
	}
	iface := fmt.Sprintf("seven-t%d", rand.IntN(100000))
	clusterIP := new(string)
	t.Cleanup(func() {
		// Registered before the proxy starts, so it runs after it stopped.
		if _, err := netlink.LinkByName(iface); err == nil {
			t.Errorf("interface %s left behind", iface)
		}
		if hasAddr(t, *clusterIP) {
			t.Errorf("address %s left behind", *clusterIP)
		}
	})
	p := startProxy(t, Config{Client: c, Mode: ModeRouted, Interface: iface})
	svc := createService(t, c, webService("web", 8080))
	if !strings.HasPrefix(svc.Spec.ClusterIP, "10.") {
		t.Fatalf("cluster IP %s not from %s", svc.Spec.ClusterIP, serviceRange)
	}
	*clusterIP = svc.Spec.ClusterIP
	createSlice(t, c, newSlice(svc, 8080, readyEndpoint(ips[0]), readyEndpoint(ips[1])))
	addr := clusterAddr(svc)
	// Until the address is local, connections to it leave by the default
	// route (where a transparent egress proxy may accept and stall them).
	waitEndpoints(t, p, svc, 2)
	controllertest.Eventually(t, 5*time.Second, "service answers on "+addr, func() (bool, string) {
		_, err := get(addr)
		return err == nil, fmt.Sprint(err)
	})
	if counts := spread(t, addr, 20); len(counts) != 2 {
		t.Errorf("spread %v, want 2 endpoints", counts)
	}
	if !hasAddr(t, svc.Spec.ClusterIP) {
		t.Errorf("%s is not a local address", svc.Spec.ClusterIP)
	}
}

// hasAddr says whether ip is an address of some interface.
func hasAddr(tb testing.TB, ip string) bool {
	tb.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.String() == ip {
			return true
		}
	}
	return false
}
