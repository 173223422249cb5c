package dns

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Limits of a pod's resolv.conf: the kubelet applies them (and validation
// refuses a dnsConfig beyond them on its own).
const (
	MaxNameservers     = 3
	MaxSearchDomains   = 32
	MaxSearchListChars = 2048
)

// Reasons of the warnings ResolvConf returns, as the kubelet's events name them.
const (
	ReasonMissingClusterDNS = "MissingClusterDNS"
	ReasonDNSConfigForming  = "DNSConfigForming"
)

// ResolvConfig is what the kubelet knows when it writes a pod's resolv.conf.
type ResolvConfig struct {
	// ClusterDNS are the cluster DNS server IPs (the kubelet's --cluster-dns).
	ClusterDNS []string
	// Domain is the cluster domain (--cluster-domain). Empty, ClusterFirst
	// pods get the node's search domains only.
	Domain string
	// Host is the node's resolv.conf (the kubelet's --resolv-conf), the base
	// of dnsPolicy Default and of the search domains ClusterFirst appends.
	Host []byte
}

// Warning is something the kubelet reports about a pod's DNS as a Warning
// event on the pod.
type Warning struct {
	Reason, Message string
}

// PodDNS is a pod's resolver configuration.
type PodDNS struct {
	Nameservers, Searches, Options []string
}

// ResolvConf renders the /etc/resolv.conf of pod from its dnsPolicy and
// dnsConfig, as the upstream kubelet computes it and containerd writes it:
//
//   - ClusterFirst (and ClusterFirstWithHostNet, also for hostNetwork
//     pods): the cluster DNS servers only; search <ns>.svc.<domain>
//     svc.<domain> <domain> followed by the node's search domains, without
//     duplicates; options ndots:5 (the node's options are dropped). Without
//     cluster DNS servers, a warning and Default.
//   - ClusterFirst on the host network, and Default: the node's resolv.conf
//     (its nameservers, last search line, and options).
//   - None: nothing but dnsConfig.
//
// dnsConfig is then merged in: its nameservers and searches appended
// without duplicates, its options overriding those of the same name (an
// option without a value is written as its bare name). Finally the limits:
// 3 nameservers; 32 search domains, none longer than 253 characters, 2048
// characters in all (cut from the end); each cut is a warning.
//
// Upstream builds the options in a map, so their order in its files is
// random; here they keep their first place, which is one of those orders.
func ResolvConf(pod *corev1.Pod, cfg ResolvConfig) ([]byte, []Warning) {
	d, warnings := ForPod(pod, cfg)
	return d.Render(), warnings
}

// ForPod computes pod's resolver configuration (see ResolvConf).
func ForPod(pod *corev1.Pod, cfg ResolvConfig) (PodDNS, []Warning) {
	var warnings []Warning
	d := parseResolvConf(cfg.Host)
	switch dnsType(pod) {
	case podDNSNone:
		d = PodDNS{}
	case podDNSCluster:
		if len(cfg.ClusterDNS) > 0 {
			d.Nameservers = slices.Clone(cfg.ClusterDNS)
			d.Searches = clusterSearches(d.Searches, pod.Namespace, cfg.Domain)
			d.Options = []string{"ndots:5"}
			break
		}
		warnings = append(warnings, Warning{ReasonMissingClusterDNS, fmt.Sprintf(
			"kubelet does not have ClusterDNS IP configured and cannot create Pod using %q policy. Falling back to %q policy.",
			corev1.DNSClusterFirst, corev1.DNSDefault)})
	case podDNSHost:
	}
	if c := pod.Spec.DNSConfig; c != nil {
		d.Nameservers = omitDuplicates(append(d.Nameservers, c.Nameservers...))
		d.Searches = omitDuplicates(append(d.Searches, c.Searches...))
		d.Options = mergeOptions(d.Options, c.Options)
	}
	if len(d.Nameservers) > MaxNameservers {
		d.Nameservers = d.Nameservers[:MaxNameservers]
		warnings = append(warnings, Warning{ReasonDNSConfigForming, "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: " +
			strings.Join(d.Nameservers, " ")})
	}
	var cut bool
	if d.Searches, cut = fitSearches(d.Searches); cut {
		warnings = append(warnings, Warning{ReasonDNSConfigForming, "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: " +
			strings.Join(d.Searches, " ")})
	}
	return d, warnings
}

// Render writes the configuration as containerd does: search, nameserver
// and options lines, each only when there is something to say.
func (d PodDNS) Render() []byte {
	var b bytes.Buffer
	if len(d.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(d.Searches, " "))
	}
	for _, ns := range d.Nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(d.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(d.Options, " "))
	}
	return b.Bytes()
}

type podDNSType int

const (
	podDNSCluster podDNSType = iota
	podDNSHost
	podDNSNone
)

// dnsType is the base a pod's resolv.conf starts from. An unknown policy
// (the API server refuses those) counts as ClusterFirst, as upstream.
func dnsType(pod *corev1.Pod) podDNSType {
	switch pod.Spec.DNSPolicy {
	case corev1.DNSNone:
		return podDNSNone
	case corev1.DNSDefault:
		return podDNSHost
	case corev1.DNSClusterFirst:
		if pod.Spec.HostNetwork {
			return podDNSHost
		}
	}
	return podDNSCluster
}

func clusterSearches(host []string, namespace, domain string) []string {
	if domain == "" {
		return host
	}
	return omitDuplicates(append([]string{namespace + ".svc." + domain, "svc." + domain, domain}, host...))
}

// omitDuplicates keeps the first of equal values, in order.
func omitDuplicates(list []string) []string {
	var out []string
	for _, v := range list {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func optionName(o string) string {
	name, _, _ := strings.Cut(o, ":")
	return name
}

// mergeOptions lays dnsConfig's options over existing ones, by name.
func mergeOptions(existing []string, opts []corev1.PodDNSConfigOption) []string {
	type option struct{ name, value string }
	var merged []option
	set := func(name, value string) {
		if i := slices.IndexFunc(merged, func(o option) bool { return o.name == name }); i >= 0 {
			merged[i].value = value
			return
		}
		merged = append(merged, option{name, value})
	}
	for _, o := range existing {
		name, value, _ := strings.Cut(o, ":")
		set(name, value)
	}
	for _, o := range opts {
		value := ""
		if o.Value != nil {
			value = *o.Value
		}
		set(o.Name, value)
	}
	out := make([]string, 0, len(merged))
	for _, o := range merged {
		if o.value == "" {
			out = append(out, o.name)
		} else {
			out = append(out, o.name+":"+o.value)
		}
	}
	return out
}

// fitSearches applies the search line's limits and says whether it cut.
func fitSearches(search []string) ([]string, bool) {
	cut := false
	if len(search) > MaxSearchDomains {
		search, cut = search[:MaxSearchDomains], true
	}
	// Some resolvers (glibc 2.28) abort on a longer domain.
	kept := search[:0:0]
	for _, s := range search {
		if len(s) > validation.DNS1123SubdomainMaxLength {
			cut = true
			continue
		}
		kept = append(kept, s)
	}
	search = kept
	for len(search) > 0 && len(strings.Join(search, " ")) > MaxSearchListChars {
		search, cut = search[:len(search)-1], true
	}
	return search, cut
}

// parseResolvConf reads a node's resolv.conf as the upstream kubelet does:
// nameserver lines accumulate; the last search line wins, without "." and
// trailing dots; options accumulate, a later one replacing an earlier one
// of the same name. Other lines (domain included) are ignored.
func parseResolvConf(data []byte) PodDNS {
	var d PodDNS
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) >= 2 {
				d.Nameservers = append(d.Nameservers, f[1])
			}
		case "search":
			d.Searches = nil
			for _, s := range f[1:] {
				if s != "." {
					d.Searches = append(d.Searches, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			for _, o := range f[1:] {
				if i := slices.IndexFunc(d.Options, func(x string) bool { return optionName(x) == optionName(o) }); i >= 0 {
					d.Options[i] = o
				} else {
					d.Options = append(d.Options, o)
				}
			}
		}
	}
	return d
}
