package registry

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestNodeSupportAdmission(t *testing.T) {
	pods := Lookup("", "pods")
	sc := func(mut func(*corev1.SecurityContext)) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{}
			mut(p.Spec.Containers[0].SecurityContext)
		}
	}
	psc := func(mut func(*corev1.PodSecurityContext)) func(*corev1.Pod) {
		return func(p *corev1.Pod) { mut(p.Spec.SecurityContext) }
	}
	volume := func(src corev1.VolumeSource) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: src}} }
	}
	const suffix = " (an API server started with --admit-unsupported-pod-fields admits it, for other nodes)"
	cases := []struct {
		name string
		mut  func(*corev1.Pod)
		want []string // field: value, in order; nil: admitted
		msg  string   // the full message of the first error, when it matters
	}{
		// Honoured: admitted.
		{name: "a plain pod"},
		{name: "users, groups, read-only root, capabilities, no escalation", mut: func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptrTo[int64](1000), RunAsGroup: ptrTo[int64](1000), RunAsNonRoot: ptrTo(true),
				SupplementalGroups: []int64{5}, FSGroup: ptrTo[int64](2000)}
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: ptrTo(true), AllowPrivilegeEscalation: ptrTo(false),
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}}}
		}},
		{name: "privileged on the host network and PID namespace", mut: func(p *corev1.Pod) {
			p.Spec.HostNetwork, p.Spec.HostPID = true, true
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptrTo(true)}
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 8080}}
		}},
		{name: "seccomp RuntimeDefault and Unconfined, AppArmor RuntimeDefault", mut: func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
			p.Spec.SecurityContext.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
				ProcMount: ptrTo(corev1.DefaultProcMount)}
		}},
		{name: "gRPC probes and DNS settings", mut: func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}}
			p.Spec.DNSPolicy, p.Spec.DNSConfig = corev1.DNSNone, &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}}
		}},
		{name: "the volumes the kubelet implements", mut: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptrTo(resource.MustParse("1Gi"))}}},
				{Name: "b", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
				{Name: "d", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "d"}}},
				{Name: "e", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}},
				{Name: "f", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}},
				}}}},
			}
		}},

		// Not honoured: refused, one cause per field.
		{name: "pod SELinux", mut: psc(func(s *corev1.PodSecurityContext) { s.SELinuxOptions = &corev1.SELinuxOptions{Type: "spc_t"} }),
			want: []string{`spec.securityContext.seLinuxOptions: {"type":"spc_t"}`},
			msg:  `spec.securityContext.seLinuxOptions: Invalid value: {"type":"spc_t"}: Seven's reference nodes do not support SELinux labels` + suffix},
		{name: "container SELinux", mut: sc(func(s *corev1.SecurityContext) { s.SELinuxOptions = &corev1.SELinuxOptions{Level: "s0:c1"} }),
			want: []string{`spec.containers[0].securityContext.seLinuxOptions: {"level":"s0:c1"}`}},
		{name: "seccomp Localhost, pod and container", mut: func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptrTo("a.json")}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x:1", SecurityContext: &corev1.SecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptrTo("b.json")}}}}
		}, want: []string{`spec.securityContext.seccompProfile.type: "Localhost"`, `spec.initContainers[0].securityContext.seccompProfile.type: "Localhost"`},
			msg: `spec.securityContext.seccompProfile.type: Invalid value: "Localhost": Seven's reference nodes do not support seccomp profiles from the node (type Localhost)` + suffix},
		{name: "AppArmor Localhost", mut: sc(func(s *corev1.SecurityContext) {
			s.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptrTo("p")}
		}), want: []string{`spec.containers[0].securityContext.appArmorProfile.type: "Localhost"`}},
		{name: "Windows options", mut: func(p *corev1.Pod) {
			p.Spec.SecurityContext.WindowsOptions = &corev1.WindowsSecurityContextOptions{RunAsUserName: ptrTo("u")}
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptrTo(false)}}
		}, want: []string{`spec.securityContext.windowsOptions: {"runAsUserName":"u"}`, `spec.containers[0].securityContext.windowsOptions: {"hostProcess":false}`}},
		{name: "unmasked /proc", mut: sc(func(s *corev1.SecurityContext) { s.ProcMount = ptrTo(corev1.UnmaskedProcMount) }),
			want: []string{`spec.containers[0].securityContext.procMount: "Unmasked"`}},
		{name: "sysctls", mut: psc(func(s *corev1.PodSecurityContext) {
			s.Sysctls = []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}, {Name: "kernel.shm_rmid_forced", Value: "1"}}
		}), want: []string{`spec.securityContext.sysctls[0].name: "net.core.somaxconn"`, `spec.securityContext.sysctls[1].name: "kernel.shm_rmid_forced"`}},
		{name: "host IPC", mut: func(p *corev1.Pod) { p.Spec.HostIPC = true }, want: []string{`spec.hostIPC: true`}},
		{name: "shared process namespace", mut: func(p *corev1.Pod) { p.Spec.ShareProcessNamespace = ptrTo(true) }, want: []string{`spec.shareProcessNamespace: true`}},
		{name: "user namespaces", mut: func(p *corev1.Pod) { p.Spec.HostUsers = ptrTo(false) }, want: []string{`spec.hostUsers: false`}},
		{name: "host users explicitly", mut: func(p *corev1.Pod) { p.Spec.HostUsers = ptrTo(true) }},
		{name: "runtime class", mut: func(p *corev1.Pod) { p.Spec.RuntimeClassName = ptrTo("gvisor") }, want: []string{`spec.runtimeClassName: "gvisor"`}},
		{name: "persistentVolumeClaim", mut: volume(corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}),
			want: []string{`spec.volumes[0].persistentVolumeClaim: "data"`},
			msg:  `spec.volumes[0].persistentVolumeClaim: Invalid value: "data": Seven's reference nodes do not support persistentVolumeClaim volumes` + suffix},
		{name: "nfs", mut: volume(corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}), want: []string{`spec.volumes[0].nfs: "data"`}},
		{name: "csi", mut: volume(corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d"}}), want: []string{`spec.volumes[0].csi: "data"`}},
		{name: "image volume", mut: volume(corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "x:1"}}), want: []string{`spec.volumes[0].image: "data"`}},
		{name: "generic ephemeral", mut: volume(corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}), want: []string{`spec.volumes[0].ephemeral: "data"`}},
		{name: "emptyDir in memory", mut: volume(corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}),
			want: []string{`spec.volumes[0].emptyDir.medium: "Memory"`}},
		{name: "projected cluster trust bundle", mut: volume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Name: ptrTo("b"), Path: "ca.crt"}},
		}}}), want: []string{`spec.volumes[0].projected.sources[1].clusterTrustBundle: {"name":"b","path":"ca.crt"}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := minimalPod()
			if c.mut != nil {
				defaultPod(p) // the pod security context exists, as after defaulting
				c.mut(p)
			}
			if errs := prepare(pods, p); len(errs) > 0 {
				t.Fatalf("the case must pass validation: %v", errs.ToAggregate())
			}
			errs := pods.Admit(p)
			var got []string
			for _, e := range errs {
				if e.Type != field.ErrorTypeInvalid || !strings.HasSuffix(e.Detail, suffix) {
					t.Errorf("%s: %s %q, want Invalid, naming the switch", e.Field, e.Type, e.Detail)
				}
				// "path: Invalid value: VALUE: detail" → "path: VALUE"
				value := strings.TrimSuffix(strings.TrimPrefix(e.Error(), e.Field+": Invalid value: "), ": "+e.Detail)
				got = append(got, e.Field+": "+value)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			if c.msg != "" && (len(errs) == 0 || errs[0].Error() != c.msg) {
				t.Errorf("message:\n got %v\nwant %s", errs.ToAggregate(), c.msg)
			}
			off, err := New(Config{AdmitUnsupportedPodFields: true})
			if err != nil {
				t.Fatal(err)
			}
			if a := off.Lookup("", "pods").Admit; a != nil {
				t.Errorf("switched off, the pod resource still admits: %v", a(p))
			}
		})
	}
}
