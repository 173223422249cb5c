package registry

import (
	"strings"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// storagemigration.k8s.io/v1 StorageVersionMigrations (+status): served as
// API objects only. Seven stores every kind in one version, so there is
// nothing to migrate; upstream kube-controller-manager's migrator watches
// them.

func storageVersionMigrations() *Resource {
	return &Resource{
		GroupVersion: storagemigrationv1.SchemeGroupVersion,
		Name:         "storageversionmigrations",
		Singular:     "storageversionmigration",
		Kind:         "StorageVersionMigration",
		ListKind:     "StorageVersionMigrationList",
		New:          func() runtime.Object { return &storagemigrationv1.StorageVersionMigration{} },
		NewList:      func() runtime.Object { return &storagemigrationv1.StorageVersionMigrationList{} },
		Status:       true,
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*storagemigrationv1.StorageVersionMigration).Status = storagemigrationv1.StorageVersionMigrationStatus{}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			m := obj.(*storagemigrationv1.StorageVersionMigration)
			return append(validateMeta(&m.ObjectMeta, false, apivalidation.NameIsDNSSubdomain), validateMigrationSpec(&m.Spec)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*storagemigrationv1.StorageVersionMigration), oldObj.(*storagemigrationv1.StorageVersionMigration)
			errs := append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateMigrationSpec(&n.Spec)...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec, o.Spec, field.NewPath("spec"))...)
			sp := field.NewPath("status")
			errs = append(errs, metav1validation.ValidateConditions(n.Status.Conditions, sp.Child("conditions"))...)
			if o.Status.ResourceVersion != "" && o.Status.ResourceVersion != n.Status.ResourceVersion {
				errs = append(errs, field.Invalid(sp.Child("resourceVersion"), n.Status.ResourceVersion, "field is immutable"))
			}
			isTrue := func(m *storagemigrationv1.StorageVersionMigration, t storagemigrationv1.MigrationConditionType) bool {
				return apimeta.IsStatusConditionTrue(m.Status.Conditions, string(t))
			}
			switch {
			case isTrue(n, storagemigrationv1.MigrationSucceeded) && isTrue(n, storagemigrationv1.MigrationFailed):
				errs = append(errs, field.Invalid(sp.Child("conditions"), n.Status.Conditions, "Both success and failed conditions cannot be true at the same time"))
			case isTrue(o, storagemigrationv1.MigrationSucceeded) && !isTrue(n, storagemigrationv1.MigrationSucceeded):
				errs = append(errs, field.Invalid(sp.Child("conditions"), n.Status.Conditions, "Success condition cannot be set to false once it is true"))
			case isTrue(o, storagemigrationv1.MigrationFailed) && !isTrue(n, storagemigrationv1.MigrationFailed):
				errs = append(errs, field.Invalid(sp.Child("conditions"), n.Status.Conditions, "Failed condition cannot be set to false once it is true"))
			}
			return errs
		},
		Columns: []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
			column("Resource", "string", "GroupResource to migrate"),
			column("Status", "string", "Status of the migration"),
		},
		Row: func(obj runtime.Object) []any {
			m := obj.(*storagemigrationv1.StorageVersionMigration)
			status := "Pending"
			for _, t := range []storagemigrationv1.MigrationConditionType{storagemigrationv1.MigrationRunning, storagemigrationv1.MigrationSucceeded, storagemigrationv1.MigrationFailed} {
				if apimeta.IsStatusConditionTrue(m.Status.Conditions, string(t)) {
					status = string(t)
				}
			}
			return []any{m.Name, m.Spec.Resource.String(), status}
		},
	}
}

func validateMigrationSpec(s *storagemigrationv1.StorageVersionMigrationSpec) field.ErrorList {
	p := field.NewPath("spec", "resource")
	var errs field.ErrorList
	if s.Resource.Resource == "" {
		errs = append(errs, field.Required(p.Child("resource"), "resource is required to be set"))
	} else if msgs := validation.IsDNS1035Label(s.Resource.Resource); len(msgs) > 0 {
		errs = append(errs, field.Invalid(p.Child("resource"), s.Resource.Resource, strings.Join(msgs, ",")))
	}
	if s.Resource.Group != "" {
		if msgs := validation.IsDNS1123Subdomain(s.Resource.Group); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("group"), s.Resource.Group, strings.Join(msgs, ",")))
		}
	}
	return errs
}
