package proxy

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// ep is an endpoint with conditions given as "r" (ready), "s" (serving),
// "t" (terminating) letters; "-" leaves all conditions unset.
func ep(ip, node, conds string) discoveryv1.Endpoint {
	e := discoveryv1.Endpoint{Addresses: []string{ip}}
	if node != "" {
		e.NodeName = ptr.To(node)
	}
	if conds != "-" {
		has := func(c rune) *bool {
			for _, x := range conds {
				if x == c {
					return ptr.To(true)
				}
			}
			return ptr.To(false)
		}
		e.Conditions = discoveryv1.EndpointConditions{Ready: has('r'), Serving: has('s'), Terminating: has('t')}
	}
	return e
}

func slice(family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{AddressType: family, Ports: ports, Endpoints: eps}
}

func sport(name string, proto corev1.Protocol, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr.To(name), Protocol: ptr.To(proto), Port: ptr.To(port)}
}

func TestPlan(t *testing.T) {
	web := types.NamespacedName{Namespace: "ns", Name: "web"}
	base := func(mut func(*corev1.Service)) *corev1.Service {
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
			Spec: corev1.ServiceSpec{
				Type:      corev1.ServiceTypeClusterIP,
				ClusterIP: "127.96.0.10", ClusterIPs: []string{"127.96.0.10"},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
			},
		}
		if mut != nil {
			mut(s)
		}
		return s
	}
	http := []discoveryv1.EndpointPort{sport("http", corev1.ProtocolTCP, 8080)}
	l := func(ip string, port int32, nodePort bool, eps ...string) Listener {
		return Listener{ListenKey: ListenKey{Protocol: corev1.ProtocolTCP, IP: ip, Port: port}, Service: web, PortName: "http", NodePort: nodePort, Endpoints: eps}
	}
	tests := []struct {
		name    string
		svc     *corev1.Service
		slices  []*discoveryv1.EndpointSlice
		node    string
		nodeIPs []string
		want    []Listener
	}{
		{name: "headless", svc: base(func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"} })},
		{name: "external name", svc: base(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName })},
		{
			name: "no slices: a listener that resets",
			svc:  base(nil),
			want: []Listener{l("127.96.0.10", 80, false)},
		},
		{
			name: "ready endpoints from several slices, sorted, unset conditions count as ready, duplicates merged",
			svc:  base(nil),
			slices: []*discoveryv1.EndpointSlice{
				slice(discoveryv1.AddressTypeIPv4, http, ep("127.0.1.3", "", "rs"), ep("127.0.1.1", "", "-")),
				slice(discoveryv1.AddressTypeIPv4, http, ep("127.0.1.2", "", "rs"), ep("127.0.1.3", "", "")),
			},
			want: []Listener{l("127.96.0.10", 80, false, "127.0.1.1:8080", "127.0.1.2:8080", "127.0.1.3:8080")},
		},
		{
			name: "not ready and terminating endpoints are left out while one is ready",
			svc:  base(nil),
			slices: []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4, http,
				ep("127.0.1.1", "", "rs"), ep("127.0.1.2", "", ""), ep("127.0.1.3", "", "st"), ep("127.0.1.4", "", "s"))},
			want: []Listener{l("127.96.0.10", 80, false, "127.0.1.1:8080")},
		},
		{
			name: "no ready endpoint: serving terminating ones take over",
			svc:  base(nil),
			slices: []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4, http,
				ep("127.0.1.2", "", ""), ep("127.0.1.3", "", "st"), ep("127.0.1.4", "", "t"))},
			want: []Listener{l("127.96.0.10", 80, false, "127.0.1.3:8080")},
		},
		{
			name: "ports match by name and protocol; other families and FQDN slices are ignored",
			svc:  base(nil),
			slices: []*discoveryv1.EndpointSlice{
				slice(discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{sport("metrics", corev1.ProtocolTCP, 9090)}, ep("127.0.1.1", "", "rs")),
				slice(discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{sport("http", corev1.ProtocolUDP, 8080)}, ep("127.0.1.2", "", "rs")),
				slice(discoveryv1.AddressTypeIPv6, http, ep("fd00::1", "", "rs")),
				slice(discoveryv1.AddressTypeFQDN, http, ep("example.com", "", "rs")),
				slice(discoveryv1.AddressTypeIPv4, http, ep("127.0.1.3", "", "rs")),
			},
			want: []Listener{l("127.96.0.10", 80, false, "127.0.1.3:8080")},
		},
		{
			name: "NodePort listens on every node IP too",
			svc: base(func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeNodePort
				s.Spec.Ports[0].NodePort = 30080
			}),
			slices:  []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4, http, ep("127.0.1.1", "n1", "rs"))},
			nodeIPs: []string{"127.0.0.2", "127.0.0.3"},
			want: []Listener{
				l("127.96.0.10", 80, false, "127.0.1.1:8080"),
				l("127.0.0.2", 30080, true, "127.0.1.1:8080"),
				l("127.0.0.3", 30080, true, "127.0.1.1:8080"),
			},
		},
		{
			name: "traffic policies Local keep this node's endpoints",
			svc: base(func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeNodePort
				s.Spec.Ports[0].NodePort = 30080
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			}),
			slices:  []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4, http, ep("127.0.1.1", "n1", "rs"), ep("127.0.1.2", "n2", "rs"))},
			node:    "n2",
			nodeIPs: []string{"127.0.0.2"},
			want: []Listener{
				l("127.96.0.10", 80, false, "127.0.1.1:8080", "127.0.1.2:8080"),
				l("127.0.0.2", 30080, true, "127.0.1.2:8080"),
			},
		},
		{
			name: "ClientIP affinity with a timeout, and the default",
			svc: base(func(s *corev1.Service) {
				s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
				s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](60)}}
			}),
			want: []Listener{{ListenKey: ListenKey{Protocol: corev1.ProtocolTCP, IP: "127.96.0.10", Port: 80}, Service: web, PortName: "http", Affinity: time.Minute}},
		},
		{
			name: "UDP ports, SCTP skipped, protocol defaults to TCP",
			svc: base(func(s *corev1.Service) {
				s.Spec.Ports = []corev1.ServicePort{
					{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
					{Name: "sctp", Port: 99, Protocol: corev1.ProtocolSCTP},
					{Name: "http", Port: 80},
				}
			}),
			slices: []*discoveryv1.EndpointSlice{slice(discoveryv1.AddressTypeIPv4,
				[]discoveryv1.EndpointPort{sport("dns", corev1.ProtocolUDP, 5353), sport("http", corev1.ProtocolTCP, 8080)},
				ep("127.0.1.1", "", "rs"))},
			want: []Listener{
				{ListenKey: ListenKey{Protocol: corev1.ProtocolUDP, IP: "127.96.0.10", Port: 53}, Service: web, PortName: "dns", Endpoints: []string{"127.0.1.1:5353"}},
				l("127.96.0.10", 80, false, "127.0.1.1:8080"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plan(tt.svc, tt.slices, tt.node, tt.nodeIPs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Plan:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
