// Package dns is Seven's cluster DNS: an authoritative server for the
// cluster domain (cluster.local by default) that answers from informer caches
// of Services, EndpointSlices and Namespaces, built on github.com/miekg/dns.
//
// It follows the Kubernetes DNS-based service discovery specification:
//
//	<svc>.<ns>.svc.<zone>                 A/AAAA: the cluster IPs; headless
//	                                      Services: the ready endpoint IPs;
//	                                      ExternalName: a CNAME
//	_<port>._<proto>.<svc>.<ns>.svc.<zone> SRV for named ports: one record
//	                                      targeting <svc>.<ns>.svc.<zone>, or
//	                                      for headless Services one per ready
//	                                      endpoint targeting
//	                                      <hostname>.<svc>.<ns>.svc.<zone>
//	<hostname>.<svc>.<ns>.svc.<zone>      A/AAAA of a headless Service's
//	                                      endpoint: its hostname (set by the
//	                                      EndpointSlice controller for pods with
//	                                      hostname and subdomain = <svc>) or its
//	                                      IP with dashes (10-244-1-5)
//	<a-b-c-d>.<ns>.pod.<zone>             A of the pod IP written in the name
//	                                      (like CoreDNS "pods insecure")
//	<d>.<c>.<b>.<a>.in-addr.arpa          PTR of cluster IPs and of headless
//	                                      endpoints with a hostname
//	dns-version.<zone>                    TXT "1.1.0"
//
// A name in the zone that does not exist is NXDOMAIN; a name that exists
// without records of the type asked (AAAA of an IPv4 Service, a namespace)
// is NOERROR with no answer; both carry the zone's SOA. Names outside the
// zone (and reverse names that are not the cluster's) are forwarded to the
// upstream servers, or REFUSED when there are none.
//
// lookup.go is the pure part: Lookup(cluster state, zone, question) → answer,
// table-tested. server.go serves it over UDP and TCP and forwards the rest;
// cache.go is the informer-backed cluster state. resolvconf.go renders a pod's
// resolv.conf (dnsPolicy, dnsConfig) for the kubelet, also pure.
//
// CoreDNS with its kubernetes plugin, pointed at our API server, would be the
// fuller choice (and would exercise the API the way real clusters do); it is
// too heavy a dependency to embed for now, so this package speaks the same
// record scheme with miekg/dns, the library CoreDNS itself is built on.
package dns
