package registry

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func endpointsWith(ready []string, notReady ...string) *corev1.Endpoints {
	ss := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: 8080, Protocol: corev1.ProtocolTCP}}}
	for _, ip := range ready {
		ss.Addresses = append(ss.Addresses, corev1.EndpointAddress{IP: ip})
	}
	for _, ip := range notReady {
		ss.NotReadyAddresses = append(ss.NotReadyAddresses, corev1.EndpointAddress{IP: ip})
	}
	return &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Subsets: []corev1.EndpointSubset{ss}}
}

func sliceWith(t discoveryv1.AddressType, addrs ...string) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}, AddressType: t}
	for _, a := range addrs {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}})
	}
	return es
}

// errorLines renders errors as kubectl prints the causes of a 422.
func errorLines(errs field.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

// TestIPValidation pins the paths and messages of Kubernetes' IP checks:
// endpoint addresses and external IPs must not be special, pod and cluster
// IPs only well formed.
func TestIPValidation(t *testing.T) {
	strict, loopbackOK := mustRegistry(t, Config{}), mustRegistry(t, Config{AllowLoopbackEndpoints: true})
	ep := func(r *Registry) *Resource { return r.Lookup("", "endpoints") }
	es := func(r *Registry) *Resource { return r.Lookup("discovery.k8s.io", "endpointslices") }
	cases := []struct {
		name string
		res  *Resource
		obj  runtime.Object
		want []string // every error, in order; nil: valid
	}{
		{"endpoints: loopback", ep(strict), endpointsWith([]string{"127.152.1.2"}),
			[]string{`subsets[0].addresses[0].ip: Invalid value: "127.152.1.2": may not be in the loopback range (127.0.0.0/8, ::1/128)`}},
		{"endpoints: IPv6 loopback, not ready", ep(strict), endpointsWith(nil, "::1"),
			[]string{`subsets[0].notReadyAddresses[0].ip: Invalid value: "::1": may not be in the loopback range (127.0.0.0/8, ::1/128)`}},
		{"endpoints: link-local", ep(strict), endpointsWith([]string{"169.254.169.254"}),
			[]string{`subsets[0].addresses[0].ip: Invalid value: "169.254.169.254": may not be in the link-local range (169.254.0.0/16, fe80::/10)`}},
		{"endpoints: link-local multicast", ep(strict), endpointsWith([]string{"224.0.0.1"}),
			[]string{`subsets[0].addresses[0].ip: Invalid value: "224.0.0.1": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)`}},
		{"endpoints: unspecified", ep(strict), endpointsWith([]string{"0.0.0.0"}),
			[]string{`subsets[0].addresses[0].ip: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)`}},
		{"endpoints: not an IP is reported by both checks", ep(strict), endpointsWith([]string{"nope"}),
			[]string{
				`subsets[0].addresses[0].ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
				`subsets[0].addresses[0].ip: Invalid value: "nope": must be a valid IP address`,
			}},
		{"endpoints: leading zeros", ep(strict), endpointsWith([]string{"10.244.1.05"}),
			[]string{`subsets[0].addresses[0].ip: Invalid value: "10.244.1.05": must not have leading 0s`}},
		{"endpoints: a pod IP", ep(strict), endpointsWith([]string{"10.244.1.5", "fd00::5"}), nil},
		{"endpoints: loopback allowed by the deviation", ep(loopbackOK), endpointsWith([]string{"127.152.1.2"}, "::1"), nil},
		{"endpoints: the deviation is only loopback", ep(loopbackOK), endpointsWith([]string{"169.254.1.1"}),
			[]string{`subsets[0].addresses[0].ip: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)`}},

		{"slice: loopback", es(strict), sliceWith(discoveryv1.AddressTypeIPv4, "10.244.1.5", "127.0.0.1"),
			[]string{`endpoints[1].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`}},
		{"slice: IPv6 in an IPv4 slice is reported on the list", es(strict), sliceWith(discoveryv1.AddressTypeIPv4, "2001:db8::1"),
			[]string{`endpoints[0].addresses: Invalid value: "2001:db8::1": must be an IPv4 address`}},
		{"slice: IPv6 loopback", es(strict), sliceWith(discoveryv1.AddressTypeIPv6, "::1"),
			[]string{`endpoints[0].addresses[0]: Invalid value: "::1": may not be in the loopback range (127.0.0.0/8, ::1/128)`}},
		{"slice: IPv4-mapped IPv6", es(strict), sliceWith(discoveryv1.AddressTypeIPv6, "::ffff:10.0.0.1"),
			[]string{`endpoints[0].addresses[0]: Invalid value: "::ffff:10.0.0.1": must not be an IPv4-mapped IPv6 address`}},
		{"slice: link-local IPv6", es(strict), sliceWith(discoveryv1.AddressTypeIPv6, "fe80::1"),
			[]string{`endpoints[0].addresses[0]: Invalid value: "fe80::1": may not be in the link-local range (169.254.0.0/16, fe80::/10)`}},
		{"slice: FQDN addresses are names", es(strict), sliceWith(discoveryv1.AddressTypeFQDN, "localhost.example"), nil},
		{"slice: loopback allowed by the deviation", es(loopbackOK), sliceWith(discoveryv1.AddressTypeIPv4, "127.200.1.4"), nil},
		{"slice: the port number is not checked", es(strict), func() runtime.Object {
			s := sliceWith(discoveryv1.AddressTypeIPv4, "10.244.1.5")
			s.Ports = []discoveryv1.EndpointPort{{Name: ptrTo(""), Protocol: ptrTo(corev1.ProtocolTCP), Port: ptrTo[int32](0)}}
			return s
		}(), nil},

		{"service: loopback external IP", Lookup("", "services"), service(func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"127.0.0.1"} }),
			[]string{`spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`}},
		{"service: bad external IP is only reported once", Lookup("", "services"), service(func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"1.2.3"} }),
			[]string{`spec.externalIPs[0]: Invalid value: "1.2.3": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`}},
		{"service: a loopback cluster IP is valid", Lookup("", "services"), service(func(s *corev1.Service) { s.Spec.ClusterIP = "127.96.0.10" }), nil},
		{"service: cluster IPs must match the family", Lookup("", "services"), service(func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00::10", []string{"fd00::10"}
		}), []string{"spec.clusterIPs[0]: Invalid value: \"fd00::10\": expected an IPv4 value as indicated by `ipFamilies[0]`"}},

		{"pod: dnsConfig nameserver", Lookup("", "pods"), pod(func(p *corev1.Pod) {
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "dns.example"}}
		}), []string{`spec.dnsConfig.nameservers[1]: Invalid value: "dns.example": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`}},
		{"pod: a loopback nameserver is valid", Lookup("", "pods"), pod(func(p *corev1.Pod) {
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"127.0.0.53"}}
		}), nil},
		{"pod: dnsPolicy None needs nameservers", Lookup("", "pods"), pod(func(p *corev1.Pod) {
			p.Spec.DNSPolicy, p.Spec.DNSConfig = corev1.DNSNone, &corev1.PodDNSConfig{Searches: []string{"a.example"}}
		}), []string{"spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"}},
		{"pod: dnsPolicy None needs dnsConfig", Lookup("", "pods"), pod(func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }),
			[]string{"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"}},
		{"pod: dnsConfig searches and options", Lookup("", "pods"), pod(func(p *corev1.Pod) {
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Searches: []string{"_sip.example.", ".", "Bad"}, Options: []corev1.PodDNSConfigOption{{Name: ""}}}
		}), []string{
			`spec.dnsConfig.searches[2]: Invalid value: "Bad": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')`,
			`spec.dnsConfig.options[0]: Required value: must not be empty`,
		}},
		{"pod: hostAliases IP", Lookup("", "pods"), pod(func(p *corev1.Pod) {
			p.Spec.HostAliases = []corev1.HostAlias{{IP: "127.0.0.1", Hostnames: []string{"db"}}, {IP: "db.example", Hostnames: []string{"x"}}}
		}), []string{`spec.hostAliases[1].ip: Invalid value: "db.example": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := errorLines(prepare(c.res, c.obj))
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

// TestIPValidationOnUpdate: values stored under older rules may stay.
func TestIPValidationOnUpdate(t *testing.T) {
	strict, loopbackOK := mustRegistry(t, Config{}), mustRegistry(t, Config{AllowLoopbackEndpoints: true})
	cases := []struct {
		name     string
		res      *Resource
		old, new runtime.Object
		want     []string
	}{
		{"endpoints: unchanged loopback subsets stay", strict.Lookup("", "endpoints"),
			endpointsWith([]string{"127.0.1.1"}), withLabel(endpointsWith([]string{"127.0.1.1"})), nil},
		{"endpoints: changed subsets are checked", strict.Lookup("", "endpoints"),
			endpointsWith([]string{"127.0.1.1"}), endpointsWith([]string{"127.0.1.1", "127.0.1.2"}),
			[]string{
				`subsets[0].addresses[0].ip: Invalid value: "127.0.1.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`,
				`subsets[0].addresses[1].ip: Invalid value: "127.0.1.2": may not be in the loopback range (127.0.0.0/8, ::1/128)`,
			}},
		{"slice: unchanged loopback endpoints stay", strict.Lookup("discovery.k8s.io", "endpointslices"),
			sliceWith(discoveryv1.AddressTypeIPv4, "127.0.1.1"), withLabel(sliceWith(discoveryv1.AddressTypeIPv4, "127.0.1.1")), nil},
		{"slice: changed endpoints are checked", strict.Lookup("discovery.k8s.io", "endpointslices"),
			sliceWith(discoveryv1.AddressTypeIPv4, "127.0.1.1"), sliceWith(discoveryv1.AddressTypeIPv4, "127.0.1.2"),
			[]string{`endpoints[0].addresses[0]: Invalid value: "127.0.1.2": may not be in the loopback range (127.0.0.0/8, ::1/128)`}},
		{"slice: the deviation allows changes", loopbackOK.Lookup("discovery.k8s.io", "endpointslices"),
			sliceWith(discoveryv1.AddressTypeIPv4, "127.0.1.1"), sliceWith(discoveryv1.AddressTypeIPv4, "127.0.1.2"), nil},
		{"pod: a stored malformed pod IP may stay", Lookup("", "pods"),
			podIPs("10.244.1.05"), withLabel(podIPs("10.244.1.05")), nil},
		{"pod: a new malformed pod IP is refused", Lookup("", "pods"),
			podIPs(), podIPs("10.244.1.05"),
			[]string{`status.podIPs[0]: Invalid value: "10.244.1.05": must not have leading 0s`}},
		{"pod: loopback pod IPs are valid", Lookup("", "pods"), podIPs(), podIPs("127.200.1.7"), nil},
		{"pod: one IP per family", Lookup("", "pods"), podIPs(), podIPs("10.244.1.5", "10.244.1.6"),
			[]string{`status.podIPs: Invalid value: [{"ip":"10.244.1.5"},{"ip":"10.244.1.6"}]: may specify no more than one IP for each IP family`}},
		{"pod: dual stack", Lookup("", "pods"), podIPs(), podIPs("10.244.1.5", "fd00::5"), nil},
		{"pod: hostIPs must start with hostIP", Lookup("", "pods"), podIPs(), func() runtime.Object {
			p := podIPs().(*corev1.Pod)
			p.Status.HostIP, p.Status.HostIPs = "172.18.0.2", []corev1.HostIP{{IP: "172.18.0.3"}}
			return p
		}(), []string{"status.hostIPs[0].ip: Invalid value: \"172.18.0.3\": must be equal to `hostIP`"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.old.(metav1.Object).SetResourceVersion("7")
			c.new.(metav1.Object).SetResourceVersion("7")
			if c.res.Default != nil {
				c.res.Default(c.new)
			}
			errs := c.res.ValidateUpdate(c.new, c.old)
			var got []string
			for _, e := range errs {
				if !strings.HasPrefix(e.Field, "metadata") {
					got = append(got, e.Error())
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

func mustRegistry(t *testing.T, cfg Config) *Registry {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func withLabel[T runtime.Object](o T) T {
	any(o).(metav1.Object).SetLabels(map[string]string{"touched": "yes"})
	return o
}

// podIPs is a defaulted, running pod with the given status IPs.
func podIPs(ips ...string) runtime.Object {
	p := minimalPod()
	defaultPod(p)
	p.Spec.NodeName = "n1"
	for _, ip := range ips {
		p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
	}
	if len(ips) > 0 {
		p.Status.PodIP = ips[0]
	}
	return p
}
