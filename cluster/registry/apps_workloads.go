package registry

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// What deployments and replica sets share: a template whose pods the
// selector must match and which always restart.

// validateReplicaSetTemplate checks a deployment's or replica set's pod
// template at p (spec.template) against the workload's selector.
func validateReplicaSetTemplate(t *corev1.PodTemplateSpec, sel labels.Selector, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sel == nil {
		sel = labels.Nothing()
	}
	if !sel.Empty() && !sel.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(p.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, validatePodTemplateSpec(t, p)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(p.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
	}
	return errs
}

func replicas(r *int32) int64 {
	if r == nil {
		return 1
	}
	return int64(*r)
}

// workloadWide gives the CONTAINERS, IMAGES and SELECTOR cells of -o wide.
func workloadWide(t *corev1.PodTemplateSpec, sel *metav1.LabelSelector) []any {
	names, images := containerNamesImages(&t.Spec)
	return []any{names, images, selectorString(sel)}
}

func workloadWideColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		wideColumn("Containers", "string", "Names of each container in the template."),
		wideColumn("Images", "string", "Images referenced by each container in the template."),
		wideColumn("Selector", "string", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
	}
}

func statusNotGreater(v, max int32, p *field.Path, msg string) field.ErrorList {
	if v > max {
		return field.ErrorList{field.Invalid(p, v, msg)}
	}
	return nil
}
