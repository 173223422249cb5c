package dns

import (
	"net"
	"net/netip"
	"sort"
	"strings"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// SpecVersion is the version of the Kubernetes DNS specification served at
// dns-version.<zone>.
const SpecVersion = "1.1.0"

// Cluster is the cluster state Lookup reads. Implementations answer from
// memory; the objects returned must not be modified.
type Cluster interface {
	// Namespace reports whether the namespace exists.
	Namespace(name string) bool
	// Service returns the Service, or nil.
	Service(namespace, name string) *corev1.Service
	// EndpointSlices returns the slices labelled with the Service's name.
	EndpointSlices(namespace, service string) []*discoveryv1.EndpointSlice
	// ServicesByClusterIP returns the Services with that cluster IP.
	ServicesByClusterIP(ip string) []*corev1.Service
	// EndpointSlicesByIP returns the slices with an endpoint of that IP.
	EndpointSlicesByIP(ip string) []*discoveryv1.EndpointSlice
}

// Zone is the cluster domain and how its records are served.
type Zone struct {
	// Domain is the fully qualified, lower-case cluster domain, e.g. "cluster.local.".
	Domain string
	// TTL of every record, in seconds.
	TTL uint32
}

// Answer is the reply to one question.
type Answer struct {
	Rcode  int
	Answer []mdns.RR
	Ns     []mdns.RR
	Extra  []mdns.RR
}

// Lookup answers q from c. ours is false when the name is outside the zone
// and not a reverse name of the cluster's: the caller forwards it.
func Lookup(c Cluster, z Zone, q mdns.Question) (a Answer, ours bool) {
	name := strings.ToLower(mdns.Fqdn(q.Name))
	l := lookup{c: c, z: z, q: q}
	if !mdns.IsSubDomain(z.Domain, name) {
		return l.reverse(name)
	}
	rel := strings.TrimSuffix(strings.TrimSuffix(name, z.Domain), ".")
	var labels []string
	if rel != "" {
		labels = strings.Split(rel, ".")
	}
	return l.inZone(labels), true
}

type lookup struct {
	c Cluster
	z Zone
	q mdns.Question
}

func (l lookup) hdr(name string, typ uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: typ, Class: mdns.ClassINET, Ttl: l.z.TTL}
}

// nxdomain and nodata carry the SOA, for negative caching.
func (l lookup) nxdomain() Answer { return Answer{Rcode: mdns.RcodeNameError, Ns: []mdns.RR{l.soa()}} }
func (l lookup) nodata() Answer   { return Answer{Rcode: mdns.RcodeSuccess, Ns: []mdns.RR{l.soa()}} }

func (l lookup) soa() mdns.RR {
	return &mdns.SOA{
		Hdr:     l.hdr(l.z.Domain, mdns.TypeSOA),
		Ns:      "ns.dns." + l.z.Domain,
		Mbox:    "hostmaster." + l.z.Domain,
		Serial:  1,
		Refresh: 7200, Retry: 1800, Expire: 86400,
		Minttl: l.z.TTL,
	}
}

// records answers with rrs of the asked type (ANY: all); a name that exists
// without them gets no data.
func (l lookup) records(rrs []mdns.RR, extra []mdns.RR) Answer {
	var out []mdns.RR
	for _, rr := range rrs {
		t := rr.Header().Rrtype
		if l.q.Qtype == t || l.q.Qtype == mdns.TypeANY || t == mdns.TypeCNAME {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		return l.nodata()
	}
	a := Answer{Rcode: mdns.RcodeSuccess, Answer: out}
	if l.q.Qtype == mdns.TypeSRV || l.q.Qtype == mdns.TypeANY {
		a.Extra = extra
	}
	return a
}

// inZone answers a name of the zone, given its labels before the domain.
func (l lookup) inZone(labels []string) Answer {
	n := len(labels)
	switch {
	case n == 0:
		return l.records([]mdns.RR{l.soa()}, nil)
	case n == 1 && labels[0] == "dns-version":
		return l.records([]mdns.RR{&mdns.TXT{Hdr: l.hdr(l.q.Name, mdns.TypeTXT), Txt: []string{SpecVersion}}}, nil)
	case labels[n-1] == "svc":
		return l.svc(labels[:n-1])
	case labels[n-1] == "pod":
		return l.pod(labels[:n-1])
	}
	return l.nxdomain()
}

// svc answers <...>.svc.<zone>; labels are those before "svc".
func (l lookup) svc(labels []string) Answer {
	n := len(labels)
	if n == 0 {
		return l.nodata()
	}
	ns := labels[n-1]
	if n == 1 {
		if l.c.Namespace(ns) {
			return l.nodata()
		}
		return l.nxdomain()
	}
	s := l.c.Service(ns, labels[n-2])
	if s == nil {
		return l.nxdomain()
	}
	switch n {
	case 2:
		return l.service(s)
	case 3:
		if strings.HasPrefix(labels[0], "_") {
			// _<proto>.<svc>...: an empty non-terminal above SRV names.
			for _, p := range s.Spec.Ports {
				if p.Name != "" && "_"+strings.ToLower(string(protocol(p.Protocol))) == labels[0] {
					return l.nodata()
				}
			}
			return l.nxdomain()
		}
		return l.endpointHost(s, labels[0])
	case 4:
		if strings.HasPrefix(labels[0], "_") && strings.HasPrefix(labels[1], "_") {
			return l.srv(s, labels[0][1:], labels[1][1:])
		}
	}
	return l.nxdomain()
}

func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func serviceName(s *corev1.Service, z Zone) string {
	return s.Name + "." + s.Namespace + ".svc." + z.Domain
}

// service answers <svc>.<ns>.svc.<zone>.
func (l lookup) service(s *corev1.Service) Answer {
	switch {
	case s.Spec.Type == corev1.ServiceTypeExternalName:
		if s.Spec.ExternalName == "" {
			return l.nodata()
		}
		return l.records([]mdns.RR{&mdns.CNAME{Hdr: l.hdr(l.q.Name, mdns.TypeCNAME), Target: mdns.Fqdn(s.Spec.ExternalName)}}, nil)
	case headless(s):
		var rrs []mdns.RR
		for _, e := range l.endpoints(s) {
			rrs = append(rrs, l.address(l.q.Name, e.ip))
		}
		return l.records(rrs, nil)
	}
	var rrs []mdns.RR
	for _, ip := range clusterIPs(s) {
		rrs = append(rrs, l.address(l.q.Name, ip))
	}
	return l.records(rrs, nil)
}

// address is an A or AAAA record.
func (l lookup) address(name string, ip netip.Addr) mdns.RR {
	if ip.Is4() {
		return &mdns.A{Hdr: l.hdr(name, mdns.TypeA), A: net.IP(ip.AsSlice())}
	}
	return &mdns.AAAA{Hdr: l.hdr(name, mdns.TypeAAAA), AAAA: net.IP(ip.AsSlice())}
}

// srv answers _<port>._<proto>.<svc>.<ns>.svc.<zone>.
func (l lookup) srv(s *corev1.Service, portName, proto string) Answer {
	var sp *corev1.ServicePort
	for i, p := range s.Spec.Ports {
		if p.Name != "" && p.Name == portName && strings.ToLower(string(protocol(p.Protocol))) == proto {
			sp = &s.Spec.Ports[i]
		}
	}
	if sp == nil || s.Spec.Type == corev1.ServiceTypeExternalName {
		return l.nxdomain()
	}
	if !headless(s) {
		target := serviceName(s, l.z)
		var extra []mdns.RR
		for _, ip := range clusterIPs(s) {
			extra = append(extra, l.address(target, ip))
		}
		return l.records([]mdns.RR{&mdns.SRV{Hdr: l.hdr(l.q.Name, mdns.TypeSRV), Priority: 0, Weight: 100, Port: uint16(sp.Port), Target: target}}, extra)
	}
	var rrs, extra []mdns.RR
	eps := l.endpoints(s)
	for _, e := range eps {
		port, ok := e.ports[portKey{name: sp.Name, proto: protocol(sp.Protocol)}]
		if !ok {
			continue
		}
		target := e.host + "." + serviceName(s, l.z)
		rrs = append(rrs, &mdns.SRV{Hdr: l.hdr(l.q.Name, mdns.TypeSRV), Port: uint16(port), Target: target})
		extra = append(extra, l.address(target, e.ip))
	}
	for _, rr := range rrs {
		rr.(*mdns.SRV).Weight = uint16(100 / len(rrs))
	}
	return l.records(rrs, extra)
}

// endpointHost answers <hostname>.<svc>.<ns>.svc.<zone> of a headless Service.
func (l lookup) endpointHost(s *corev1.Service, host string) Answer {
	if !headless(s) {
		return l.nxdomain()
	}
	var rrs []mdns.RR
	for _, e := range l.endpoints(s) {
		if e.host == host {
			rrs = append(rrs, l.address(l.q.Name, e.ip))
		}
	}
	if len(rrs) == 0 {
		return l.nxdomain()
	}
	return l.records(rrs, nil)
}

// pod answers <a-b-c-d>.<ns>.pod.<zone>; labels are those before "pod".
func (l lookup) pod(labels []string) Answer {
	switch len(labels) {
	case 0:
		return l.nodata()
	case 1:
		if l.c.Namespace(labels[0]) {
			return l.nodata()
		}
		return l.nxdomain()
	case 2:
		ip, ok := dashedIP(labels[0])
		if !ok {
			return l.nxdomain()
		}
		return l.records([]mdns.RR{l.address(l.q.Name, ip)}, nil)
	}
	return l.nxdomain()
}

// dashedIP parses an IP written with dashes: 10-244-1-5, fd00--1.
func dashedIP(s string) (netip.Addr, bool) {
	if strings.Count(s, "-") == 3 {
		if ip, err := netip.ParseAddr(strings.ReplaceAll(s, "-", ".")); err == nil && ip.Is4() {
			return ip, true
		}
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(s, "-", ":"))
	if err != nil || !ip.Is6() {
		return netip.Addr{}, false
	}
	return ip, true
}

// dashed writes an IP with dashes, as a DNS label.
func dashed(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.String(), ":", "-")
}

// reverse answers PTR names of cluster IPs and headless endpoints.
func (l lookup) reverse(name string) (Answer, bool) {
	ip, ok := reverseIP(name)
	if !ok {
		return Answer{}, false
	}
	var rrs []mdns.RR
	seen := map[string]bool{}
	add := func(target string) {
		if !seen[target] {
			seen[target] = true
			rrs = append(rrs, &mdns.PTR{Hdr: l.hdr(l.q.Name, mdns.TypePTR), Ptr: target})
		}
	}
	for _, s := range l.c.ServicesByClusterIP(ip.String()) {
		add(serviceName(s, l.z))
	}
	for _, sl := range l.c.EndpointSlicesByIP(ip.String()) {
		svcName := sl.Labels[discoveryv1.LabelServiceName]
		s := l.c.Service(sl.Namespace, svcName)
		if s == nil || !headless(s) {
			continue
		}
		for _, e := range sl.Endpoints {
			if len(e.Addresses) > 0 && e.Addresses[0] == ip.String() && e.Hostname != nil && *e.Hostname != "" && usable(s, e) {
				add(*e.Hostname + "." + serviceName(s, l.z))
			}
		}
	}
	if len(rrs) == 0 {
		return Answer{}, false
	}
	sort.Slice(rrs, func(i, j int) bool { return rrs[i].(*mdns.PTR).Ptr < rrs[j].(*mdns.PTR).Ptr })
	return l.records(rrs, nil), true
}

// reverseIP parses an in-addr.arpa or ip6.arpa name of a full address.
func reverseIP(name string) (netip.Addr, bool) {
	name = strings.TrimSuffix(name, ".")
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
		ip, err := netip.ParseAddr(strings.Join(parts, "."))
		return ip, err == nil && ip.Is4()
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		nibbles := strings.Split(rest, ".")
		if len(nibbles) != 32 {
			return netip.Addr{}, false
		}
		var b strings.Builder
		for i := 31; i >= 0; i-- {
			b.WriteString(nibbles[i])
			if i%4 == 0 && i != 0 {
				b.WriteByte(':')
			}
		}
		ip, err := netip.ParseAddr(b.String())
		return ip, err == nil && ip.Is6()
	}
	return netip.Addr{}, false
}

func headless(s *corev1.Service) bool {
	return s.Spec.Type != corev1.ServiceTypeExternalName && s.Spec.ClusterIP == corev1.ClusterIPNone
}

func clusterIPs(s *corev1.Service) []netip.Addr {
	ips := s.Spec.ClusterIPs
	if len(ips) == 0 && s.Spec.ClusterIP != "" {
		ips = []string{s.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err == nil {
			out = append(out, a)
		}
	}
	return out
}

type portKey struct {
	name  string
	proto corev1.Protocol
}

// endpoint is one ready endpoint of a headless Service.
type endpoint struct {
	ip    netip.Addr
	host  string // the hostname, or the IP with dashes
	ports map[portKey]int32
}

// usable says whether DNS publishes the endpoint: ready (unset counts as
// ready), or any endpoint when the Service publishes not-ready addresses.
func usable(s *corev1.Service, e discoveryv1.Endpoint) bool {
	return s.Spec.PublishNotReadyAddresses || e.Conditions.Ready == nil || *e.Conditions.Ready
}

// endpoints are the published endpoints of a headless Service, by IP.
func (l lookup) endpoints(s *corev1.Service) []endpoint {
	byIP := map[netip.Addr]int{}
	var out []endpoint
	for _, sl := range l.c.EndpointSlices(s.Namespace, s.Name) {
		if sl.AddressType != discoveryv1.AddressTypeIPv4 && sl.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		for _, e := range sl.Endpoints {
			if len(e.Addresses) == 0 || !usable(s, e) {
				continue
			}
			ip, err := netip.ParseAddr(e.Addresses[0])
			if err != nil {
				continue
			}
			i, seen := byIP[ip]
			if !seen {
				host := dashed(ip)
				if e.Hostname != nil && *e.Hostname != "" {
					host = *e.Hostname
				}
				i = len(out)
				byIP[ip] = i
				out = append(out, endpoint{ip: ip, host: host, ports: map[portKey]int32{}})
			}
			for _, p := range sl.Ports {
				if p.Port == nil {
					continue
				}
				k := portKey{proto: corev1.ProtocolTCP}
				if p.Name != nil {
					k.name = *p.Name
				}
				if p.Protocol != nil {
					k.proto = *p.Protocol
				}
				out[i].ports[k] = *p.Port
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ip.Less(out[j].ip) })
	return out
}
