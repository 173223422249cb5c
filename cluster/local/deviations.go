package local

import "github.com/project-seven/seven/cluster/kubelet"

// allowLoopbackEndpoints says whether the cluster's API server must accept
// loopback endpoint addresses, the deviation the cluster then declares
// (kube-system/seven-deviations): when local nodes give pods loopback IPs
// (kubelet.ModeLoopback, rootless). Pods in namespaces of their own (CNI
// mode, as root) and hollow pods (fake IPs of 240.0.0.0/4) keep the API
// server's validation Kubernetes'.
func allowLoopbackEndpoints(cfg Config) bool {
	kubelets := cfg.Nodes > 0
	for _, d := range cfg.Disable {
		if d == "kubelet" {
			kubelets = false
		}
	}
	return kubelets && cfg.Network == kubelet.ModeLoopback
}
