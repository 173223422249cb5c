package registry

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// storage.k8s.io/v1 StorageClasses and VolumeAttributesClasses: served as
// API objects only. Seven provisions no volumes, so no class is ever used by
// anything of Seven's; upstream schedulers and controllers read them.

// maxClassParameters and maxClassParameterBytes bound a class's parameters,
// as Kubernetes does.
const (
	maxClassParameters     = 512
	maxClassParameterBytes = 256 << 10
)

func storageClasses() *Resource {
	return &Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Name:         "storageclasses",
		Singular:     "storageclass",
		Kind:         "StorageClass",
		ListKind:     "StorageClassList",
		ShortNames:   []string{"sc"},
		New:          func() runtime.Object { return &storagev1.StorageClass{} },
		NewList:      func() runtime.Object { return &storagev1.StorageClassList{} },
		Default: func(obj runtime.Object) {
			sc := obj.(*storagev1.StorageClass)
			if sc.ReclaimPolicy == nil {
				sc.ReclaimPolicy = ptrTo(corev1.PersistentVolumeReclaimDelete)
			}
			if sc.VolumeBindingMode == nil {
				sc.VolumeBindingMode = ptrTo(storagev1.VolumeBindingImmediate)
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateStorageClass(obj.(*storagev1.StorageClass))
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*storagev1.StorageClass), oldObj.(*storagev1.StorageClass)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Parameters, o.Parameters, field.NewPath("parameters"))...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Provisioner, o.Provisioner, field.NewPath("provisioner"))...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.ReclaimPolicy, o.ReclaimPolicy, field.NewPath("reclaimPolicy"))...)
			return append(errs, apivalidation.ValidateImmutableField(n.VolumeBindingMode, o.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Provisioner", "string", storagev1.StorageClass{}.SwaggerDoc()["provisioner"]),
			column("ReclaimPolicy", "string", storagev1.StorageClass{}.SwaggerDoc()["reclaimPolicy"]),
			column("VolumeBindingMode", "string", storagev1.StorageClass{}.SwaggerDoc()["volumeBindingMode"]),
			column("AllowVolumeExpansion", "string", storagev1.StorageClass{}.SwaggerDoc()["allowVolumeExpansion"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			sc := obj.(*storagev1.StorageClass)
			name := sc.Name
			if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
				name += " (default)"
			}
			reclaim, mode := string(corev1.PersistentVolumeReclaimDelete), string(storagev1.VolumeBindingImmediate)
			if sc.ReclaimPolicy != nil {
				reclaim = string(*sc.ReclaimPolicy)
			}
			if sc.VolumeBindingMode != nil {
				mode = string(*sc.VolumeBindingMode)
			}
			expand := false
			if sc.AllowVolumeExpansion != nil {
				expand = *sc.AllowVolumeExpansion
			}
			return []any{name, sc.Provisioner, reclaim, mode, expand, since(sc.CreationTimestamp)}
		},
	}
}

func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	errs := validateMeta(&sc.ObjectMeta, false, apivalidation.NameIsDNSSubdomain)
	errs = append(errs, validateProvisioner(sc.Provisioner, field.NewPath("provisioner"))...)
	errs = append(errs, validateClassParameters(sc.Parameters, true, field.NewPath("parameters"))...)
	if sc.ReclaimPolicy != nil && *sc.ReclaimPolicy != "" {
		allowed := []corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain}
		errs = append(errs, validateEnum(*sc.ReclaimPolicy, allowed, field.NewPath("reclaimPolicy"))...)
	}
	modePath := field.NewPath("volumeBindingMode")
	if sc.VolumeBindingMode == nil {
		errs = append(errs, field.Required(modePath, ""))
	} else {
		errs = append(errs, validateEnum(*sc.VolumeBindingMode, []storagev1.VolumeBindingMode{storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer}, modePath)...)
	}
	topo := field.NewPath("allowedTopologies")
	errs = append(errs, validateTopologyTerms(sc.AllowedTopologies, topo)...)
	for i := range sc.AllowedTopologies {
		for j := range i {
			if apiequality.Semantic.DeepEqual(sc.AllowedTopologies[i], sc.AllowedTopologies[j]) {
				errs = append(errs, field.Duplicate(topo.Index(i).Child("matchLabelExpressions"), ""))
				break
			}
		}
	}
	return errs
}

// validateProvisioner checks a provisioner or driver name: required, a
// qualified name once lower-cased.
func validateProvisioner(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, v)}
	}
	return validateQualifiedName(strings.ToLower(v), p)
}

func validateClassParameters(params map[string]string, allowEmpty bool, p *field.Path) field.ErrorList {
	if len(params) > maxClassParameters {
		return field.ErrorList{field.TooLong(p, "", maxClassParameters)}
	}
	var errs field.ErrorList
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(p, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxClassParameterBytes {
		errs = append(errs, field.TooLong(p, "", maxClassParameterBytes))
	}
	if !allowEmpty && len(params) == 0 {
		errs = append(errs, field.Required(p, "must contain at least one key/value pair"))
	}
	return errs
}

func volumeAttributesClasses() *Resource {
	return &Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Name:         "volumeattributesclasses",
		Singular:     "volumeattributesclass",
		Kind:         "VolumeAttributesClass",
		ListKind:     "VolumeAttributesClassList",
		ShortNames:   []string{"vac"},
		New:          func() runtime.Object { return &storagev1.VolumeAttributesClass{} },
		NewList:      func() runtime.Object { return &storagev1.VolumeAttributesClassList{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateVolumeAttributesClass(obj.(*storagev1.VolumeAttributesClass))
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*storagev1.VolumeAttributesClass), oldObj.(*storagev1.VolumeAttributesClass)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			if n.DriverName != o.DriverName {
				errs = append(errs, field.Forbidden(field.NewPath("driverName"), "updates to driverName are forbidden."))
			}
			if !apiequality.Semantic.DeepEqual(n.Parameters, o.Parameters) {
				errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
			}
			return append(errs, validateVolumeAttributesClass(n)...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("DriverName", "string", storagev1.VolumeAttributesClass{}.SwaggerDoc()["driverName"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			c := obj.(*storagev1.VolumeAttributesClass)
			return []any{c.Name, c.DriverName, since(c.CreationTimestamp)}
		},
	}
}

func validateVolumeAttributesClass(c *storagev1.VolumeAttributesClass) field.ErrorList {
	errs := validateMeta(&c.ObjectMeta, false, apivalidation.NameIsDNSSubdomain)
	errs = append(errs, validateProvisioner(c.DriverName, field.NewPath("driverName"))...)
	return append(errs, validateClassParameters(c.Parameters, false, field.NewPath("parameters"))...)
}
