package namespace

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FinalizerKubernetes is the finalizer this controller removes.
const FinalizerKubernetes = corev1.FinalizerKubernetes

// Pass is what one deletion pass over a namespace found.
type Pass struct {
	DiscoveryErr error          // discovery failed, at least in part
	Remaining    map[string]int // resource → objects still present (being deleted or just deleted)
	Finalizers   map[string]int // finalizer → objects that still carry it
	Failed       []string       // "resource: error" for lists and deletes that failed
}

// Done reports whether the namespace is empty and may be finalized.
func (p Pass) Done() bool {
	return p.DiscoveryErr == nil && len(p.Failed) == 0 && len(p.Remaining) == 0
}

// Conditions returns the namespace conditions describing p, keeping the
// transition times of unchanged ones from old.
func Conditions(old []corev1.NamespaceCondition, p Pass, now time.Time) []corev1.NamespaceCondition {
	set := func(t corev1.NamespaceConditionType, bad bool, reason, okReason, msg string) corev1.NamespaceCondition {
		c := corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: okReason, LastTransitionTime: metav1.NewTime(now)}
		if bad {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, reason, msg
		}
		for _, o := range old {
			if o.Type == t && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		return c
	}
	var discoveryMsg string
	if p.DiscoveryErr != nil {
		discoveryMsg = p.DiscoveryErr.Error()
	}
	return []corev1.NamespaceCondition{
		set(corev1.NamespaceDeletionDiscoveryFailure, p.DiscoveryErr != nil, "DiscoveryFailed", "ResourcesDiscovered", discoveryMsg),
		set(corev1.NamespaceDeletionGVParsingFailure, false, "GroupVersionParsingFailed", "ParsedGroupVersions", ""),
		set(corev1.NamespaceDeletionContentFailure, len(p.Failed) > 0, "ContentDeletionFailed", "ContentDeleted",
			"Failed to delete all resource types, "+fmt.Sprint(len(p.Failed))+" remaining: "+strings.Join(p.Failed, ", ")),
		set(corev1.NamespaceContentRemaining, len(p.Remaining) > 0, "SomeResourcesRemain", "ContentRemoved",
			"Some resources are remaining: "+counts(p.Remaining, "resource instances")),
		set(corev1.NamespaceFinalizersRemaining, len(p.Finalizers) > 0, "SomeFinalizersRemain", "ContentHasNoFinalizers",
			"Some content in the namespace has finalizers remaining: "+counts(p.Finalizers, "resource instances")),
	}
}

func counts(m map[string]int, what string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s has %d %s", k, m[k], what)
	}
	return strings.Join(parts, ", ")
}

// WithoutFinalizer returns finalizers without FinalizerKubernetes, and whether it was there.
func WithoutFinalizer(fs []corev1.FinalizerName) ([]corev1.FinalizerName, bool) {
	out := make([]corev1.FinalizerName, 0, len(fs))
	found := false
	for _, f := range fs {
		if f == FinalizerKubernetes {
			found = true
			continue
		}
		out = append(out, f)
	}
	return out, found
}
