package registry

import (
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// admissionregistration.k8s.io/v1 ValidatingAdmissionPolicies (+status) and
// their bindings: stored and validated structurally, never enforced —
// Seven's API server runs no CEL admission. Their CEL expressions are not
// compiled here (Kubernetes refuses a policy whose expressions do not
// compile; Seven stores it). Upstream kube-controller-manager type-checks
// policies into their status.

const maxAuditAnnotations = 20

func validatingAdmissionPolicies() *Resource {
	return &Resource{
		GroupVersion: admissionregistrationv1.SchemeGroupVersion,
		Name:         "validatingadmissionpolicies",
		Singular:     "validatingadmissionpolicy",
		Kind:         "ValidatingAdmissionPolicy",
		ListKind:     "ValidatingAdmissionPolicyList",
		Categories:   []string{"api-extensions"},
		New:          func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} },
		NewList:      func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyList{} },
		Status:       true,
		Default: func(obj runtime.Object) {
			s := &obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec
			if s.FailurePolicy == nil {
				s.FailurePolicy = ptrTo(admissionregistrationv1.Fail)
			}
			defaultMatchResources(s.MatchConstraints)
		},
		PrepareForCreate: func(obj runtime.Object) {
			p := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
			p.Status = admissionregistrationv1.ValidatingAdmissionPolicyStatus{}
			p.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*admissionregistrationv1.ValidatingAdmissionPolicy), oldObj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			p := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
			return append(validateMeta(&p.ObjectMeta, false, apivalidation.NameIsDNSSubdomain), validatePolicySpec(&p.Spec)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*admissionregistrationv1.ValidatingAdmissionPolicy), oldObj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
			errs := append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validatePolicySpec(&n.Spec)...)
			return append(errs, metav1validation.ValidateConditions(n.Status.Conditions, field.NewPath("status", "conditions"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Validations", "integer", "Validations indicates the number of validation rules defined in this configuration"),
			column("ParamKind", "string", "ParamKind specifies the kind of resources used to parameterize this policy"),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			p := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
			paramKind := "<unset>"
			if pk := p.Spec.ParamKind; pk != nil {
				paramKind = pk.APIVersion + "/" + pk.Kind
			}
			return []any{p.Name, int64(len(p.Spec.Validations)), paramKind, since(p.CreationTimestamp)}
		},
	}
}

func defaultMatchResources(m *admissionregistrationv1.MatchResources) {
	if m == nil {
		return
	}
	if m.MatchPolicy == nil {
		m.MatchPolicy = ptrTo(admissionregistrationv1.Equivalent)
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	for _, rules := range [][]admissionregistrationv1.NamedRuleWithOperations{m.ResourceRules, m.ExcludeResourceRules} {
		for i := range rules {
			if rules[i].Scope == nil {
				rules[i].Scope = ptrTo(admissionregistrationv1.AllScopes)
			}
		}
	}
}

func validatePolicySpec(s *admissionregistrationv1.ValidatingAdmissionPolicySpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if s.FailurePolicy == nil {
		errs = append(errs, field.Required(p.Child("failurePolicy"), ""))
	} else {
		errs = append(errs, validateEnum(*s.FailurePolicy, []admissionregistrationv1.FailurePolicyType{admissionregistrationv1.Fail, admissionregistrationv1.Ignore}, p.Child("failurePolicy"))...)
	}
	if pk := s.ParamKind; pk != nil {
		kp := p.Child("paramKind")
		if pk.APIVersion == "" {
			errs = append(errs, field.Required(kp.Child("apiVersion"), ""))
		} else if group, version, _ := strings.Cut(pk.APIVersion, "/"); strings.Count(pk.APIVersion, "/") > 1 {
			errs = append(errs, field.Invalid(kp.Child("apiVersion"), pk.APIVersion, fmt.Sprintf("unexpected GroupVersion string: %v", pk.APIVersion)))
		} else {
			if !strings.Contains(pk.APIVersion, "/") {
				group, version = "", pk.APIVersion
			}
			if group != "" {
				for _, msg := range validation.IsDNS1123Subdomain(group) {
					errs = append(errs, field.Invalid(kp.Child("apiVersion"), group, msg))
				}
			}
			for _, msg := range validation.IsDNS1035Label(version) {
				errs = append(errs, field.Invalid(kp.Child("apiVersion"), version, msg))
			}
		}
		if pk.Kind == "" {
			errs = append(errs, field.Required(kp.Child("kind"), ""))
		} else if msgs := validation.IsDNS1035Label(strings.ToLower(pk.Kind)); len(msgs) > 0 {
			errs = append(errs, field.Invalid(kp.Child("kind"), pk.Kind, "may have mixed case, but should otherwise match: "+strings.Join(msgs, ",")))
		}
	}
	if s.MatchConstraints == nil {
		errs = append(errs, field.Required(p.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validateMatchResources(s.MatchConstraints, p.Child("matchConstraints"))...)
		if len(s.MatchConstraints.ResourceRules) == 0 {
			errs = append(errs, field.Required(p.Child("matchConstraints", "resourceRules"), ""))
		}
	}
	errs = append(errs, validateMaxItems(len(s.MatchConditions), 64, p.Child("matchConditions"))...)
	names := sets.New[string]()
	for i, c := range s.MatchConditions {
		cp := p.Child("matchConditions").Index(i)
		if strings.TrimSpace(c.Expression) == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
		}
		errs = append(errs, requiredQualifiedName(c.Name, cp.Child("name"))...)
		if c.Name != "" && names.Has(c.Name) {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		}
		names.Insert(c.Name)
	}
	for i, v := range s.Variables {
		vp := p.Child("variables").Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(vp.Child("name"), "name is not specified"))
		}
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
		}
	}
	if len(s.Validations) == 0 && len(s.AuditAnnotations) == 0 {
		const msg = "validations or auditAnnotations must contain at least one item"
		return append(errs, field.Required(p.Child("validations"), msg), field.Required(p.Child("auditAnnotations"), msg))
	}
	for i, v := range s.Validations {
		vp := p.Child("validations").Index(i)
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
		}
		if strings.ContainsAny(v.Message, "\n\r") {
			errs = append(errs, field.Invalid(vp.Child("message"), v.Message, "message must not contain line breaks"))
		}
		if v.Reason != nil {
			allowed := []metav1.StatusReason{metav1.StatusReasonForbidden, metav1.StatusReasonInvalid, metav1.StatusReasonRequestEntityTooLarge, metav1.StatusReasonUnauthorized}
			errs = append(errs, validateEnum(*v.Reason, allowed, vp.Child("reason"))...)
		}
	}
	if len(s.AuditAnnotations) > maxAuditAnnotations {
		errs = append(errs, field.Invalid(p.Child("auditAnnotations"), s.AuditAnnotations, fmt.Sprintf("must not have more than %d auditAnnotations", maxAuditAnnotations)))
	}
	keys := sets.New[string]()
	for i, a := range s.AuditAnnotations {
		ap := p.Child("auditAnnotations").Index(i)
		if a.Key == "" {
			errs = append(errs, field.Required(ap.Child("key"), ""))
		}
		if strings.TrimSpace(a.ValueExpression) == "" {
			errs = append(errs, field.Required(ap.Child("valueExpression"), "valueExpression is not specified"))
		}
		if keys.Has(a.Key) {
			errs = append(errs, field.Duplicate(ap.Child("key"), a.Key))
		}
		keys.Insert(a.Key)
	}
	return errs
}

func validateMatchResources(m *admissionregistrationv1.MatchResources, p *field.Path) field.ErrorList {
	if m == nil {
		return nil
	}
	var errs field.ErrorList
	if m.MatchPolicy == nil {
		errs = append(errs, field.Required(p.Child("matchPolicy"), ""))
	} else {
		errs = append(errs, validateEnum(*m.MatchPolicy, []admissionregistrationv1.MatchPolicyType{admissionregistrationv1.Equivalent, admissionregistrationv1.Exact}, p.Child("matchPolicy"))...)
	}
	for _, sel := range []struct {
		name string
		s    *metav1.LabelSelector
	}{{"namespaceSelector", m.NamespaceSelector}, {"objectSelector", m.ObjectSelector}} {
		if sel.s == nil {
			errs = append(errs, field.Required(p.Child(sel.name), ""))
		} else {
			errs = append(errs, metav1validation.ValidateLabelSelector(sel.s, metav1validation.LabelSelectorValidationOptions{}, p.Child(sel.name))...)
		}
	}
	for _, rules := range []struct {
		name  string
		rules []admissionregistrationv1.NamedRuleWithOperations
	}{{"resourceRules", m.ResourceRules}, {"excludeResourceRules", m.ExcludeResourceRules}} {
		for i, r := range rules.rules {
			errs = append(errs, validateNamedRule(&r, p.Child(rules.name).Index(i))...)
		}
	}
	return errs
}

var admissionOperations = []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll, admissionregistrationv1.Connect,
	admissionregistrationv1.Create, admissionregistrationv1.Delete, admissionregistrationv1.Update}

func validateNamedRule(r *admissionregistrationv1.NamedRuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, n := range r.ResourceNames {
		errs = append(errs, validatePathSegment(n, p.Child("resourceNames").Index(i))...)
		if names.Has(n) {
			errs = append(errs, field.Duplicate(p.Child("resourceNames").Index(i), n))
		}
		names.Insert(n)
	}
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(p.Child("operations"), ""))
	}
	if len(r.Operations) > 1 && hasWildcard(r.Operations) {
		errs = append(errs, field.Invalid(p.Child("operations"), r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, op := range r.Operations {
		errs = append(errs, validateEnum(op, admissionOperations, p.Child("operations").Index(i))...)
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"apiGroups", r.APIGroups}, {"apiVersions", r.APIVersions}, {"resources", r.Resources}} {
		if len(l.v) == 0 {
			errs = append(errs, field.Required(p.Child(l.name), ""))
		}
		if len(l.v) > 1 && l.name != "resources" && hasWildcard(l.v) {
			errs = append(errs, field.Invalid(p.Child(l.name), l.v, fmt.Sprintf("if '*' is present, must not specify other API %s", strings.TrimPrefix(l.name, "api"))))
		}
	}
	for i, v := range r.APIVersions {
		if v == "" {
			errs = append(errs, field.Required(p.Child("apiVersions").Index(i), ""))
		}
	}
	if r.Scope != nil {
		errs = append(errs, validateEnum(*r.Scope, []admissionregistrationv1.ScopeType{admissionregistrationv1.AllScopes, admissionregistrationv1.ClusterScope, admissionregistrationv1.NamespacedScope}, p.Child("scope"))...)
	}
	return errs
}

func hasWildcard[T ~string](vs []T) bool {
	for _, v := range vs {
		if v == "*" {
			return true
		}
	}
	return false
}

func validatingAdmissionPolicyBindings() *Resource {
	return &Resource{
		GroupVersion: admissionregistrationv1.SchemeGroupVersion,
		Name:         "validatingadmissionpolicybindings",
		Singular:     "validatingadmissionpolicybinding",
		Kind:         "ValidatingAdmissionPolicyBinding",
		ListKind:     "ValidatingAdmissionPolicyBindingList",
		Categories:   []string{"api-extensions"},
		New:          func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{} },
		NewList:      func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{} },
		Default: func(obj runtime.Object) {
			defaultMatchResources(obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.MatchResources)
		},
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding), oldObj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			b := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
			return append(validateMeta(&b.ObjectMeta, false, apivalidation.NameIsDNSSubdomain), validatePolicyBindingSpec(&b.Spec)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding), oldObj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validatePolicyBindingSpec(&n.Spec)...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("PolicyName", "string", "PolicyName indicates the policy definition which the policy binding binded to"),
			column("ParamRef", "string", "ParamRef indicates the param resource which sets the configuration param"),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			b := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
			ref := "<unset>"
			if pr := b.Spec.ParamRef; pr != nil {
				ref = pr.Name
				if pr.Namespace != "" {
					ref = pr.Namespace + "/" + pr.Name
				}
			}
			return []any{b.Name, b.Spec.PolicyName, ref, since(b.CreationTimestamp)}
		},
	}
}

func validatePolicyBindingSpec(s *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) field.ErrorList {
	p := field.NewPath("spec")
	var errs field.ErrorList
	if s.PolicyName == "" {
		errs = append(errs, field.Required(p.Child("policyName"), ""))
	} else {
		errs = append(errs, validateDNSSubdomain(s.PolicyName, p.Child("policyName"))...)
	}
	if pr := s.ParamRef; pr != nil {
		rp := p.Child("paramRef")
		if pr.Name != "" {
			errs = append(errs, validatePathSegment(pr.Name, rp.Child("name"))...)
			if pr.Selector != nil {
				errs = append(errs, field.Forbidden(rp.Child("name"), `name and selector are mutually exclusive`))
			}
		}
		if pr.Selector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(pr.Selector, metav1validation.LabelSelectorValidationOptions{}, rp.Child("selector"))...)
			if pr.Name != "" {
				errs = append(errs, field.Forbidden(rp.Child("selector"), `name and selector are mutually exclusive`))
			}
		}
		if pr.Name == "" && pr.Selector == nil {
			errs = append(errs, field.Required(rp, `one of name or selector must be specified`))
		}
		if pr.ParameterNotFoundAction == nil || *pr.ParameterNotFoundAction == "" {
			errs = append(errs, field.Required(rp.Child("parameterNotFoundAction"), ""))
		} else {
			errs = append(errs, validateEnum(*pr.ParameterNotFoundAction, []admissionregistrationv1.ParameterNotFoundActionType{admissionregistrationv1.DenyAction, admissionregistrationv1.AllowAction}, rp.Child("parameterNotFoundAction"))...)
		}
	}
	errs = append(errs, validateMatchResources(s.MatchResources, p.Child("matchResources"))...)
	ap := p.Child("validationActions")
	actions := sets.New[admissionregistrationv1.ValidationAction]()
	for i, a := range s.ValidationActions {
		errs = append(errs, validateEnum(a, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Audit, admissionregistrationv1.Deny, admissionregistrationv1.Warn}, ap.Index(i))...)
		if actions.Has(a) {
			errs = append(errs, field.Duplicate(ap.Index(i), a))
		}
		actions.Insert(a)
	}
	if actions.HasAll(admissionregistrationv1.Deny, admissionregistrationv1.Warn) {
		errs = append(errs, field.Invalid(ap, s.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if actions.Len() == 0 {
		errs = append(errs, field.Required(ap, "at least one validation action is required"))
	}
	return errs
}
