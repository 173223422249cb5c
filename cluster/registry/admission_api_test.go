package registry_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/deviations"
)

// wantCause checks that err is a 422 with exactly one cause, at field with message.
func wantCause(t *testing.T, err error, field, message string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422 Invalid, got %v", err)
	}
	st := err.(apierrors.APIStatus).Status()
	if st.Details == nil || len(st.Details.Causes) != 1 {
		t.Fatalf("want one cause, got %+v", st.Details)
	}
	if c := st.Details.Causes[0]; c.Field != field || c.Message != message {
		t.Errorf("cause %s: %q\nwant  %s: %q", c.Field, c.Message, field, message)
	}
}

func loopbackEndpoints() *corev1.Endpoints {
	return &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "127.152.1.2"}},
			Ports:     []corev1.EndpointPort{{Port: 8080}},
		}},
	}
}

func loopbackSlice() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.152.1.2"}}},
	}
}

func seLinuxPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "labelled"},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t"}},
			Containers:      []corev1.Container{{Name: "app", Image: "seven.local/fixture:v1"}},
		},
	}
}

// TestKubernetesRulesThroughTheAPI: by default the API server refuses
// loopback endpoints as Kubernetes does, refuses pods its nodes cannot run,
// stores neither, and declares no deviation.
func TestKubernetesRulesThroughTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("boots an API server")
	}
	cs := kubernetes.NewForConfigOrDie(apiservertest.Start(t))
	ctx := context.Background()

	_, err := cs.CoreV1().Endpoints("default").Create(ctx, loopbackEndpoints(), metav1.CreateOptions{})
	wantCause(t, err, "subsets[0].addresses[0].ip", `Invalid value: "127.152.1.2": may not be in the loopback range (127.0.0.0/8, ::1/128)`)
	if _, err := cs.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("refused Endpoints stored: %v", err)
	}
	_, err = cs.DiscoveryV1().EndpointSlices("default").Create(ctx, loopbackSlice(), metav1.CreateOptions{})
	wantCause(t, err, "endpoints[0].addresses[0]", `Invalid value: "127.152.1.2": may not be in the loopback range (127.0.0.0/8, ::1/128)`)

	_, err = cs.CoreV1().Pods("default").Create(ctx, seLinuxPod(), metav1.CreateOptions{})
	wantCause(t, err, "spec.securityContext.seLinuxOptions",
		`Invalid value: {"type":"spc_t"}: Seven's reference nodes do not support SELinux labels (an API server started with --admit-unsupported-pod-fields admits it, for other nodes)`)
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "labelled", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("refused pod stored: %v", err)
	}
	pvc := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "claims"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "seven.local/fixture:v1"}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
		},
	}
	_, err = cs.CoreV1().Pods("default").Create(ctx, pvc, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	wantCause(t, err, "spec.volumes[0].persistentVolumeClaim",
		`Invalid value: "data": Seven's reference nodes do not support persistentVolumeClaim volumes (an API server started with --admit-unsupported-pod-fields admits it, for other nodes)`)
	// Kubernetes' validation comes first: an invalid pod is refused for that.
	bad := seLinuxPod()
	bad.Spec.Containers[0].Image = ""
	_, err = cs.CoreV1().Pods("default").Create(ctx, bad, metav1.CreateOptions{})
	wantCause(t, err, "spec.containers[0].image", "Required value")

	if _, err := cs.CoreV1().ConfigMaps(deviations.ConfigMapNamespace).Get(ctx, deviations.ConfigMapName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a server without deviations publishes %s: %v", deviations.ConfigMapName, err)
	}
}

// TestDeviationsThroughTheAPI: the switches accept what they say, the
// loopback one is published as a deviation, and a restart without it
// withdraws it (while the stored loopback endpoints stay updatable).
func TestDeviationsThroughTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("boots an API server")
	}
	dir := t.TempDir()
	ctx := context.Background()
	_, rc, stop, err := apiservertest.Boot(apiservertest.Options{DataDir: dir, Configure: func(c *apiserver.Config) {
		c.AllowLoopbackEndpoints, c.AdmitUnsupportedPodFields = true, true
	}})
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	if _, err := cs.CoreV1().Endpoints("default").Create(ctx, loopbackEndpoints(), metav1.CreateOptions{}); err != nil {
		t.Errorf("loopback endpoints with --allow-loopback-endpoints: %v", err)
	}
	if _, err := cs.DiscoveryV1().EndpointSlices("default").Create(ctx, loopbackSlice(), metav1.CreateOptions{}); err != nil {
		t.Errorf("loopback slice with --allow-loopback-endpoints: %v", err)
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, seLinuxPod(), metav1.CreateOptions{}); err != nil {
		t.Errorf("SELinux pod with --admit-unsupported-pod-fields: %v", err)
	}
	// Link-local stays refused: the deviation is loopback only.
	ll := loopbackSlice()
	ll.Name, ll.Endpoints[0].Addresses = "web-2", []string{"169.254.1.1"}
	_, err = cs.DiscoveryV1().EndpointSlices("default").Create(ctx, ll, metav1.CreateOptions{})
	wantCause(t, err, "endpoints[0].addresses[0]", `Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)`)
	cm, err := cs.CoreV1().ConfigMaps(deviations.ConfigMapNamespace).Get(ctx, deviations.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("deviations not published: %v", err)
	}
	if got := deviations.FromData(cm.Data); len(got) != 1 || got[0] != deviations.LoopbackEndpoints {
		t.Errorf("published %+v, want only %+v", got, deviations.LoopbackEndpoints)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	_, rc = apiservertest.StartServer(t, apiservertest.Options{DataDir: dir})
	cs = kubernetes.NewForConfigOrDie(rc)
	if _, err := cs.CoreV1().ConfigMaps(deviations.ConfigMapNamespace).Get(ctx, deviations.ConfigMapName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("restarted without the deviation, the server still declares it: %v", err)
	}
	ep, err := cs.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep.Labels = map[string]string{"touched": "yes"}
	if ep, err = cs.CoreV1().Endpoints("default").Update(ctx, ep, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("stored loopback endpoints, unchanged, must stay updatable: %v", err)
	}
	ep.Subsets[0].Addresses = append(ep.Subsets[0].Addresses, corev1.EndpointAddress{IP: "127.152.1.3"})
	_, err = cs.CoreV1().Endpoints("default").Update(ctx, ep, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("changed loopback endpoints without the deviation: want 422, got %v", err)
	}
}
