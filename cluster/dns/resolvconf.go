package dns

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Limits of a resolv.conf, as the kubelet applies them.
const (
	MaxNameservers   = 3
	MaxSearchDomains = 32
)

// ResolvConfig is what the kubelet knows when it writes a pod's resolv.conf.
type ResolvConfig struct {
	// ClusterDNS are the cluster DNS server IPs (the kubelet's --cluster-dns).
	ClusterDNS []string
	// Domain is the cluster domain; default cluster.local.
	Domain string
	// Host is the node's own resolv.conf, for dnsPolicy Default and for the
	// search domains ClusterFirst appends.
	Host []byte
}

// ResolvConf renders the /etc/resolv.conf of pod following its dnsPolicy
// and dnsConfig, as Kubernetes does:
//
//   - ClusterFirst (the default): the cluster DNS servers, search
//     <ns>.svc.<domain> svc.<domain> <domain> then the host's search domains,
//     options ndots:5. A hostNetwork pod, or a node without cluster DNS,
//     gets Default instead.
//   - ClusterFirstWithHostNet: ClusterFirst, also for hostNetwork pods.
//   - Default: the node's resolv.conf (nameservers, search, options).
//   - None: only what dnsConfig says.
//
// dnsConfig's nameservers and searches are appended (without duplicates),
// its options override those of the same name. At most 3 nameservers and
// 32 search domains are kept.
func ResolvConf(pod *corev1.Pod, cfg ResolvConfig) []byte {
	domain := strings.TrimSuffix(cfg.Domain, ".")
	if domain == "" {
		domain = DefaultDomain
	}
	hostNS, hostSearch, hostOpts := parseResolvConf(cfg.Host)
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if (policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork) ||
		((policy == corev1.DNSClusterFirst || policy == corev1.DNSClusterFirstWithHostNet) && len(cfg.ClusterDNS) == 0) {
		policy = corev1.DNSDefault
	}
	var ns, search []string
	var opts []corev1.PodDNSConfigOption
	switch policy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		ns = slices.Clone(cfg.ClusterDNS)
		search = append([]string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}, hostSearch...)
		opts = []corev1.PodDNSConfigOption{{Name: "ndots", Value: strPtr("5")}}
	case corev1.DNSDefault:
		ns, search, opts = hostNS, hostSearch, hostOpts
	case corev1.DNSNone:
	}
	if c := pod.Spec.DNSConfig; c != nil {
		ns = appendNew(ns, c.Nameservers...)
		search = appendNew(search, c.Searches...)
		for _, o := range c.Options {
			i := slices.IndexFunc(opts, func(x corev1.PodDNSConfigOption) bool { return x.Name == o.Name })
			if i >= 0 {
				opts[i] = o
			} else {
				opts = append(opts, o)
			}
		}
	}
	search = appendNew(nil, search...)
	if len(ns) > MaxNameservers {
		ns = ns[:MaxNameservers]
	}
	if len(search) > MaxSearchDomains {
		search = search[:MaxSearchDomains]
	}
	var b bytes.Buffer
	for _, n := range ns {
		fmt.Fprintf(&b, "nameserver %s\n", n)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(opts) > 0 {
		parts := make([]string, len(opts))
		for i, o := range opts {
			parts[i] = o.Name
			if o.Value != nil {
				parts[i] += ":" + *o.Value
			}
		}
		fmt.Fprintf(&b, "options %s\n", strings.Join(parts, " "))
	}
	return b.Bytes()
}

func strPtr(s string) *string { return &s }

// appendNew appends the values not already in list (and not empty).
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		v = strings.TrimSuffix(v, ".")
		if v != "" && !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// parseResolvConf reads nameservers, search domains and options; the last
// search or domain line wins, as in glibc.
func parseResolvConf(data []byte) (ns, search []string, opts []corev1.PodDNSConfigOption) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				ns = append(ns, f[1])
			}
		case "search", "domain":
			search = appendNew(nil, f[1:]...)
		case "options":
			for _, o := range f[1:] {
				name, value, found := strings.Cut(o, ":")
				opt := corev1.PodDNSConfigOption{Name: name}
				if found {
					opt.Value = strPtr(value)
				}
				opts = append(opts, opt)
			}
		}
	}
	return ns, search, opts
}
