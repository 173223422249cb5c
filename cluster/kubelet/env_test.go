package kubelet

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "b"}
	mapping := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for in, want := range map[string]string{
		"plain":         "plain",
		"$(A)":          "a",
		"x$(A)y$(B)z":   "xaybz",
		"$(C)":          "$(C)",
		"$$(A)":         "$(A)",
		"$$":            "$",
		"$A":            "$A",
		"$(A":           "$(A",
		"100$":          "100$",
		"$(A)$(C)$$(B)": "a$(C)$(B)",
	} {
		if got := Expand(in, mapping); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommandLine(t *testing.T) {
	env := []corev1.EnvVar{{Name: "PORT", Value: "9090"}}
	ep, cmd := []string{"/fixture"}, []string{"serve"}
	for _, tc := range []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"image defaults", nil, nil, []string{"/fixture", "serve"}},
		{"args replace cmd", nil, []string{"sleep", "$(PORT)"}, []string{"/fixture", "sleep", "9090"}},
		{"command drops cmd", []string{"/bin/x", "$(PORT)"}, nil, []string{"/bin/x", "9090"}},
		{"command and args", []string{"/bin/x"}, []string{"-p", "$(PORT)", "$(NOPE)"}, []string{"/bin/x", "-p", "9090", "$(NOPE)"}},
	} {
		c := &corev1.Container{Command: tc.command, Args: tc.args}
		if got := commandLine(c, ep, cmd, env); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "n1", ServiceAccountName: "sa"},
	}
	opt := true
	c := &corev1.Container{
		Name: "c",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceMemory: resource.MustParse("64Mi"), corev1.ResourceCPU: resource.MustParse("250m")}},
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}, Prefix: "CM_"},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: &opt}},
		},
		Env: []corev1.EnvVar{
			{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "SA", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
			{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "KEY", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k"}}},
			{Name: "PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "pw"}}},
			{Name: "NOPE", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "none", Optional: &opt}}},
			{Name: "URL", Value: "http://$(POD_IP):$(WEB_SERVICE_PORT)/$(CM_k)"},
		},
	}
	lk := lookups{
		configMap: func(name string) (*corev1.ConfigMap, error) {
			if name == "cm" {
				return &corev1.ConfigMap{Data: map[string]string{"k": "v"}}, nil
			}
			return nil, nil
		},
		secret: func(name string) (*corev1.Secret, error) {
			if name == "s" {
				return &corev1.Secret{Data: map[string][]byte{"pw": []byte("hunter2")}}, nil
			}
			return nil, nil
		},
		services: []*corev1.Service{
			{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.7",
				Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "headless", Namespace: "ns"}, Spec: corev1.ServiceSpec{ClusterIP: "None",
				Ports: []corev1.ServicePort{{Port: 80}}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.8",
				Ports: []corev1.ServicePort{{Port: 80}}}},
		},
	}
	env, err := containerEnv(pod, c, lk, "127.1.0.5", "127.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range env {
		got[e.Name] = e.Value
	}
	want := map[string]string{
		"CM_k": "v", "NAME": "p", "APP": "web", "NODE": "n1", "SA": "sa", "POD_IP": "127.1.0.5", "HOST_IP": "127.0.0.1",
		"MEM": "64", "CPU": "250", "KEY": "v", "PASS": "hunter2", "URL": "http://127.1.0.5:80/v",
		"WEB_SERVICE_HOST": "10.96.0.7", "WEB_SERVICE_PORT": "80", "WEB_SERVICE_PORT_HTTP": "80",
		"WEB_PORT": "tcp://10.96.0.7:80", "WEB_PORT_80_TCP": "tcp://10.96.0.7:80", "WEB_PORT_80_TCP_PROTO": "tcp",
		"WEB_PORT_80_TCP_PORT": "80", "WEB_PORT_80_TCP_ADDR": "10.96.0.7",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env\n got %v\nwant %v", got, want)
	}

	// Missing references are CreateContainerConfigError.
	for _, bad := range []corev1.EnvVar{
		{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Key: "k"}}},
		{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "missing"}}},
		{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Key: "k"}}},
	} {
		_, err := containerEnv(pod, &corev1.Container{Env: []corev1.EnvVar{bad}}, lk, "", "", nil)
		var ce *configError
		if !errorsAs(err, &ce) {
			t.Errorf("%+v: error %v, want a configError", bad.ValueFrom, err)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/", "A=1", "B=2"}, []corev1.EnvVar{{Name: "A", Value: "x"}, {Name: "C", Value: "3"}})
	if strings.Join(got, " ") != "PATH=/ A=x B=2 C=3" {
		t.Errorf("merged %v", got)
	}
}
