package registry

import (
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Node-support admission: Seven's own admission step, not Kubernetes
// validation.
//
// Kubernetes accepts every pod its validation allows and leaves it to the
// node to honour each field. Seven's nodes honour most of them — users and
// groups (runAsUser, runAsGroup, runAsNonRoot, supplementalGroups, fsGroup),
// readOnlyRootFilesystem, capabilities, allowPrivilegeEscalation,
// privileged, hostNetwork, hostPID, hostPort, gRPC probes, dnsPolicy and
// dnsConfig, seccompProfile RuntimeDefault and Unconfined (the process
// runtime's default seccomp profile is none, so both mean no filter there)
// — but a few they cannot, and a field silently ignored is worse than a
// refused pod. So a pod asking for one of those is refused at create with
// 422 and a cause per field, after validation (as Kubernetes' validating
// admission runs after the strategy).
//
// The step belongs to the reference, not to the API: an API server whose
// pods run on other nodes (upstream kubelets) turns it off
// (Config.AdmitUnsupportedPodFields, `--admit-unsupported-pod-fields`).

// admitFlag names the switch in refusal messages, so that an operator who
// runs other nodes knows what to change.
const admitFlag = "--admit-unsupported-pod-fields"

// unsupported is the refusal of one field that Seven's nodes cannot honour.
func unsupported(p *field.Path, value any, what string) *field.Error {
	return field.Invalid(p, value, "Seven's reference nodes do not support "+what+
		" (an API server started with "+admitFlag+" admits it, for other nodes)")
}

// refuseUnsupportedPodFields returns one error per field of pod that Seven's
// nodes cannot honour. Paths are Kubernetes' field paths.
func refuseUnsupportedPodFields(pod *corev1.Pod) field.ErrorList {
	spec := &pod.Spec
	sp := field.NewPath("spec")
	var errs field.ErrorList
	refuse := func(p *field.Path, value any, what string) { errs = append(errs, unsupported(p, value, what)) }
	if spec.HostIPC {
		refuse(sp.Child("hostIPC"), true, "sharing the host's IPC namespace")
	}
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace {
		refuse(sp.Child("shareProcessNamespace"), true, "a process namespace shared by the pod's containers")
	}
	if spec.HostUsers != nil && !*spec.HostUsers {
		refuse(sp.Child("hostUsers"), false, "user namespaces")
	}
	if spec.RuntimeClassName != nil {
		refuse(sp.Child("runtimeClassName"), *spec.RuntimeClassName, "RuntimeClasses")
	}
	if sc := spec.SecurityContext; sc != nil {
		scp := sp.Child("securityContext")
		if sc.SELinuxOptions != nil {
			refuse(scp.Child("seLinuxOptions"), sc.SELinuxOptions, "SELinux labels")
		}
		if sc.WindowsOptions != nil {
			refuse(scp.Child("windowsOptions"), sc.WindowsOptions, "Windows options")
		}
		for i, s := range sc.Sysctls {
			refuse(scp.Child("sysctls").Index(i).Child("name"), s.Name, "sysctls")
		}
		refuseLocalhostProfiles(sc.SeccompProfile, sc.AppArmorProfile, scp, refuse)
	}
	for _, group := range []struct {
		name       string
		containers []corev1.Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}} {
		for i := range group.containers {
			refuseContainerFields(group.containers[i].SecurityContext, sp.Child(group.name).Index(i).Child("securityContext"), refuse)
		}
	}
	for i := range spec.EphemeralContainers {
		refuseContainerFields(spec.EphemeralContainers[i].SecurityContext, sp.Child("ephemeralContainers").Index(i).Child("securityContext"), refuse)
	}
	for i := range spec.Volumes {
		refuseVolume(&spec.Volumes[i], sp.Child("volumes").Index(i), refuse)
	}
	return errs
}

type refuseFunc func(p *field.Path, value any, what string)

func refuseContainerFields(sc *corev1.SecurityContext, p *field.Path, refuse refuseFunc) {
	if sc == nil {
		return
	}
	if sc.SELinuxOptions != nil {
		refuse(p.Child("seLinuxOptions"), sc.SELinuxOptions, "SELinux labels")
	}
	if sc.WindowsOptions != nil {
		refuse(p.Child("windowsOptions"), sc.WindowsOptions, "Windows options")
	}
	if sc.ProcMount != nil && *sc.ProcMount == corev1.UnmaskedProcMount {
		refuse(p.Child("procMount"), string(*sc.ProcMount), "an unmasked /proc")
	}
	refuseLocalhostProfiles(sc.SeccompProfile, sc.AppArmorProfile, p, refuse)
}

// refuseLocalhostProfiles refuses profiles loaded from the node's files:
// Seven's nodes have none to load.
func refuseLocalhostProfiles(seccomp *corev1.SeccompProfile, apparmor *corev1.AppArmorProfile, p *field.Path, refuse refuseFunc) {
	if seccomp != nil && seccomp.Type == corev1.SeccompProfileTypeLocalhost {
		refuse(p.Child("seccompProfile", "type"), string(seccomp.Type), "seccomp profiles from the node (type Localhost)")
	}
	if apparmor != nil && apparmor.Type == corev1.AppArmorProfileTypeLocalhost {
		refuse(p.Child("appArmorProfile", "type"), string(apparmor.Type), "AppArmor profiles from the node (type Localhost)")
	}
}

// refuseVolume refuses the volume types the kubelet does not implement
// (cluster/kubelet/volumes.go: emptyDir on disk, hostPath, configMap,
// secret, downwardAPI, and projected configMap, secret, downwardAPI and
// serviceAccountToken sources).
func refuseVolume(v *corev1.Volume, p *field.Path, refuse refuseFunc) {
	s := &v.VolumeSource
	switch {
	case s.EmptyDir != nil:
		if m := s.EmptyDir.Medium; m != corev1.StorageMediumDefault {
			refuse(p.Child("emptyDir", "medium"), string(m), "emptyDir volumes in memory or huge pages (medium "+string(m)+")")
		}
	case s.HostPath != nil, s.ConfigMap != nil, s.Secret != nil, s.DownwardAPI != nil:
	case s.Projected != nil:
		for j, src := range s.Projected.Sources {
			sp := p.Child("projected", "sources").Index(j)
			switch {
			case src.ClusterTrustBundle != nil:
				refuse(sp.Child("clusterTrustBundle"), src.ClusterTrustBundle, "projected clusterTrustBundle sources")
			case src.PodCertificate != nil:
				refuse(sp.Child("podCertificate"), src.PodCertificate, "projected podCertificate sources")
			}
		}
	default:
		name := volumeTypeName(s)
		refuse(p.Child(name), v.Name, name+" volumes")
	}
}

// volumeTypeName is the JSON name of the one source set in s (validation
// has made sure there is exactly one).
func volumeTypeName(s *corev1.VolumeSource) string {
	v := reflect.ValueOf(s).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return ""
}

// refuseVolumeClaimTemplates refuses a StatefulSet whose pods would mount
// claims made from templates: Seven provisions no volumes and its nodes
// mount no persistentVolumeClaim volumes, so such a set could never run a
// pod. Refusing it at create says so at once rather than through pods that
// are refused one by one.
func refuseVolumeClaimTemplates(ss *appsv1.StatefulSet) field.ErrorList {
	if len(ss.Spec.VolumeClaimTemplates) == 0 {
		return nil
	}
	names := make([]string, len(ss.Spec.VolumeClaimTemplates))
	for i, t := range ss.Spec.VolumeClaimTemplates {
		names[i] = t.Name
	}
	return field.ErrorList{unsupported(field.NewPath("spec", "volumeClaimTemplates"), strings.Join(names, ","),
		"persistent volumes (volumeClaimTemplates)")}
}
