package dns

import (
	"slices"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// static is a Cluster held in slices, for table tests.
type static struct {
	namespaces []string
	services   []*corev1.Service
	slices     []*discoveryv1.EndpointSlice
}

func (s static) Namespace(name string) bool { return slices.Contains(s.namespaces, name) }

func (s static) Service(ns, name string) *corev1.Service {
	for _, x := range s.services {
		if x.Namespace == ns && x.Name == name {
			return x
		}
	}
	return nil
}

func (s static) EndpointSlices(ns, svc string) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, x := range s.slices {
		if x.Namespace == ns && x.Labels[discoveryv1.LabelServiceName] == svc {
			out = append(out, x)
		}
	}
	return out
}

func (s static) ServicesByClusterIP(ip string) []*corev1.Service {
	var out []*corev1.Service
	for _, x := range s.services {
		if slices.Contains(x.Spec.ClusterIPs, ip) {
			out = append(out, x)
		}
	}
	return out
}

func (s static) EndpointSlicesByIP(ip string) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, x := range s.slices {
		for _, e := range x.Endpoints {
			if slices.Contains(e.Addresses, ip) {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

func service(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip}, Ports: ports},
	}
	return s
}

type testEndpoint struct {
	ip, host string
	ready    bool
}

func slice(ns, svc string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...testEndpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: svc + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: family,
		Ports:       ports,
	}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready)}}
		if e.host != "" {
			ep.Hostname = ptr.To(e.host)
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

func TestLookup(t *testing.T) {
	http := corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}
	dnsPort := corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}
	unnamed := corev1.ServicePort{Port: 9000, Protocol: corev1.ProtocolTCP}
	web := service("default", "web", "10.96.0.10", http, dnsPort)
	v6 := service("default", "six", "fd00::10", http)
	db := service("default", "db", corev1.ClusterIPNone, http)
	empty := service("default", "empty", corev1.ClusterIPNone, http)
	open := service("default", "open", corev1.ClusterIPNone, unnamed)
	open.Spec.PublishNotReadyAddresses = true
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "ext"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	sport := []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8080)}}
	c := static{
		namespaces: []string{"default", "team"},
		services:   []*corev1.Service{web, v6, db, empty, open, ext},
		slices: []*discoveryv1.EndpointSlice{
			slice("default", "web", discoveryv1.AddressTypeIPv4, sport, testEndpoint{ip: "10.244.0.9", ready: true}),
			slice("default", "db", discoveryv1.AddressTypeIPv4, sport,
				testEndpoint{ip: "10.244.1.6", host: "db-1", ready: true},
				testEndpoint{ip: "10.244.1.5", host: "db-0", ready: true},
				testEndpoint{ip: "10.244.1.7", ready: true},
				testEndpoint{ip: "10.244.1.8", host: "db-3", ready: false}),
			slice("default", "open", discoveryv1.AddressTypeIPv4, nil, testEndpoint{ip: "10.244.2.1", ready: false}),
		},
	}
	z := Zone{Domain: "cluster.local.", TTL: 5}

	const (
		ok  = mdns.RcodeSuccess
		nx  = mdns.RcodeNameError
		soa = "cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
	)
	tests := []struct {
		name   string
		qtype  uint16
		notOur bool
		rcode  int
		answer []string
		extra  []string
		ns     []string
	}{
		{name: "web.default.svc.cluster.local.", qtype: mdns.TypeA, answer: []string{"web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.10"}},
		{name: "WEB.Default.svc.cluster.local.", qtype: mdns.TypeA, answer: []string{"WEB.Default.svc.cluster.local.\t5\tIN\tA\t10.96.0.10"}},
		{name: "web.default.svc.cluster.local.", qtype: mdns.TypeAAAA, ns: []string{soa}},
		{name: "six.default.svc.cluster.local.", qtype: mdns.TypeAAAA, answer: []string{"six.default.svc.cluster.local.\t5\tIN\tAAAA\tfd00::10"}},
		{name: "nope.default.svc.cluster.local.", qtype: mdns.TypeA, rcode: nx, ns: []string{soa}},
		{name: "web.nope.svc.cluster.local.", qtype: mdns.TypeA, rcode: nx, ns: []string{soa}},
		{name: "default.svc.cluster.local.", qtype: mdns.TypeA, ns: []string{soa}},
		{name: "nope.svc.cluster.local.", qtype: mdns.TypeA, rcode: nx, ns: []string{soa}},
		{name: "svc.cluster.local.", qtype: mdns.TypeA, ns: []string{soa}},
		{name: "cluster.local.", qtype: mdns.TypeSOA, answer: []string{soa}},
		{name: "other.cluster.local.", qtype: mdns.TypeA, rcode: nx, ns: []string{soa}},
		{name: "web.default.svc.cluster.local.default.svc.cluster.local.", qtype: mdns.TypeA, rcode: nx, ns: []string{soa}},
		{name: "dns-version.cluster.local.", qtype: mdns.TypeTXT, answer: []string{"dns-version.cluster.local.\t5\tIN\tTXT\t\"1.1.0\""}},
		{
			name: "_http._tcp.web.default.svc.cluster.local.", qtype: mdns.TypeSRV,
			answer: []string{"_http._tcp.web.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.10"},
		},
		{
			name: "_dns._udp.web.default.svc.cluster.local.", qtype: mdns.TypeSRV,
			answer: []string{"_dns._udp.web.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 53 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.10"},
		},
		{name: "_http._udp.web.default.svc.cluster.local.", qtype: mdns.TypeSRV, rcode: nx, ns: []string{soa}},
		{name: "_tcp.web.default.svc.cluster.local.", qtype: mdns.TypeSRV, ns: []string{soa}},
		{name: "_sctp.web.default.svc.cluster.local.", qtype: mdns.TypeSRV, rcode: nx, ns: []string{soa}},
		{
			name: "headless: the ready endpoints, sorted", qtype: mdns.TypeA,
			answer: []string{
				"db.default.svc.cluster.local.\t5\tIN\tA\t10.244.1.5",
				"db.default.svc.cluster.local.\t5\tIN\tA\t10.244.1.6",
				"db.default.svc.cluster.local.\t5\tIN\tA\t10.244.1.7",
			},
		},
		{
			name: "_http._tcp.db.default.svc.cluster.local.", qtype: mdns.TypeSRV,
			answer: []string{
				"_http._tcp.db.default.svc.cluster.local.\t5\tIN\tSRV\t0 33 8080 db-0.db.default.svc.cluster.local.",
				"_http._tcp.db.default.svc.cluster.local.\t5\tIN\tSRV\t0 33 8080 db-1.db.default.svc.cluster.local.",
				"_http._tcp.db.default.svc.cluster.local.\t5\tIN\tSRV\t0 33 8080 10-244-1-7.db.default.svc.cluster.local.",
			},
			extra: []string{
				"db-0.db.default.svc.cluster.local.\t5\tIN\tA\t10.244.1.5",
				"db-1.db.default.svc.cluster.local.\t5\tIN\tA\t10.244.1.6",
				"10-244-1-7.db.default.svc.cluster.local.\t5\tIN\tA\t10.244.1.7",
			},
		},
		{name: "db-1.db.default.svc.cluster.local.", qtype: mdns.TypeA, answer: []string{"db-1.db.default.svc.cluster.local.\t5\tIN\tA\t10.244.1.6"}},
		{name: "10-244-1-7.db.default.svc.cluster.local.", qtype: mdns.TypeA, answer: []string{"10-244-1-7.db.default.svc.cluster.local.\t5\tIN\tA\t10.244.1.7"}},
		{name: "db-3.db.default.svc.cluster.local.", qtype: mdns.TypeA, rcode: nx, ns: []string{soa}},
		{name: "x.web.default.svc.cluster.local.", qtype: mdns.TypeA, rcode: nx, ns: []string{soa}},
		{name: "empty.default.svc.cluster.local.", qtype: mdns.TypeA, ns: []string{soa}},
		{name: "open.default.svc.cluster.local.", qtype: mdns.TypeA, answer: []string{"open.default.svc.cluster.local.\t5\tIN\tA\t10.244.2.1"}},
		{name: "ext.default.svc.cluster.local.", qtype: mdns.TypeA, answer: []string{"ext.default.svc.cluster.local.\t5\tIN\tCNAME\texample.com."}},
		{name: "10-244-3-4.team.pod.cluster.local.", qtype: mdns.TypeA, answer: []string{"10-244-3-4.team.pod.cluster.local.\t5\tIN\tA\t10.244.3.4"}},
		{name: "fd00--5.team.pod.cluster.local.", qtype: mdns.TypeAAAA, answer: []string{"fd00--5.team.pod.cluster.local.\t5\tIN\tAAAA\tfd00::5"}},
		{name: "10-244-3.team.pod.cluster.local.", qtype: mdns.TypeA, rcode: nx, ns: []string{soa}},
		{name: "team.pod.cluster.local.", qtype: mdns.TypeA, ns: []string{soa}},
		{name: "10.0.96.10.in-addr.arpa.", qtype: mdns.TypePTR, answer: []string{"10.0.96.10.in-addr.arpa.\t5\tIN\tPTR\tweb.default.svc.cluster.local."}},
		{name: "6.1.244.10.in-addr.arpa.", qtype: mdns.TypePTR, answer: []string{"6.1.244.10.in-addr.arpa.\t5\tIN\tPTR\tdb-1.db.default.svc.cluster.local."}},
		{name: "7.1.244.10.in-addr.arpa.", qtype: mdns.TypePTR, notOur: true},
		{name: "1.1.1.1.in-addr.arpa.", qtype: mdns.TypePTR, notOur: true},
		{name: "example.com.", qtype: mdns.TypeA, notOur: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qname := tt.name
			if strings.Contains(qname, " ") { // A description: the name is db's.
				qname = "db.default.svc.cluster.local."
			}
			got, ours := Lookup(c, z, mdns.Question{Name: qname, Qtype: tt.qtype, Qclass: mdns.ClassINET})
			if ours == tt.notOur {
				t.Fatalf("ours = %v", ours)
			}
			if tt.notOur {
				return
			}
			if got.Rcode != tt.rcode {
				t.Errorf("rcode = %s, want %s", mdns.RcodeToString[got.Rcode], mdns.RcodeToString[tt.rcode])
			}
			check := func(what string, rrs []mdns.RR, want []string) {
				var s []string
				for _, rr := range rrs {
					s = append(s, rr.String())
				}
				if !slices.Equal(s, want) {
					t.Errorf("%s:\n got %q\nwant %q", what, s, want)
				}
			}
			check("answer", got.Answer, tt.answer)
			check("extra", got.Extra, tt.extra)
			check("ns", got.Ns, tt.ns)
		})
	}
}
