package registry

import (
	"fmt"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The legacy label names Kubernetes still puts on a job's pod template
// beside batch.kubernetes.io/job-name and batch.kubernetes.io/controller-uid.
const (
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
	maxParallelismIndexed    = 100000
)

func jobs() *Resource {
	return &Resource{
		GroupVersion: batchv1.SchemeGroupVersion,
		Name:         "jobs",
		Singular:     "job",
		Kind:         "Job",
		ListKind:     "JobList",
		Namespaced:   true,
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &batchv1.Job{} },
		NewList:      func() runtime.Object { return &batchv1.JobList{} },
		Status:       true,
		Default:      func(obj runtime.Object) { defaultJob(obj.(*batchv1.Job)) },
		PrepareForCreate: func(obj runtime.Object) {
			j := obj.(*batchv1.Job)
			dropDisabledPodSpecFields(&j.Spec.Template.Spec, nil)
			j.Status = batchv1.JobStatus{}
			j.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*batchv1.Job), oldObj.(*batchv1.Job)
			dropDisabledPodSpecFields(&n.Spec.Template.Spec, &o.Spec.Template.Spec)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList { return validateJobCreate(obj.(*batchv1.Job)) },
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			return validateJobUpdate(newObj.(*batchv1.Job), oldObj.(*batchv1.Job))
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
		},
		Columns: append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Status", "string", "Status of the job."),
			column("Completions", "string", "The completed job pods and the desired number of successfully finished pods."),
			column("Duration", "string", "Time required to complete the job."),
			ageColumn(),
		}, workloadWideColumns()...),
		Row: func(obj runtime.Object) []any { return jobRow(obj.(*batchv1.Job)) },
	}
}

func defaultJob(j *batchv1.Job) {
	s := &j.Spec
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = ptrTo[int32](1)
		s.Parallelism = ptrTo[int32](1)
	}
	if s.Parallelism == nil {
		s.Parallelism = ptrTo[int32](1)
	}
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			s.BackoffLimit = ptrTo[int32](1<<31 - 1)
		} else {
			s.BackoffLimit = ptrTo[int32](6)
		}
	}
	if len(j.Labels) == 0 && j.Spec.Template.Labels != nil {
		j.Labels = map[string]string{}
		for k, v := range j.Spec.Template.Labels {
			j.Labels[k] = v
		}
	}
	if s.CompletionMode == nil {
		s.CompletionMode = ptrTo(batchv1.NonIndexedCompletion)
	}
	if s.Suspend == nil {
		s.Suspend = ptrTo(false)
	}
	if s.PodReplacementPolicy == nil {
		if s.PodFailurePolicy != nil {
			s.PodReplacementPolicy = ptrTo(batchv1.Failed)
		} else {
			s.PodReplacementPolicy = ptrTo(batchv1.TerminatingOrFailed)
		}
	}
	if s.ManualSelector == nil {
		s.ManualSelector = ptrTo(false)
	}
	if pfp := s.PodFailurePolicy; pfp != nil {
		for i := range pfp.Rules {
			for k := range pfp.Rules[i].OnPodConditions {
				if pfp.Rules[i].OnPodConditions[k].Status == "" {
					pfp.Rules[i].OnPodConditions[k].Status = corev1.ConditionTrue
				}
			}
		}
	}
	defaultPodSpec(&s.Template.Spec)
}

func manualSelector(j *batchv1.Job) bool {
	return j.Spec.ManualSelector != nil && *j.Spec.ManualSelector
}

// generateJobSelector gives a job without a manual selector the selector on
// its uid and the job-name/controller-uid labels on its pod template, as
// Kubernetes does. It needs the name and uid, so it runs at validation.
func generateJobSelector(j *batchv1.Job) {
	t := &j.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for _, k := range []string{legacyJobNameLabel, batchv1.JobNameLabel} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = j.Name
		}
	}
	for _, k := range []string{legacyControllerUIDLabel, batchv1.ControllerUidLabel} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = string(j.UID)
		}
	}
	if j.Spec.Selector == nil {
		j.Spec.Selector = &metav1.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(j.UID)
	}
}

// validateJobCreate generates the selector (unless manual) and validates.
// Like Kubernetes' job strategy, it mutates the job: call it once the name
// and uid are set.
func validateJobCreate(j *batchv1.Job) field.ErrorList {
	if !manualSelector(j) {
		generateJobSelector(j)
	}
	errs := validateMeta(&j.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	errs = append(errs, validateGeneratedSelector(j)...)
	return append(errs, validateJobSpec(&j.Spec, field.NewPath("spec"))...)
}

func validateGeneratedSelector(j *batchv1.Job) field.ErrorList {
	if manualSelector(j) {
		return nil
	}
	var errs field.ErrorList
	if j.UID == "" {
		errs = append(errs, field.Required(metadataPath.Child("uid"), ""))
	}
	if v, ok := j.Spec.Template.Labels[batchv1.ControllerUidLabel]; ok && v != string(j.UID) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "template", "metadata", "labels"), j.Spec.Template.Labels, "`selector` not auto-generated"))
	}
	if j.Spec.Selector == nil {
		return errs
	}
	sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
	if err != nil {
		return errs
	}
	if !sel.Matches(labels.Set{batchv1.ControllerUidLabel: string(j.UID)}) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), j.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func validateJobSpec(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		v    *int32
	}{{"parallelism", s.Parallelism}, {"completions", s.Completions}, {"backoffLimit", s.BackoffLimit}, {"ttlSecondsAfterFinished", s.TTLSecondsAfterFinished}} {
		if f.v != nil {
			errs = append(errs, nonNegative(int64(*f.v), p.Child(f.name))...)
		}
	}
	if s.ActiveDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*s.ActiveDeadlineSeconds, p.Child("activeDeadlineSeconds"))...)
	}
	if s.CompletionMode != nil {
		switch *s.CompletionMode {
		case batchv1.NonIndexedCompletion:
		case batchv1.IndexedCompletion:
			if s.Completions == nil {
				errs = append(errs, field.Required(p.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
			}
			if s.Parallelism != nil && *s.Parallelism > maxParallelismIndexed {
				errs = append(errs, field.Invalid(p.Child("parallelism"), *s.Parallelism, fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismIndexed, batchv1.IndexedCompletion)))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("completionMode"), *s.CompletionMode, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
		}
	}
	if s.PodReplacementPolicy != nil {
		switch *s.PodReplacementPolicy {
		case batchv1.TerminatingOrFailed, batchv1.Failed:
		default:
			errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *s.PodReplacementPolicy, []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed}))
		}
	}
	if s.Selector == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err == nil && !sel.Matches(labels.Set(s.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, validatePodTemplateSpec(&s.Template, p.Child("template"))...)
	rp := p.Child("template", "spec", "restartPolicy")
	switch s.Template.Spec.RestartPolicy {
	case corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	case corev1.RestartPolicyAlways, "":
		errs = append(errs, field.Required(rp, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	default:
		errs = append(errs, field.NotSupported(rp, s.Template.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	}
	return errs
}

func validateJobUpdate(n, o *batchv1.Job) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
	p := field.NewPath("spec")
	errs = append(errs, validateJobSpec(&n.Spec, p)...)
	errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.Completions, o.Spec.Completions, p.Child("completions"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.Selector, o.Spec.Selector, p.Child("selector"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.CompletionMode, o.Spec.CompletionMode, p.Child("completionMode"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.PodFailurePolicy, o.Spec.PodFailurePolicy, p.Child("podFailurePolicy"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.BackoffLimitPerIndex, o.Spec.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.PodReplacementPolicy, o.Spec.PodReplacementPolicy, p.Child("podReplacementPolicy"))...)
	// A suspended job that never started may change its scheduling directives.
	oldTemplate := &o.Spec.Template
	if n.Spec.Suspend != nil && *n.Spec.Suspend && o.Status.StartTime == nil {
		oldTemplate = o.Spec.Template.DeepCopy()
		oldTemplate.Spec.Affinity = n.Spec.Template.Spec.Affinity
		oldTemplate.Spec.NodeSelector = n.Spec.Template.Spec.NodeSelector
		oldTemplate.Spec.Tolerations = n.Spec.Template.Spec.Tolerations
		oldTemplate.Spec.SchedulingGates = n.Spec.Template.Spec.SchedulingGates
		oldTemplate.Annotations = n.Spec.Template.Annotations
		oldTemplate.Labels = n.Spec.Template.Labels
	}
	if !apiequality.Semantic.DeepEqual(&n.Spec.Template, oldTemplate) {
		errs = append(errs, field.Invalid(p.Child("template"), n.Spec.Template, apivalidation.FieldImmutableErrorMsg))
	}
	sp := field.NewPath("status")
	for _, f := range []struct {
		name string
		v    int32
	}{{"active", n.Status.Active}, {"succeeded", n.Status.Succeeded}, {"failed", n.Status.Failed}} {
		errs = append(errs, nonNegative(int64(f.v), sp.Child(f.name))...)
	}
	if n.Status.Ready != nil {
		errs = append(errs, nonNegative(int64(*n.Status.Ready), sp.Child("ready"))...)
	}
	return errs
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func jobRow(j *batchv1.Job) []any {
	var completions string
	switch {
	case j.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	default:
		completions = fmt.Sprintf("%d/1", j.Status.Succeeded)
	}
	var took string
	switch {
	case j.Status.StartTime == nil:
	case j.Status.CompletionTime == nil:
		took = duration.HumanDuration(now().Sub(j.Status.StartTime.Time))
	default:
		took = duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}
	status := "Running"
	switch {
	case jobCondition(j, batchv1.JobComplete):
		status = "Complete"
	case jobCondition(j, batchv1.JobFailed):
		status = "Failed"
	case j.DeletionTimestamp != nil:
		status = "Terminating"
	case jobCondition(j, batchv1.JobSuspended):
		status = "Suspended"
	case jobCondition(j, batchv1.JobFailureTarget):
		status = "FailureTarget"
	case jobCondition(j, batchv1.JobSuccessCriteriaMet):
		status = "SuccessCriteriaMet"
	}
	row := []any{j.Name, status, completions, took, since(j.CreationTimestamp)}
	return append(row, workloadWide(&j.Spec.Template, j.Spec.Selector)...)
}
