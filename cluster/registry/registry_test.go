package registry

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestAllResources(t *testing.T) {
	type want struct {
		group, version, kind string
		namespaced, status   bool
		scale                bool
		short                []string
		all                  bool
	}
	wants := map[string]want{
		"/namespaces":                                              {"", "v1", "Namespace", false, true, false, []string{"ns"}, false},
		"/nodes":                                                   {"", "v1", "Node", false, true, false, []string{"no"}, false},
		"/pods":                                                    {"", "v1", "Pod", true, true, false, []string{"po"}, true},
		"/services":                                                {"", "v1", "Service", true, true, false, []string{"svc"}, true},
		"/endpoints":                                               {"", "v1", "Endpoints", true, false, false, []string{"ep"}, false},
		"/configmaps":                                              {"", "v1", "ConfigMap", true, false, false, []string{"cm"}, false},
		"/secrets":                                                 {"", "v1", "Secret", true, false, false, nil, false},
		"/serviceaccounts":                                         {"", "v1", "ServiceAccount", true, false, false, []string{"sa"}, false},
		"/events":                                                  {"", "v1", "Event", true, false, false, []string{"ev"}, false},
		"events.k8s.io/events":                                     {"events.k8s.io", "v1", "Event", true, false, false, []string{"ev"}, false},
		"apps/deployments":                                         {"apps", "v1", "Deployment", true, true, true, []string{"deploy"}, true},
		"apps/replicasets":                                         {"apps", "v1", "ReplicaSet", true, true, true, []string{"rs"}, true},
		"apps/daemonsets":                                          {"apps", "v1", "DaemonSet", true, true, false, []string{"ds"}, true},
		"apps/controllerrevisions":                                 {"apps", "v1", "ControllerRevision", true, false, false, nil, false},
		"batch/jobs":                                               {"batch", "v1", "Job", true, true, false, nil, true},
		"coordination.k8s.io/leases":                               {"coordination.k8s.io", "v1", "Lease", true, false, false, nil, false},
		"discovery.k8s.io/endpointslices":                          {"discovery.k8s.io", "v1", "EndpointSlice", true, false, false, nil, false},
		"policy/poddisruptionbudgets":                              {"policy", "v1", "PodDisruptionBudget", true, true, false, []string{"pdb"}, false},
		"/replicationcontrollers":                                  {"", "v1", "ReplicationController", true, true, true, []string{"rc"}, true},
		"/podtemplates":                                            {"", "v1", "PodTemplate", true, false, false, nil, false},
		"/persistentvolumes":                                       {"", "v1", "PersistentVolume", false, true, false, []string{"pv"}, false},
		"/persistentvolumeclaims":                                  {"", "v1", "PersistentVolumeClaim", true, true, false, []string{"pvc"}, false},
		"/resourcequotas":                                          {"", "v1", "ResourceQuota", true, true, false, []string{"quota"}, false},
		"/limitranges":                                             {"", "v1", "LimitRange", true, false, false, []string{"limits"}, false},
		"apps/statefulsets":                                        {"apps", "v1", "StatefulSet", true, true, true, []string{"sts"}, true},
		"batch/cronjobs":                                           {"batch", "v1", "CronJob", true, true, false, []string{"cj"}, true},
		"autoscaling/horizontalpodautoscalers":                     {"autoscaling", "v2", "HorizontalPodAutoscaler", true, true, false, []string{"hpa"}, true},
		"storage.k8s.io/storageclasses":                            {"storage.k8s.io", "v1", "StorageClass", false, false, false, []string{"sc"}, false},
		"storage.k8s.io/volumeattributesclasses":                   {"storage.k8s.io", "v1", "VolumeAttributesClass", false, false, false, []string{"vac"}, false},
		"storage.k8s.io/csidrivers":                                {"storage.k8s.io", "v1", "CSIDriver", false, false, false, nil, false},
		"storage.k8s.io/csinodes":                                  {"storage.k8s.io", "v1", "CSINode", false, true, false, nil, false},
		"storage.k8s.io/csistoragecapacities":                      {"storage.k8s.io", "v1", "CSIStorageCapacity", true, false, false, nil, false},
		"storage.k8s.io/volumeattachments":                         {"storage.k8s.io", "v1", "VolumeAttachment", false, true, false, nil, false},
		"resource.k8s.io/deviceclasses":                            {"resource.k8s.io", "v1", "DeviceClass", false, false, false, nil, false},
		"resource.k8s.io/devicetaintrules":                         {"resource.k8s.io", "v1", "DeviceTaintRule", false, true, false, nil, false},
		"resource.k8s.io/resourceclaims":                           {"resource.k8s.io", "v1", "ResourceClaim", true, true, false, nil, false},
		"resource.k8s.io/resourceclaimtemplates":                   {"resource.k8s.io", "v1", "ResourceClaimTemplate", true, false, false, nil, false},
		"resource.k8s.io/resourceslices":                           {"resource.k8s.io", "v1", "ResourceSlice", false, false, false, nil, false},
		"networking.k8s.io/ingresses":                              {"networking.k8s.io", "v1", "Ingress", true, true, false, []string{"ing"}, false},
		"networking.k8s.io/ingressclasses":                         {"networking.k8s.io", "v1", "IngressClass", false, false, false, nil, false},
		"networking.k8s.io/networkpolicies":                        {"networking.k8s.io", "v1", "NetworkPolicy", true, false, false, []string{"netpol"}, false},
		"networking.k8s.io/servicecidrs":                           {"networking.k8s.io", "v1", "ServiceCIDR", false, true, false, nil, false},
		"networking.k8s.io/ipaddresses":                            {"networking.k8s.io", "v1", "IPAddress", false, false, false, []string{"ip"}, false},
		"node.k8s.io/runtimeclasses":                               {"node.k8s.io", "v1", "RuntimeClass", false, false, false, nil, false},
		"scheduling.k8s.io/priorityclasses":                        {"scheduling.k8s.io", "v1", "PriorityClass", false, false, false, []string{"pc"}, false},
		"certificates.k8s.io/certificatesigningrequests":           {"certificates.k8s.io", "v1", "CertificateSigningRequest", false, true, false, []string{"csr"}, false},
		"certificates.k8s.io/clustertrustbundles":                  {"certificates.k8s.io", "v1", "ClusterTrustBundle", false, false, false, nil, false},
		"certificates.k8s.io/podcertificaterequests":               {"certificates.k8s.io", "v1", "PodCertificateRequest", true, true, false, []string{"pcr"}, false},
		"rbac.authorization.k8s.io/roles":                          {"rbac.authorization.k8s.io", "v1", "Role", true, false, false, nil, false},
		"rbac.authorization.k8s.io/clusterroles":                   {"rbac.authorization.k8s.io", "v1", "ClusterRole", false, false, false, nil, false},
		"rbac.authorization.k8s.io/rolebindings":                   {"rbac.authorization.k8s.io", "v1", "RoleBinding", true, false, false, nil, false},
		"rbac.authorization.k8s.io/clusterrolebindings":            {"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", false, false, false, nil, false},
		"admissionregistration.k8s.io/validatingadmissionpolicies": {"admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", false, true, false, nil, false},
		"admissionregistration.k8s.io/validatingadmissionpolicybindings": {"admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding", false, false, false, nil, false},
		"storagemigration.k8s.io/storageversionmigrations":               {"storagemigration.k8s.io", "v1", "StorageVersionMigration", false, true, false, nil, false},
	}
	all := All()
	if len(all) != len(wants) {
		t.Errorf("All() has %d resources, want %d", len(all), len(wants))
	}
	s := Scheme()
	for _, r := range all {
		key := r.GroupVersion.Group + "/" + r.Name
		w, ok := wants[key]
		if !ok {
			t.Errorf("unexpected resource %s", key)
			continue
		}
		if r.GroupVersion.Group != w.group || r.GroupVersion.Version != w.version || r.Kind != w.kind || r.ListKind != w.kind+"List" {
			t.Errorf("%s: gvk %v %s/%s", key, r.GroupVersion, r.Kind, r.ListKind)
		}
		if r.Namespaced != w.namespaced || r.Status != w.status || (r.Scale != nil) != w.scale {
			t.Errorf("%s: namespaced %v status %v scale %v", key, r.Namespaced, r.Status, r.Scale != nil)
		}
		if len(r.ShortNames) != len(w.short) || (len(w.short) > 0 && r.ShortNames[0] != w.short[0]) {
			t.Errorf("%s: short names %v, want %v", key, r.ShortNames, w.short)
		}
		if (len(r.Categories) > 0 && r.Categories[0] == "all") != w.all {
			t.Errorf("%s: categories %v", key, r.Categories)
		}
		if Lookup(w.group, r.Name) != r {
			t.Errorf("Lookup(%q, %q) is not the resource", w.group, r.Name)
		}
		// The scheme knows the kind and its list, under the served version.
		for _, k := range []string{r.Kind, r.ListKind} {
			if !s.Recognizes(r.GroupVersion.WithKind(k)) {
				t.Errorf("scheme does not recognize %v", r.GroupVersion.WithKind(k))
			}
		}
		obj := r.New()
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil || gvks[0] != r.GroupVersionKind() {
			t.Errorf("%s: New() has kinds %v (%v)", key, gvks, err)
		}
		// Every strategy function copes with an empty object.
		if r.Default != nil {
			r.Default(obj)
		}
		if r.PrepareForCreate != nil {
			r.PrepareForCreate(obj)
		}
		if r.Validate != nil && len(r.Validate(obj)) == 0 {
			t.Errorf("%s: an empty object validates", key)
		}
		if r.ValidateUpdate != nil {
			r.ValidateUpdate(obj, r.New())
		}
		if r.Fields != nil {
			r.Fields(obj)
		}
		if r.Row == nil && len(r.Columns) == 0 {
			continue // the server's default table (name, creation time), as upstream for kinds without a printer
		}
		if r.Row == nil || len(r.Columns) == 0 {
			t.Errorf("%s: half a table", key)
			continue
		}
		if cells := r.Row(obj); len(cells) != len(r.Columns) {
			t.Errorf("%s: row has %d cells for %d columns", key, len(cells), len(r.Columns))
		}
	}
	if Lookup("", "deployments") != nil || Lookup("apps", "nope") != nil {
		t.Error("Lookup finds resources that are not served")
	}
}

func TestSchemeExtras(t *testing.T) {
	s := Scheme()
	for _, gvk := range []schema.GroupVersionKind{
		metav1.SchemeGroupVersion.WithKind("Table"),
		metav1.SchemeGroupVersion.WithKind("PartialObjectMetadata"),
		metav1.SchemeGroupVersion.WithKind("PartialObjectMetadataList"),
		metav1.SchemeGroupVersion.WithKind("WatchEvent"),
		corev1.SchemeGroupVersion.WithKind("WatchEvent"),
		appsv1.SchemeGroupVersion.WithKind("WatchEvent"),
		autoscalingv1.SchemeGroupVersion.WithKind("Scale"),
		policyv1.SchemeGroupVersion.WithKind("Eviction"),
		corev1.SchemeGroupVersion.WithKind("Binding"),
		{Version: "v1", Kind: "Status"},
	} {
		if !s.Recognizes(gvk) {
			t.Errorf("scheme does not recognize %v", gvk)
		}
	}
	if s.Recognizes(autoscalingv1.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")) {
		t.Error("scheme serves the autoscaling group")
	}
}

func TestTolerationConfig(t *testing.T) {
	r, err := New(Config{NotReadyTolerationSeconds: 5, UnreachableTolerationSeconds: 7})
	if err != nil {
		t.Fatal(err)
	}
	pod := minimalPod()
	create(t, r.Lookup("", "pods"), pod)
	got := map[string]int64{}
	for _, tol := range pod.Spec.Tolerations {
		got[tol.Key] = *tol.TolerationSeconds
	}
	if got[corev1.TaintNodeNotReady] != 5 || got[corev1.TaintNodeUnreachable] != 7 {
		t.Errorf("tolerations %v", pod.Spec.Tolerations)
	}
	r, _ = New(Config{NotReadyTolerationSeconds: -1, UnreachableTolerationSeconds: -1})
	pod = minimalPod()
	create(t, r.Lookup("", "pods"), pod)
	if *pod.Spec.Tolerations[0].TolerationSeconds != 300 {
		t.Errorf("negative config should mean the default: %v", pod.Spec.Tolerations)
	}
}

func TestGroupVersions(t *testing.T) {
	r, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	gvs := r.GroupVersions()
	if len(gvs) != 17 || gvs[0] != corev1.SchemeGroupVersion || gvs[1] != admissionregistrationv1.SchemeGroupVersion {
		t.Errorf("%v", gvs)
	}
	if r.ForKind(appsv1.SchemeGroupVersion.WithKind("Deployment")) != r.Lookup("apps", "deployments") {
		t.Error("ForKind")
	}
}
