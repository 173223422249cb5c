package dns

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestResolvConf(t *testing.T) {
	host := []byte("# generated\nnameserver 192.0.2.53\nnameserver 192.0.2.54\ndomain ignored.example\nsearch old.example\n" +
		"search corp.example. lab.example .\noptions edns0 attempts:2\noptions attempts:3\n")
	pod := func(policy corev1.DNSPolicy, hostNet bool, c *corev1.PodDNSConfig) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "p"},
			Spec:       corev1.PodSpec{DNSPolicy: policy, HostNetwork: hostNet, DNSConfig: c},
		}
	}
	cluster := ResolvConfig{ClusterDNS: []string{"10.96.0.10"}, Domain: "cluster.local", Host: host}
	v := func(s string) *string { return &s }
	const (
		clusterSearch = "search team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\n"
		hostFile      = "search corp.example lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions edns0 attempts:3\n"
	)
	tests := []struct {
		name     string
		pod      *corev1.Pod
		cfg      ResolvConfig
		want     string
		warnings []string // reasons
	}{
		{
			name: "ClusterFirst: cluster servers, cluster then node searches, ndots:5 instead of the node's options",
			pod:  pod(corev1.DNSClusterFirst, false, nil),
			cfg:  cluster,
			want: clusterSearch + "nameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name: "an unknown policy counts as ClusterFirst",
			pod:  pod("Sometimes", false, nil),
			cfg:  cluster,
			want: clusterSearch + "nameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name: "no cluster domain: the node's searches only",
			pod:  pod(corev1.DNSClusterFirst, false, nil),
			cfg:  ResolvConfig{ClusterDNS: []string{"10.96.0.10"}, Host: host},
			want: "search corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name: "no node resolv.conf",
			pod:  pod(corev1.DNSClusterFirst, false, nil),
			cfg:  ResolvConfig{ClusterDNS: []string{"10.96.0.10", "10.96.0.10"}, Domain: "seven.test"},
			want: "search team.svc.seven.test svc.seven.test seven.test\nnameserver 10.96.0.10\nnameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name: "the node's search domains already in the cluster's are not repeated",
			pod:  pod(corev1.DNSClusterFirst, false, nil),
			cfg:  ResolvConfig{ClusterDNS: []string{"10.96.0.10"}, Domain: "cluster.local", Host: []byte("search cluster.local example.com\n")},
			want: "search team.svc.cluster.local svc.cluster.local cluster.local example.com\nnameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name: "ClusterFirst on the host network is Default",
			pod:  pod(corev1.DNSClusterFirst, true, nil),
			cfg:  cluster,
			want: hostFile,
		},
		{
			name: "ClusterFirstWithHostNet on the host network",
			pod:  pod(corev1.DNSClusterFirstWithHostNet, true, nil),
			cfg:  cluster,
			want: clusterSearch + "nameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name: "ClusterFirstWithHostNet off the host network",
			pod:  pod(corev1.DNSClusterFirstWithHostNet, false, nil),
			cfg:  cluster,
			want: clusterSearch + "nameserver 10.96.0.10\noptions ndots:5\n",
		},
		{
			name:     "no cluster DNS: Default, with a warning",
			pod:      pod(corev1.DNSClusterFirst, false, nil),
			cfg:      ResolvConfig{Domain: "cluster.local", Host: host},
			want:     hostFile,
			warnings: []string{ReasonMissingClusterDNS},
		},
		{
			name: "Default",
			pod:  pod(corev1.DNSDefault, false, nil),
			cfg:  cluster,
			want: hostFile,
		},
		{
			name: "None: only dnsConfig, options with and without values",
			pod: pod(corev1.DNSNone, false, &corev1.PodDNSConfig{
				Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.example"},
				Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: v("2")}, {Name: "rotate"}, {Name: "timeout", Value: v("")}},
			}),
			cfg:  cluster,
			want: "search a.example\nnameserver 1.1.1.1\noptions ndots:2 rotate timeout\n",
		},
		{
			name: "dnsConfig merges into ClusterFirst: servers and searches appended without duplicates, options by name",
			pod: pod(corev1.DNSClusterFirst, false, &corev1.PodDNSConfig{
				Nameservers: []string{"10.96.0.10", "1.1.1.1"},
				Searches:    []string{"svc.cluster.local", "extra.example", "extra.example."},
				Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: v("1")}, {Name: "edns0"}},
			}),
			cfg: cluster,
			want: "search team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example extra.example extra.example.\n" +
				"nameserver 10.96.0.10\nnameserver 1.1.1.1\noptions ndots:1 edns0\n",
		},
		{
			name: "dnsConfig merges into Default: the node's options overridden",
			pod: pod(corev1.DNSDefault, false, &corev1.PodDNSConfig{
				Options: []corev1.PodDNSConfigOption{{Name: "attempts", Value: v("5")}, {Name: "ndots", Value: v("3")}},
			}),
			cfg:  cluster,
			want: "search corp.example lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions edns0 attempts:5 ndots:3\n",
		},
		{
			name: "more than 3 nameservers are cut, with a warning",
			pod: pod(corev1.DNSDefault, false, &corev1.PodDNSConfig{
				Nameservers: []string{"192.0.2.54", "8.8.8.8", "9.9.9.9"},
			}),
			cfg:      cluster,
			want:     "search corp.example lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 8.8.8.8\noptions edns0 attempts:3\n",
			warnings: []string{ReasonDNSConfigForming},
		},
		{
			name: "None with nothing: an empty file",
			pod:  pod(corev1.DNSNone, false, nil),
			cfg:  cluster,
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings := ResolvConf(tt.pod, tt.cfg)
			if string(got) != tt.want {
				t.Errorf("ResolvConf:\n got %q\nwant %q", got, tt.want)
			}
			var reasons []string
			for _, w := range warnings {
				reasons = append(reasons, w.Reason)
			}
			if !reflect.DeepEqual(reasons, tt.warnings) {
				t.Errorf("warnings %+v, want reasons %v", warnings, tt.warnings)
			}
		})
	}
}

func TestSearchLimits(t *testing.T) {
	domains := func(n, size int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%0*d.example", size-len(".example"), i))
		}
		return out
	}
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".example" // 263 characters
	tests := []struct {
		name   string
		search []string
		want   []string
		cut    bool
	}{
		{"within the limits", domains(32, 60), domains(32, 60), false},
		{"more than 32 domains", domains(40, 20), domains(32, 20), true},
		{"a domain over 253 characters is dropped", append([]string{long}, domains(2, 20)...), domains(2, 20), true},
		// 31 domains of 70 characters with 30 spaces: 2200 > 2048; 29 of them: 2058; 28: 1987.
		{"more than 2048 characters are cut from the end", domains(31, 70), domains(28, 70), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{DNSPolicy: corev1.DNSNone, DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: tt.search}}}
			d, warnings := ForPod(pod, ResolvConfig{})
			if !reflect.DeepEqual(d.Searches, tt.want) {
				t.Errorf("searches: %d of them, want %d", len(d.Searches), len(tt.want))
			}
			if cut := len(warnings) == 1 && warnings[0].Reason == ReasonDNSConfigForming &&
				strings.HasSuffix(warnings[0].Message, "the applied search line is: "+strings.Join(tt.want, " ")); cut != tt.cut {
				t.Errorf("warnings %+v, want a cut: %v", warnings, tt.cut)
			}
		})
	}
}
