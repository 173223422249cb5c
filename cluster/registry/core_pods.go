package registry

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

func pods(cfg Config) *Resource {
	var admit func(runtime.Object) field.ErrorList
	if !cfg.AdmitUnsupportedPodFields {
		admit = func(obj runtime.Object) field.ErrorList { return refuseUnsupportedPodFields(obj.(*corev1.Pod)) }
	}
	return &Resource{
		GroupVersion: corev1.SchemeGroupVersion,
		Name:         "pods",
		Singular:     "pod",
		Kind:         "Pod",
		ListKind:     "PodList",
		Namespaced:   true,
		ShortNames:   []string{"po"},
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &corev1.Pod{} },
		NewList:      func() runtime.Object { return &corev1.PodList{} },
		Status:       true,
		Default:      func(obj runtime.Object) { defaultPod(obj.(*corev1.Pod)) },
		PrepareForCreate: func(obj runtime.Object) {
			preparePodForCreate(obj.(*corev1.Pod), cfg)
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*corev1.Pod), oldObj.(*corev1.Pod)
			dropDisabledPodSpecFields(&n.Spec, &o.Spec)
			n.Spec.DeprecatedServiceAccount = n.Spec.ServiceAccountName
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate:       func(obj runtime.Object) field.ErrorList { return validatePod(obj.(*corev1.Pod)) },
		ValidateUpdate: func(n, o runtime.Object) field.ErrorList { return validatePodUpdate(n.(*corev1.Pod), o.(*corev1.Pod)) },
		Admit:          admit,
		Fields:         func(obj runtime.Object) fields.Set { return podFields(obj.(*corev1.Pod)) },
		Columns:        podColumns(),
		Row:            func(obj runtime.Object) []any { return podRow(obj.(*corev1.Pod)) },
		GracefulDelete: func(obj runtime.Object, requested *int64) (int64, bool) {
			g := podGracePeriod(obj.(*corev1.Pod), requested)
			return g, g > 0
		},
	}
}

// preparePodForCreate resets the status as Kubernetes does and applies what
// Kubernetes' admission plugins add to every new pod: the default service
// account, the default not-ready/unreachable tolerations and the priority.
func preparePodForCreate(pod *corev1.Pod, cfg Config) {
	dropDisabledPodSpecFields(&pod.Spec, nil)
	pod.Generation = 1
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	addDefaultTolerations(&pod.Spec, cfg)
	if pod.Spec.Priority == nil {
		// The strategies see no stored objects, so only the system
		// PriorityClasses resolve; other names give 0 (Kubernetes' Priority
		// admission reads the class, and refuses a missing one).
		var p int32
		for _, pc := range SystemPriorityClasses() {
			if pc.Name == pod.Spec.PriorityClassName {
				p = pc.Value
			}
		}
		pod.Spec.Priority = &p
	}
	if pod.Spec.PreemptionPolicy == nil {
		pod.Spec.PreemptionPolicy = ptrTo(corev1.PreemptLowerPriority)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: podQOS(&pod.Spec)}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = []corev1.PodCondition{{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		}}
	}
}

func addDefaultTolerations(spec *corev1.PodSpec, cfg Config) {
	tolerates := func(key string) bool {
		for _, t := range spec.Tolerations {
			if (t.Key == key || t.Key == "") && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
				return true
			}
		}
		return false
	}
	notReady, unreachable := tolerates(corev1.TaintNodeNotReady), tolerates(corev1.TaintNodeUnreachable)
	if !notReady {
		spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
			Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute,
			TolerationSeconds: ptrTo(cfg.NotReadyTolerationSeconds),
		})
	}
	if !unreachable {
		spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
			Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute,
			TolerationSeconds: ptrTo(cfg.UnreachableTolerationSeconds),
		})
	}
}

// podQOS is the pod's quality-of-service class from its containers' CPU and
// memory requests and limits.
func podQOS(spec *corev1.PodSpec) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	add := func(into corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
		if cur, ok := into[name]; ok {
			cur.Add(q)
			into[name] = cur
		} else {
			into[name] = q.DeepCopy()
		}
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := c.Resources.Requests[name]; ok && !q.IsZero() {
					add(requests, name, q)
				}
				if q, ok := c.Resources.Limits[name]; ok && !q.IsZero() {
					add(limits, name, q)
				} else {
					guaranteed = false
				}
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func validatePod(pod *corev1.Pod) field.ErrorList {
	errs := validateMeta(&pod.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	specPath := field.NewPath("spec")
	errs = append(errs, validatePodSpec(&pod.Spec, specPath)...)
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	return errs
}

const podUpdatableFields = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`," +
	"`spec.tolerations` (only additions to existing tolerations)," +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// validatePodUpdate checks an update of a pod or of its status: a pod's spec
// is immutable except for images, a shorter activeDeadlineSeconds, added
// tolerations and removed scheduling gates.
func validatePodUpdate(n, o *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
	specPath := field.NewPath("spec")
	errs = append(errs, validatePodSpec(&n.Spec, specPath)...)
	if len(n.Spec.Containers) != len(o.Spec.Containers) {
		return append(errs, field.Forbidden(specPath.Child("containers"), "pod updates may not add or remove containers"))
	}
	if len(n.Spec.InitContainers) != len(o.Spec.InitContainers) {
		return append(errs, field.Forbidden(specPath.Child("initContainers"), "pod updates may not add or remove containers"))
	}
	switch nd, od := n.Spec.ActiveDeadlineSeconds, o.Spec.ActiveDeadlineSeconds; {
	case nd != nil && od != nil && *nd > *od:
		errs = append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), *nd, "must be less than or equal to previous value"))
	case nd == nil && od != nil:
		errs = append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), nd, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, validateOnlyAddedTolerations(n.Spec.Tolerations, o.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyRemovedGates(n.Spec.SchedulingGates, o.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)
	if apiequality.Semantic.DeepEqual(n.Spec, o.Spec) {
		return append(errs, validatePodStatus(&n.Status, &o.Status)...)
	}
	munged := n.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = o.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = o.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = o.Spec.ActiveDeadlineSeconds
	munged.Tolerations = o.Spec.Tolerations
	munged.SchedulingGates = o.Spec.SchedulingGates
	if og, ng := o.Spec.TerminationGracePeriodSeconds, munged.TerminationGracePeriodSeconds; og != nil && *og < 0 && ng != nil && *ng == 1 {
		munged.TerminationGracePeriodSeconds = og
	}
	if !apiequality.Semantic.DeepEqual(*munged, o.Spec) {
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v", podUpdatableFields, diff.Diff(o.Spec, *munged))))
	}
	return append(errs, validatePodStatus(&n.Status, &o.Status)...)
}

func validateOnlyAddedTolerations(n, o []corev1.Toleration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, old := range o {
		found := false
		for _, t := range n {
			old2 := old
			old2.TolerationSeconds = t.TolerationSeconds
			if apiequality.Semantic.DeepEqual(old2, t) {
				found = true
				break
			}
		}
		if !found {
			errs = append(errs, field.Forbidden(p.Index(i), "existing toleration can not be modified except its tolerationSeconds"))
		}
	}
	return errs
}

func validateOnlyRemovedGates(n, o []corev1.PodSchedulingGate, p *field.Path) field.ErrorList {
	old := map[string]bool{}
	for _, g := range o {
		old[g.Name] = true
	}
	for _, g := range n {
		if !old[g.Name] {
			return field.ErrorList{field.Forbidden(p, "only deletion is allowed, but found new scheduling gate '"+g.Name+"'")}
		}
	}
	return nil
}

func validatePodStatus(s, old *corev1.PodStatus) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("status")
	if s.NominatedNodeName != "" {
		for _, msg := range apivalidation.NameIsDNSSubdomain(s.NominatedNodeName, false) {
			errs = append(errs, field.Invalid(p.Child("nominatedNodeName"), s.NominatedNodeName, msg))
		}
	}
	errs = append(errs, validatePodIPs(s, old)...)
	return append(errs, validateHostIPs(s, old)...)
}

// validatePodIPs checks status.podIPs as Kubernetes does: each a valid IP
// (those already stored may stay as they are), at most one per family, the
// first equal to podIP. Loopback pod IPs are valid pod IPs.
func validatePodIPs(s, old *corev1.PodStatus) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("status", "podIPs")
	var existing []string
	for _, ip := range old.PodIPs {
		existing = append(existing, ip.IP)
	}
	ips := make([]string, 0, len(s.PodIPs))
	for i, ip := range s.PodIPs {
		errs = append(errs, validateLegacyIP(p.Index(i), ip.IP, existing)...)
		ips = append(ips, ip.IP)
	}
	if len(ips) > 1 {
		dual, err := netutils.IsDualStackIPStrings(ips)
		if err != nil {
			errs = append(errs, field.InternalError(p, fmt.Errorf("failed to check for dual stack with error:%w", err)))
		}
		if !dual || len(ips) > 2 {
			errs = append(errs, field.Invalid(p, s.PodIPs, "may specify no more than one IP for each IP family"))
		}
	}
	switch hasIP, hasIPs := s.PodIP != "", len(s.PodIPs) > 0; {
	case hasIP != hasIPs:
		errs = append(errs, field.Invalid(p, s.PodIPs, "podIP and podIPs must either both be set or both be unset"))
	case hasIPs && s.PodIP != s.PodIPs[0].IP:
		errs = append(errs, field.Invalid(p.Index(0).Child("ip"), s.PodIPs[0].IP, "must be equal to `podIP`"))
	}
	return errs
}

// validateHostIPs checks status.hostIPs as Kubernetes does.
func validateHostIPs(s, old *corev1.PodStatus) field.ErrorList {
	if len(s.HostIPs) == 0 {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("status", "hostIPs")
	if s.HostIP != s.HostIPs[0].IP {
		errs = append(errs, field.Invalid(p.Index(0).Child("ip"), s.HostIPs[0].IP, "must be equal to `hostIP`"))
	}
	var existing []string
	for _, ip := range old.HostIPs {
		existing = append(existing, ip.IP)
	}
	ips := make([]string, 0, len(s.HostIPs))
	for i, ip := range s.HostIPs {
		errs = append(errs, validateLegacyIP(p.Index(i), ip.IP, existing)...)
		ips = append(ips, ip.IP)
	}
	if len(ips) > 1 {
		dual, err := netutils.IsDualStackIPStrings(ips)
		if err != nil {
			errs = append(errs, field.InternalError(p, fmt.Errorf("failed to check for dual stack with error:%w", err)))
		}
		if !dual || len(ips) > 2 {
			errs = append(errs, field.Invalid(p, s.HostIPs, "may specify no more than one IP for each IP family"))
		}
	}
	return errs
}

func podFields(pod *corev1.Pod) fields.Set {
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIP,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}

// podGracePeriod is Kubernetes' graceful deletion rule for pods: the
// requested period, else the pod's terminationGracePeriodSeconds; 0 for a
// pod not yet scheduled or already terminated; a negative period becomes 1.
func podGracePeriod(pod *corev1.Pod, requested *int64) int64 {
	var period int64
	switch {
	case requested != nil:
		period = *requested
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		period = 0
	}
	if period < 0 {
		period = 1
	}
	return period
}

func podColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
		column("Status", "string", "The aggregate status of the containers in this pod."),
		column("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
		ageColumn(),
		wideColumn("IP", "string", corev1.PodStatus{}.SwaggerDoc()["podIP"]),
		wideColumn("Node", "string", corev1.PodSpec{}.SwaggerDoc()["nodeName"]),
		wideColumn("Nominated Node", "string", corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]),
		wideColumn("Readiness Gates", "string", corev1.PodSpec{}.SwaggerDoc()["readinessGates"]),
	}
}

func isRestartable(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func laterOf(cur metav1.Time, st corev1.ContainerState) metav1.Time {
	if st.Terminated != nil && cur.Before(&st.Terminated.FinishedAt) {
		return st.Terminated.FinishedAt
	}
	return cur
}

func hasCondition(conds []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// podRow is the pod's line in `kubectl get pods`, with the STATUS kubectl
// computes from the phase, the init and regular containers' states and the
// deletion timestamp.
func podRow(pod *corev1.Pod) []any {
	total := len(pod.Spec.Containers)
	ready, restarts, sidecarRestarts := 0, 0, 0
	var lastRestart, lastSidecarRestart metav1.Time
	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}
	inits := map[string]*corev1.Container{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		inits[c.Name] = c
		if isRestartable(c) {
			total++
		}
	}

	initializing := false
	for i, cs := range pod.Status.InitContainerStatuses {
		restarts += int(cs.RestartCount)
		lastRestart = laterOf(lastRestart, cs.LastTerminationState)
		sidecar := isRestartable(inits[cs.Name])
		if sidecar {
			sidecarRestarts += int(cs.RestartCount)
			lastSidecarRestart = laterOf(lastSidecarRestart, cs.LastTerminationState)
		}
		t, w := cs.State.Terminated, cs.State.Waiting
		switch {
		case t != nil && t.ExitCode == 0:
			continue
		case sidecar && cs.Started != nil && *cs.Started:
			if cs.Ready {
				ready++
			}
			continue
		case t != nil:
			switch {
			case t.Reason != "":
				reason = "Init:" + t.Reason
			case t.Signal != 0:
				reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
		case w != nil && w.Reason != "" && w.Reason != "PodInitializing":
			reason = "Init:" + w.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}

	if !initializing || hasCondition(pod.Status.Conditions, corev1.PodInitialized) {
		restarts, lastRestart = sidecarRestarts, lastSidecarRestart
		running := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := pod.Status.ContainerStatuses[i]
			restarts += int(cs.RestartCount)
			lastRestart = laterOf(lastRestart, cs.LastTerminationState)
			t, w := cs.State.Terminated, cs.State.Waiting
			switch {
			case w != nil && w.Reason != "":
				reason = w.Reason
			case t != nil && t.Reason != "":
				reason = t.Reason
			case t != nil && t.Signal != 0:
				reason = fmt.Sprintf("Signal:%d", t.Signal)
			case t != nil:
				reason = fmt.Sprintf("ExitCode:%d", t.ExitCode)
			case cs.Ready && cs.State.Running != nil:
				running = true
				ready++
			}
		}
		if reason == "Completed" && running {
			if hasCondition(pod.Status.Conditions, corev1.PodReady) {
				reason = "Running"
			} else {
				reason = "NotReady"
			}
		}
	}

	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	switch {
	case pod.DeletionTimestamp != nil && pod.Status.Reason == "NodeLost":
		reason = "Unknown"
	case pod.DeletionTimestamp != nil && !terminal:
		reason = "Terminating"
	}

	restartsStr := strconv.Itoa(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		restartsStr = fmt.Sprintf("%d (%s ago)", restarts, since(lastRestart))
	}

	ip := "<none>"
	if len(pod.Status.PodIPs) > 0 && pod.Status.PodIPs[0].IP != "" {
		ip = pod.Status.PodIPs[0].IP
	}
	node, nominated := orNone(pod.Spec.NodeName), orNone(pod.Status.NominatedNodeName)
	gates := "<none>"
	if len(pod.Spec.ReadinessGates) > 0 {
		trueCount := 0
		for _, g := range pod.Spec.ReadinessGates {
			for _, c := range pod.Status.Conditions {
				if c.Type == g.ConditionType {
					if c.Status == corev1.ConditionTrue {
						trueCount++
					}
					break
				}
			}
		}
		gates = fmt.Sprintf("%d/%d", trueCount, len(pod.Spec.ReadinessGates))
	}
	return []any{pod.Name, fmt.Sprintf("%d/%d", ready, total), reason, restartsStr, since(pod.CreationTimestamp), ip, node, nominated, gates}
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
