package podsync

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/kubelet/runtime"
)

var t0 = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

const (
	initial = 10 * time.Second
	maxBO   = 300 * time.Second
)

func pod(policy corev1.RestartPolicy, inits []string, names ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"},
		Spec:       corev1.PodSpec{RestartPolicy: policy, NodeName: "n1"},
	}
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "img"})
	}
	for _, n := range names {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "img"})
	}
	return p
}

// run is a running container; exited an exited one.
func run(id, name string, attempt int, startedAgo time.Duration) runtime.Status {
	return runtime.Status{ID: id, State: runtime.StateRunning, Spec: runtime.ContainerSpec{Name: name, Attempt: attempt},
		CreatedAt: t0.Add(-startedAgo), StartedAt: t0.Add(-startedAgo), Pid: 42}
}

func exited(id, name string, attempt, code int, ran, ago time.Duration) runtime.Status {
	return runtime.Status{ID: id, State: runtime.StateExited, ExitCode: code, Spec: runtime.ContainerSpec{Name: name, Attempt: attempt},
		CreatedAt: t0.Add(-ago - ran), StartedAt: t0.Add(-ago - ran), FinishedAt: t0.Add(-ago)}
}

func input(p *corev1.Pod, cs ...runtime.Status) Input {
	return Input{Pod: p, Containers: cs, Now: t0, SandboxReady: true, PodIP: "127.1.0.2", HostIP: "127.0.0.1",
		CrashBackOffInitial: initial, CrashBackOffMax: maxBO}
}

func TestDecide(t *testing.T) {
	deleting := pod(corev1.RestartPolicyAlways, nil, "a", "b")
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	grace := int64(5)
	deleting.DeletionGracePeriodSeconds = &grace
	succeeded := pod(corev1.RestartPolicyAlways, nil, "a")
	succeeded.Status.Phase = corev1.PodSucceeded
	deadline := pod(corev1.RestartPolicyAlways, nil, "a")
	deadline.Spec.ActiveDeadlineSeconds = ptrInt64(60)
	deadline.Status.StartTime = &metav1.Time{Time: t0.Add(-time.Minute)}
	beforeDeadline := deadline.DeepCopy()
	beforeDeadline.Status.StartTime = &metav1.Time{Time: t0.Add(-50 * time.Second)}

	for _, tc := range []struct {
		name string
		in   Input
		want Plan
	}{
		{
			name: "fresh pod starts every container",
			in:   input(pod(corev1.RestartPolicyAlways, nil, "a", "b")),
			want: Plan{Start: []Start{{Name: "a"}, {Name: "b"}}},
		},
		{
			name: "no sandbox yet: nothing starts",
			in: func() Input {
				in := input(pod(corev1.RestartPolicyAlways, nil, "a"))
				in.SandboxReady = false
				return in
			}(),
			want: Plan{},
		},
		{
			name: "first init container first",
			in:   input(pod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a")),
			want: Plan{Start: []Start{{Name: "i1", Init: true}}},
		},
		{
			name: "running init container: wait",
			in:   input(pod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"), run("x", "i1", 0, time.Second)),
			want: Plan{},
		},
		{
			name: "second init after the first succeeded",
			in:   input(pod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"), exited("x", "i1", 0, 0, time.Second, time.Second)),
			want: Plan{Start: []Start{{Name: "i2", Init: true}}},
		},
		{
			name: "regular containers after all init",
			in: input(pod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
				exited("x", "i1", 0, 0, time.Second, time.Second), exited("y", "i2", 0, 0, time.Second, time.Second)),
			want: Plan{Start: []Start{{Name: "a"}}},
		},
		{
			name: "failed init with Never: nothing",
			in:   input(pod(corev1.RestartPolicyNever, []string{"i1"}, "a"), exited("x", "i1", 0, 1, time.Second, time.Second)),
			want: Plan{},
		},
		{
			name: "failed init with Always: back-off then restart",
			in:   input(pod(corev1.RestartPolicyAlways, []string{"i1"}, "a"), exited("x", "i1", 0, 1, time.Second, time.Second)),
			want: Plan{BackOff: map[string]BackOff{"i1": {initial, "x"}}, Requeue: initial - time.Second,
				Events: []Event{{"Warning", "BackOff", "Back-off restarting failed container i1 in pod p_ns(u1)"}}},
		},
		{
			name: "crash: first back-off step",
			in:   input(pod(corev1.RestartPolicyAlways, nil, "a"), exited("x", "a", 0, 1, time.Minute, 2*time.Second)),
			want: Plan{BackOff: map[string]BackOff{"a": {initial, "x"}}, Requeue: initial - 2*time.Second,
				Events: []Event{{"Warning", "BackOff", "Back-off restarting failed container a in pod p_ns(u1)"}}},
		},
		{
			name: "crash: back-off over, restart with the next attempt",
			in: func() Input {
				in := input(pod(corev1.RestartPolicyAlways, nil, "a"), exited("x", "a", 3, 1, time.Minute, initial))
				in.BackOff = map[string]BackOff{"a": {initial, "x"}}
				return in
			}(),
			want: Plan{BackOff: map[string]BackOff{"a": {initial, "x"}}, Start: []Start{{Name: "a", Attempt: 4}}},
		},
		{
			name: "crash again: delay doubles",
			in: func() Input {
				in := input(pod(corev1.RestartPolicyAlways, nil, "a"), exited("y", "a", 1, 1, time.Minute, 0), exited("x", "a", 0, 1, time.Minute, 2*time.Minute))
				in.BackOff = map[string]BackOff{"a": {initial, "x"}}
				return in
			}(),
			want: Plan{BackOff: map[string]BackOff{"a": {2 * initial, "y"}}, Requeue: 2 * initial,
				Events: []Event{{"Warning", "BackOff", "Back-off restarting failed container a in pod p_ns(u1)"}}},
		},
		{
			name: "crash again: delay capped",
			in: func() Input {
				in := input(pod(corev1.RestartPolicyAlways, nil, "a"), exited("y", "a", 9, 1, time.Minute, 0))
				in.BackOff = map[string]BackOff{"a": {maxBO, "x"}}
				return in
			}(),
			want: Plan{BackOff: map[string]BackOff{"a": {maxBO, "y"}}, Requeue: maxBO,
				Events: []Event{{"Warning", "BackOff", "Back-off restarting failed container a in pod p_ns(u1)"}}},
		},
		{
			name: "crash after a long run: back-off resets",
			in: func() Input {
				in := input(pod(corev1.RestartPolicyAlways, nil, "a"), exited("y", "a", 9, 1, 2*maxBO, 0))
				in.BackOff = map[string]BackOff{"a": {maxBO, "x"}}
				return in
			}(),
			want: Plan{BackOff: map[string]BackOff{"a": {initial, "y"}}, Requeue: initial,
				Events: []Event{{"Warning", "BackOff", "Back-off restarting failed container a in pod p_ns(u1)"}}},
		},
		{
			name: "OnFailure: success is not restarted",
			in:   input(pod(corev1.RestartPolicyOnFailure, nil, "a"), exited("x", "a", 0, 0, time.Minute, 0)),
			want: Plan{},
		},
		{
			name: "Never: failure is not restarted",
			in:   input(pod(corev1.RestartPolicyNever, nil, "a"), exited("x", "a", 0, 1, time.Minute, 0)),
			want: Plan{},
		},
		{
			name: "liveness failure kills",
			in: func() Input {
				in := input(pod(corev1.RestartPolicyAlways, nil, "a"), run("x", "a", 0, time.Minute))
				in.Probes = map[string]Probes{"x": {LivenessFailed: true}}
				return in
			}(),
			want: Plan{Kill: []Kill{{ID: "x", Name: "a", Reason: KillUnhealthy, Message: "Container a failed liveness probe, will be restarted", Grace: 30 * time.Second}}},
		},
		{
			name: "startup failure kills",
			in: func() Input {
				in := input(pod(corev1.RestartPolicyAlways, nil, "a"), run("x", "a", 0, time.Minute))
				in.Probes = map[string]Probes{"x": {StartupFailed: true}}
				return in
			}(),
			want: Plan{Kill: []Kill{{ID: "x", Name: "a", Reason: KillUnhealthy, Message: "Container a failed startup probe, will be restarted", Grace: 30 * time.Second}}},
		},
		{
			name: "deletion kills everything running with preStop",
			in:   input(deleting, run("x", "a", 0, time.Minute), exited("y", "b", 0, 0, time.Minute, 0)),
			want: Plan{Kill: []Kill{{ID: "x", Name: "a", Reason: KillDeleting, Grace: 5 * time.Second, PreStop: true}}},
		},
		{
			name: "deletion done once nothing runs",
			in:   input(deleting, exited("x", "a", 0, 0, time.Minute, 0)),
			want: Plan{Done: true},
		},
		{
			name: "terminal pod starts nothing",
			in:   input(succeeded, exited("x", "a", 0, 0, time.Minute, 0)),
			want: Plan{},
		},
		{
			name: "active deadline exceeded kills",
			in:   input(deadline, run("x", "a", 0, time.Minute)),
			want: Plan{Kill: []Kill{{ID: "x", Name: "a", Reason: KillTerminal, Grace: 30 * time.Second}}},
		},
		{
			name: "active deadline ahead: requeue for it",
			in:   input(beforeDeadline, run("x", "a", 0, time.Minute)),
			want: Plan{Requeue: 10 * time.Second},
		},
		{
			name: "old attempts are removed",
			in: input(pod(corev1.RestartPolicyAlways, nil, "a"), run("z", "a", 2, time.Minute),
				exited("y", "a", 1, 1, time.Minute, 2*time.Minute), exited("x", "a", 0, 1, time.Minute, 4*time.Minute)),
			want: Plan{Remove: []string{"x"}},
		},
		{
			name: "start failure waits for its retry",
			in: func() Input {
				in := input(pod(corev1.RestartPolicyAlways, nil, "a"))
				in.StartFailures = map[string]StartFailure{"a": {Reason: ReasonErrImagePull, Count: 1, RetryAt: t0.Add(time.Second)}}
				return in
			}(),
			want: Plan{Requeue: time.Second},
		},
		{
			name: "start failure retried when due",
			in: func() Input {
				in := input(pod(corev1.RestartPolicyAlways, nil, "a"))
				in.StartFailures = map[string]StartFailure{"a": {Reason: ReasonErrImagePull, Count: 1, RetryAt: t0}}
				return in
			}(),
			want: Plan{Start: []Start{{Name: "a"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.in)
			if tc.want.BackOff == nil {
				tc.want.BackOff = map[string]BackOff{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func condition(st corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func state(cs corev1.ContainerStatus) string {
	switch {
	case cs.State.Running != nil:
		return "Running"
	case cs.State.Terminated != nil:
		return "Terminated:" + cs.State.Terminated.Reason
	case cs.State.Waiting != nil:
		return "Waiting:" + cs.State.Waiting.Reason
	}
	return ""
}

func TestStatus(t *testing.T) {
	withReadiness := pod(corev1.RestartPolicyAlways, nil, "a")
	withReadiness.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	type want struct {
		phase        corev1.PodPhase
		states       []string // container states, init first
		ready, initd corev1.ConditionStatus
		restarts     int32
		lastState    string
		readyToStart corev1.ConditionStatus
	}
	oom := exited("y", "a", 1, 137, time.Minute, 0)
	oom.Reason = runtime.ReasonOOMKilled
	for _, tc := range []struct {
		name string
		in   Input
		want want
	}{
		{"creating", func() Input {
			in := input(pod(corev1.RestartPolicyAlways, nil, "a"))
			in.SandboxReady = false
			return in
		}(),
			want{corev1.PodPending, []string{"Waiting:ContainerCreating"}, "False", "True", 0, "", "False"}},
		{"running", input(pod(corev1.RestartPolicyAlways, nil, "a"), run("x", "a", 0, time.Second)),
			want{corev1.PodRunning, []string{"Running"}, "True", "True", 0, "", "True"}},
		{"running, not ready", input(withReadiness, run("x", "a", 0, time.Second)),
			want{corev1.PodRunning, []string{"Running"}, "False", "True", 0, "", "True"}},
		{"running, ready", func() Input {
			in := input(withReadiness, run("x", "a", 0, time.Second))
			in.Probes = map[string]Probes{"x": {Ready: true}}
			return in
		}(), want{corev1.PodRunning, []string{"Running"}, "True", "True", 0, "", "True"}},
		{"initializing", input(pod(corev1.RestartPolicyAlways, []string{"i"}, "a"), run("x", "i", 0, time.Second)),
			want{corev1.PodPending, []string{"Running", "Waiting:PodInitializing"}, "False", "False", 0, "", "True"}},
		{"init failed, Never", input(pod(corev1.RestartPolicyNever, []string{"i"}, "a"), exited("x", "i", 0, 2, time.Second, 0)),
			want{corev1.PodFailed, []string{"Terminated:Error", "Waiting:PodInitializing"}, "False", "False", 0, "", "False"}},
		{"crash loop", func() Input {
			in := input(pod(corev1.RestartPolicyAlways, nil, "a"), exited("y", "a", 1, 1, time.Minute, time.Second), exited("x", "a", 0, 1, time.Minute, time.Hour))
			in.BackOff = map[string]BackOff{"a": {initial, "y"}}
			return in
		}(), want{corev1.PodRunning, []string{"Waiting:CrashLoopBackOff"}, "False", "True", 1, "Error", "True"}},
		{"restarted after OOM", input(pod(corev1.RestartPolicyAlways, nil, "a"), run("z", "a", 2, time.Second), oom),
			want{corev1.PodRunning, []string{"Running"}, "True", "True", 2, "OOMKilled", "True"}},
		{"succeeded", input(pod(corev1.RestartPolicyOnFailure, nil, "a", "b"), exited("x", "a", 0, 0, time.Minute, 0), exited("y", "b", 0, 0, time.Minute, 0)),
			want{corev1.PodSucceeded, []string{"Terminated:Completed", "Terminated:Completed"}, "False", "True", 0, "", "False"}},
		{"failed", input(pod(corev1.RestartPolicyNever, nil, "a", "b"), exited("x", "a", 0, 0, time.Minute, 0), exited("y", "b", 0, 3, time.Minute, 0)),
			want{corev1.PodFailed, []string{"Terminated:Completed", "Terminated:Error"}, "False", "True", 0, "", "False"}},
		{"one done, one running", input(pod(corev1.RestartPolicyNever, nil, "a", "b"), exited("x", "a", 0, 0, time.Minute, 0), run("y", "b", 0, time.Minute)),
			want{corev1.PodRunning, []string{"Terminated:Completed", "Running"}, "False", "True", 0, "", "True"}},
		{"image pull error", func() Input {
			in := input(pod(corev1.RestartPolicyAlways, nil, "a"))
			in.StartFailures = map[string]StartFailure{"a": {Reason: ReasonErrImagePull, Count: 1}}
			return in
		}(), want{corev1.PodPending, []string{"Waiting:ErrImagePull"}, "False", "True", 0, "", "True"}},
		{"image pull back-off", func() Input {
			in := input(pod(corev1.RestartPolicyAlways, nil, "a"))
			in.StartFailures = map[string]StartFailure{"a": {Reason: ReasonErrImagePull, Count: 2}}
			return in
		}(), want{corev1.PodPending, []string{"Waiting:ImagePullBackOff"}, "False", "True", 0, "", "True"}},
		{"config error", func() Input {
			in := input(pod(corev1.RestartPolicyAlways, nil, "a"))
			in.StartFailures = map[string]StartFailure{"a": {Reason: ReasonConfigError, Count: 3}}
			return in
		}(), want{corev1.PodPending, []string{"Waiting:CreateContainerConfigError"}, "False", "True", 0, "", "True"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := Status(tc.in)
			var states []string
			for _, cs := range st.InitContainerStatuses {
				states = append(states, state(cs))
			}
			for _, cs := range st.ContainerStatuses {
				states = append(states, state(cs))
			}
			if st.Phase != tc.want.phase {
				t.Errorf("phase %s, want %s", st.Phase, tc.want.phase)
			}
			if !reflect.DeepEqual(states, tc.want.states) {
				t.Errorf("states %v, want %v", states, tc.want.states)
			}
			if c := condition(st, corev1.PodReady); c.Status != tc.want.ready {
				t.Errorf("Ready %s, want %s", c.Status, tc.want.ready)
			}
			if c := condition(st, corev1.ContainersReady); c.Status != tc.want.ready {
				t.Errorf("ContainersReady %s, want %s", c.Status, tc.want.ready)
			}
			if c := condition(st, corev1.PodInitialized); c.Status != tc.want.initd {
				t.Errorf("Initialized %s, want %s", c.Status, tc.want.initd)
			}
			if c := condition(st, corev1.PodReadyToStartContainers); c.Status != tc.want.readyToStart {
				t.Errorf("PodReadyToStartContainers %s, want %s", c.Status, tc.want.readyToStart)
			}
			if c := condition(st, corev1.PodScheduled); c.Status != corev1.ConditionTrue {
				t.Errorf("PodScheduled %s", c.Status)
			}
			cs := st.ContainerStatuses[len(st.ContainerStatuses)-1]
			if len(st.ContainerStatuses) == 1 {
				if cs.RestartCount != tc.want.restarts {
					t.Errorf("restartCount %d, want %d", cs.RestartCount, tc.want.restarts)
				}
				last := ""
				if cs.LastTerminationState.Terminated != nil {
					last = cs.LastTerminationState.Terminated.Reason
				}
				if last != tc.want.lastState {
					t.Errorf("lastState %q, want %q", last, tc.want.lastState)
				}
			}
			if st.PodIP != "127.1.0.2" || len(st.PodIPs) != 1 || st.HostIP != "127.0.0.1" || st.StartTime == nil {
				t.Errorf("addresses/startTime: %q %v %q %v", st.PodIP, st.PodIPs, st.HostIP, st.StartTime)
			}
		})
	}
}

func TestConditionTransitionTimeKept(t *testing.T) {
	p := pod(corev1.RestartPolicyAlways, nil, "a")
	in := input(p, run("x", "a", 0, time.Second))
	first := Status(in)
	p.Status = first
	in.Now = t0.Add(time.Minute)
	second := Status(in)
	if !reflect.DeepEqual(first, second) {
		t.Errorf("status changed without a change:\n%+v\n%+v", first, second)
	}
	in.Containers = []runtime.Status{exited("x", "a", 0, 1, time.Second, 0)}
	in.BackOff = map[string]BackOff{"a": {initial, "x"}}
	third := Status(in)
	if c := condition(third, corev1.PodReady); c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Equal(&metav1.Time{Time: t0.Add(time.Minute)}) {
		t.Errorf("Ready after crash: %+v", c)
	}
}

func TestQOSClass(t *testing.T) {
	mk := func(req, lim corev1.ResourceList) *corev1.Pod {
		p := pod(corev1.RestartPolicyAlways, nil, "a")
		p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: req, Limits: lim}
		return p
	}
	both := corev1.ResourceList{corev1.ResourceCPU: resourceQ("100m"), corev1.ResourceMemory: resourceQ("64Mi")}
	for _, tc := range []struct {
		pod  *corev1.Pod
		want corev1.PodQOSClass
	}{
		{mk(nil, nil), corev1.PodQOSBestEffort},
		{mk(both, both), corev1.PodQOSGuaranteed},
		{mk(nil, both), corev1.PodQOSGuaranteed},
		{mk(both, nil), corev1.PodQOSBurstable},
	} {
		if got := QOSClass(tc.pod); got != tc.want {
			t.Errorf("QOS %s, want %s", got, tc.want)
		}
	}
}

func ptrInt64(v int64) *int64 { return &v }

func TestDeadlineStatus(t *testing.T) {
	p := pod(corev1.RestartPolicyAlways, nil, "a")
	p.Spec.ActiveDeadlineSeconds = ptrInt64(1)
	p.Status.StartTime = &metav1.Time{Time: t0.Add(-time.Minute)}
	st := Status(input(p, exited("x", "a", 0, 137, time.Minute, 0)))
	if st.Phase != corev1.PodFailed || st.Reason != ReasonDeadlineExceeded {
		t.Errorf("phase %s reason %s", st.Phase, st.Reason)
	}
}
