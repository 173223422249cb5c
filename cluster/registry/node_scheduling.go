package registry

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// node.k8s.io/v1 RuntimeClasses and scheduling.k8s.io/v1 PriorityClasses:
// served as API objects only. Seven's nodes run one runtime (the
// node-support admission refuses pods naming a RuntimeClass) and its
// scheduler does not preempt; the API server does not resolve a pod's
// priorityClassName into its priority as upstream's Priority admission does.

// Priorities of user-defined and system priority classes, as Kubernetes has them.
const (
	highestUserPriority    = int32(1000000000)
	systemClusterCritical  = "system-cluster-critical"
	systemNodeCritical     = "system-node-critical"
	systemPriorityPrefix   = "system-"
	systemCriticalPriority = 2 * highestUserPriority
)

// SystemPriorityClasses are the classes every cluster has, which the API
// server creates at start as Kubernetes' does.
func SystemPriorityClasses() []*schedulingv1.PriorityClass {
	return []*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: systemNodeCritical}, Value: systemCriticalPriority + 1000,
			Description: "Used for system critical pods that must not be moved from their current node."},
		{ObjectMeta: metav1.ObjectMeta{Name: systemClusterCritical}, Value: systemCriticalPriority,
			Description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."},
	}
}

func runtimeClasses() *Resource {
	return &Resource{
		GroupVersion:   nodev1.SchemeGroupVersion,
		Name:           "runtimeclasses",
		Singular:       "runtimeclass",
		Kind:           "RuntimeClass",
		ListKind:       "RuntimeClassList",
		CreateOnUpdate: true,
		New:            func() runtime.Object { return &nodev1.RuntimeClass{} },
		NewList:        func() runtime.Object { return &nodev1.RuntimeClassList{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateRuntimeClass(obj.(*nodev1.RuntimeClass))
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*nodev1.RuntimeClass), oldObj.(*nodev1.RuntimeClass)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			return append(errs, apivalidation.ValidateImmutableField(n.Handler, o.Handler, field.NewPath("handler"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Handler", "string", "The name of the underlying runtime configuration"),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			rc := obj.(*nodev1.RuntimeClass)
			return []any{rc.Name, rc.Handler, since(rc.CreationTimestamp)}
		},
	}
}

func validateRuntimeClass(rc *nodev1.RuntimeClass) field.ErrorList {
	errs := validateMeta(&rc.ObjectMeta, false, apivalidation.NameIsDNSSubdomain)
	if rc.Handler == "" {
		errs = append(errs, field.Required(field.NewPath("handler"), ""))
	} else {
		errs = append(errs, validateNameAt(rc.Handler, apivalidation.NameIsDNSLabel, field.NewPath("handler"))...)
	}
	if rc.Overhead != nil {
		errs = append(errs, validateResources(&corev1.ResourceRequirements{Limits: rc.Overhead.PodFixed}, field.NewPath("overhead"))...)
	}
	if s := rc.Scheduling; s != nil {
		sp := field.NewPath("scheduling")
		errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, sp.Child("nodeSelector"))...)
		errs = append(errs, validateTolerations(s.Tolerations, sp.Child("tolerations"))...)
		seen := map[corev1.Toleration]bool{}
		for i, t := range s.Tolerations {
			k := corev1.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect}
			if seen[k] {
				errs = append(errs, field.Duplicate(sp.Child("tolerations").Index(i), t))
			}
			seen[k] = true
		}
	}
	return errs
}

func priorityClasses() *Resource {
	return &Resource{
		GroupVersion: schedulingv1.SchemeGroupVersion,
		Name:         "priorityclasses",
		Singular:     "priorityclass",
		Kind:         "PriorityClass",
		ListKind:     "PriorityClassList",
		ShortNames:   []string{"pc"},
		New:          func() runtime.Object { return &schedulingv1.PriorityClass{} },
		NewList:      func() runtime.Object { return &schedulingv1.PriorityClassList{} },
		Default: func(obj runtime.Object) {
			if pc := obj.(*schedulingv1.PriorityClass); pc.PreemptionPolicy == nil {
				pc.PreemptionPolicy = ptrTo(corev1.PreemptLowerPriority)
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			return validatePriorityClass(obj.(*schedulingv1.PriorityClass))
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*schedulingv1.PriorityClass), oldObj.(*schedulingv1.PriorityClass)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			if n.Value != o.Value {
				errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
			}
			return append(errs, apivalidation.ValidateImmutableField(n.PreemptionPolicy, o.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Value", "integer", schedulingv1.PriorityClass{}.SwaggerDoc()["value"]),
			column("Global-Default", "boolean", schedulingv1.PriorityClass{}.SwaggerDoc()["globalDefault"]),
			ageColumn(),
			column("PreemptionPolicy", "string", schedulingv1.PriorityClass{}.SwaggerDoc()["preemptionPolicy"]),
		},
		Row: func(obj runtime.Object) []any {
			pc := obj.(*schedulingv1.PriorityClass)
			policy := "<unset>"
			if pc.PreemptionPolicy != nil {
				policy = string(*pc.PreemptionPolicy)
			}
			return []any{pc.Name, int64(pc.Value), pc.GlobalDefault, since(pc.CreationTimestamp), policy}
		},
	}
}

func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	errs := validateMeta(&pc.ObjectMeta, false, apivalidation.NameIsDNSSubdomain)
	if strings.HasPrefix(pc.Name, systemPriorityPrefix) {
		if err := knownSystemPriorityClass(pc); err != nil {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				"priority class names with '"+systemPriorityPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > highestUserPriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", highestUserPriority)))
	}
	if pc.PreemptionPolicy != nil {
		errs = append(errs, validateEnum(*pc.PreemptionPolicy, []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}, field.NewPath("preemptionPolicy"))...)
	}
	return errs
}

func knownSystemPriorityClass(pc *schedulingv1.PriorityClass) error {
	for _, s := range SystemPriorityClasses() {
		if s.Name != pc.Name {
			continue
		}
		if s.Value != pc.Value {
			return fmt.Errorf("value of %v PriorityClass must be %v", s.Name, s.Value)
		}
		if s.GlobalDefault != pc.GlobalDefault {
			return fmt.Errorf("globalDefault of %v PriorityClass must be %v", s.Name, s.GlobalDefault)
		}
		return nil
	}
	return fmt.Errorf("%v is not a known system priority class", pc.Name)
}
