package registry

import (
	"math"

	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// storage.k8s.io/v1 CSIDrivers, CSINodes, CSIStorageCapacities and
// VolumeAttachments: served as API objects only (Seven's nodes run no CSI
// drivers and attach nothing). Upstream kube-scheduler, the attach/detach
// controller and kubelets read and write them.

func csiDrivers() *Resource {
	return &Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Name:         "csidrivers",
		Singular:     "csidriver",
		Kind:         "CSIDriver",
		ListKind:     "CSIDriverList",
		New:          func() runtime.Object { return &storagev1.CSIDriver{} },
		NewList:      func() runtime.Object { return &storagev1.CSIDriverList{} },
		Default:      func(obj runtime.Object) { defaultCSIDriver(&obj.(*storagev1.CSIDriver).Spec) },
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*storagev1.CSIDriver).Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*storagev1.CSIDriver), oldObj.(*storagev1.CSIDriver)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			d := obj.(*storagev1.CSIDriver)
			errs := validateMeta(&d.ObjectMeta, false, apivalidation.NameIsDNSSubdomain)
			return append(errs, validateCSIDriverSpec(&d.Spec, field.NewPath("spec"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*storagev1.CSIDriver), oldObj.(*storagev1.CSIDriver)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateCSIDriverSpec(&n.Spec, field.NewPath("spec"))...)
			// Kubernetes names the path "attachedRequired"; kept for the same causes.
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.AttachRequired, o.Spec.AttachRequired, field.NewPath("spec", "attachedRequired"))...)
			return append(errs, apivalidation.ValidateImmutableField(n.Spec.VolumeLifecycleModes, o.Spec.VolumeLifecycleModes, field.NewPath("spec", "volumeLifecycleModes"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("AttachRequired", "boolean", storagev1.CSIDriverSpec{}.SwaggerDoc()["attachRequired"]),
			column("PodInfoOnMount", "boolean", storagev1.CSIDriverSpec{}.SwaggerDoc()["podInfoOnMount"]),
			column("StorageCapacity", "boolean", storagev1.CSIDriverSpec{}.SwaggerDoc()["storageCapacity"]),
			column("TokenRequests", "string", storagev1.CSIDriverSpec{}.SwaggerDoc()["tokenRequests"]),
			column("RequiresRepublish", "boolean", storagev1.CSIDriverSpec{}.SwaggerDoc()["requiresRepublish"]),
			column("Modes", "string", storagev1.CSIDriverSpec{}.SwaggerDoc()["volumeLifecycleModes"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			d := obj.(*storagev1.CSIDriver)
			var audiences, modes []string
			for _, t := range d.Spec.TokenRequests {
				audiences = append(audiences, t.Audience)
			}
			for _, m := range d.Spec.VolumeLifecycleModes {
				modes = append(modes, string(m))
			}
			return []any{d.Name, boolCell(d.Spec.AttachRequired), boolCell(d.Spec.PodInfoOnMount), boolCell(d.Spec.StorageCapacity),
				describeList(audiences), boolCell(d.Spec.RequiresRepublish), describeList(modes), since(d.CreationTimestamp)}
		},
	}
}

// defaultCSIDriver fills what Kubernetes 1.37 defaults (SELinuxMount and
// PreventPodSchedulingIfMissing with their gates on by default).
func defaultCSIDriver(s *storagev1.CSIDriverSpec) {
	for _, b := range []struct {
		p   **bool
		def bool
	}{{&s.AttachRequired, true}, {&s.PodInfoOnMount, false}, {&s.StorageCapacity, false}, {&s.RequiresRepublish, false},
		{&s.SELinuxMount, false}, {&s.PreventPodSchedulingIfMissing, false}} {
		if *b.p == nil {
			*b.p = ptrTo(b.def)
		}
	}
	if s.FSGroupPolicy == nil {
		s.FSGroupPolicy = ptrTo(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)
	}
	if len(s.VolumeLifecycleModes) == 0 {
		s.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}
	}
}

func validateCSIDriverSpec(s *storagev1.CSIDriverSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, req := range []struct {
		v    *bool
		name string
	}{{s.AttachRequired, "attachedRequired"}, {s.PodInfoOnMount, "podInfoOnMount"}, {s.StorageCapacity, "storageCapacity"},
		{s.SELinuxMount, "seLinuxMount"}, {s.PreventPodSchedulingIfMissing, "preventPodSchedulingIfMissing"}} {
		if req.v == nil {
			errs = append(errs, field.Required(p.Child(req.name), ""))
		}
	}
	if s.FSGroupPolicy != nil {
		allowed := []storagev1.FSGroupPolicy{storagev1.FileFSGroupPolicy, storagev1.NoneFSGroupPolicy, storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy}
		errs = append(errs, validateEnum(*s.FSGroupPolicy, allowed, p.Child("fsGroupPolicy"))...)
	}
	audiences := sets.New[string]()
	for i, t := range s.TokenRequests {
		tp := p.Child("tokenRequests").Index(i)
		if audiences.Has(t.Audience) {
			errs = append(errs, field.Duplicate(tp.Child("audience"), t.Audience))
			continue
		}
		audiences.Insert(t.Audience)
		if t.ExpirationSeconds == nil {
			continue
		}
		if *t.ExpirationSeconds < 600 {
			errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
		}
		if *t.ExpirationSeconds > 1<<32 {
			errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	for _, m := range s.VolumeLifecycleModes {
		if m != storagev1.VolumeLifecyclePersistent && m != storagev1.VolumeLifecycleEphemeral {
			errs = append(errs, field.NotSupported(p.Child("volumeLifecycleModes"), m, []string{string(storagev1.VolumeLifecyclePersistent), string(storagev1.VolumeLifecycleEphemeral)}))
		}
	}
	if v := s.NodeAllocatableUpdatePeriodSeconds; v != nil && *v < 10 {
		errs = append(errs, field.Invalid(p.Child("nodeAllocatableUpdatePeriodSeconds"), *v, "must be greater than or equal to 10 seconds"))
	}
	if s.ServiceAccountTokenInSecrets != nil && len(s.TokenRequests) == 0 {
		errs = append(errs, field.Invalid(p.Child("serviceAccountTokenInSecrets"), s.ServiceAccountTokenInSecrets, "serviceAccountTokenInSecrets is set but no tokenRequests are specified"))
	}
	return errs
}

func csiNodes() *Resource {
	return &Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Name:         "csinodes",
		Singular:     "csinode",
		Kind:         "CSINode",
		ListKind:     "CSINodeList",
		New:          func() runtime.Object { return &storagev1.CSINode{} },
		NewList:      func() runtime.Object { return &storagev1.CSINodeList{} },
		Status:       true,
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*storagev1.CSINode).Status = storagev1.CSINodeStatus{}
		},
		PrepareForStatusUpdate: func(newObj, oldObj runtime.Object) {
			// Storage health is alpha (CSIVolumeHealth, off): kept only where it was.
			n, o := newObj.(*storagev1.CSINode), oldObj.(*storagev1.CSINode)
			if len(o.Status.StorageHealth) == 0 {
				n.Status.StorageHealth = nil
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			n := obj.(*storagev1.CSINode)
			// A CSINode is named after its node.
			return append(validateMeta(&n.ObjectMeta, false, apivalidation.NameIsDNSSubdomain), validateCSINodeDrivers(n.Spec.Drivers)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*storagev1.CSINode), oldObj.(*storagev1.CSINode)
			errs := append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateCSINodeDrivers(n.Spec.Drivers)...)
			// A registered driver may change only its allocatable count.
			for _, od := range o.Spec.Drivers {
				for _, nd := range n.Spec.Drivers {
					if od.Name != nd.Name {
						continue
					}
					a, b := od.DeepCopy(), nd.DeepCopy()
					a.Allocatable, b.Allocatable = nil, nil
					errs = append(errs, apivalidation.ValidateImmutableField(b, a, field.NewPath("spec", "drivers"))...)
				}
			}
			return errs
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			n := obj.(*storagev1.CSINode)
			return []any{n.Name, int64(len(n.Spec.Drivers)), since(n.CreationTimestamp)}
		},
	}
}

func validateCSINodeDrivers(drivers []storagev1.CSINodeDriver) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "drivers")
	names := sets.New[string]()
	for i, d := range drivers {
		dp := p.Index(i)
		errs = append(errs, validateCSIDriverName(d.Name, dp.Child("name"))...)
		switch {
		case d.NodeID == "":
			errs = append(errs, field.Required(dp.Child("nodeID"), d.NodeID))
		case len(d.NodeID) > 256:
			errs = append(errs, field.Invalid(dp.Child("nodeID"), d.NodeID, "must be 256 characters or less"))
		}
		if d.Allocatable != nil && d.Allocatable.Count != nil {
			errs = append(errs, nonNegative(int64(*d.Allocatable.Count), dp.Child("allocatable", "count"))...)
		}
		if names.Has(d.Name) {
			errs = append(errs, field.Duplicate(dp.Child("name"), d.Name))
		}
		names.Insert(d.Name)
		keys := sets.New[string]()
		for _, k := range d.TopologyKeys {
			if k == "" {
				errs = append(errs, field.Required(dp, k))
			}
			if keys.Has(k) {
				errs = append(errs, field.Duplicate(dp, k))
			}
			keys.Insert(k)
			errs = append(errs, validateQualifiedName(k, dp)...)
		}
	}
	return errs
}

func csiStorageCapacities() *Resource {
	return &Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Name:         "csistoragecapacities",
		Singular:     "csistoragecapacity",
		Kind:         "CSIStorageCapacity",
		ListKind:     "CSIStorageCapacityList",
		Namespaced:   true,
		New:          func() runtime.Object { return &storagev1.CSIStorageCapacity{} },
		NewList:      func() runtime.Object { return &storagev1.CSIStorageCapacityList{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateCSIStorageCapacity(obj.(*storagev1.CSIStorageCapacity))
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*storagev1.CSIStorageCapacity), oldObj.(*storagev1.CSIStorageCapacity)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			if !apiequality.Semantic.DeepEqual(n.NodeTopology, o.NodeTopology) {
				errs = append(errs, field.Invalid(field.NewPath("nodeTopology"), n.NodeTopology, "field is immutable"))
			}
			if n.StorageClassName != o.StorageClassName {
				errs = append(errs, field.Invalid(field.NewPath("storageClassName"), n.StorageClassName, "field is immutable"))
			}
			return errs
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("StorageClassName", "string", storagev1.CSIStorageCapacity{}.SwaggerDoc()["storageClassName"]),
			column("Capacity", "string", storagev1.CSIStorageCapacity{}.SwaggerDoc()["capacity"]),
		},
		Row: func(obj runtime.Object) []any {
			c := obj.(*storagev1.CSIStorageCapacity)
			return []any{c.Name, c.StorageClassName, quantityString(c.Capacity)}
		},
	}
}

func validateCSIStorageCapacity(c *storagev1.CSIStorageCapacity) field.ErrorList {
	errs := validateMeta(&c.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	errs = append(errs, metav1validation.ValidateLabelSelector(c.NodeTopology, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("nodeTopology"))...)
	errs = append(errs, validateClassName(c.StorageClassName, field.NewPath("storageClassName"))...)
	if c.Capacity != nil {
		errs = append(errs, validateNonNegativeQuantity(*c.Capacity, field.NewPath("capacity"))...)
	}
	return errs
}

// maxAttachmentMetadataBytes and maxVolumeErrorMessage bound a volume
// attachment's status, as Kubernetes does.
const (
	maxAttachmentMetadataBytes = 256 << 10
	maxVolumeErrorMessage      = 1024
)

func volumeAttachments() *Resource {
	return &Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Name:         "volumeattachments",
		Singular:     "volumeattachment",
		Kind:         "VolumeAttachment",
		ListKind:     "VolumeAttachmentList",
		New:          func() runtime.Object { return &storagev1.VolumeAttachment{} },
		NewList:      func() runtime.Object { return &storagev1.VolumeAttachmentList{} },
		Status:       true,
		Default: func(obj runtime.Object) {
			if pv := obj.(*storagev1.VolumeAttachment).Spec.Source.InlineVolumeSpec; pv != nil {
				defaultPersistentVolumeSpec(pv)
			}
		},
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*storagev1.VolumeAttachment).Status = storagev1.VolumeAttachmentStatus{}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateVolumeAttachment(obj.(*storagev1.VolumeAttachment))
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*storagev1.VolumeAttachment), oldObj.(*storagev1.VolumeAttachment)
			errs := validateVolumeAttachment(n)
			return append(errs, apivalidation.ValidateImmutableField(n.Spec, o.Spec, field.NewPath("spec"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Attacher", Type: "string", Format: "name", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"]},
			column("PV", "string", storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]),
			column("Node", "string", storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"]),
			column("Attached", "boolean", storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			va := obj.(*storagev1.VolumeAttachment)
			pv := ""
			if va.Spec.Source.PersistentVolumeName != nil {
				pv = *va.Spec.Source.PersistentVolumeName
			}
			return []any{va.Name, va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, since(va.CreationTimestamp)}
		},
	}
}

func validateVolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	errs := validateMeta(&va.ObjectMeta, false, apivalidation.NameIsDNSSubdomain)
	sp := field.NewPath("spec")
	errs = append(errs, validateCSIDriverName(va.Spec.Attacher, sp.Child("attacher"))...)
	src, srcPath := &va.Spec.Source, sp.Child("source")
	const exactlyOne = "must specify exactly one of inlineVolumeSpec and persistentVolumeName"
	switch {
	case src.InlineVolumeSpec == nil && src.PersistentVolumeName == nil:
		errs = append(errs, field.Required(srcPath, exactlyOne))
	case src.InlineVolumeSpec != nil && src.PersistentVolumeName != nil:
		errs = append(errs, field.Forbidden(srcPath, exactlyOne))
	case src.PersistentVolumeName != nil:
		if *src.PersistentVolumeName == "" {
			errs = append(errs, field.Required(srcPath.Child("persistentVolumeName"), "must specify non empty persistentVolumeName"))
		}
	default:
		errs = append(errs, validatePersistentVolumeSpec(src.InlineVolumeSpec, true, srcPath.Child("inlineVolumeSpec"))...)
	}
	errs = append(errs, validateNameAt(va.Spec.NodeName, apivalidation.NameIsDNSSubdomain, sp.Child("nodeName"))...)
	stp := field.NewPath("status")
	size := 0
	for k, v := range va.Status.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxAttachmentMetadataBytes {
		errs = append(errs, field.TooLong(stp.Child("attachmentMetadata"), "", maxAttachmentMetadataBytes))
	}
	for _, ve := range []struct {
		name string
		e    *storagev1.VolumeError
	}{{"attachError", va.Status.AttachError}, {"detachError", va.Status.DetachError}} {
		name, e := ve.name, ve.e
		if e == nil {
			continue
		}
		errs = append(errs, validateMaxLength(e.Message, maxVolumeErrorMessage, stp.Child(name, "message"))...)
		if e.ErrorCode != nil && *e.ErrorCode < 0 {
			errs = append(errs, field.Invalid(stp.Child(name, "errorCode"), *e.ErrorCode, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
	}
	if src.PersistentVolumeName != nil {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*src.PersistentVolumeName, false) {
			errs = append(errs, field.Invalid(field.NewPath("spec.source.persistentVolumeName"), *src.PersistentVolumeName, msg))
		}
	}
	return errs
}
