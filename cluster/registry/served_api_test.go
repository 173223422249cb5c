package registry_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/registry"
)

// TestEveryServedKindSyncsAsAnInformer lists and watches every served kind
// the way upstream components do: a shared informer factory over all of
// them (typed, as kube-scheduler and the kubelet use them) and a metadata
// informer factory (as the garbage collector and the quota controller use
// them) must sync, see a change, and find each kind in discovery.
func TestEveryServedKindSyncsAsAnInformer(t *testing.T) {
	if testing.Short() {
		t.Skip("boots an API server")
	}
	cfg := apiservertest.Start(t)
	cfg.QPS, cfg.Burst = 500, 1000
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	typed := informers.NewSharedInformerFactory(cs, 0)
	meta := metadatainformer.NewSharedInformerFactory(metadata.NewForConfigOrDie(cfg), 0)
	synced := map[schema.GroupVersionResource][]cache.InformerSynced{}
	for _, res := range registry.All() {
		gvr := res.GroupVersionResource()
		inf, err := typed.ForResource(gvr)
		if err != nil {
			t.Errorf("%s: client-go has no informer: %v", gvr, err)
			continue
		}
		synced[gvr] = []cache.InformerSynced{inf.Informer().HasSynced, meta.ForResource(gvr).Informer().HasSynced}
	}
	typed.Start(ctx.Done())
	meta.Start(ctx.Done())
	defer func() {
		cancel()
		typed.Shutdown()
		meta.Shutdown()
	}()
	all := make([]cache.InformerSynced, 0, 2*len(synced))
	for _, s := range synced {
		all = append(all, s...)
	}
	start := time.Now()
	ok := cache.WaitForCacheSync(ctx.Done(), all...)
	t.Logf("%d informers synced in %s", len(all), time.Since(start))
	if !ok {
		for gvr, s := range synced {
			if !s[0]() || !s[1]() {
				t.Errorf("%s: informers did not sync (typed %v, metadata %v)", gvr, s[0](), s[1]())
			}
		}
		t.FailNow()
	}

	// The watches deliver: a StorageClass and a ResourceSlice created now
	// show up in the typed caches.
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "example.com/fast"}
	if _, err := cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	node := "node-1"
	slice := &resourcev1.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1-gpu"},
		Spec: resourcev1.ResourceSliceSpec{Driver: "gpu.example.com", NodeName: &node,
			Pool:    resourcev1.ResourcePool{Name: "node-1", ResourceSliceCount: 1},
			Devices: []resourcev1.Device{{Name: "gpu-0"}}},
	}
	if _, err := cs.ResourceV1().ResourceSlices().Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCached(t, ctx, "storage class", func() bool {
		_, err := typed.Storage().V1().StorageClasses().Lister().Get("fast")
		return err == nil
	})
	waitCached(t, ctx, "resource slice", func() bool {
		_, err := typed.Resource().V1().ResourceSlices().Lister().Get("node-1-gpu")
		return err == nil
	})

	// Discovery names every served kind, as client-go reads it (aggregated).
	_, lists, err := discovery.NewDiscoveryClientForConfigOrDie(cfg).ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	found := map[schema.GroupVersionResource]bool{}
	for _, l := range lists {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		for _, r := range l.APIResources {
			found[gv.WithResource(r.Name)] = true
		}
	}
	for gvr := range synced {
		if !found[gvr] {
			t.Errorf("%s not in discovery", gvr)
		}
	}
	for _, sub := range []schema.GroupVersionResource{
		{Group: "apps", Version: "v1", Resource: "statefulsets/scale"},
		{Version: "v1", Resource: "replicationcontrollers/scale"},
		{Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests/approval"},
		{Group: "resource.k8s.io", Version: "v1", Resource: "resourceclaims/status"},
	} {
		if !found[sub] {
			t.Errorf("subresource %s not in discovery", sub)
		}
	}
}

func waitCached(t *testing.T, ctx context.Context, what string, seen func() bool) {
	t.Helper()
	for !seen() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s never reached the informer", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestServedKindsThroughTheAPI: a sample of the kinds served as objects
// only is defaulted, validated (422 with Kubernetes' causes), updated
// through its subresources and deleted as upstream does.
func TestServedKindsThroughTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("boots an API server")
	}
	cfg := apiservertest.Start(t)
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()

	t.Run("storage classes default and refuse a missing provisioner", func(t *testing.T) {
		sc, err := cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}, Provisioner: "example.com/disk"}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
			t.Errorf("defaults: %v %v", *sc.ReclaimPolicy, *sc.VolumeBindingMode)
		}
		_, err = cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "none"}}, metav1.CreateOptions{})
		wantCause(t, err, "provisioner", "Required value")
		sc.Provisioner = "example.com/other"
		_, err = cs.StorageV1().StorageClasses().Update(ctx, sc, metav1.UpdateOptions{})
		wantCause(t, err, "provisioner", `Invalid value: "example.com/other": field is immutable`)
		if err := cs.StorageV1().StorageClasses().Delete(ctx, "standard", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("claims: pending, status through the subresource, spec immutable", func(t *testing.T) {
		pvc := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}
		got, err := cs.CoreV1().PersistentVolumeClaims("default").Create(ctx, pvc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != corev1.ClaimPending || *got.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
			t.Errorf("defaults: %v %v", got.Status.Phase, got.Spec.VolumeMode)
		}
		got.Status.Phase = corev1.ClaimBound
		got.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
		if got, err = cs.CoreV1().PersistentVolumeClaims("default").UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil || got.Status.Phase != corev1.ClaimBound {
			t.Fatalf("status: %v %v", err, got.Status.Phase)
		}
		got.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		_, err = cs.CoreV1().PersistentVolumeClaims("default").Update(ctx, got, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec is immutable after creation") {
			t.Errorf("changed access modes: %v", err)
		}
		pvc.Name, pvc.Spec.AccessModes = "nomodes", nil
		_, err = cs.CoreV1().PersistentVolumeClaims("default").Create(ctx, pvc, metav1.CreateOptions{})
		wantCause(t, err, "spec.accessModes", "Required value: at least 1 access mode is required")
	})

	t.Run("certificate signing requests: approval and status are separate writes", func(t *testing.T) {
		csr := &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "node-csr"},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: certificateRequest(t), SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}},
		}
		got, err := cs.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A status write cannot approve.
		got.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "ByStatus"}}
		if got, err = cs.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil || len(got.Status.Conditions) != 0 {
			t.Fatalf("status approved: %v %+v", err, got.Status.Conditions)
		}
		got.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved"}}
		got, err = cs.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, "node-csr", got, metav1.UpdateOptions{})
		if err != nil || len(got.Status.Conditions) != 1 || got.Status.Conditions[0].LastUpdateTime.IsZero() {
			t.Fatalf("approval: %v %+v", err, got.Status.Conditions)
		}
		list, err := cs.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{FieldSelector: "spec.signerName=" + certificatesv1.KubeAPIServerClientKubeletSignerName})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("by signer: %v %v", err, list)
		}
		csr.Name, csr.Spec.Request = "garbage", []byte("not a request")
		_, err = cs.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.request") {
			t.Errorf("garbage request: %v", err)
		}
	})

	t.Run("system priority classes exist; user classes are bounded", func(t *testing.T) {
		pc, err := cs.SchedulingV1().PriorityClasses().Get(ctx, "system-node-critical", metav1.GetOptions{})
		if err != nil || pc.Value != 2000001000 || *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
			t.Fatalf("system-node-critical: %v %+v", err, pc)
		}
		_, err = cs.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "huge"}, Value: 2000000000}, metav1.CreateOptions{})
		wantCause(t, err, "value", "Forbidden: maximum allowed value of a user defined priority is 1000000000")
	})

	t.Run("ingresses need a path type", func(t *testing.T) {
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: "web.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}},
		}}}}
		_, err := cs.NetworkingV1().Ingresses("default").Create(ctx, ing, metav1.CreateOptions{})
		wantCause(t, err, "spec.rules[0].http.paths[0].pathType", "Required value: pathType must be specified")
		prefix := networkingv1.PathTypePrefix
		ing.Spec.Rules[0].HTTP.Paths[0].PathType = &prefix
		if _, err := cs.NetworkingV1().Ingresses("default").Create(ctx, ing, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("network policies default their types", func(t *testing.T) {
		np, err := cs.NetworkingV1().NetworkPolicies("default").Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny"},
			Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(np.Spec.PolicyTypes) != 2 {
			t.Errorf("policy types %v", np.Spec.PolicyTypes)
		}
	})

	t.Run("role bindings: PUT creates, the role reference is immutable", func(t *testing.T) {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "readers", Namespace: "default"},
			RoleRef:  rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "alice"}}}
		got, err := cs.RbacV1().RoleBindings("default").Update(ctx, rb, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("create on update: %v", err)
		}
		if got.RoleRef.APIGroup != rbacv1.GroupName || got.Subjects[0].APIGroup != rbacv1.GroupName {
			t.Errorf("defaults %+v", got)
		}
		got.RoleRef.Name = "edit"
		_, err = cs.RbacV1().RoleBindings("default").Update(ctx, got, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "roleRef") {
			t.Errorf("changed role: %v", err)
		}
	})

	t.Run("resource claims default their count and refuse unknown modes", func(t *testing.T) {
		claim := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}, Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{
			Requests: []resourcev1.DeviceRequest{{Name: "gpu", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com"}}}}}}
		got, err := cs.ResourceV1().ResourceClaims("default").Create(ctx, claim, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if e := got.Spec.Devices.Requests[0].Exactly; e.AllocationMode != resourcev1.DeviceAllocationModeExactCount || e.Count != 1 {
			t.Errorf("defaults %+v", e)
		}
		claim.Name = "odd"
		claim.Spec.Devices.Requests[0].Exactly.AllocationMode = "Some"
		_, err = cs.ResourceV1().ResourceClaims("default").Create(ctx, claim, metav1.CreateOptions{})
		wantCause(t, err, "spec.devices.requests[0].exactly.allocationMode", `Unsupported value: "Some": supported values: "All", "ExactCount"`)
	})

	t.Run("cron jobs: defaults and schedules", func(t *testing.T) {
		cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly"}, Spec: batchv1.CronJobSpec{Schedule: "0 3 * * mon-fri",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "seven.local/fixture:v1"}}}}}}}}
		got, err := cs.BatchV1().CronJobs("default").Create(ctx, cj, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.ConcurrencyPolicy != batchv1.AllowConcurrent || *got.Spec.SuccessfulJobsHistoryLimit != 3 || got.Spec.JobTemplate.Spec.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
			t.Errorf("defaults %+v", got.Spec)
		}
		cj.Name, cj.Spec.Schedule = "never", "61 * * * *"
		_, err = cs.BatchV1().CronJobs("default").Create(ctx, cj, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.schedule") {
			t.Errorf("bad schedule: %v", err)
		}
	})

	t.Run("a table for kubectl get", func(t *testing.T) {
		var table metav1.Table
		err := cs.CoreV1().RESTClient().Get().Namespace("default").Resource("persistentvolumeclaims").Param("includeObject", "None").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(&table)
		if err != nil {
			t.Fatal(err)
		}
		if len(table.Rows) != 1 || table.Rows[0].Cells[1] != "Bound" || table.Rows[0].Cells[4] != "" {
			t.Errorf("rows %+v", table.Rows)
		}
	})
}

// TestStatefulSetClaimTemplatesAdmission: the node-support admission
// refuses claim templates (Seven provisions no volumes), as it refuses
// claim volumes in pods, and the switch for other nodes admits them.
func TestStatefulSetClaimTemplatesAdmission(t *testing.T) {
	if testing.Short() {
		t.Skip("boots an API server")
	}
	ctx := context.Background()
	set := func() *appsv1.StatefulSet {
		labels := map[string]string{"app": "db"}
		return &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db"},
			Spec: appsv1.StatefulSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: "seven.local/fixture:v1"}}}},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}},
			},
		}
	}
	cs := kubernetes.NewForConfigOrDie(apiservertest.Start(t))
	_, err := cs.AppsV1().StatefulSets("default").Create(ctx, set(), metav1.CreateOptions{})
	wantCause(t, err, "spec.volumeClaimTemplates",
		`Invalid value: "data": Seven's reference nodes do not support persistent volumes (volumeClaimTemplates) (an API server started with --admit-unsupported-pod-fields admits it, for other nodes)`)

	_, rc := apiservertest.StartServer(t, apiservertest.Options{Configure: func(c *apiserver.Config) { c.AdmitUnsupportedPodFields = true }})
	got, err := kubernetes.NewForConfigOrDie(rc).AppsV1().StatefulSets("default").Create(ctx, set(), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("with --admit-unsupported-pod-fields: %v", err)
	}
	if got.Spec.VolumeClaimTemplates[0].Status.Phase != corev1.ClaimPending || *got.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable != intstr.FromInt32(1) {
		t.Errorf("defaults %+v", got.Spec)
	}
}

func certificateRequest(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}
