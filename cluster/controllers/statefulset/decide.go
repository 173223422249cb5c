package statefulset

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers"
)

// Kind is the kind of the controller references a StatefulSet puts on its
// pods and revisions.
var Kind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

// Revision is one template of a set, as a ControllerRevision holds it.
type Revision struct {
	Name     string
	Template *corev1.PodTemplateSpec
}

// Input is what a sync of one StatefulSet decides from.
type Input struct {
	Set *appsv1.StatefulSet
	// Pods are the set's pods (any phase, terminating included).
	Pods []*corev1.Pod
	// Current is the revision the set's pods ran before the last change of
	// its template (status.currentRevision); Update is the set's template
	// now. They are the same when no update is in progress.
	Current, Update Revision
	Now             time.Time
}

// Plan is what the sync does, in order: create, fix identities, delete.
type Plan struct {
	Create []*corev1.Pod // new pods, named <set>-<ordinal>
	// Relabel are pods whose identity labels (pod name, index) are missing:
	// the same pods with them set.
	Relabel []*corev1.Pod
	Delete  []*corev1.Pod
	Status  appsv1.StatefulSetStatus
	// RecheckAfter > 0: a ready pod becomes available (minReadySeconds) then.
	RecheckAfter time.Duration
}

// Decide computes what a StatefulSet's sync does, as Kubernetes' StatefulSet
// controller does it:
//
//   - the pods are <set>-<ordinal> for the ordinals [start, start+replicas);
//     a missing one is created at the current revision when its ordinal is
//     below the rolling update's partition, else at the update revision;
//   - OrderedReady creates one pod at a time, in ordinal order, each only
//     once every lower ordinal is Running, Ready and available; Parallel
//     creates all at once;
//   - a pod that failed or succeeded is deleted, to be created again;
//   - pods beyond the range go from the highest ordinal down — with
//     OrderedReady one at a time, and only while every remaining pod is
//     healthy (but for the first unhealthy one);
//   - RollingUpdate deletes pods not at the update revision from the highest
//     ordinal down to the partition, keeping at most maxUnavailable pods
//     unavailable (they come back at the update revision); OnDelete leaves
//     them to the user.
func Decide(in Input) Plan {
	set := in.Set
	minReady := set.Spec.MinReadySeconds
	var p Plan
	replicas, condemned := slots(in)
	status := appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    in.Current.Name,
		UpdateRevision:     in.Update.Name,
		CollisionCount:     ptr.To(int32(0)),
		Conditions:         set.Status.Conditions,
	}
	if set.Status.CollisionCount != nil {
		status.CollisionCount = ptr.To(*set.Status.CollisionCount)
	}
	count(&status, in, append(append([]*corev1.Pod(nil), replicas...), condemned...))
	p.RecheckAfter = recheck(in.Pods, minReady, in.Now)

	var firstUnavailable *corev1.Pod
	unavailable := 0
	for _, pod := range replicas {
		if isUnavailable(pod, minReady, in.Now) {
			unavailable++
			if firstUnavailable == nil {
				firstUnavailable = pod
			}
		}
	}
	for i := len(condemned) - 1; i >= 0; i-- {
		if isUnavailable(condemned[i], minReady, in.Now) && firstUnavailable == nil {
			firstUnavailable = condemned[i]
		}
	}
	p.Status = completeUpdate(set, status)
	if set.DeletionTimestamp != nil {
		return p
	}
	monotonic := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement

	// The pods in range, in ordinal order.
	for _, pod := range replicas {
		if stop := p.replica(set, pod, monotonic, minReady, in.Now); stop && monotonic {
			return p
		}
	}
	// Scale down, from the highest ordinal.
	for _, pod := range condemned {
		if isTerminating(pod) {
			if monotonic {
				return p
			}
			continue
		}
		if monotonic && pod != firstUnavailable && (!isRunningAndReady(pod) || !isAvailable(pod, minReady, in.Now)) {
			return p
		}
		p.Delete = append(p.Delete, pod)
		if monotonic {
			return p
		}
	}
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return p
	}
	p.rollingUpdate(set, replicas, in.Update.Name, unavailable, in.Now)
	p.Status = completeUpdate(set, p.Status)
	return p
}

// replica plans one pod in range; it reports whether an ordered set must
// stop there (the pod is being made, going, or not yet healthy).
func (p *Plan) replica(set *appsv1.StatefulSet, pod *corev1.Pod, monotonic bool, minReady int32, now time.Time) bool {
	switch {
	case isTerminal(pod):
		// Failed or succeeded: delete it, and make it again once it is gone.
		if pod.DeletionTimestamp == nil {
			p.Delete = append(p.Delete, pod)
		}
		return true
	case !isCreated(pod):
		p.Create = append(p.Create, pod)
		return true
	case monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || !isAvailable(pod, minReady, now)):
		// Every lower ordinal must be running, ready and available first.
		return true
	}
	if !identityMatches(set, pod) {
		fixed := pod.DeepCopy()
		setIdentity(set, fixed, ordinalOf(pod.Name))
		p.Relabel = append(p.Relabel, fixed)
	}
	return false
}

// rollingUpdate deletes outdated pods, from the highest ordinal down to the
// partition, within maxUnavailable.
func (p *Plan) rollingUpdate(set *appsv1.StatefulSet, replicas []*corev1.Pod, update string, unavailable int, now time.Time) {
	minReady := set.Spec.MinReadySeconds
	partition := 0
	budget := 1
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.Partition != nil {
			partition = int(*ru.Partition)
		}
		budget = maxUnavailable(ru.MaxUnavailable, len(replicas))
	}
	outdated := func(pod *corev1.Pod) bool { return revisionOf(pod) != update && !isTerminating(pod) }
	del := func(pod *corev1.Pod) {
		p.Delete = append(p.Delete, pod)
		p.Status.CurrentReplicas--
	}
	if set.Spec.PodManagementPolicy == appsv1.ParallelPodManagement {
		// Outdated pods that are unavailable anyway go first and cost no
		// budget; then available ones within what is left.
		stuck := 0
		for _, pod := range replicas {
			if isUnavailable(pod, minReady, now) && outdated(pod) {
				stuck++
			}
		}
		if unavailable >= budget && stuck == 0 {
			return
		}
		for i := len(replicas) - 1; i >= partition; i-- {
			if pod := replicas[i]; outdated(pod) && !isAvailable(pod, minReady, now) {
				del(pod)
			}
		}
		left := budget - unavailable
		for i := len(replicas) - 1; i >= partition && left > 0; i-- {
			if pod := replicas[i]; outdated(pod) && !isUnavailable(pod, minReady, now) {
				del(pod)
				left--
			}
		}
		return
	}
	for i, n := len(replicas)-1, budget-unavailable; i >= partition && n > 0; i-- {
		if outdated(replicas[i]) {
			del(replicas[i])
			n--
		}
	}
}

// slots sorts the set's pods into the ones in range, by ordinal (a pod to
// create where one is missing), and the ones beyond it, highest ordinal
// first. Pods whose names are not <set>-<ordinal> are ignored.
func slots(in Input) (replicas, condemned []*corev1.Pod) {
	set := in.Set
	start, n := startOrdinal(set), int(replicaCount(set))
	replicas = make([]*corev1.Pod, n)
	for _, pod := range in.Pods {
		parent, ord := parentAndOrdinal(pod.Name)
		switch {
		case ord < 0 || parent != set.Name:
		case ord >= start && ord < start+n:
			replicas[ord-start] = pod
		default:
			condemned = append(condemned, pod)
		}
	}
	for i := range replicas {
		if replicas[i] != nil {
			continue
		}
		ord := start + i
		rev := in.Update
		if ordinalAtCurrent(set, ord) {
			rev = in.Current
		}
		replicas[i] = NewPod(set, rev, ord)
	}
	sort.Slice(condemned, func(i, j int) bool { return ordinalOf(condemned[i].Name) > ordinalOf(condemned[j].Name) })
	return replicas, condemned
}

// ordinalAtCurrent says whether a pod made now for ord gets the current
// revision: below a rolling update's partition (or, without rolling update
// settings, below the current replicas).
func ordinalAtCurrent(set *appsv1.StatefulSet, ord int) bool {
	if set.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		return false
	}
	start := startOrdinal(set)
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		return ord < start+int(*ru.Partition)
	}
	return ord < start+int(set.Status.CurrentReplicas)
}

// count fills the replica counts of status from pods.
func count(st *appsv1.StatefulSetStatus, in Input, pods []*corev1.Pod) {
	minReady := in.Set.Spec.MinReadySeconds
	for _, pod := range pods {
		if isCreated(pod) {
			st.Replicas++
		}
		if isRunningAndReady(pod) {
			st.ReadyReplicas++
			if isAvailable(pod, minReady, in.Now) {
				st.AvailableReplicas++
			}
		}
		if isCreated(pod) && !isTerminating(pod) {
			switch revisionOf(pod) {
			case in.Current.Name:
				st.CurrentReplicas++
				if in.Current.Name == in.Update.Name {
					st.UpdatedReplicas++
				}
			case in.Update.Name:
				st.UpdatedReplicas++
			}
		}
	}
}

// completeUpdate marks an update done once every pod runs the update
// revision and is ready.
func completeUpdate(set *appsv1.StatefulSet, st appsv1.StatefulSetStatus) appsv1.StatefulSetStatus {
	n := replicaCount(set)
	if st.UpdatedReplicas == n && st.ReadyReplicas == n && st.Replicas == n {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
	return st
}

// recheck is how long until the next ready pod becomes available.
func recheck(pods []*corev1.Pod, minReady int32, now time.Time) time.Duration {
	var d time.Duration
	for _, pod := range pods {
		if !isRunningAndReady(pod) || isAvailable(pod, minReady, now) {
			continue
		}
		if at, ok := controllers.AvailableAfter(pod, minReady); ok {
			if wait := at.Sub(now) + 10*time.Millisecond; d == 0 || wait < d {
				d = wait
			}
		}
	}
	return d
}

// maxUnavailable is a rolling update's budget of unavailable pods: at least 1.
func maxUnavailable(v *intstr.IntOrString, replicas int) int {
	n, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(v, intstr.FromInt32(1)), replicas, false)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// NewPod is the pod with ordinal ord of set, from rev's template: named
// <set>-<ordinal>, its hostname the name and its subdomain the set's
// service, labeled with its name, index and revision, controlled by set,
// and mounting the claims of the set's claim templates.
func NewPod(set *appsv1.StatefulSet, rev Revision, ord int) *corev1.Pod {
	t := rev.Template
	if t == nil {
		t = &set.Spec.Template
	}
	t = t.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       set.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, Kind)},
		},
		Spec: t.Spec,
	}
	setIdentity(set, pod, ord)
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName
	pod.Labels[appsv1.StatefulSetRevisionLabel] = rev.Name
	for _, c := range set.Spec.VolumeClaimTemplates {
		vol := corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: ClaimName(set, c.Name, ord)}}}
		replaced := false
		for i := range pod.Spec.Volumes {
			if pod.Spec.Volumes[i].Name == c.Name {
				pod.Spec.Volumes[i], replaced = vol, true
			}
		}
		if !replaced {
			pod.Spec.Volumes = append(pod.Spec.Volumes, vol)
		}
	}
	return pod
}

// ClaimName is the claim a set's pod of ordinal ord mounts for the claim
// template called template.
func ClaimName(set *appsv1.StatefulSet, template string, ord int) string {
	return fmt.Sprintf("%s-%s-%d", template, set.Name, ord)
}

// setIdentity names pod for ordinal ord of set and sets its identity labels.
func setIdentity(set *appsv1.StatefulSet, pod *corev1.Pod, ord int) {
	pod.Name = fmt.Sprintf("%s-%d", set.Name, ord)
	pod.Namespace = set.Namespace
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = pod.Name
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(ord)
}

func identityMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, ord := parentAndOrdinal(pod.Name)
	return ord >= 0 && parent == set.Name && pod.Namespace == set.Namespace &&
		pod.Labels[appsv1.StatefulSetPodNameLabel] == pod.Name && pod.Labels[appsv1.PodIndexLabel] == strconv.Itoa(ord)
}

var podName = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// parentAndOrdinal splits <set>-<ordinal>; the ordinal is -1 when name is
// not of that form.
func parentAndOrdinal(name string) (string, int) {
	m := podName.FindStringSubmatch(name)
	if m == nil {
		return "", -1
	}
	ord, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(ord)
}

func ordinalOf(name string) int {
	_, ord := parentAndOrdinal(name)
	return ord
}

// IsMember says whether pod is named as one of set's pods.
func IsMember(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, ord := parentAndOrdinal(pod.Name)
	return ord >= 0 && parent == set.Name
}

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func replicaCount(set *appsv1.StatefulSet) int32 {
	if set.Spec.Replicas == nil {
		return 1
	}
	return *set.Spec.Replicas
}

func revisionOf(pod *corev1.Pod) string { return pod.Labels[appsv1.StatefulSetRevisionLabel] }

// A pod made by NewPod and not created yet has no phase.
func isCreated(pod *corev1.Pod) bool     { return pod.Status.Phase != "" }
func isTerminating(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil }
func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
}
func isRunningAndReady(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodRunning && controllers.IsPodReady(pod)
}
func isAvailable(pod *corev1.Pod, minReady int32, now time.Time) bool {
	return controllers.IsPodAvailable(pod, minReady, now)
}
func isUnavailable(pod *corev1.Pod, minReady int32, now time.Time) bool {
	return !isAvailable(pod, minReady, now) || isTerminating(pod)
}
