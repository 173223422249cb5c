package hollow

import (
	"fmt"
	"maps"
	"net/netip"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotation marks the nodes this package registers.
const Annotation = "seven.dev/hollow"

// LeaseNamespace holds the node Leases.
const LeaseNamespace = corev1.NamespaceNodeLease

// Fake addresses. Node IPs are loopback addresses, so that anything that
// does try to reach a hollow node's kubelet gets a refused connection on
// this machine. Pod IPs come from 240.0.0.0/4, reserved and never routed (a
// connection fails at once), because they must pass the validation of
// endpoint addresses, which refuses loopback ones as upstream does.
var (
	nodeIPBase = netip.MustParseAddr("127.96.0.0")  // node i: 127.96.0.0 + i
	podIPBase  = netip.MustParseAddr("240.128.0.0") // pods: 240.128.0.0/9
)

const podIPCount = 1 << 23

// DefaultCapacity is what a hollow node offers unless configured.
func DefaultCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("16Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
}

// NodeName is the name of hollow node i.
func NodeName(prefix string, i int) string { return fmt.Sprintf("%s%d", prefix, i) }

func addrAt(base netip.Addr, n uint32) string {
	b := base.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// NodeIP is the fake InternalIP of hollow node i.
func NodeIP(i int) string { return addrAt(nodeIPBase, uint32(i)%(1<<21)) }

// PodIP is the n-th fake pod IP.
func PodIP(n uint32) string { return addrAt(podIPBase, n%podIPCount) }

// nodeObject is hollow node i as registered: Ready, with capacity equal to
// allocatable.
func nodeObject(name string, i int, capacity corev1.ResourceList, extraLabels map[string]string, now metav1.Time) *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:   name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: "amd64",
	}
	maps.Copy(labels, extraLabels)
	ip := NodeIP(i)
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{Annotation: "true"}},
		Status: corev1.NodeStatus{
			Capacity:    capacity.DeepCopy(),
			Allocatable: capacity.DeepCopy(),
			Phase:       corev1.NodeRunning,
			Conditions: []corev1.NodeCondition{
				cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "hollow node is ready"),
				cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "hollow node has sufficient memory"),
				cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "hollow node has no disk pressure"),
				cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "hollow node has sufficient PID available"),
			},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}},
			NodeInfo: corev1.NodeSystemInfo{
				OperatingSystem: "linux", Architecture: "amd64",
				KubeletVersion: "v1.37.0-seven-hollow", KubeProxyVersion: "v1.37.0-seven-hollow",
				ContainerRuntimeVersion: "hollow://1",
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		},
	}
}

// nodeReady reports whether a node's status says Ready with the capacity we offer.
func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue && len(n.Status.Allocatable) > 0
		}
	}
	return false
}

// leaseObject is a node's Lease, held by the node and renewed at now.
func leaseObject(node *corev1.Node, durationSeconds int32, now metav1.MicroTime) *coordinationv1.Lease {
	holder := node.Name
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, Namespace: LeaseNamespace},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       &holder,
			LeaseDurationSeconds: &durationSeconds,
			RenewTime:            &now,
		},
	}
	if node.UID != "" {
		l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
	}
	return l
}

// podDone reports whether the pod already looks as a hollow node reports it.
func podDone(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" || len(pod.Status.ContainerStatuses) != len(pod.Spec.Containers) {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// runningStatus is the status a hollow node reports for a pod: Running and
// Ready, every container started, init containers completed. An existing
// podIP and startTime are kept.
func runningStatus(pod *corev1.Pod, hostIP, podIP string, now metav1.Time) corev1.PodStatus {
	st := pod.Status.DeepCopy()
	if st.PodIP != "" {
		podIP = st.PodIP
	}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	started := *st.StartTime
	st.Phase = corev1.PodRunning
	st.HostIP, st.HostIPs = hostIP, []corev1.HostIP{{IP: hostIP}}
	st.PodIP, st.PodIPs = podIP, []corev1.PodIP{{IP: podIP}}
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
		setPodCondition(st, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	yes := true
	status := func(c *corev1.Container) corev1.ContainerStatus {
		return corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "hollow://" + c.Image,
			ContainerID: fmt.Sprintf("hollow://%s/%s", pod.UID, c.Name),
			Ready:       true, Started: &yes,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		}
	}
	st.InitContainerStatuses = nil
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s := status(c)
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			no := false
			s.Ready, s.Started = true, &no
			s.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: started, FinishedAt: started, ContainerID: s.ContainerID,
			}}
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, s)
	}
	st.ContainerStatuses = nil
	for i := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, status(&pod.Spec.Containers[i]))
	}
	return *st
}

func setPodCondition(st *corev1.PodStatus, c corev1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				return
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}
