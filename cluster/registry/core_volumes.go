package registry

import (
	"path"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// core/v1 PersistentVolumes and PersistentVolumeClaims: served as API
// objects only. Seven binds and provisions nothing and its nodes mount no
// claims (the node-support admission refuses persistentVolumeClaim volumes),
// but upstream schedulers and controllers list and watch both kinds.

var (
	accessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod}
	volumeModes = []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}
)

func persistentVolumes() *Resource {
	return &Resource{
		GroupVersion: corev1.SchemeGroupVersion,
		Name:         "persistentvolumes",
		Singular:     "persistentvolume",
		Kind:         "PersistentVolume",
		ListKind:     "PersistentVolumeList",
		ShortNames:   []string{"pv"},
		New:          func() runtime.Object { return &corev1.PersistentVolume{} },
		NewList:      func() runtime.Object { return &corev1.PersistentVolumeList{} },
		Status:       true,
		Default: func(obj runtime.Object) {
			pv := obj.(*corev1.PersistentVolume)
			if pv.Status.Phase == "" {
				pv.Status.Phase = corev1.VolumePending
			}
			defaultPersistentVolumeSpec(&pv.Spec)
		},
		PrepareForCreate: func(obj runtime.Object) {
			pv := obj.(*corev1.PersistentVolume)
			t := metav1.NewTime(now().Truncate(1e9))
			pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &t}
		},
		PrepareForStatusUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*corev1.PersistentVolume), oldObj.(*corev1.PersistentVolume)
			switch {
			case n.Status.Phase == o.Status.Phase && n.Status.LastPhaseTransitionTime == nil:
				n.Status.LastPhaseTransitionTime = o.Status.LastPhaseTransitionTime
			case n.Status.Phase != o.Status.Phase && (n.Status.LastPhaseTransitionTime == nil || n.Status.LastPhaseTransitionTime.Equal(o.Status.LastPhaseTransitionTime)):
				t := metav1.NewTime(now().Truncate(1e9))
				n.Status.LastPhaseTransitionTime = &t
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			pv := obj.(*corev1.PersistentVolume)
			errs := validateMeta(&pv.ObjectMeta, false, apivalidation.NameIsDNSSubdomain)
			return append(errs, validatePersistentVolumeSpec(&pv.Spec, false, field.NewPath("spec"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*corev1.PersistentVolume), oldObj.(*corev1.PersistentVolume)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validatePersistentVolumeSpec(&n.Spec, false, field.NewPath("spec"))...)
			newSrc := n.Spec.PersistentVolumeSource
			if o.Spec.CSI != nil && o.Spec.CSI.ControllerExpandSecretRef == nil && n.Spec.CSI != nil {
				// Adding an expansion secret to a CSI volume is allowed.
				newSrc = *newSrc.DeepCopy()
				newSrc.CSI.ControllerExpandSecretRef = nil
			}
			if !apiequality.Semantic.DeepEqual(newSrc, o.Spec.PersistentVolumeSource) {
				errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), "spec.persistentvolumesource is immutable after creation"))
			}
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.VolumeMode, o.Spec.VolumeMode, field.NewPath("volumeMode"))...)
			if o.Spec.NodeAffinity != nil {
				errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.NodeAffinity, o.Spec.NodeAffinity, field.NewPath("nodeAffinity"))...)
			}
			if o.Spec.VolumeAttributesClassName != nil && n.Spec.VolumeAttributesClassName == nil {
				errs = append(errs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
			}
			return errs
		},
		Fields: func(obj runtime.Object) fields.Set {
			// Kubernetes keeps "name" selectable for volumes, for old clients.
			return fields.Set{"name": obj.(*corev1.PersistentVolume).Name}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Capacity", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["capacity"]),
			column("Access Modes", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["accessModes"]),
			column("Reclaim Policy", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["persistentVolumeReclaimPolicy"]),
			column("Status", "string", corev1.PersistentVolumeStatus{}.SwaggerDoc()["phase"]),
			column("Claim", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["claimRef"]),
			column("StorageClass", "string", "StorageClass of the pv"),
			column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
			column("Reason", "string", corev1.PersistentVolumeStatus{}.SwaggerDoc()["reason"]),
			ageColumn(),
			wideColumn("VolumeMode", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["volumeMode"]),
		},
		Row: func(obj runtime.Object) []any {
			pv := obj.(*corev1.PersistentVolume)
			claim := ""
			if pv.Spec.ClaimRef != nil {
				claim = pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name
			}
			capacity := ""
			if q, ok := pv.Spec.Capacity[corev1.ResourceStorage]; ok {
				capacity = q.String()
			}
			phase := string(pv.Status.Phase)
			if pv.DeletionTimestamp != nil {
				phase = "Terminating"
			}
			return []any{pv.Name, capacity, accessModesString(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy), phase,
				claim, pv.Spec.StorageClassName, stringCell(pv.Spec.VolumeAttributesClassName), pv.Status.Reason, since(pv.CreationTimestamp), volumeModeString(pv.Spec.VolumeMode)}
		},
	}
}

func defaultPersistentVolumeSpec(s *corev1.PersistentVolumeSpec) {
	if s.PersistentVolumeReclaimPolicy == "" {
		s.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if s.VolumeMode == nil {
		s.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
	}
	if s.HostPath != nil && s.HostPath.Type == nil {
		s.HostPath.Type = ptrTo(corev1.HostPathUnset)
	}
}

// validateAccessModes checks a volume's or claim's access modes: known ones,
// and ReadWriteOncePod alone.
func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rwop, other := false, false
	for _, m := range modes {
		known := false
		for _, a := range accessModes {
			known = known || m == a
		}
		if !known {
			errs = append(errs, field.NotSupported(p, m, accessModes))
		}
		switch {
		case m == corev1.ReadWriteOncePod:
			rwop = true
		case known:
			other = true
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(p, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// validatePersistentVolumeSpec checks a volume's spec; inline is a
// VolumeAttachment's inline CSI volume, which carries less.
func validatePersistentVolumeSpec(s *corev1.PersistentVolumeSpec, inline bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	const inlineOnly = "may not be specified in the context of inline volumes"
	if inline {
		if s.ClaimRef != nil {
			errs = append(errs, field.Forbidden(p.Child("claimRef"), inlineOnly))
		}
		if len(s.Capacity) != 0 {
			errs = append(errs, field.Forbidden(p.Child("capacity"), inlineOnly))
		}
		if s.CSI == nil {
			errs = append(errs, field.Required(p.Child("csi"), "has to be specified in the context of inline volumes"))
		}
	}
	if len(s.AccessModes) == 0 {
		errs = append(errs, field.Required(p.Child("accessModes"), ""))
	}
	errs = append(errs, validateAccessModes(s.AccessModes, p.Child("accessModes"))...)
	if !inline {
		capPath := p.Child("capacity")
		if len(s.Capacity) == 0 {
			errs = append(errs, field.Required(capPath, ""))
		}
		if _, ok := s.Capacity[corev1.ResourceStorage]; !ok || len(s.Capacity) > 1 {
			errs = append(errs, field.NotSupported(capPath, s.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
		}
		for r, q := range s.Capacity {
			errs = append(errs, validatePositiveQuantity(q, capPath.Key(string(r)))...)
		}
	}
	if rp := s.PersistentVolumeReclaimPolicy; rp != "" {
		if inline && rp != corev1.PersistentVolumeReclaimRetain {
			errs = append(errs, field.Forbidden(p.Child("persistentVolumeReclaimPolicy"), "may only be Retain in the context of inline volumes"))
		} else if !inline {
			allowed := []corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain}
			errs = append(errs, validateEnum(rp, allowed, p.Child("persistentVolumeReclaimPolicy"))...)
		}
	}
	if s.NodeAffinity != nil {
		switch {
		case inline:
			errs = append(errs, field.Forbidden(p.Child("nodeAffinity"), inlineOnly))
		case s.NodeAffinity.Required != nil:
			errs = append(errs, validateNodeSelector(s.NodeAffinity.Required, p.Child("nodeAffinity", "required"))...)
		default:
			errs = append(errs, field.Required(p.Child("nodeAffinity", "required"), "must specify required node constraints"))
		}
	}
	errs = append(errs, validatePersistentVolumeSource(s, p)...)
	if s.HostPath != nil && path.Clean(s.HostPath.Path) == "/" && s.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(p.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if s.StorageClassName != "" {
		if inline {
			errs = append(errs, field.Forbidden(p.Child("storageClassName"), inlineOnly))
		} else {
			errs = append(errs, validateClassName(s.StorageClassName, p.Child("storageClassName"))...)
		}
	}
	if s.VolumeMode != nil {
		if inline && *s.VolumeMode != corev1.PersistentVolumeFilesystem {
			errs = append(errs, field.Forbidden(p.Child("volumeMode"), "may not specify volumeMode other than Filesystem in the context of inline volumes"))
		} else if !inline {
			errs = append(errs, validateEnum(*s.VolumeMode, volumeModes, p.Child("volumeMode"))...)
		}
	}
	if c := s.VolumeAttributesClassName; c != nil {
		if *c == "" {
			errs = append(errs, field.Required(p.Child("volumeAttributesClassName"), "an empty string is disallowed"))
		} else {
			errs = append(errs, validateClassName(*c, p.Child("volumeAttributesClassName"))...)
		}
		if s.CSI == nil {
			errs = append(errs, field.Required(p.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return errs
}

// validatePersistentVolumeSource checks that exactly one volume type is set
// and the common ones (hostPath, local, nfs, csi) in detail.
func validatePersistentVolumeSource(s *corev1.PersistentVolumeSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	v := reflect.ValueOf(&s.PersistentVolumeSource).Elem()
	n := 0
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if n++; n > 1 {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 volume type"))
		}
	}
	if n == 0 {
		return append(errs, field.Required(p, "must specify a volume type"))
	}
	switch {
	case s.HostPath != nil:
		if s.HostPath.Path == "" {
			errs = append(errs, field.Required(p.Child("hostPath", "path"), ""))
		} else {
			errs = append(errs, validateNoBacksteps(s.HostPath.Path, p.Child("hostPath", "path"))...)
		}
	case s.Local != nil:
		if s.Local.Path == "" {
			errs = append(errs, field.Required(p.Child("local", "path"), ""))
		} else {
			errs = append(errs, validateNoBacksteps(s.Local.Path, p.Child("local", "path"))...)
		}
		if s.NodeAffinity == nil || s.NodeAffinity.Required == nil {
			errs = append(errs, field.Required(p.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
	case s.NFS != nil:
		if s.NFS.Server == "" {
			errs = append(errs, field.Required(p.Child("nfs", "server"), ""))
		}
		if s.NFS.Path == "" {
			errs = append(errs, field.Required(p.Child("nfs", "path"), ""))
		}
		if !path.IsAbs(s.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("nfs", "path"), s.NFS.Path, "must be an absolute path"))
		}
	case s.CSI != nil:
		cp := p.Child("csi")
		errs = append(errs, validateCSIDriverName(s.CSI.Driver, cp.Child("driver"))...)
		if s.CSI.VolumeHandle == "" {
			errs = append(errs, field.Required(cp.Child("volumeHandle"), ""))
		}
		for _, ref := range []struct {
			name string
			ref  *corev1.SecretReference
		}{{"controllerPublishSecretRef", s.CSI.ControllerPublishSecretRef}, {"controllerExpandSecretRef", s.CSI.ControllerExpandSecretRef},
			{"nodePublishSecretRef", s.CSI.NodePublishSecretRef}, {"nodeExpandSecretRef", s.CSI.NodeExpandSecretRef}} {
			if ref.ref != nil {
				errs = append(errs, validateSecretReference(ref.ref, cp.Child(ref.name))...)
			}
		}
	}
	return errs
}

// validateSecretReference checks a volume's reference to a secret in a namespace.
func validateSecretReference(ref *corev1.SecretReference, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, validateDNSSubdomain(ref.Name, p.Child("name"))...)
	}
	if ref.Namespace == "" {
		errs = append(errs, field.Required(p.Child("namespace"), ""))
	} else {
		errs = append(errs, validateDNSLabel(ref.Namespace, p.Child("namespace"))...)
	}
	return errs
}

// validateNoBacksteps refuses a path with a ".." element.
func validateNoBacksteps(v string, p *field.Path) field.ErrorList {
	for _, part := range strings.Split(v, "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(p, v, "must not contain '..'")}
		}
	}
	return nil
}

func persistentVolumeClaims() *Resource {
	return &Resource{
		GroupVersion: corev1.SchemeGroupVersion,
		Name:         "persistentvolumeclaims",
		Singular:     "persistentvolumeclaim",
		Kind:         "PersistentVolumeClaim",
		ListKind:     "PersistentVolumeClaimList",
		Namespaced:   true,
		ShortNames:   []string{"pvc"},
		New:          func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
		NewList:      func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
		Status:       true,
		Default: func(obj runtime.Object) {
			pvc := obj.(*corev1.PersistentVolumeClaim)
			if pvc.Status.Phase == "" {
				pvc.Status.Phase = corev1.ClaimPending
			}
			defaultClaimSpec(&pvc.Spec)
		},
		PrepareForCreate: func(obj runtime.Object) {
			pvc := obj.(*corev1.PersistentVolumeClaim)
			pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
			normalizeDataSources(&pvc.Spec)
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			normalizeDataSources(&newObj.(*corev1.PersistentVolumeClaim).Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			pvc := obj.(*corev1.PersistentVolumeClaim)
			errs := validateMeta(&pvc.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			return append(errs, validateClaimSpec(&pvc.Spec, field.NewPath("spec"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			return validateClaimUpdate(newObj.(*corev1.PersistentVolumeClaim), oldObj.(*corev1.PersistentVolumeClaim))
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"name": obj.(*corev1.PersistentVolumeClaim).Name}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Status", "string", corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["phase"]),
			column("Volume", "string", corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeName"]),
			column("Capacity", "string", corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["capacity"]),
			column("Access Modes", "string", corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["accessModes"]),
			column("StorageClass", "string", "StorageClass of the pvc"),
			column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
			ageColumn(),
			wideColumn("VolumeMode", "string", corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeMode"]),
		},
		Row: func(obj runtime.Object) []any {
			pvc := obj.(*corev1.PersistentVolumeClaim)
			phase := string(pvc.Status.Phase)
			if pvc.DeletionTimestamp != nil {
				phase = "Terminating"
			}
			capacity, modes := "", ""
			if pvc.Spec.VolumeName != "" {
				if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
					capacity = q.String()
				}
				modes = accessModesString(pvc.Status.AccessModes)
			}
			class := ""
			if pvc.Spec.StorageClassName != nil {
				class = *pvc.Spec.StorageClassName
			}
			return []any{pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class,
				stringCell(pvc.Spec.VolumeAttributesClassName), since(pvc.CreationTimestamp), volumeModeString(pvc.Spec.VolumeMode)}
		},
	}
}

func defaultClaimSpec(s *corev1.PersistentVolumeClaimSpec) {
	if s.VolumeMode == nil {
		s.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
	}
}

// normalizeDataSources mirrors dataSource and dataSourceRef into each
// other when only one is set, as Kubernetes does (a cross-namespace
// dataSourceRef has no dataSource twin).
func normalizeDataSources(s *corev1.PersistentVolumeClaimSpec) {
	switch {
	case s.DataSource != nil && s.DataSourceRef == nil:
		s.DataSourceRef = &corev1.TypedObjectReference{APIGroup: s.DataSource.APIGroup, Kind: s.DataSource.Kind, Name: s.DataSource.Name}
	case s.DataSourceRef != nil && s.DataSource == nil && (s.DataSourceRef.Namespace == nil || *s.DataSourceRef.Namespace == ""):
		s.DataSource = &corev1.TypedLocalObjectReference{APIGroup: s.DataSourceRef.APIGroup, Kind: s.DataSourceRef.Kind, Name: s.DataSourceRef.Name}
	}
}

// validateClaimSpec checks a claim's spec (also a StatefulSet's claim templates').
func validateClaimSpec(s *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.AccessModes) == 0 {
		errs = append(errs, field.Required(p.Child("accessModes"), "at least 1 access mode is required"))
	}
	if s.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	}
	errs = append(errs, validateAccessModes(s.AccessModes, p.Child("accessModes"))...)
	storagePath := p.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := s.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else {
		errs = append(errs, validatePositiveQuantity(q, storagePath)...)
	}
	if s.StorageClassName != nil && *s.StorageClassName != "" {
		errs = append(errs, validateClassName(*s.StorageClassName, p.Child("storageClassName"))...)
	}
	if s.VolumeMode != nil {
		errs = append(errs, validateEnum(*s.VolumeMode, volumeModes, p.Child("volumeMode"))...)
	}
	if ds := s.DataSource; ds != nil {
		errs = append(errs, validateDataSource(ds.APIGroup, ds.Kind, ds.Name, p.Child("dataSource"))...)
	}
	if ref := s.DataSourceRef; ref != nil {
		rp := p.Child("dataSourceRef")
		errs = append(errs, validateDataSource(ref.APIGroup, ref.Kind, ref.Name, rp)...)
		if ref.Namespace != nil && *ref.Namespace != "" {
			errs = append(errs, validateDNSLabel(*ref.Namespace, rp.Child("namespace"))...)
			if s.DataSource != nil {
				errs = append(errs, field.Invalid(p, p.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
			}
		} else if ds := s.DataSource; ds != nil && (!reflect.DeepEqual(ds.APIGroup, ref.APIGroup) || ds.Kind != ref.Kind || ds.Name != ref.Name) {
			errs = append(errs, field.Invalid(p, p.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	if c := s.VolumeAttributesClassName; c != nil && *c != "" {
		errs = append(errs, validateClassName(*c, p.Child("volumeAttributesClassName"))...)
	}
	return errs
}

func validateDataSource(group *string, kind, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	}
	g := ""
	if group != nil {
		g = *group
	}
	if g == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(p, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if g != "" {
		errs = append(errs, validateDNSSubdomain(g, p.Child("apiGroup"))...)
	}
	return errs
}

// validateClaimUpdate allows what Kubernetes allows a claim: binding it to a
// volume once, and for a bound claim a larger request and another
// attributes class.
func validateClaimUpdate(n, o *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
	errs = append(errs, validateClaimSpec(&n.Spec, field.NewPath("spec"))...)
	newSpec, oldSpec := n.Spec.DeepCopy(), o.Spec.DeepCopy()
	if oldSpec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	if oldSpec.StorageClassName == nil && newSpec.StorageClassName != nil {
		if ann, ok := o.Annotations[corev1.BetaStorageClassAnnotation]; !ok || ann == *newSpec.StorageClassName {
			oldSpec.StorageClassName = newSpec.StorageClassName
		}
	}
	if n.Status.Phase == corev1.ClaimBound {
		if newSpec.Resources.Requests != nil {
			newSpec.Resources.Requests[corev1.ResourceStorage] = o.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
	}
	if !apiequality.Semantic.DeepEqual(newSpec, oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
	}
	newSize, oldSize := n.Spec.Resources.Requests[corev1.ResourceStorage], o.Spec.Resources.Requests[corev1.ResourceStorage]
	if statusSize := o.Status.Capacity[corev1.ResourceStorage]; newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.VolumeMode, o.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if o.Status.CurrentVolumeAttributesClassName != nil && !apiequality.Semantic.DeepEqual(n.Spec.VolumeAttributesClassName, o.Spec.VolumeAttributesClassName) {
		vp := field.NewPath("spec", "volumeAttributesClassName")
		switch {
		case n.Spec.VolumeAttributesClassName == nil:
			errs = append(errs, field.Forbidden(vp, "update to nil is forbidden when status.currentVolumeAttributesClassName is not nil"))
		case *n.Spec.VolumeAttributesClassName == "":
			errs = append(errs, field.Forbidden(vp, "update to empty string is forbidden when status.currentVolumeAttributesClassName is not nil"))
		}
	}
	// Status writes (the status subresource) are checked here too: the
	// capacities must be valid quantities and the resize states known ones.
	resizeStates := sets.New(corev1.PersistentVolumeClaimControllerResizeInProgress, corev1.PersistentVolumeClaimControllerResizeInfeasible,
		corev1.PersistentVolumeClaimNodeResizePending, corev1.PersistentVolumeClaimNodeResizeInProgress, corev1.PersistentVolumeClaimNodeResizeInfeasible)
	sp := field.NewPath("status", "allocatedResourceStatuses")
	for k, v := range n.Status.AllocatedResourceStatuses {
		for _, msg := range validation.IsQualifiedName(string(k)) {
			errs = append(errs, field.Invalid(sp, string(k), msg))
		}
		if !resizeStates.Has(v) {
			errs = append(errs, field.NotSupported(sp, k, sets.List(resizeStates)))
		}
	}
	return errs
}

// accessModesString is how kubectl abbreviates access modes (RWO,ROX,RWX,RWOP).
func accessModesString(modes []corev1.PersistentVolumeAccessMode) string {
	has := sets.New(modes...)
	var out []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{{corev1.ReadWriteOnce, "RWO"}, {corev1.ReadOnlyMany, "ROX"}, {corev1.ReadWriteMany, "RWX"}, {corev1.ReadWriteOncePod, "RWOP"}} {
		if has.Has(m.mode) {
			out = append(out, m.short)
		}
	}
	return strings.Join(out, ",")
}

func volumeModeString(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return "<unset>"
	}
	return string(*m)
}
