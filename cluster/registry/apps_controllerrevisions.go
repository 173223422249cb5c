package registry

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func controllerRevisions() *Resource {
	return &Resource{
		GroupVersion: appsv1.SchemeGroupVersion,
		Name:         "controllerrevisions",
		Singular:     "controllerrevision",
		Kind:         "ControllerRevision",
		ListKind:     "ControllerRevisionList",
		Namespaced:   true,
		New:          func() runtime.Object { return &appsv1.ControllerRevision{} },
		NewList:      func() runtime.Object { return &appsv1.ControllerRevisionList{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			cr := obj.(*appsv1.ControllerRevision)
			errs := validateMeta(&cr.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			return append(errs, validateControllerRevision(cr)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*appsv1.ControllerRevision), oldObj.(*appsv1.ControllerRevision)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateControllerRevision(n)...)
			return append(errs, apivalidation.ValidateImmutableField(n.Data, o.Data, field.NewPath("data"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Controller", "string", "Controller of the object"),
			column("Revision", "string", appsv1.ControllerRevision{}.SwaggerDoc()["revision"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			cr := obj.(*appsv1.ControllerRevision)
			controller := "<none>"
			if ref := metav1.GetControllerOf(cr); ref != nil {
				if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil {
					controller = strings.ToLower(gv.WithKind(ref.Kind).GroupKind().String()) + "/" + ref.Name
				}
			}
			return []any{cr.Name, controller, cr.Revision, since(cr.CreationTimestamp)}
		},
	}
}

func validateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	var errs field.ErrorList
	if cr.Data.Raw == nil && cr.Data.Object == nil {
		errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	return append(errs, nonNegative(cr.Revision, field.NewPath("revision"))...)
}
