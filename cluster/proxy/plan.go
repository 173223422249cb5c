package proxy

import (
	"net"
	"net/netip"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// DefaultAffinityTimeout is Kubernetes' default ClientIP affinity timeout
// (sessionAffinityConfig.clientIP.timeoutSeconds unset): three hours.
const DefaultAffinityTimeout = 10800 * time.Second

// ListenKey identifies one listening socket.
type ListenKey struct {
	Protocol corev1.Protocol // TCP or UDP
	IP       string
	Port     int32
}

// Addr is the socket address, "ip:port".
func (k ListenKey) Addr() string { return net.JoinHostPort(k.IP, strconv.Itoa(int(k.Port))) }

func (k ListenKey) String() string { return string(k.Protocol) + "/" + k.Addr() }

// Listener is one socket Plan wants open, with where its connections go.
type Listener struct {
	ListenKey
	Service  types.NamespacedName
	PortName string
	// NodePort is true for a NodePort listener on a node IP.
	NodePort bool
	// Endpoints are the "ip:port" addresses eligible for new connections,
	// sorted; empty means connections are reset.
	Endpoints []string
	// Affinity is the ClientIP session affinity timeout; 0 means none.
	Affinity time.Duration
}

// Plan returns the listeners the node needs for svc, given the
// EndpointSlices labelled with its name. Headless and ExternalName Services
// need none; ports other than TCP and UDP are skipped. nodeName selects the
// endpoints of traffic policy Local (empty: the policies are ignored);
// nodeIPs are where NodePorts listen.
//
// An endpoint is eligible when it is ready (a missing ready condition counts
// as ready) and not terminating. When none is, the serving terminating ones
// are eligible instead, so that connections still succeed during a rollout's
// last moments, as Kubernetes does.
func Plan(svc *corev1.Service, slices []*discoveryv1.EndpointSlice, nodeName string, nodeIPs []string) []Listener {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var affinity time.Duration
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		affinity = DefaultAffinityTimeout
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			affinity = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	internalLocal := nodeName != "" && svc.Spec.InternalTrafficPolicy != nil &&
		*svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	externalLocal := nodeName != "" && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	name := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}

	var out []Listener
	for _, sp := range svc.Spec.Ports {
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		if proto != corev1.ProtocolTCP && proto != corev1.ProtocolUDP {
			continue
		}
		eps := endpointsOf(slices, sp.Name, proto)
		add := func(ip string, port int32, nodePort, local bool) {
			family := addressType(ip)
			if family == "" {
				return
			}
			out = append(out, Listener{
				ListenKey: ListenKey{Protocol: proto, IP: ip, Port: port},
				Service:   name,
				PortName:  sp.Name,
				NodePort:  nodePort,
				Endpoints: eligible(eps, family, local, nodeName),
				Affinity:  affinity,
			})
		}
		for _, ip := range clusterIPs(svc) {
			add(ip, sp.Port, false, internalLocal)
		}
		if sp.NodePort != 0 && (svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer) {
			for _, ip := range nodeIPs {
				add(ip, sp.NodePort, true, externalLocal)
			}
		}
	}
	return out
}

// clusterIPs are the Service's cluster IPs; none for a headless Service.
func clusterIPs(svc *corev1.Service) []string {
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []string
	for _, ip := range ips {
		if ip != "" && ip != corev1.ClusterIPNone {
			out = append(out, ip)
		}
	}
	return out
}

// endpoint is one backend with its conditions, as the slices say.
type endpoint struct {
	addr        string
	family      discoveryv1.AddressType
	node        string
	ready       bool
	serving     bool
	terminating bool
}

// endpointsOf collects the endpoints of the service port (name, proto) from
// all slices, one per address; a duplicate keeps the most usable conditions.
func endpointsOf(slices []*discoveryv1.EndpointSlice, portName string, proto corev1.Protocol) []endpoint {
	byAddr := map[string]int{}
	var out []endpoint
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		port, ok := slicePort(s, portName, proto)
		if !ok {
			continue
		}
		for _, e := range s.Endpoints {
			if len(e.Addresses) == 0 {
				continue
			}
			ep := endpoint{
				addr:        net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(port))),
				family:      s.AddressType,
				ready:       e.Conditions.Ready == nil || *e.Conditions.Ready,
				terminating: e.Conditions.Terminating != nil && *e.Conditions.Terminating,
			}
			ep.serving = ep.ready
			if e.Conditions.Serving != nil {
				ep.serving = *e.Conditions.Serving
			}
			if e.NodeName != nil {
				ep.node = *e.NodeName
			}
			if i, dup := byAddr[ep.addr]; dup {
				if rank(ep) > rank(out[i]) {
					out[i] = ep
				}
				continue
			}
			byAddr[ep.addr] = len(out)
			out = append(out, ep)
		}
	}
	return out
}

func rank(e endpoint) int {
	switch {
	case e.ready && !e.terminating:
		return 2
	case e.serving:
		return 1
	}
	return 0
}

// slicePort finds the slice's port for the service port (name, proto).
func slicePort(s *discoveryv1.EndpointSlice, name string, proto corev1.Protocol) (int32, bool) {
	for _, p := range s.Ports {
		pn, pp := "", corev1.ProtocolTCP
		if p.Name != nil {
			pn = *p.Name
		}
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pn == name && pp == proto && p.Port != nil {
			return *p.Port, true
		}
	}
	return 0, false
}

// eligible picks the endpoints of family for new connections: the ready
// ones, or the serving terminating ones when none is ready.
func eligible(eps []endpoint, family discoveryv1.AddressType, local bool, nodeName string) []string {
	var ready, terminating []string
	for _, e := range eps {
		if e.family != family || (local && e.node != nodeName) {
			continue
		}
		switch {
		case e.ready && !e.terminating:
			ready = append(ready, e.addr)
		case e.serving && e.terminating:
			terminating = append(terminating, e.addr)
		}
	}
	if len(ready) == 0 {
		ready = terminating
	}
	sort.Strings(ready)
	return ready
}

// addressType is the EndpointSlice address type of ip; "" if ip is not one.
func addressType(ip string) discoveryv1.AddressType {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil:
		return ""
	case a.Is4() || a.Is4In6():
		return discoveryv1.AddressTypeIPv4
	}
	return discoveryv1.AddressTypeIPv6
}
