package registry

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// rbac.authorization.k8s.io/v1 Roles, ClusterRoles, RoleBindings and
// ClusterRoleBindings: stored, validated and watched, but not enforced —
// Seven authorizes every authenticated user as an admin (README, known
// gaps). Upstream kube-controller-manager aggregates ClusterRoles through
// them.

// rbacName is how Kubernetes checks RBAC names: any path segment.
func rbacName(name string, _ bool) []string {
	if errs := validatePathSegment(name, field.NewPath("name")); len(errs) > 0 {
		return []string{errs[0].Detail}
	}
	return nil
}

func roles() *Resource {
	return &Resource{
		GroupVersion:   rbacv1.SchemeGroupVersion,
		Name:           "roles",
		Singular:       "role",
		Kind:           "Role",
		ListKind:       "RoleList",
		Namespaced:     true,
		CreateOnUpdate: true,
		New:            func() runtime.Object { return &rbacv1.Role{} },
		NewList:        func() runtime.Object { return &rbacv1.RoleList{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			r := obj.(*rbacv1.Role)
			return append(validateMeta(&r.ObjectMeta, true, rbacName), validatePolicyRules(r.Rules, true)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*rbacv1.Role), oldObj.(*rbacv1.Role)
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validatePolicyRules(n.Rules, true)...)
		},
	}
}

func clusterRoles() *Resource {
	return &Resource{
		GroupVersion:   rbacv1.SchemeGroupVersion,
		Name:           "clusterroles",
		Singular:       "clusterrole",
		Kind:           "ClusterRole",
		ListKind:       "ClusterRoleList",
		CreateOnUpdate: true,
		New:            func() runtime.Object { return &rbacv1.ClusterRole{} },
		NewList:        func() runtime.Object { return &rbacv1.ClusterRoleList{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			r := obj.(*rbacv1.ClusterRole)
			return append(validateMeta(&r.ObjectMeta, false, rbacName), validateClusterRole(r)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*rbacv1.ClusterRole), oldObj.(*rbacv1.ClusterRole)
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateClusterRole(n)...)
		},
	}
}

func validateClusterRole(r *rbacv1.ClusterRole) field.ErrorList {
	errs := validatePolicyRules(r.Rules, false)
	if r.AggregationRule == nil {
		return errs
	}
	sp := field.NewPath("aggregationRule", "clusterRoleSelectors")
	if len(r.AggregationRule.ClusterRoleSelectors) == 0 {
		errs = append(errs, field.Required(sp, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
	}
	for i := range r.AggregationRule.ClusterRoleSelectors {
		errs = append(errs, metav1validation.ValidateLabelSelector(&r.AggregationRule.ClusterRoleSelectors[i], metav1validation.LabelSelectorValidationOptions{}, sp.Index(i))...)
	}
	return errs
}

func validatePolicyRules(rules []rbacv1.PolicyRule, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	for i, r := range rules {
		p := field.NewPath("rules").Index(i)
		if len(r.Verbs) == 0 {
			errs = append(errs, field.Required(p.Child("verbs"), "verbs must contain at least one value"))
		}
		if len(r.NonResourceURLs) > 0 {
			if namespaced {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
			}
			if len(r.APIGroups) > 0 || len(r.Resources) > 0 || len(r.ResourceNames) > 0 {
				errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
			}
			continue
		}
		if len(r.APIGroups) == 0 {
			errs = append(errs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
		}
		if len(r.Resources) == 0 {
			errs = append(errs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
		}
	}
	return errs
}

func roleBindings() *Resource {
	return &Resource{
		GroupVersion:   rbacv1.SchemeGroupVersion,
		Name:           "rolebindings",
		Singular:       "rolebinding",
		Kind:           "RoleBinding",
		ListKind:       "RoleBindingList",
		Namespaced:     true,
		CreateOnUpdate: true,
		New:            func() runtime.Object { return &rbacv1.RoleBinding{} },
		NewList:        func() runtime.Object { return &rbacv1.RoleBindingList{} },
		Default: func(obj runtime.Object) {
			b := obj.(*rbacv1.RoleBinding)
			defaultBinding(&b.RoleRef, b.Subjects)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			b := obj.(*rbacv1.RoleBinding)
			return append(validateMeta(&b.ObjectMeta, true, rbacName), validateBinding(b.RoleRef, b.Subjects, true)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*rbacv1.RoleBinding), oldObj.(*rbacv1.RoleBinding)
			errs := append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateBinding(n.RoleRef, n.Subjects, true)...)
			return append(errs, apivalidation.ValidateImmutableField(n.RoleRef, o.RoleRef, field.NewPath("roleRef"))...)
		},
		Columns: bindingColumns("roleBinding"),
		Row: func(obj runtime.Object) []any {
			b := obj.(*rbacv1.RoleBinding)
			return bindingRow(b.Name, b.RoleRef, b.Subjects, b.CreationTimestamp)
		},
	}
}

func clusterRoleBindings() *Resource {
	return &Resource{
		GroupVersion:   rbacv1.SchemeGroupVersion,
		Name:           "clusterrolebindings",
		Singular:       "clusterrolebinding",
		Kind:           "ClusterRoleBinding",
		ListKind:       "ClusterRoleBindingList",
		CreateOnUpdate: true,
		New:            func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
		NewList:        func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
		Default: func(obj runtime.Object) {
			b := obj.(*rbacv1.ClusterRoleBinding)
			defaultBinding(&b.RoleRef, b.Subjects)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			b := obj.(*rbacv1.ClusterRoleBinding)
			return append(validateMeta(&b.ObjectMeta, false, rbacName), validateBinding(b.RoleRef, b.Subjects, false)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*rbacv1.ClusterRoleBinding), oldObj.(*rbacv1.ClusterRoleBinding)
			errs := append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateBinding(n.RoleRef, n.Subjects, false)...)
			return append(errs, apivalidation.ValidateImmutableField(n.RoleRef, o.RoleRef, field.NewPath("roleRef"))...)
		},
		Columns: bindingColumns("clusterRoleBinding"),
		Row: func(obj runtime.Object) []any {
			b := obj.(*rbacv1.ClusterRoleBinding)
			return bindingRow(b.Name, b.RoleRef, b.Subjects, b.CreationTimestamp)
		},
	}
}

func defaultBinding(ref *rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
	for i := range subjects {
		if s := &subjects[i]; s.APIGroup == "" && (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) {
			s.APIGroup = rbacv1.GroupName
		}
	}
}

// validateBinding checks a binding's role reference and subjects; a
// namespaced binding may name a Role and its service accounts may omit
// their namespace.
func validateBinding(ref rbacv1.RoleRef, subjects []rbacv1.Subject, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	rp := field.NewPath("roleRef")
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(rp.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	kinds := []string{"ClusterRole"}
	if namespaced {
		kinds = []string{"Role", "ClusterRole"}
	}
	if ref.Kind != "ClusterRole" && (!namespaced || ref.Kind != "Role") {
		errs = append(errs, field.NotSupported(rp.Child("kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(rp.Child("name"), ""))
	} else {
		errs = append(errs, validateNameAt(ref.Name, rbacName, rp.Child("name"))...)
	}
	for i, s := range subjects {
		sp := field.NewPath("subjects").Index(i)
		if s.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), ""))
		}
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			if s.Name != "" {
				errs = append(errs, validateNameAt(s.Name, apivalidation.NameIsDNSSubdomain, sp.Child("name"))...)
			}
			if s.APIGroup != "" {
				errs = append(errs, field.NotSupported(sp.Child("apiGroup"), s.APIGroup, []string{""}))
			}
			if !namespaced && s.Namespace == "" {
				errs = append(errs, field.Required(sp.Child("namespace"), ""))
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.APIGroup != rbacv1.GroupName {
				errs = append(errs, field.NotSupported(sp.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
			}
		default:
			errs = append(errs, field.NotSupported(sp.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
		}
	}
	return errs
}

func bindingColumns(what string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		column("Role", "string", rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]),
		ageColumn(),
		wideColumn("Users", "string", "Users in the "+what),
		wideColumn("Groups", "string", "Groups in the "+what),
		wideColumn("ServiceAccounts", "string", "ServiceAccounts in the "+what),
	}
}

func bindingRow(name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, created metav1.Time) []any {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+":"+s.Name)
		}
	}
	return []any{name, ref.Kind + "/" + ref.Name, since(created), strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", ")}
}
