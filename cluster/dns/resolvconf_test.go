package dns

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestResolvConf(t *testing.T) {
	host := []byte("# generated\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions edns0 attempts:2\n")
	pod := func(policy corev1.DNSPolicy, hostNet bool, c *corev1.PodDNSConfig) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "p"},
			Spec:       corev1.PodSpec{DNSPolicy: policy, HostNetwork: hostNet, DNSConfig: c},
		}
	}
	cluster := ResolvConfig{ClusterDNS: []string{"127.0.0.10"}, Host: host}
	v := func(s string) *string { return &s }
	tests := []struct {
		name string
		pod  *corev1.Pod
		cfg  ResolvConfig
		want string
	}{
		{
			name: "ClusterFirst by default",
			pod:  pod("", false, nil),
			cfg:  cluster,
			want: "nameserver 127.0.0.10\nsearch team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\noptions ndots:5\n",
		},
		{
			name: "no host resolv.conf, other domain",
			pod:  pod(corev1.DNSClusterFirst, false, nil),
			cfg:  ResolvConfig{ClusterDNS: []string{"10.96.0.10"}, Domain: "seven.test."},
			want: "nameserver 10.96.0.10\nsearch team.svc.seven.test svc.seven.test seven.test\noptions ndots:5\n",
		},
		{
			name: "ClusterFirst on the host network is Default",
			pod:  pod(corev1.DNSClusterFirst, true, nil),
			cfg:  cluster,
			want: "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions edns0 attempts:2\n",
		},
		{
			name: "ClusterFirstWithHostNet",
			pod:  pod(corev1.DNSClusterFirstWithHostNet, true, nil),
			cfg:  cluster,
			want: "nameserver 127.0.0.10\nsearch team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\noptions ndots:5\n",
		},
		{
			name: "no cluster DNS: Default",
			pod:  pod(corev1.DNSClusterFirst, false, nil),
			cfg:  ResolvConfig{Host: host},
			want: "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions edns0 attempts:2\n",
		},
		{
			name: "None with dnsConfig",
			pod: pod(corev1.DNSNone, false, &corev1.PodDNSConfig{
				Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.example"},
				Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: v("2")}, {Name: "rotate"}},
			}),
			cfg:  cluster,
			want: "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2 rotate\n",
		},
		{
			name: "dnsConfig merges: extra servers capped at 3, duplicate searches dropped, options overridden",
			pod: pod(corev1.DNSClusterFirst, false, &corev1.PodDNSConfig{
				Nameservers: []string{"127.0.0.10", "1.1.1.1", "8.8.8.8", "9.9.9.9"},
				Searches:    []string{"svc.cluster.local", "extra.example"},
				Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: v("1")}, {Name: "edns0"}},
			}),
			cfg:  cluster,
			want: "nameserver 127.0.0.10\nnameserver 1.1.1.1\nnameserver 8.8.8.8\nsearch team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example extra.example\noptions ndots:1 edns0\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(ResolvConf(tt.pod, tt.cfg)); got != tt.want {
				t.Errorf("ResolvConf:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
