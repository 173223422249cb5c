package endpoints

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func ip(s string) podOpt        { return func(p *corev1.Pod) { p.Status.PodIP = s } }
func notReady(p *corev1.Pod)    { p.Status.Conditions[0].Status = corev1.ConditionFalse }
func terminating(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: t0} }
func phase(restart corev1.RestartPolicy, ph corev1.PodPhase) podOpt {
	return func(p *corev1.Pod) { p.Spec.RestartPolicy, p.Status.Phase = restart, ph }
}
func namedPort(name string, n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: name, ContainerPort: n, Protocol: corev1.ProtocolTCP})
	}
}
func hostname(h, sub string) podOpt {
	return func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = h, sub }
}

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Spec:       corev1.PodSpec{NodeName: "n1", RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0." + name[len(name)-1:],
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-time.Minute))}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func service(ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"team": "a"}, CreationTimestamp: metav1.NewTime(t0.Add(-2 * time.Hour))},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.10", Ports: ports},
	}
}

var (
	httpPort  = corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}
	fixedPort = corev1.ServicePort{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9100), Protocol: corev1.ProtocolTCP}
)

// describe renders subsets compactly: "ports[ready|notready]" per subset.
func describe(subsets []corev1.EndpointSubset) string {
	s := ""
	for _, ss := range subsets {
		s += "{"
		for _, p := range ss.Ports {
			s += fmt.Sprintf("%s:%d ", p.Name, p.Port)
		}
		s += "["
		for _, a := range ss.Addresses {
			s += a.TargetRef.Name + " "
		}
		s += "|"
		for _, a := range ss.NotReadyAddresses {
			s += a.TargetRef.Name + " "
		}
		s += "]}"
	}
	return s
}

func TestSubsets(t *testing.T) {
	tests := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want string
	}{
		{"ready and not ready", service(fixedPort), []*corev1.Pod{pod("p1"), pod("p2", notReady)}, "{metrics:9100 [p1 |p2 ]}"},
		{"no IP, terminating and finished pods left out", service(fixedPort), []*corev1.Pod{
			pod("p1"), pod("p2", ip("")), pod("p3", terminating),
			pod("p4", phase(corev1.RestartPolicyNever, corev1.PodFailed)), pod("p5", phase(corev1.RestartPolicyOnFailure, corev1.PodSucceeded)),
			pod("p6", phase(corev1.RestartPolicyOnFailure, corev1.PodFailed)), // will restart
		}, "{metrics:9100 [p1 p6 |]}"},
		{"named ports per pod", service(httpPort, fixedPort), []*corev1.Pod{pod("p1", namedPort("http", 8080)), pod("p2", namedPort("http", 8081)), pod("p3")},
			"{http:8080 metrics:9100 [p1 |]}{http:8081 metrics:9100 [p2 |]}{metrics:9100 [p3 |]}"},
		{"only a named port the pod lacks", service(httpPort), []*corev1.Pod{pod("p1")}, ""},
		{"publishNotReadyAddresses", func() *corev1.Service { s := service(fixedPort); s.Spec.PublishNotReadyAddresses = true; return s }(),
			[]*corev1.Pod{pod("p1", notReady), pod("p2", terminating)}, "{metrics:9100 [p1 p2 |]}"},
		{"headless without ports", func() *corev1.Service { s := service(); s.Spec.ClusterIP = corev1.ClusterIPNone; return s }(),
			[]*corev1.Pod{pod("p1")}, "{[p1 |]}"},
		{"no pods", service(fixedPort), nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated := Subsets(tc.svc, tc.pods)
			if d := describe(got); d != tc.want || truncated {
				t.Errorf("got %s (truncated %v), want %s", d, truncated, tc.want)
			}
		})
	}
}

func TestAddressFields(t *testing.T) {
	svc := service(fixedPort)
	subsets, _ := Subsets(svc, []*corev1.Pod{pod("p1", hostname("h1", "web")), pod("p2", hostname("h2", "other"))})
	a := subsets[0].Addresses
	if a[0].Hostname != "h1" || a[1].Hostname != "" || *a[0].NodeName != "n1" || a[0].IP != "10.0.0.1" ||
		a[0].TargetRef.Kind != "Pod" || a[0].TargetRef.UID != "uid-p1" {
		t.Errorf("addresses %+v", a)
	}
}

func TestTruncation(t *testing.T) {
	var pods []*corev1.Pod
	for i := range MaxAddresses + 5 {
		p := pod(fmt.Sprintf("p%d", i), ip(fmt.Sprintf("10.1.%d.%d", i/250, i%250)))
		if i < 10 {
			notReady(p)
		}
		pods = append(pods, p)
	}
	subsets, truncated := Subsets(service(fixedPort), pods)
	if !truncated || len(subsets[0].Addresses) != MaxAddresses-5 || len(subsets[0].NotReadyAddresses) != 5 {
		t.Errorf("truncated=%v ready=%d notready=%d", truncated, len(subsets[0].Addresses), len(subsets[0].NotReadyAddresses))
	}
	ep := Desired(service(fixedPort), pods, nil)
	if ep.Annotations[corev1.EndpointsOverCapacity] != "truncated" {
		t.Errorf("annotations %v", ep.Annotations)
	}
}

func TestDesiredWritesOnlyChanges(t *testing.T) {
	svc := service(fixedPort)
	pods := []*corev1.Pod{pod("p1"), pod("p2", notReady)}
	first := Desired(svc, pods, nil)
	if first == nil || first.Name != "web" || first.Labels["team"] != "a" || first.Labels["endpointslice.kubernetes.io/skip-mirror"] != "true" {
		t.Fatalf("first %+v", first)
	}
	if _, headless := first.Labels[corev1.IsHeadlessService]; headless {
		t.Error("headless label on a ClusterIP service")
	}
	if got := first.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != t0.Add(-time.Minute).Format(time.RFC3339Nano) {
		t.Errorf("trigger time %s", got)
	}
	if again := Desired(svc, pods, first); again != nil {
		t.Errorf("rewrite without change: %+v", again)
	}
	pods[1].Status.Conditions[0].Status = corev1.ConditionTrue
	pods[1].Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0)
	next := Desired(svc, pods, first)
	if next == nil || len(next.Subsets[0].Addresses) != 2 || next.Annotations[corev1.EndpointsLastChangeTriggerTime] != t0.Format(time.RFC3339Nano) {
		t.Errorf("after ready: %+v", next)
	}
	svc.Spec.ClusterIP = corev1.ClusterIPNone
	if h := Desired(svc, pods, next); h == nil || h.Labels[corev1.IsHeadlessService] != "" {
		t.Errorf("headless: %+v", h)
	} else if _, ok := h.Labels[corev1.IsHeadlessService]; !ok {
		t.Error("headless label missing")
	}
}

func TestConditions(t *testing.T) {
	svc := service()
	tests := []struct {
		name                      string
		pod                       *corev1.Pod
		publish                   bool
		ready, serving, terminate bool
	}{
		{"ready", pod("p1"), false, true, true, false},
		{"not ready", pod("p1", notReady), false, false, false, false},
		{"ready terminating", pod("p1", terminating), false, false, true, true},
		{"not ready terminating", pod("p1", notReady, terminating), false, false, false, true},
		{"publish not ready", pod("p1", notReady, terminating), true, true, true, true},
	}
	for _, tc := range tests {
		svc.Spec.PublishNotReadyAddresses = tc.publish
		r, s, term := Conditions(tc.pod, svc)
		if r != tc.ready || s != tc.serving || term != tc.terminate {
			t.Errorf("%s: got %v %v %v", tc.name, r, s, term)
		}
	}
}
