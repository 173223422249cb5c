package registry

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// apps/v1 StatefulSets, run by cluster/controllers/statefulset.

func statefulSets(cfg Config) *Resource {
	var admit func(runtime.Object) field.ErrorList
	if !cfg.AdmitUnsupportedPodFields {
		admit = func(obj runtime.Object) field.ErrorList {
			return refuseVolumeClaimTemplates(obj.(*appsv1.StatefulSet))
		}
	}
	return &Resource{
		GroupVersion: appsv1.SchemeGroupVersion,
		Name:         "statefulsets",
		Singular:     "statefulset",
		Kind:         "StatefulSet",
		ListKind:     "StatefulSetList",
		Namespaced:   true,
		ShortNames:   []string{"sts"},
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &appsv1.StatefulSet{} },
		NewList:      func() runtime.Object { return &appsv1.StatefulSetList{} },
		Status:       true,
		Scale: &Scale{
			Get: func(obj runtime.Object) (int32, int32, string) {
				ss := obj.(*appsv1.StatefulSet)
				return int32(replicas(ss.Spec.Replicas)), ss.Status.Replicas, scaleSelector(ss.Spec.Selector)
			},
			Set: func(obj runtime.Object, n int32) { obj.(*appsv1.StatefulSet).Spec.Replicas = &n },
		},
		Default: func(obj runtime.Object) { defaultStatefulSet(obj.(*appsv1.StatefulSet)) },
		PrepareForCreate: func(obj runtime.Object) {
			ss := obj.(*appsv1.StatefulSet)
			dropDisabledPodSpecFields(&ss.Spec.Template.Spec, nil)
			ss.Status = appsv1.StatefulSetStatus{}
			ss.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*appsv1.StatefulSet), oldObj.(*appsv1.StatefulSet)
			dropDisabledPodSpecFields(&n.Spec.Template.Spec, &o.Spec.Template.Spec)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			ss := obj.(*appsv1.StatefulSet)
			// Pods are named <set>-<ordinal>, so the set's name must be a DNS label.
			errs := validateMeta(&ss.ObjectMeta, true, apivalidation.NameIsDNSLabel)
			return append(errs, validateStatefulSetSpec(&ss.Spec, field.NewPath("spec"), true)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*appsv1.StatefulSet), oldObj.(*appsv1.StatefulSet)
			sp := field.NewPath("spec")
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateStatefulSetSpec(&n.Spec, sp, false)...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.Selector, o.Spec.Selector, sp.Child("selector"))...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.VolumeClaimTemplates, o.Spec.VolumeClaimTemplates, sp.Child("volumeClaimTemplates"))...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.ServiceName, o.Spec.ServiceName, sp.Child("serviceName"))...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.PodManagementPolicy, o.Spec.PodManagementPolicy, sp.Child("podManagementPolicy"))...)
			errs = append(errs, validateStatefulSetStatus(&n.Status, field.NewPath("status"))...)
			if o.Status.CollisionCount != nil && (n.Status.CollisionCount == nil || *n.Status.CollisionCount < *o.Status.CollisionCount) {
				v := int32(0)
				if n.Status.CollisionCount != nil {
					v = *n.Status.CollisionCount
				}
				errs = append(errs, field.Invalid(field.NewPath("status", "collisionCount"), v, "cannot be decremented"))
			}
			return errs
		},
		Admit: admit,
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Ready", "string", "Number of the pod with ready state"),
			ageColumn(),
			wideColumn("Containers", "string", "Names of each container in the template."),
			wideColumn("Images", "string", "Images referenced by each container in the template."),
		},
		Row: func(obj runtime.Object) []any {
			ss := obj.(*appsv1.StatefulSet)
			names, images := containerNamesImages(&ss.Spec.Template.Spec)
			return []any{ss.Name, readyOf(ss.Status.ReadyReplicas, replicas(ss.Spec.Replicas)), since(ss.CreationTimestamp), names, images}
		},
	}
}

// defaultStatefulSet fills Kubernetes 1.37's defaults (MaxUnavailableStatefulSet
// is on by default: a rolling update takes down one pod at a time).
func defaultStatefulSet(ss *appsv1.StatefulSet) {
	s := &ss.Spec
	if s.PodManagementPolicy == "" {
		s.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if s.UpdateStrategy.Type == "" {
		s.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if s.UpdateStrategy.RollingUpdate == nil {
			s.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if ru := s.UpdateStrategy.RollingUpdate; s.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && ru != nil {
		if ru.Partition == nil {
			ru.Partition = ptrTo[int32](0)
		}
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptrTo(intstr.FromInt32(1))
		}
	}
	if s.PersistentVolumeClaimRetentionPolicy == nil {
		s.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if s.PersistentVolumeClaimRetentionPolicy.WhenDeleted == "" {
		s.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if s.PersistentVolumeClaimRetentionPolicy.WhenScaled == "" {
		s.PersistentVolumeClaimRetentionPolicy.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if s.Replicas == nil {
		s.Replicas = ptrTo[int32](1)
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = ptrTo[int32](10)
	}
	defaultPodSpec(&s.Template.Spec)
	for i := range s.VolumeClaimTemplates {
		t := &s.VolumeClaimTemplates[i]
		defaultClaimSpec(&t.Spec)
		if t.Status.Phase == "" {
			t.Status.Phase = corev1.ClaimPending
		}
	}
}

// validateStatefulSetSpec checks a set's spec; create also checks the
// claim templates and the service name (both immutable, so an update
// tolerates what was stored).
func validateStatefulSetSpec(s *appsv1.StatefulSetSpec, p *field.Path, create bool) field.ErrorList {
	var errs field.ErrorList
	switch s.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(p.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(p.Child("podManagementPolicy"), s.PodManagementPolicy, "must be 'OrderedReady' or 'Parallel'"))
	}
	up := p.Child("updateStrategy")
	switch s.UpdateStrategy.Type {
	case "":
		errs = append(errs, field.Required(up, ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if s.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(up.Child("rollingUpdate"), s.UpdateStrategy.RollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := s.UpdateStrategy.RollingUpdate; ru != nil {
			rp := up.Child("rollingUpdate")
			if ru.Partition != nil {
				errs = append(errs, nonNegative(int64(*ru.Partition), rp.Child("partition"))...)
			}
			if mu := ru.MaxUnavailable; mu != nil {
				errs = append(errs, validatePositiveIntOrPercent(*mu, rp.Child("maxUnavailable"))...)
				if intOrPercentValue(mu) == 0 {
					errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), *mu, "cannot be 0"))
				}
				errs = append(errs, notMoreThan100Percent(mu, rp.Child("maxUnavailable"))...)
			}
		}
	default:
		errs = append(errs, field.Invalid(up, s.UpdateStrategy, "must be 'RollingUpdate' or 'OnDelete'"))
	}
	if rp := s.PersistentVolumeClaimRetentionPolicy; rp != nil {
		allowed := []appsv1.PersistentVolumeClaimRetentionPolicyType{appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType}
		pp := p.Child("persistentVolumeClaimRetentionPolicy")
		for _, v := range []struct {
			name string
			v    appsv1.PersistentVolumeClaimRetentionPolicyType
		}{{"whenDeleted", rp.WhenDeleted}, {"whenScaled", rp.WhenScaled}} {
			if v.v != allowed[0] && v.v != allowed[1] {
				errs = append(errs, field.NotSupported(pp.Child(v.name), v.v, []string{string(allowed[0]), string(allowed[1])}))
			}
		}
	}
	if create {
		for i := range s.VolumeClaimTemplates {
			errs = append(errs, validateClaimSpec(&s.VolumeClaimTemplates[i].Spec, p.Child("volumeClaimTemplates").Index(i).Child("spec"))...)
		}
		if s.ServiceName != "" {
			errs = append(errs, validateDNSLabel(s.ServiceName, p.Child("serviceName"))...)
		}
	}
	if s.Replicas != nil {
		errs = append(errs, nonNegative(int64(*s.Replicas), p.Child("replicas"))...)
	}
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	if s.Ordinals != nil {
		errs = append(errs, nonNegative(int64(s.Ordinals.Start), p.Child("ordinals.start"))...)
	}
	sel, selErrs := workloadSelector(s.Selector, "statefulset", p.Child("selector"))
	errs = append(errs, selErrs...)
	if sel != nil {
		// The controller sets hostname and subdomain and adds the claim
		// templates' volumes, so the template is checked as the pods will be.
		t := s.Template.DeepCopy()
		t.Spec.Hostname, t.Spec.Subdomain = "", ""
		for _, c := range s.VolumeClaimTemplates {
			if !hasVolume(t.Spec.Volumes, c.Name) {
				t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name}}})
			}
		}
		tp := p.Child("template")
		if !sel.Empty() && !sel.Matches(labels.Set(t.Labels)) {
			errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
		}
		errs = append(errs, validatePodTemplateSpec(t, tp)...)
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("template", "spec", "restartPolicy"), s.Template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if s.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(p.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in StatefulSet is not Supported"))
	}
	return errs
}

func hasVolume(vols []corev1.Volume, name string) bool {
	for _, v := range vols {
		if v.Name == name {
			return true
		}
	}
	return false
}

func validateStatefulSetStatus(s *appsv1.StatefulSetStatus, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(s.Replicas), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.CurrentReplicas), p.Child("currentReplicas"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	if s.CollisionCount != nil {
		errs = append(errs, nonNegative(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	errs = append(errs, statusNotGreater(s.ReadyReplicas, s.Replicas, p.Child("readyReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.CurrentReplicas, s.Replicas, p.Child("currentReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.UpdatedReplicas, s.Replicas, p.Child("updatedReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.AvailableReplicas, s.Replicas, p.Child("availableReplicas"), msg)...)
	return append(errs, statusNotGreater(s.AvailableReplicas, s.ReadyReplicas, p.Child("availableReplicas"), "cannot be greater than status.readyReplicas")...)
}
