package registry

import (
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func nodes() *Resource {
	return &Resource{
		GroupVersion: corev1.SchemeGroupVersion,
		Name:         "nodes",
		Singular:     "node",
		Kind:         "Node",
		ListKind:     "NodeList",
		ShortNames:   []string{"no"},
		New:          func() runtime.Object { return &corev1.Node{} },
		NewList:      func() runtime.Object { return &corev1.NodeList{} },
		Status:       true,
		Default: func(obj runtime.Object) {
			n := obj.(*corev1.Node)
			// podCIDR and podCIDRs mirror each other, as the v1 conversion keeps them.
			if len(n.Spec.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
				n.Spec.PodCIDRs = []string{n.Spec.PodCIDR}
			} else if len(n.Spec.PodCIDRs) > 0 {
				n.Spec.PodCIDR = n.Spec.PodCIDRs[0]
			}
			if n.Status.Allocatable == nil && n.Status.Capacity != nil {
				n.Status.Allocatable = n.Status.Capacity.DeepCopy()
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			n := obj.(*corev1.Node)
			errs := validateMeta(&n.ObjectMeta, false, apivalidation.NameIsDNSSubdomain)
			return append(errs, validateNodeSpec(&n.Spec)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*corev1.Node), oldObj.(*corev1.Node)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateNodeSpec(&n.Spec)...)
			const cidrMsg = "node updates may not change podCIDR except from \"\" to valid"
			if len(o.Spec.PodCIDRs) > 0 {
				changed := len(n.Spec.PodCIDRs) != len(o.Spec.PodCIDRs)
				for i := range o.Spec.PodCIDRs {
					changed = changed || (i < len(n.Spec.PodCIDRs) && n.Spec.PodCIDRs[i] != o.Spec.PodCIDRs[i])
				}
				if changed {
					errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), cidrMsg))
				}
			}
			if o.Spec.ProviderID != "" && n.Spec.ProviderID != o.Spec.ProviderID {
				errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
			}
			return errs
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Status", "string", "The status of the node"),
			column("Roles", "string", "The roles of the node"),
			ageColumn(),
			column("Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"]),
			wideColumn("Internal-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
			wideColumn("External-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
			wideColumn("OS-Image", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["osImage"]),
			wideColumn("Kernel-Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"]),
			wideColumn("Container-Runtime", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"]),
		},
		Row: func(obj runtime.Object) []any { return nodeRow(obj.(*corev1.Node)) },
	}
}

func validateNodeSpec(s *corev1.NodeSpec) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("spec")
	for i, cidr := range s.PodCIDRs {
		errs = append(errs, validation.IsValidCIDRForLegacyField(sp.Child("podCIDRs").Index(i), cidr, true, nil)...)
	}
	type key struct {
		k string
		e corev1.TaintEffect
	}
	seen := map[key]bool{}
	for i, t := range s.Taints {
		ip := sp.Child("taints").Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, ip.Child("key"))...)
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			errs = append(errs, field.Invalid(ip.Child("value"), t.Value, msg))
		}
		errs = append(errs, validateTaintEffect(t.Effect, false, ip.Child("effect"))...)
		k := key{t.Key, t.Effect}
		if seen[k] {
			errs = append(errs, field.Duplicate(ip, t))
		}
		seen[k] = true
	}
	return errs
}

func nodeRow(n *corev1.Node) []any {
	var status []string
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			status = append(status, string(c.Type))
		} else {
			status = append(status, "Not"+string(c.Type))
		}
		break
	}
	if len(status) == 0 {
		status = append(status, "Unknown")
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}
	roles := nodeRoles(n)
	rolesStr := strings.Join(roles, ",")
	if rolesStr == "" {
		rolesStr = "<none>"
	}
	info := n.Status.NodeInfo
	unknown := func(s string) string {
		if s == "" {
			return "<unknown>"
		}
		return s
	}
	return []any{n.Name, strings.Join(status, ","), rolesStr, since(n.CreationTimestamp), info.KubeletVersion,
		nodeAddress(n, corev1.NodeInternalIP), nodeAddress(n, corev1.NodeExternalIP),
		unknown(info.OSImage), unknown(info.KernelVersion), unknown(info.ContainerRuntimeVersion)}
}

// nodeRoles are the roles named by node-role.kubernetes.io/<role> labels
// and the kubernetes.io/role label, sorted.
func nodeRoles(n *corev1.Node) []string {
	set := map[string]bool{}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if role := strings.TrimPrefix(k, "node-role.kubernetes.io/"); role != "" {
				set[role] = true
			}
		case k == "kubernetes.io/role" && v != "":
			set[v] = true
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}
