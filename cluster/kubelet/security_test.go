package kubelet

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

func TestContainerSecurity(t *testing.T) {
	rootfs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(rootfs, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"), 0o644)
	_ = os.WriteFile(filepath.Join(rootfs, "etc", "group"), []byte("root:x:0:\nstaff:x:50:\n"), 0o644)
	pod := func(psc *corev1.PodSecurityContext, csc *corev1.SecurityContext) (*corev1.Pod, *corev1.Container) {
		p := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: psc, Containers: []corev1.Container{{Name: "c", SecurityContext: csc}}}}
		return p, &p.Spec.Containers[0]
	}
	for _, tc := range []struct {
		name      string
		psc       *corev1.PodSecurityContext
		csc       *corev1.SecurityContext
		imageUser string
		uid, gid  *int64
		groups    []int64
		caps      []string
		nnp, ro   bool
		err       string
	}{
		{name: "nothing set: root, default capabilities", caps: krt.DefaultCapabilities},
		{name: "pod runAsUser", psc: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](5)}, uid: ptr.To[int64](5), caps: krt.DefaultCapabilities},
		{name: "container wins over pod", psc: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](5), RunAsGroup: ptr.To[int64](6)},
			csc: &corev1.SecurityContext{RunAsUser: ptr.To[int64](7)}, uid: ptr.To[int64](7), gid: ptr.To[int64](6), caps: krt.DefaultCapabilities},
		{name: "image user by number", imageUser: "1000:50", uid: ptr.To[int64](1000), gid: ptr.To[int64](50), caps: krt.DefaultCapabilities},
		{name: "image user by name", imageUser: "app", uid: ptr.To[int64](1000), gid: ptr.To[int64](1001), caps: krt.DefaultCapabilities},
		{name: "image user and group by name", imageUser: "app:staff", uid: ptr.To[int64](1000), gid: ptr.To[int64](50), caps: krt.DefaultCapabilities},
		{name: "unknown image user", imageUser: "nobody", err: "unable to find user nobody"},
		{name: "runAsUser overrides the image user", imageUser: "app", csc: &corev1.SecurityContext{RunAsUser: ptr.To[int64](0)}, uid: ptr.To[int64](0), caps: krt.DefaultCapabilities},
		{name: "runAsNonRoot with a root image", psc: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, err: "image will run as root"},
		{name: "runAsNonRoot with runAsUser 0", csc: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](0)}, err: "image will run as root"},
		{name: "runAsNonRoot with a numeric image user", imageUser: "1000", psc: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			uid: ptr.To[int64](1000), gid: ptr.To[int64](0), caps: krt.DefaultCapabilities},
		{name: "runAsNonRoot container false overrides pod true", psc: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			csc: &corev1.SecurityContext{RunAsNonRoot: ptr.To(false)}, caps: krt.DefaultCapabilities},
		{name: "groups", psc: &corev1.PodSecurityContext{SupplementalGroups: []int64{10, 11}, FSGroup: ptr.To[int64](12)}, groups: []int64{10, 11, 12}, caps: krt.DefaultCapabilities},
		{name: "drop ALL add one", csc: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}},
			caps: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "add and drop", csc: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW", "CHOWN"}, Add: []corev1.Capability{"CAP_NET_ADMIN"}}},
			caps: []string{"CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"}},
		{name: "unknown capability", csc: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"FLY"}}}, err: "unknown capability"},
		{name: "privileged: all capabilities, escalation allowed", csc: &corev1.SecurityContext{Privileged: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false)}, caps: krt.AllCapabilities()},
		{name: "no escalation, read-only root", csc: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true)},
			nnp: true, ro: true, caps: krt.DefaultCapabilities},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c := pod(tc.psc, tc.csc)
			sec, err := containerSecurity(p, c, tc.imageUser, rootfs)
			if tc.err != "" {
				var ce *configError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !asConfigError(err, &ce) {
					t.Fatalf("error %v, want a config error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !eqPtr(sec.UID, tc.uid) || !eqPtr(sec.GID, tc.gid) || !slices.Equal(sec.Groups, tc.groups) ||
				!slices.Equal(sec.Capabilities, tc.caps) || sec.NoNewPrivileges != tc.nnp || sec.ReadOnlyRootFS != tc.ro {
				t.Errorf("got uid %v gid %v groups %v caps %v nnp %v ro %v", deref(sec.UID), deref(sec.GID), sec.Groups, sec.Capabilities, sec.NoNewPrivileges, sec.ReadOnlyRootFS)
			}
		})
	}
}

func asConfigError(err error, target **configError) bool {
	ce, ok := err.(*configError) //nolint:errorlint // returned unwrapped by design
	*target = ce
	return ok
}

func eqPtr(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
