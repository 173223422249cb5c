package endpoints

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/project-seven/seven/cluster/controllers"

	"github.com/project-seven/seven/cluster/mutation"
)

// Included reports whether pod backs a Service at all: it has an IP, it is
// not finished for good, and, unless includeTerminating, it is not being
// deleted.
func Included(pod *corev1.Pod, includeTerminating bool) bool {
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	if !includeTerminating && pod.DeletionTimestamp != nil {
		return false
	}
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
	case corev1.RestartPolicyOnFailure:
		return pod.Status.Phase != corev1.PodSucceeded
	}
	return true
}

// PodIP returns pod's primary IP.
func PodIP(pod *corev1.Pod) string {
	if pod.Status.PodIP != "" {
		return pod.Status.PodIP
	}
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return ""
}

// ResolvePort returns the pod port a Service port targets: a number as is
// (0 means the Service port itself), a name looked up among the pod's
// container ports of the same protocol.
func ResolvePort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return sp.Port, true
		}
		return tp.IntVal, true
	}
	if tp.StrVal == "" {
		return sp.Port, true
	}
	proto := sp.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				pp := p.Protocol
				if pp == "" {
					pp = corev1.ProtocolTCP
				}
				if p.Name == tp.StrVal && pp == proto {
					return p.ContainerPort, true
				}
			}
		}
	}
	return 0, false
}

// Hostname is the hostname a pod has under svc: its spec.hostname when its
// subdomain is the Service's name (in the same namespace), else "".
func Hostname(pod *corev1.Pod, svc *corev1.Service) string {
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		return pod.Spec.Hostname
	}
	return ""
}

// IsHeadless reports whether svc has no cluster IP.
func IsHeadless(svc *corev1.Service) bool { return svc.Spec.ClusterIP == corev1.ClusterIPNone }

// Conditions are an endpoint's EndpointSlice conditions: ready (serving and
// not terminating), serving (passes readiness) and terminating. With
// publishNotReadyAddresses every pod is ready and serving.
func Conditions(pod *corev1.Pod, svc *corev1.Service) (ready, serving, terminating bool) {
	terminating = pod.DeletionTimestamp != nil
	serving = svc.Spec.PublishNotReadyAddresses || controllers.IsPodReady(pod) || mutation.Enabled(mutation.EndpointsIncludeUnready)
	ready = svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	return ready, serving, terminating
}

// TriggerTime is the latest change among svc and pods an endpoints object
// reflects: the Service's creation and, per pod, its Ready condition's last
// transition (its creation when it has none).
func TriggerTime(svc *corev1.Service, pods []*corev1.Pod) time.Time {
	t := svc.CreationTimestamp.Time
	for _, p := range pods {
		x := p.CreationTimestamp.Time
		if c := controllers.PodReadyCondition(p); c != nil {
			x = c.LastTransitionTime.Time
		}
		if x.After(t) {
			t = x
		}
	}
	return t
}
