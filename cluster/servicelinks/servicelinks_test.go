package servicelinks

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func svc(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: ip, Ports: ports},
	}
}

func port(name string, n int32, proto corev1.Protocol) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: n, Protocol: proto}
}

// vars turns "K=V" pairs into EnvVars.
func vars(kv ...string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for i := 0; i < len(kv); i += 2 {
		out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestEnv(t *testing.T) {
	master := svc("default", "kubernetes", "10.96.0.1", port("https", 443, corev1.ProtocolTCP))
	masterVars := vars(
		"KUBERNETES_SERVICE_HOST", "10.96.0.1",
		"KUBERNETES_SERVICE_PORT", "443",
		"KUBERNETES_SERVICE_PORT_HTTPS", "443",
		"KUBERNETES_PORT", "tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP_PROTO", "tcp",
		"KUBERNETES_PORT_443_TCP_PORT", "443",
		"KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1",
	)
	tests := []struct {
		name      string
		services  []*corev1.Service
		namespace string
		noLinks   bool // enableServiceLinks false
		want      []corev1.EnvVar
	}{
		{name: "nothing", namespace: "default"},
		{name: "master only", services: []*corev1.Service{master}, namespace: "team", want: masterVars},
		{
			name:      "unnamed port, protocol defaults to TCP, dashes become underscores",
			namespace: "team",
			services:  []*corev1.Service{svc("team", "my-web", "10.96.0.7", port("", 80, ""))},
			want: vars(
				"MY_WEB_SERVICE_HOST", "10.96.0.7",
				"MY_WEB_SERVICE_PORT", "80",
				"MY_WEB_PORT", "tcp://10.96.0.7:80",
				"MY_WEB_PORT_80_TCP", "tcp://10.96.0.7:80",
				"MY_WEB_PORT_80_TCP_PROTO", "tcp",
				"MY_WEB_PORT_80_TCP_PORT", "80",
				"MY_WEB_PORT_80_TCP_ADDR", "10.96.0.7",
			),
		},
		{
			name:      "several named ports, UDP, sorted by service name, other namespaces and headless ignored",
			namespace: "team",
			services: []*corev1.Service{
				svc("team", "web", "10.96.0.9", port("http", 80, corev1.ProtocolTCP), port("dns-udp", 53, corev1.ProtocolUDP)),
				svc("other", "db", "10.96.0.10", port("", 5432, corev1.ProtocolTCP)),
				svc("team", "headless", corev1.ClusterIPNone, port("", 80, corev1.ProtocolTCP)),
				svc("team", "external", "", port("", 80, corev1.ProtocolTCP)),
				svc("team", "db", "10.96.0.8", port("", 5432, corev1.ProtocolTCP)),
			},
			want: vars(
				"DB_SERVICE_HOST", "10.96.0.8",
				"DB_SERVICE_PORT", "5432",
				"DB_PORT", "tcp://10.96.0.8:5432",
				"DB_PORT_5432_TCP", "tcp://10.96.0.8:5432",
				"DB_PORT_5432_TCP_PROTO", "tcp",
				"DB_PORT_5432_TCP_PORT", "5432",
				"DB_PORT_5432_TCP_ADDR", "10.96.0.8",
				"WEB_SERVICE_HOST", "10.96.0.9",
				"WEB_SERVICE_PORT", "80",
				"WEB_SERVICE_PORT_HTTP", "80",
				"WEB_SERVICE_PORT_DNS_UDP", "53",
				"WEB_PORT", "tcp://10.96.0.9:80",
				"WEB_PORT_80_TCP", "tcp://10.96.0.9:80",
				"WEB_PORT_80_TCP_PROTO", "tcp",
				"WEB_PORT_80_TCP_PORT", "80",
				"WEB_PORT_80_TCP_ADDR", "10.96.0.9",
				"WEB_PORT_53_UDP", "udp://10.96.0.9:53",
				"WEB_PORT_53_UDP_PROTO", "udp",
				"WEB_PORT_53_UDP_PORT", "53",
				"WEB_PORT_53_UDP_ADDR", "10.96.0.9",
			),
		},
		{
			name:      "a kubernetes service in the pod's namespace overrides the master",
			namespace: "team",
			services:  []*corev1.Service{master, svc("team", "kubernetes", "10.96.0.50", port("", 8443, corev1.ProtocolTCP))},
			want: vars(
				"KUBERNETES_SERVICE_HOST", "10.96.0.50",
				"KUBERNETES_SERVICE_PORT", "8443",
				"KUBERNETES_PORT", "tcp://10.96.0.50:8443",
				"KUBERNETES_PORT_8443_TCP", "tcp://10.96.0.50:8443",
				"KUBERNETES_PORT_8443_TCP_PROTO", "tcp",
				"KUBERNETES_PORT_8443_TCP_PORT", "8443",
				"KUBERNETES_PORT_8443_TCP_ADDR", "10.96.0.50",
			),
		},
		{
			name:      "without service links only the master's, even in its own namespace",
			namespace: "default",
			noLinks:   true,
			services:  []*corev1.Service{svc("default", "web", "10.96.0.9", port("", 80, corev1.ProtocolTCP)), master},
			want:      masterVars,
		},
		{
			name:      "without service links the pod's own kubernetes service does not override",
			namespace: "team",
			noLinks:   true,
			services:  []*corev1.Service{svc("team", "kubernetes", "10.96.0.50", port("", 8443, corev1.ProtocolTCP)), master},
			want:      masterVars,
		},
		{
			name:      "IPv6 addresses are bracketed in URLs",
			namespace: "v6",
			services:  []*corev1.Service{svc("v6", "web", "fd00::10", port("", 80, corev1.ProtocolSCTP))},
			want: vars(
				"WEB_SERVICE_HOST", "fd00::10",
				"WEB_SERVICE_PORT", "80",
				"WEB_PORT", "sctp://[fd00::10]:80",
				"WEB_PORT_80_SCTP", "sctp://[fd00::10]:80",
				"WEB_PORT_80_SCTP_PROTO", "sctp",
				"WEB_PORT_80_SCTP_PORT", "80",
				"WEB_PORT_80_SCTP_ADDR", "fd00::10",
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Env(tt.services, tt.namespace, !tt.noLinks); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Env:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}
