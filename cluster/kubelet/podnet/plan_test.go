package podnet_test

import (
	"net/netip"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/kubelet/podnet"
)

func node(name, ip string, cidrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(cidrs) > 0 {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidrs[0], cidrs
	}
	if ip != "" {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}}
	}
	return n
}

func route(dst, via string) podnet.Route {
	return podnet.Route{Dst: netip.MustParsePrefix(dst), Via: netip.MustParseAddr(via)}
}

func TestRoutes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes []*corev1.Node
		want  []podnet.Route
	}{
		{"alone", []*corev1.Node{node("a", "10.0.0.1", "10.244.1.0/24")}, nil},
		{"two others", []*corev1.Node{
			node("c", "10.0.0.3", "10.244.3.0/24"),
			node("a", "10.0.0.1", "10.244.1.0/24"),
			node("b", "10.0.0.2", "10.244.2.0/24"),
		}, []podnet.Route{route("10.244.2.0/24", "10.0.0.2"), route("10.244.3.0/24", "10.0.0.3")}},
		{"no podCIDR yet", []*corev1.Node{node("a", "10.0.0.1", "10.244.1.0/24"), node("b", "10.0.0.2")}, nil},
		{"no InternalIP", []*corev1.Node{node("a", "10.0.0.1", "10.244.1.0/24"), node("b", "", "10.244.2.0/24")}, nil},
		{"loopback InternalIP", []*corev1.Node{node("b", "127.1.0.2", "10.244.2.0/24")}, nil},
		{"podCIDR only in spec.podCIDR", []*corev1.Node{func() *corev1.Node {
			n := node("b", "10.0.0.2")
			n.Spec.PodCIDR = "10.244.2.0/24"
			return n
		}()}, []podnet.Route{route("10.244.2.0/24", "10.0.0.2")}},
		{"IPv6 ignored", []*corev1.Node{node("b", "10.0.0.2", "fd00::/64", "10.244.2.0/24")}, []podnet.Route{route("10.244.2.0/24", "10.0.0.2")}},
		{"overlapping self", []*corev1.Node{node("a", "10.0.0.1", "10.244.1.0/24"), node("b", "10.0.0.2", "10.244.0.0/16")}, nil},
		{"overlapping another: first by name wins", []*corev1.Node{
			node("c", "10.0.0.3", "10.244.2.0/24"),
			node("b", "10.0.0.2", "10.244.2.0/24"),
		}, []podnet.Route{route("10.244.2.0/24", "10.0.0.2")}},
		{"gateway inside its own podCIDR", []*corev1.Node{node("b", "10.244.2.1", "10.244.2.0/24")}, nil},
		{"unmasked CIDR", []*corev1.Node{node("b", "10.0.0.2", "10.244.2.7/24")}, []podnet.Route{route("10.244.2.0/24", "10.0.0.2")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := podnet.Routes("a", tc.nodes); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	r2, r3 := route("10.244.2.0/24", "10.0.0.2"), route("10.244.3.0/24", "10.0.0.3")
	moved := route("10.244.2.0/24", "10.0.0.9")
	for _, tc := range []struct {
		name               string
		have, want         []podnet.Route
		wantRepl, wantDels []podnet.Route
	}{
		{"empty", nil, nil, nil, nil},
		{"add", nil, []podnet.Route{r2, r3}, []podnet.Route{r2, r3}, nil},
		{"steady", []podnet.Route{r2, r3}, []podnet.Route{r2, r3}, nil, nil},
		{"node gone", []podnet.Route{r2, r3}, []podnet.Route{r3}, nil, []podnet.Route{r2}},
		{"node moved", []podnet.Route{r2}, []podnet.Route{moved}, []podnet.Route{moved}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repl, del := podnet.Plan(tc.have, tc.want)
			if !reflect.DeepEqual(repl, tc.wantRepl) || !reflect.DeepEqual(del, tc.wantDels) {
				t.Errorf("got replace %v delete %v, want %v %v", repl, del, tc.wantRepl, tc.wantDels)
			}
		})
	}
}

func TestRemoteOnly(t *testing.T) {
	a, b := route("10.244.1.0/24", "192.168.1.1"), route("10.244.2.0/24", "192.168.1.2")
	got := podnet.RemoteOnly([]podnet.Route{a, b}, map[netip.Addr]bool{netip.MustParseAddr("192.168.1.2"): true})
	if !reflect.DeepEqual(got, []podnet.Route{a}) {
		t.Errorf("RemoteOnly = %v, want only %v", got, a)
	}
}
