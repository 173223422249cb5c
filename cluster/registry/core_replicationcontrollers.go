package registry

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// core/v1 ReplicationControllers (run by cluster/controllers/replicationcontroller)
// and PodTemplates (objects only).

func replicationControllers() *Resource {
	return &Resource{
		GroupVersion: corev1.SchemeGroupVersion,
		Name:         "replicationcontrollers",
		Singular:     "replicationcontroller",
		Kind:         "ReplicationController",
		ListKind:     "ReplicationControllerList",
		Namespaced:   true,
		ShortNames:   []string{"rc"},
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &corev1.ReplicationController{} },
		NewList:      func() runtime.Object { return &corev1.ReplicationControllerList{} },
		Status:       true,
		Scale: &Scale{
			Get: func(obj runtime.Object) (int32, int32, string) {
				rc := obj.(*corev1.ReplicationController)
				return int32(replicas(rc.Spec.Replicas)), rc.Status.Replicas, labels.SelectorFromSet(rc.Spec.Selector).String()
			},
			Set: func(obj runtime.Object, n int32) { obj.(*corev1.ReplicationController).Spec.Replicas = &n },
		},
		Default: func(obj runtime.Object) {
			rc := obj.(*corev1.ReplicationController)
			if t := rc.Spec.Template; t != nil && t.Labels != nil {
				// A controller without a selector selects its template's labels.
				if len(rc.Spec.Selector) == 0 {
					rc.Spec.Selector = t.Labels
				}
				if len(rc.Labels) == 0 {
					rc.Labels = t.Labels
				}
			}
			if rc.Spec.Replicas == nil {
				rc.Spec.Replicas = ptrTo[int32](1)
			}
			if rc.Spec.Template != nil {
				defaultPodSpec(&rc.Spec.Template.Spec)
			}
		},
		PrepareForCreate: func(obj runtime.Object) {
			rc := obj.(*corev1.ReplicationController)
			if rc.Spec.Template != nil {
				dropDisabledPodSpecFields(&rc.Spec.Template.Spec, nil)
			}
			rc.Status = corev1.ReplicationControllerStatus{}
			rc.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*corev1.ReplicationController), oldObj.(*corev1.ReplicationController)
			if n.Spec.Template != nil {
				var old *corev1.PodSpec
				if o.Spec.Template != nil {
					old = &o.Spec.Template.Spec
				}
				dropDisabledPodSpecFields(&n.Spec.Template.Spec, old)
			}
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			rc := obj.(*corev1.ReplicationController)
			errs := validateMeta(&rc.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			return append(errs, validateRCSpec(&rc.Spec, field.NewPath("spec"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			// A ReplicationController's selector may change, unlike a ReplicaSet's.
			n, o := newObj.(*corev1.ReplicationController), oldObj.(*corev1.ReplicationController)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateRCSpec(&n.Spec, field.NewPath("spec"))...)
			return append(errs, validateRCStatus(&n.Status, field.NewPath("status"))...)
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*corev1.ReplicationController).Status.Replicas))}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Desired", "integer", corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]),
			column("Current", "integer", corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]),
			column("Ready", "integer", corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]),
			ageColumn(),
			wideColumn("Containers", "string", "Names of each container in the template."),
			wideColumn("Images", "string", "Images referenced by each container in the template."),
			wideColumn("Selector", "string", corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"]),
		},
		Row: func(obj runtime.Object) []any {
			rc := obj.(*corev1.ReplicationController)
			var names, images string
			if rc.Spec.Template != nil {
				names, images = containerNamesImages(&rc.Spec.Template.Spec)
			}
			return []any{rc.Name, replicas(rc.Spec.Replicas), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas),
				since(rc.CreationTimestamp), names, images, labels.FormatLabels(rc.Spec.Selector)}
		},
	}
}

func validateRCSpec(s *corev1.ReplicationControllerSpec, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))
	sel := labels.SelectorFromSet(s.Selector)
	if sel.Empty() {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	}
	if s.Replicas == nil {
		errs = append(errs, field.Required(p.Child("replicas"), ""))
	} else {
		errs = append(errs, nonNegative(int64(*s.Replicas), p.Child("replicas"))...)
	}
	tp := p.Child("template")
	if s.Template == nil {
		return append(errs, field.Required(tp, ""))
	}
	if !sel.Empty() && !sel.Matches(labels.Set(s.Template.Labels)) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, validatePodTemplateSpec(s.Template, tp)...)
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), s.Template.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if s.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

func validateRCStatus(s *corev1.ReplicationControllerStatus, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(s.Replicas), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(s.FullyLabeledReplicas), p.Child("fullyLabeledReplicas"))...)
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	const msg = "cannot be greater than status.replicas"
	errs = append(errs, statusNotGreater(s.FullyLabeledReplicas, s.Replicas, p.Child("fullyLabeledReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.ReadyReplicas, s.Replicas, p.Child("readyReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.AvailableReplicas, s.Replicas, p.Child("availableReplicas"), msg)...)
	return append(errs, statusNotGreater(s.AvailableReplicas, s.ReadyReplicas, p.Child("availableReplicas"), "cannot be greater than readyReplicas")...)
}

func podTemplates() *Resource {
	return &Resource{
		GroupVersion: corev1.SchemeGroupVersion,
		Name:         "podtemplates",
		Singular:     "podtemplate",
		Kind:         "PodTemplate",
		ListKind:     "PodTemplateList",
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.PodTemplate{} },
		NewList:      func() runtime.Object { return &corev1.PodTemplateList{} },
		Default: func(obj runtime.Object) {
			defaultPodSpec(&obj.(*corev1.PodTemplate).Template.Spec)
		},
		PrepareForCreate: func(obj runtime.Object) {
			pt := obj.(*corev1.PodTemplate)
			dropDisabledPodSpecFields(&pt.Template.Spec, nil)
			pt.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*corev1.PodTemplate), oldObj.(*corev1.PodTemplate)
			dropDisabledPodSpecFields(&n.Template.Spec, &o.Template.Spec)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Template, &o.Template)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			pt := obj.(*corev1.PodTemplate)
			errs := validateMeta(&pt.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			return append(errs, validatePodTemplateSpec(&pt.Template, field.NewPath("template"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*corev1.PodTemplate), oldObj.(*corev1.PodTemplate)
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validatePodTemplateSpec(&n.Template, field.NewPath("template"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Containers", "string", "Names of each container in the template."),
			column("Images", "string", "Images referenced by each container in the template."),
			column("Pod Labels", "string", "The labels for the pod template."),
		},
		Row: func(obj runtime.Object) []any {
			pt := obj.(*corev1.PodTemplate)
			names, images := containerNamesImages(&pt.Template.Spec)
			return []any{pt.Name, names, images, labels.FormatLabels(pt.Template.Labels)}
		},
	}
}
