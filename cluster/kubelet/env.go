package kubelet

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/project-seven/seven/cluster/servicelinks"
)

// configError is a container start failure of kind CreateContainerConfigError
// (a missing ConfigMap, Secret or key the environment refers to).
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// lookups fetch the objects env and volumes refer to; nil results mean
// "not found".
type lookups struct {
	configMap func(name string) (*corev1.ConfigMap, error)
	secret    func(name string) (*corev1.Secret, error)
	services  []*corev1.Service // of the pod's namespace and default/kubernetes
}

// containerEnv computes a container's environment in Kubernetes order:
// service links, then envFrom, then env (each may refer to earlier variables
// with $(VAR)). The image environment is applied under it by mergeEnv.
func containerEnv(pod *corev1.Pod, c *corev1.Container, lk lookups, podIP, hostIP string, node corev1.ResourceList) ([]corev1.EnvVar, error) {
	var out []corev1.EnvVar
	seen := map[string]int{}
	set := func(name, value string) {
		if i, ok := seen[name]; ok {
			out[i].Value = value
			return
		}
		seen[name] = len(out)
		out = append(out, corev1.EnvVar{Name: name, Value: value})
	}
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	for _, kv := range servicelinks.Env(lk.services, pod.Namespace, links) {
		set(kv.Name, kv.Value)
	}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, err := lk.configMap(from.ConfigMapRef.Name)
			if err != nil {
				return nil, err
			}
			if cm == nil {
				if optional(from.ConfigMapRef.Optional) {
					continue
				}
				return nil, &configError{fmt.Sprintf("configmap %q not found", from.ConfigMapRef.Name)}
			}
			for _, k := range sortedKeys(cm.Data) {
				set(from.Prefix+k, cm.Data[k])
			}
		case from.SecretRef != nil:
			s, err := lk.secret(from.SecretRef.Name)
			if err != nil {
				return nil, err
			}
			if s == nil {
				if optional(from.SecretRef.Optional) {
					continue
				}
				return nil, &configError{fmt.Sprintf("secret %q not found", from.SecretRef.Name)}
			}
			keys := make([]string, 0, len(s.Data))
			for k := range s.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				set(from.Prefix+k, string(s.Data[k]))
			}
		}
	}
	for _, e := range c.Env {
		mapping := func(name string) (string, bool) {
			if i, ok := seen[name]; ok {
				return out[i].Value, true
			}
			return "", false
		}
		if e.ValueFrom == nil {
			set(e.Name, Expand(e.Value, mapping))
			continue
		}
		v, ok, err := valueFrom(pod, c, e.ValueFrom, lk, podIP, hostIP, node)
		if err != nil {
			return nil, err
		}
		if ok {
			set(e.Name, v)
		}
	}
	return out, nil
}

func optional(b *bool) bool { return b != nil && *b }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// valueFrom resolves one env valueFrom; ok is false for an optional key that
// does not exist (the variable is then not set).
func valueFrom(pod *corev1.Pod, c *corev1.Container, src *corev1.EnvVarSource, lk lookups, podIP, hostIP string, node corev1.ResourceList) (string, bool, error) {
	switch {
	case src.FieldRef != nil:
		v, err := fieldValue(pod, src.FieldRef.FieldPath, podIP, hostIP)
		if err != nil {
			return "", false, &configError{err.Error()}
		}
		return v, true, nil
	case src.ResourceFieldRef != nil:
		target := c
		if name := src.ResourceFieldRef.ContainerName; name != "" && name != c.Name {
			target = findContainer(pod, name)
			if target == nil {
				return "", false, &configError{fmt.Sprintf("container %q not found", name)}
			}
		}
		v, err := resourceValue(target, src.ResourceFieldRef, node)
		if err != nil {
			return "", false, &configError{err.Error()}
		}
		return v, true, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := lk.configMap(ref.Name)
		if err != nil {
			return "", false, err
		}
		if cm == nil {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("configmap %q not found", ref.Name)}
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)}
		}
		return v, true, nil
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := lk.secret(ref.Name)
		if err != nil {
			return "", false, err
		}
		if s == nil {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("secret %q not found", ref.Name)}
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)}
		}
		return string(v), true, nil
	}
	return "", false, &configError{"unsupported valueFrom"}
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}

// fieldValue resolves a downward API field path.
func fieldValue(pod *corev1.Pod, path, podIP, hostIP string) (string, error) {
	if k, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	if k, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[k], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// formatMap renders labels or annotations as the downward API does: sorted
// key="value" lines.
func formatMap(m map[string]string) string {
	var b strings.Builder
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

// resourceValue resolves a resourceFieldRef; an unset limit falls back to
// the node's allocatable, as in Kubernetes.
func resourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector, node corev1.ResourceList) (string, error) {
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	res := corev1.ResourceName(name)
	var q resource.Quantity
	var set bool
	if kind == "limits" {
		q, set = c.Resources.Limits[res]
	} else {
		q, set = c.Resources.Requests[res]
		if !set {
			q, set = c.Resources.Limits[res]
		}
	}
	if !set {
		if kind == "requests" {
			return "0", nil
		}
		q = node[res]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if res == corev1.ResourceCPU {
		v := math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue()))
		return strconv.FormatInt(int64(v), 10), nil
	}
	v := math.Ceil(float64(q.Value()) / float64(divisor.Value()))
	return strconv.FormatInt(int64(v), 10), nil
}

// Expand replaces $(VAR) references in s with mapping's values, as
// Kubernetes does for env values, command and args: $$ escapes a $, and a
// reference to an undefined variable is left as written.
func Expand(s string, mapping func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := mapping(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// mergeEnv lays the container's variables over the image's and renders KEY=VALUE.
func mergeEnv(image []string, env []corev1.EnvVar) []string {
	out := make([]string, 0, len(image)+len(env))
	index := map[string]int{}
	for _, kv := range image {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	for _, e := range env {
		kv := e.Name + "=" + e.Value
		if i, ok := index[e.Name]; ok {
			out[i] = kv
			continue
		}
		index[e.Name] = len(out)
		out = append(out, kv)
	}
	return out
}

// commandLine computes argv: the image's entrypoint and cmd, overridden by
// the container's command and args, with $(VAR) expanded from env.
func commandLine(c *corev1.Container, entrypoint, cmd []string, env []corev1.EnvVar) []string {
	values := map[string]string{}
	for _, e := range env {
		values[e.Name] = e.Value
	}
	mapping := func(name string) (string, bool) { v, ok := values[name]; return v, ok }
	var argv []string
	switch {
	case len(c.Command) > 0:
		argv = append(argv, c.Command...)
		argv = append(argv, c.Args...)
	case len(c.Args) > 0:
		argv = append(append(argv, entrypoint...), c.Args...)
	default:
		argv = append(append(argv, entrypoint...), cmd...)
	}
	// Only the container's own command and args are expanded.
	expandFrom := 0
	switch {
	case len(c.Command) > 0:
	case len(c.Args) > 0:
		expandFrom = len(entrypoint)
	default:
		expandFrom = len(argv)
	}
	for i := expandFrom; i < len(argv); i++ {
		argv[i] = Expand(argv[i], mapping)
	}
	return argv
}
