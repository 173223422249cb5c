package podsync

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/kubelet/runtime"

	"github.com/project-seven/seven/cluster/mutation"
)

// ContainerIDPrefix prefixes runtime ids in container statuses.
const ContainerIDPrefix = "seven://"

// Waiting and terminated reasons.
const (
	ReasonContainerCreating = "ContainerCreating"
	ReasonPodInitializing   = "PodInitializing"
	ReasonCrashLoopBackOff  = "CrashLoopBackOff"
	ReasonErrImagePull      = "ErrImagePull"
	ReasonImagePullBackOff  = "ImagePullBackOff"
	ReasonConfigError       = "CreateContainerConfigError"
	ReasonCompleted         = "Completed"
	ReasonError             = "Error"
)

// Probes are the current probe results of one running container.
type Probes struct {
	// Started: the startup probe succeeded (ignored without a startup probe).
	Started bool
	// Ready: the readiness probe succeeded (ignored without one).
	Ready bool
	// LivenessFailed and StartupFailed: the probe reached failureThreshold.
	LivenessFailed bool
	StartupFailed  bool
}

// BackOff is the crash back-off of one container.
type BackOff struct {
	// Delay is the wait before restarting after the exit of ContainerID.
	Delay       time.Duration
	ContainerID string
}

// StartFailure records why the last start of a container failed before its
// process ran (image missing, bad config); the start is retried at RetryAt.
type StartFailure struct {
	Reason  string
	Message string
	// Count of consecutive failures: a first ErrImagePull shows as such,
	// later ones as ImagePullBackOff.
	Count   int
	RetryAt time.Time
}

// Input is everything Decide and Status look at.
type Input struct {
	Pod *corev1.Pod
	// ContainerIDPrefix prefixes runtime ids in container statuses, the
	// runtime's scheme as upstream ("containerd://"); default
	// ContainerIDPrefix.
	ContainerIDPrefix string
	// Containers are the runtime's containers of this pod, every attempt.
	Containers []runtime.Status
	Now        time.Time
	// Probes by container id.
	Probes map[string]Probes
	// BackOff by container name.
	BackOff map[string]BackOff
	// StartFailures by container name.
	StartFailures map[string]StartFailure
	// SandboxReady: the pod has its IP and its volumes.
	SandboxReady bool
	// SandboxError, when set, says why the sandbox is not ready (FailedMount).
	SandboxError string
	PodIP        string
	HostIP       string
	// CrashBackOffInitial and CrashBackOffMax bound the restart back-off.
	CrashBackOffInitial time.Duration
	CrashBackOffMax     time.Duration
}

// Start asks to start a container.
type Start struct {
	Name    string
	Init    bool
	Attempt int
}

// Kill asks to stop a running container.
type Kill struct {
	ID   string
	Name string
	// Reason: "Unhealthy" (probe), "Deleting" (pod deletion) or "Terminal".
	Reason  string
	Message string
	Grace   time.Duration
	// PreStop: run the container's preStop hook first.
	PreStop bool
}

// Kill reasons.
const (
	KillUnhealthy = "Unhealthy"
	KillDeleting  = "Deleting"
	KillTerminal  = "Terminal"
)

// Event is an event Decide wants recorded on the pod.
type Event struct {
	Type, Reason, Message string
}

// Plan is what Decide wants done.
type Plan struct {
	Start  []Start
	Kill   []Kill
	Remove []string
	// BackOff is the new back-off state (replaces Input.BackOff).
	BackOff map[string]BackOff
	Events  []Event
	// Requeue, when > 0, is when the pod wants another look.
	Requeue time.Duration
	// Done: the pod is being deleted and nothing of it runs any more.
	Done bool
}

// attempts groups a pod's containers by name, latest first.
func attempts(cs []runtime.Status) map[string][]runtime.Status {
	by := map[string][]runtime.Status{}
	for _, c := range cs {
		by[c.Spec.Name] = append(by[c.Spec.Name], c)
	}
	for _, l := range by {
		sort.Slice(l, func(i, j int) bool {
			if l[i].Spec.Attempt != l[j].Spec.Attempt {
				return l[i].Spec.Attempt > l[j].Spec.Attempt
			}
			return l[i].CreatedAt.After(l[j].CreatedAt)
		})
	}
	return by
}

// ReasonDeadlineExceeded is the pod reason once activeDeadlineSeconds passed.
const ReasonDeadlineExceeded = "DeadlineExceeded"

// DeadlineExceeded reports whether the pod ran longer than its
// activeDeadlineSeconds (counted from status.startTime).
func DeadlineExceeded(pod *corev1.Pod, now time.Time) bool {
	d := pod.Spec.ActiveDeadlineSeconds
	st := pod.Status.StartTime
	return d != nil && st != nil && now.Sub(st.Time) >= time.Duration(*d)*time.Second
}

// Terminal reports whether the pod's phase is final.
func Terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func shouldRestart(policy corev1.RestartPolicy, init bool, exit int) bool {
	if mutation.Enabled(mutation.KubeletNeverRestarts) {
		return false
	}
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exit != 0
	}
	if init { // Always on a pod: init containers restart only on failure
		return exit != 0
	}
	return true
}

// GracePeriod is the pod's termination grace period for a deletion.
func GracePeriod(pod *corev1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// Decide computes the plan for one sync of a pod.
func Decide(in Input) Plan {
	pod := in.Pod
	plan := Plan{BackOff: map[string]BackOff{}}
	for k, v := range in.BackOff {
		plan.BackOff[k] = v
	}
	by := attempts(in.Containers)
	var wake time.Time
	due := func(t time.Time) {
		if t.After(in.Now) && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}

	// Garbage: all but the latest two attempts of each container.
	for _, l := range by {
		for _, c := range l[min(2, len(l)):] {
			if !c.Running() {
				plan.Remove = append(plan.Remove, c.ID)
			}
		}
	}
	sort.Strings(plan.Remove)

	deleting := pod.DeletionTimestamp != nil
	if deleting || Terminal(pod) || DeadlineExceeded(pod, in.Now) {
		running := false
		for _, c := range in.Containers {
			if c.Running() {
				running = true
				k := Kill{ID: c.ID, Name: c.Spec.Name, Reason: KillTerminal, Grace: GracePeriod(pod)}
				if deleting {
					k.Reason, k.PreStop = KillDeleting, true
				}
				plan.Kill = append(plan.Kill, k)
			}
		}
		plan.Done = deleting && !running
		return plan
	}

	known := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		known[c.Name] = true
	}
	for _, c := range pod.Spec.Containers {
		known[c.Name] = true
	}
	// Containers the spec does not know (cannot happen with immutable specs,
	// but a kubelet restart with a recreated pod of the same uid could).
	for name, l := range by {
		if !known[name] && l[0].Running() {
			plan.Kill = append(plan.Kill, Kill{ID: l[0].ID, Name: name, Reason: KillTerminal, Grace: GracePeriod(pod)})
		}
	}

	// consider decides for one container; it returns whether it has
	// completed (for init containers: exited 0 and not to be re-run).
	consider := func(spec *corev1.Container, init bool) (completed bool) {
		l := by[spec.Name]
		if len(l) > 0 && l[0].Running() {
			c := l[0]
			p := in.Probes[c.ID]
			if !init && (p.LivenessFailed || p.StartupFailed) {
				probe := "liveness"
				if p.StartupFailed {
					probe = "startup"
				}
				grace := GracePeriod(pod)
				if pr := spec.LivenessProbe; !p.StartupFailed && pr != nil && pr.TerminationGracePeriodSeconds != nil {
					grace = time.Duration(*pr.TerminationGracePeriodSeconds) * time.Second
				} else if pr := spec.StartupProbe; p.StartupFailed && pr != nil && pr.TerminationGracePeriodSeconds != nil {
					grace = time.Duration(*pr.TerminationGracePeriodSeconds) * time.Second
				}
				plan.Kill = append(plan.Kill, Kill{ID: c.ID, Name: spec.Name, Reason: KillUnhealthy,
					Message: fmt.Sprintf("Container %s failed %s probe, will be restarted", spec.Name, probe), Grace: grace})
			}
			return false
		}
		attempt := 0
		if len(l) > 0 {
			c := l[0]
			if !shouldRestart(pod.Spec.RestartPolicy, init, c.ExitCode) {
				return c.ExitCode == 0
			}
			b, ok := plan.BackOff[spec.Name]
			if !ok || b.ContainerID != c.ID {
				delay := in.CrashBackOffInitial
				if ok && c.FinishedAt.Sub(c.StartedAt) < 2*in.CrashBackOffMax {
					delay = min(2*b.Delay, in.CrashBackOffMax)
				}
				b = BackOff{Delay: delay, ContainerID: c.ID}
				plan.BackOff[spec.Name] = b
				plan.Events = append(plan.Events, Event{Type: corev1.EventTypeWarning, Reason: "BackOff",
					Message: fmt.Sprintf("Back-off restarting failed container %s in pod %s", spec.Name, podRef(pod))})
			}
			if at := c.FinishedAt.Add(b.Delay); in.Now.Before(at) {
				due(at)
				return false
			}
			attempt = c.Spec.Attempt + 1
		}
		if f, ok := in.StartFailures[spec.Name]; ok && in.Now.Before(f.RetryAt) {
			due(f.RetryAt)
			return false
		}
		if !in.SandboxReady {
			return false
		}
		plan.Start = append(plan.Start, Start{Name: spec.Name, Init: init, Attempt: attempt})
		return false
	}

	if initDone(pod, by) {
		for i := range pod.Spec.Containers {
			consider(&pod.Spec.Containers[i], false)
		}
	} else {
		for i := range pod.Spec.InitContainers {
			c := &pod.Spec.InitContainers[i]
			if !consider(c, true) {
				break
			}
		}
	}
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil && pod.Status.StartTime != nil {
		due(pod.Status.StartTime.Add(time.Duration(*d) * time.Second))
	}
	if !wake.IsZero() {
		plan.Requeue = wake.Sub(in.Now)
	}
	return plan
}

// initDone reports whether every init container completed, or a regular
// container has already run.
func initDone(pod *corev1.Pod, by map[string][]runtime.Status) bool {
	for _, c := range pod.Spec.Containers {
		if len(by[c.Name]) > 0 {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		l := by[c.Name]
		if len(l) == 0 || l[0].Running() || l[0].ExitCode != 0 {
			return false
		}
	}
	return true
}

// initFailed reports whether an init container failed for good (restart
// policy Never).
func initFailed(pod *corev1.Pod, by map[string][]runtime.Status) bool {
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		return false
	}
	for _, c := range pod.Spec.InitContainers {
		if l := by[c.Name]; len(l) > 0 && !l[0].Running() && l[0].ExitCode != 0 {
			return true
		}
	}
	return false
}

func podRef(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// mt converts to the API's resolution (seconds), so that a status computed
// twice from the same facts compares equal to the one read back.
func mt(t time.Time) metav1.Time { return metav1.NewTime(t.Truncate(time.Second)) }

// Status computes the pod's status.
func Status(in Input) corev1.PodStatus {
	pod := in.Pod
	old := pod.Status
	by := attempts(in.Containers)
	now := metav1.NewTime(in.Now.Truncate(time.Second))
	st := corev1.PodStatus{
		Phase:                      old.Phase,
		HostIP:                     in.HostIP,
		PodIP:                      in.PodIP,
		StartTime:                  old.StartTime,
		QOSClass:                   old.QOSClass,
		NominatedNodeName:          old.NominatedNodeName,
		Message:                    old.Message,
		Reason:                     old.Reason,
		Resize:                     old.Resize,
		ResourceClaimStatuses:      old.ResourceClaimStatuses,
		ObservedGeneration:         pod.Generation,
		EphemeralContainerStatuses: old.EphemeralContainerStatuses,
	}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	if st.QOSClass == "" {
		st.QOSClass = QOSClass(pod)
	}
	if in.HostIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: in.HostIP}}
	}
	if in.PodIP != "" {
		st.PodIPs = []corev1.PodIP{{IP: in.PodIP}}
	}
	if st.PodIP == "" && Terminal(pod) {
		st.PodIP, st.PodIPs = old.PodIP, old.PodIPs
	}

	done := initDone(pod, by)
	var notInit, notReady []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := containerStatus(in, c, by[c.Name], true, false)
		if !(len(by[c.Name]) > 0 && !by[c.Name][0].Running() && by[c.Name][0].ExitCode == 0) && !done {
			notInit = append(notInit, c.Name)
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := containerStatus(in, c, by[c.Name], false, !done)
		if !cs.Ready {
			notReady = append(notReady, c.Name)
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	switch {
	case Terminal(pod):
	case DeadlineExceeded(pod, in.Now):
		st.Phase, st.Reason = corev1.PodFailed, ReasonDeadlineExceeded
		st.Message = "Pod was active on the node longer than the specified deadline"
	default:
		st.Phase = phase(pod, st, done, initFailed(pod, by))
	}

	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: now, ObservedGeneration: pod.Generation}
		if ok {
			c.Status = corev1.ConditionTrue
		} else {
			c.Reason, c.Message = reason, msg
		}
		for _, o := range old.Conditions {
			if o.Type == t && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	list := func(what string, names []string) string {
		return fmt.Sprintf("containers with %s status: [%s]", what, strings.Join(names, " "))
	}
	terminal := st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed
	cond(corev1.PodReadyToStartContainers, in.SandboxReady && !terminal, "", "")
	cond(corev1.PodInitialized, len(notInit) == 0, "ContainersNotInitialized", list("incomplete", notInit))
	gates := gatesReady(pod)
	switch {
	case terminal:
		reason := "PodCompleted"
		if st.Phase == corev1.PodFailed {
			reason = "PodFailed"
		}
		cond(corev1.ContainersReady, false, reason, "")
		cond(corev1.PodReady, false, reason, "")
	default:
		cond(corev1.ContainersReady, len(notReady) == 0, "ContainersNotReady", list("unready", notReady))
		switch {
		case len(notReady) > 0:
			cond(corev1.PodReady, false, "ContainersNotReady", list("unready", notReady))
		default:
			cond(corev1.PodReady, gates, "ReadinessGatesNotReady", "the status of pod readiness gates is not ready")
		}
	}
	cond(corev1.PodScheduled, true, "", "")
	// Conditions the kubelet does not own (readiness gates, DisruptionTarget…) stay.
	for _, o := range old.Conditions {
		switch o.Type {
		case corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled:
		default:
			st.Conditions = append(st.Conditions, o)
		}
	}
	return st
}

func gatesReady(pod *corev1.Pod) bool {
	for _, g := range pod.Spec.ReadinessGates {
		ok := false
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType && c.Status == corev1.ConditionTrue {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func terminated(prefix string, c runtime.Status) *corev1.ContainerStateTerminated {
	reason := c.Reason
	if reason == "" {
		reason = ReasonError
		if c.ExitCode == 0 {
			reason = ReasonCompleted
		}
	}
	return &corev1.ContainerStateTerminated{
		ExitCode:    int32(c.ExitCode),
		Reason:      reason,
		Message:     c.Message,
		StartedAt:   mt(c.StartedAt),
		FinishedAt:  mt(c.FinishedAt),
		ContainerID: prefix + c.ID,
	}
}

// containerStatus builds one container's status from its attempts (latest first).
func containerStatus(in Input, spec *corev1.Container, l []runtime.Status, init, initializing bool) corev1.ContainerStatus {
	pod := in.Pod
	cs := corev1.ContainerStatus{Name: spec.Name, Image: spec.Image}
	f, failed := in.StartFailures[spec.Name]
	waiting := func(reason, msg string) {
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
	}
	failure := func() {
		reason := f.Reason
		if reason == ReasonErrImagePull && f.Count > 1 {
			reason = ReasonImagePullBackOff
		}
		waiting(reason, f.Message)
	}
	if len(l) == 0 {
		switch {
		case failed:
			failure()
		case init && in.SandboxReady, !init && initializing:
			waiting(ReasonPodInitializing, "")
		default:
			waiting(ReasonContainerCreating, "")
		}
		f := false
		cs.Started = &f
		return cs
	}
	prefix := in.ContainerIDPrefix
	if prefix == "" {
		prefix = ContainerIDPrefix
	}
	terminated := func(c runtime.Status) *corev1.ContainerStateTerminated { return terminated(prefix, c) }
	c := l[0]
	cs.ContainerID = prefix + c.ID
	cs.ImageID = c.Spec.ImageID
	cs.RestartCount = int32(c.Spec.Attempt)
	if len(l) > 1 {
		cs.LastTerminationState = corev1.ContainerState{Terminated: terminated(l[1])}
	}
	started := false
	switch {
	case c.Running():
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(c.StartedAt)}}
		p := in.Probes[c.ID]
		started = spec.StartupProbe == nil || p.Started
		cs.Ready = !init && started && (spec.ReadinessProbe == nil || p.Ready)
	case Terminal(pod) || pod.DeletionTimestamp != nil || !shouldRestart(pod.Spec.RestartPolicy, init, c.ExitCode):
		cs.State = corev1.ContainerState{Terminated: terminated(c)}
		cs.Ready = init && c.ExitCode == 0
	default:
		// Exited, to be restarted.
		cs.LastTerminationState = corev1.ContainerState{Terminated: terminated(c)}
		b, ok := in.BackOff[spec.Name]
		switch {
		case failed:
			failure()
		case ok && b.ContainerID == c.ID && in.Now.Before(c.FinishedAt.Add(b.Delay)):
			waiting(ReasonCrashLoopBackOff, fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", b.Delay, spec.Name, podRef(pod)))
		default:
			cs.State = corev1.ContainerState{Terminated: terminated(c)}
			cs.LastTerminationState = corev1.ContainerState{}
			if len(l) > 1 {
				cs.LastTerminationState = corev1.ContainerState{Terminated: terminated(l[1])}
			}
		}
	}
	cs.Started = &started
	return cs
}

// phase follows the kubelet's rules (see the package comment).
func phase(pod *corev1.Pod, st corev1.PodStatus, initDone, initFailed bool) corev1.PodPhase {
	if initFailed {
		return corev1.PodFailed
	}
	if !initDone {
		return corev1.PodPending
	}
	var waiting, running, stopped, succeeded int
	for _, cs := range st.ContainerStatuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil:
			// Waiting to restart after having run.
			stopped++
			if cs.LastTerminationState.Terminated.ExitCode == 0 {
				succeeded++
			}
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped == 0:
		return corev1.PodPending
	}
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		if succeeded == stopped {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	case corev1.RestartPolicyOnFailure:
		if succeeded == stopped {
			return corev1.PodSucceeded
		}
		return corev1.PodRunning
	}
	return corev1.PodRunning
}

// QOSClass computes the pod's QoS class from its containers' resources.
func QOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	any, guaranteed := false, true
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if hasReq || hasLim {
				any = true
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
