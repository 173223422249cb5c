// Package servicelinks computes the Service environment variables the kubelet
// injects into containers (enableServiceLinks): for each Service with a
// cluster IP, <NAME>_SERVICE_HOST and <NAME>_SERVICE_PORT, one
// <NAME>_SERVICE_PORT_<PORTNAME> per named port, and the Docker-links style
// <NAME>_PORT, <NAME>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}.
//
// Which Services count follows Kubernetes: those of the pod's namespace when
// the pod's enableServiceLinks is true (its default), plus the API server's
// Service default/kubernetes, which every pod gets even with
// enableServiceLinks false and which a Service named "kubernetes" in the
// pod's own namespace overrides.
//
// The kubelet (cluster/kubelet) is the one user.
package servicelinks

import (
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The API server's own Service, always injected.
const (
	MasterNamespace = "default"
	MasterName      = "kubernetes"
)

// Env returns the variables for a pod in namespace with the given
// enableServiceLinks, given the Services the node sees (any namespaces;
// others than namespace and default/kubernetes are ignored). Services
// without a cluster IP (headless, ExternalName) give none. The result is
// ordered by Service name, then as Kubernetes orders each Service's
// variables, so that later duplicates of a name win as usual.
func Env(services []*corev1.Service, namespace string, enableServiceLinks bool) []corev1.EnvVar {
	chosen := map[string]*corev1.Service{}
	for _, s := range services {
		if !hasClusterIP(s) {
			continue
		}
		switch {
		case s.Namespace == MasterNamespace && s.Name == MasterName:
			if _, ok := chosen[s.Name]; !ok {
				chosen[s.Name] = s
			}
		case s.Namespace == namespace && enableServiceLinks:
			chosen[s.Name] = s
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []corev1.EnvVar
	for _, n := range names {
		out = appendService(out, chosen[n])
	}
	return out
}

func hasClusterIP(s *corev1.Service) bool {
	return s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone
}

func appendService(out []corev1.EnvVar, s *corev1.Service) []corev1.EnvVar {
	if len(s.Spec.Ports) == 0 {
		return out
	}
	add := func(k, v string) { out = append(out, corev1.EnvVar{Name: k, Value: v}) }
	name := envName(s.Name)
	ip := s.Spec.ClusterIP
	add(name+"_SERVICE_HOST", ip)
	add(name+"_SERVICE_PORT", strconv.Itoa(int(s.Spec.Ports[0].Port)))
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			add(name+"_SERVICE_PORT_"+envName(p.Name), strconv.Itoa(int(p.Port)))
		}
	}
	for i, p := range s.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		lower := strings.ToLower(proto)
		port := strconv.Itoa(int(p.Port))
		url := lower + "://" + net.JoinHostPort(ip, port)
		if i == 0 {
			add(name+"_PORT", url)
		}
		prefix := name + "_PORT_" + port + "_" + strings.ToUpper(proto)
		add(prefix, url)
		add(prefix+"_PROTO", lower)
		add(prefix+"_PORT", port)
		add(prefix+"_ADDR", ip)
	}
	return out
}

// envName turns a Service or port name into a variable name part.
func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
