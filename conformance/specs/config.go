package specs

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/gomega" //nolint:revive // the Gomega DSL
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/conformance/expect"
	"github.com/project-seven/seven/conformance/framework"
)

const cf1 = "ConfigMap and Secret values reach pods as environment variables and files; mounted files follow updates within the bound."

var _ = framework.Guarantee("CF-1", cf1, framework.Core, podsOnly, func(ctx context.Context, f *framework.F) {
	cms := f.Client.CoreV1().ConfigMaps(f.Namespace)
	_, err := cms.Create(ctx, configMap(f, "settings", map[string]string{"color": "blue", "greeting": "hello"}), metav1.CreateOptions{})
	f.NoError(err, "create ConfigMap")
	_, err = f.Client.CoreV1().Secrets(f.Namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: f.Namespace},
		Data:       map[string][]byte{"password": []byte("s3cret")},
	}, metav1.CreateOptions{})
	f.NoError(err, "create Secret")

	// Ready once it serves: the spec reads it over HTTP at once.
	pod := f.Pod("consumer", framework.WithReadiness())
	c := &pod.Spec.Containers[0]
	c.Env = append(c.Env,
		corev1.EnvVar{Name: "COLOR", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "color"}}},
		corev1.EnvVar{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
	)
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/config"}, {Name: "secret", MountPath: "/etc/secret"}}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
		{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
	}
	expect.CreatePod(ctx, f, pod)
	p := expect.PodRunning(ctx, f, "consumer")
	base := fmt.Sprintf("http://%s:%d", p.Status.PodIP, framework.FixturePort)
	get := func(ctx context.Context, path string) (string, error) {
		return f.Fixture(ctx, "consumer", "get", base+path, "--timeout", "2s")
	}
	out, err := get(ctx, "/env")
	if err != nil {
		f.Broke("read the environment: %v", err)
	}
	env := strings.Split(out, "\n")
	Expect(env).To(ContainElement("COLOR=blue"), "a configMapKeyRef variable")
	Expect(env).To(ContainElement("PASSWORD=s3cret"), "a secretKeyRef variable")
	Expect(env).To(ContainElement("CM_greeting=hello"), "envFrom a ConfigMap with a prefix")
	file := func(path, want string) {
		got, err := get(ctx, "/file?path="+path)
		f.NoError(err, "read %s in the pod", path)
		Expect(got).To(Equal(want), "file %s", path)
	}
	file("/etc/config/color", "blue")
	file("/etc/secret/password", "s3cret")

	_, err = cms.Update(ctx, configMap(f, "settings", map[string]string{"color": "green", "greeting": "hello"}), metav1.UpdateOptions{})
	f.NoError(err, "update the ConfigMap")
	f.Logf("changed color to green")
	f.Await(ctx, "the mounted file follows the update", f.Bound(2*f.Timings.ConfigVolumeSync), func(ctx context.Context) (bool, string, error) {
		got, err := get(ctx, "/file?path=/etc/config/color")
		if err != nil {
			return false, err.Error(), nil
		}
		return got == "green", fmt.Sprintf("/etc/config/color = %q", got), nil
	})
})
