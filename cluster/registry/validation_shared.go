package registry

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validation rules that several of the kinds served only as API objects
// (storage, networking, scheduling, dynamic resources…) share with each
// other, in Kubernetes' words.

// validateNameAt reports a value at p that nameFn (one of apivalidation's
// NameIs… functions) refuses.
func validateNameAt(v string, nameFn apivalidation.ValidateNameFunc, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range nameFn(v, false) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

// validateClassName checks a storage class, volume attributes class or
// device class name in a reference (a DNS subdomain).
func validateClassName(v string, p *field.Path) field.ErrorList {
	return validateNameAt(v, apivalidation.NameIsDNSSubdomain, p)
}

// validateCSIDriverName checks a CSI driver name: required, at most 63
// characters, a DNS subdomain once lower-cased.
func validateCSIDriverName(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	if len(v) > 63 {
		errs = append(errs, field.TooLong(p, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(v)) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

// validateNonNegativeQuantity reports a quantity below zero.
func validateNonNegativeQuantity(q resource.Quantity, p *field.Path) field.ErrorList {
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(p, q.String(), "must be greater than or equal to 0")}
	}
	return nil
}

// validatePositiveQuantity reports a quantity not above zero.
func validatePositiveQuantity(q resource.Quantity, p *field.Path) field.ErrorList {
	if q.Sign() <= 0 {
		return field.ErrorList{field.Invalid(p, q.String(), "must be greater than zero")}
	}
	return nil
}

var nodeSelectorOperators = []corev1.NodeSelectorOperator{
	corev1.NodeSelectorOpDoesNotExist, corev1.NodeSelectorOpExists, corev1.NodeSelectorOpGt,
	corev1.NodeSelectorOpIn, corev1.NodeSelectorOpLt, corev1.NodeSelectorOpNotIn,
}

// validateNodeSelectorRequirement checks one requirement of a node selector
// term: a label key with an operator and the values it needs.
func validateNodeSelectorRequirement(r corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(r.Values) != 1 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("operator"), r.Operator, nodeSelectorOperators))
	}
	errs = append(errs, metav1validation.ValidateLabelName(r.Key, p.Child("key"))...)
	return errs
}

// validateNodeSelector checks a required node selector (PersistentVolume
// node affinity, RuntimeClass scheduling, ResourceSlice nodes).
func validateNodeSelector(ns *corev1.NodeSelector, p *field.Path) field.ErrorList {
	termsPath := p.Child("nodeSelectorTerms")
	if len(ns.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(termsPath, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, term := range ns.NodeSelectorTerms {
		tp := termsPath.Index(i)
		for j, r := range term.MatchExpressions {
			errs = append(errs, validateNodeSelectorRequirement(r, tp.Child("matchExpressions").Index(j))...)
		}
		for j, r := range term.MatchFields {
			fp := tp.Child("matchFields").Index(j)
			if r.Key != "metadata.name" {
				errs = append(errs, field.NotSupported(fp.Child("key"), r.Key, []string{"metadata.name"}))
			}
			if (r.Operator == corev1.NodeSelectorOpIn || r.Operator == corev1.NodeSelectorOpNotIn) && len(r.Values) != 1 {
				errs = append(errs, field.Required(fp.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
			} else if r.Operator != corev1.NodeSelectorOpIn && r.Operator != corev1.NodeSelectorOpNotIn {
				errs = append(errs, field.Invalid(fp.Child("operator"), r.Operator, "not a valid selector operator"))
			}
		}
	}
	return errs
}

// validateTopologyTerms checks a storage class's allowed topologies: each
// term's expressions have a key and values, and no term repeats a key.
func validateTopologyTerms(terms []corev1.TopologySelectorTerm, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, term := range terms {
		seen := sets.New[string]()
		for j, r := range term.MatchLabelExpressions {
			ep := p.Index(i).Child("matchLabelExpressions").Index(j)
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(ep.Child("values"), ""))
			}
			for k, v := range r.Values {
				for _, msg := range validation.IsValidLabelValue(v) {
					errs = append(errs, field.Invalid(ep.Child("values").Index(k), v, msg))
				}
			}
			errs = append(errs, metav1validation.ValidateLabelName(r.Key, ep.Child("key"))...)
			if seen.Has(r.Key) {
				errs = append(errs, field.Duplicate(ep.Child("key"), r.Key))
			}
			seen.Insert(r.Key)
		}
	}
	return errs
}

// validateEnum reports a value outside allowed; empty is Required.
func validateEnum[T ~string](v T, allowed []T, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(p, v, allowed)}
}

// validateMaxItems reports a list longer than limit.
func validateMaxItems(n, limit int, p *field.Path) field.ErrorList {
	if n > limit {
		return field.ErrorList{field.TooMany(p, n, limit)}
	}
	return nil
}

// validateMaxLength reports a string longer than limit.
func validateMaxLength(v string, limit int, p *field.Path) field.ErrorList {
	if len(v) > limit {
		return field.ErrorList{field.TooLong(p, "", limit)}
	}
	return nil
}

// validateQualifiedNameAt is validateQualifiedName for a value that must be set.
func requiredQualifiedName(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return validateQualifiedName(v, p)
}

// validateCIDR checks a CIDR in canonical form, as Kubernetes' strict IP
// validation wants it.
func validateCIDR(v string, p *field.Path) field.ErrorList {
	errs := validation.IsValidCIDR(p, v)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// describeList joins a list of values for a table cell ("<none>" when empty).
func describeList(vals []string) string {
	if len(vals) == 0 {
		return "<none>"
	}
	return strings.Join(vals, ",")
}

// boolCell is how kubectl prints an optional boolean.
func boolCell(b *bool) any {
	if b == nil {
		return false
	}
	return *b
}

func stringCell(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}

func quantityString(q *resource.Quantity) string {
	if q == nil {
		return "<unset>"
	}
	return q.String()
}

// errorf is a short field.Invalid with a formatted message.
func invalidf(p *field.Path, v any, format string, a ...any) *field.Error {
	return field.Invalid(p, v, fmt.Sprintf(format, a...))
}
