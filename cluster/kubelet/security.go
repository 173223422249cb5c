package kubelet

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// containerSecurity decides what a container's process runs as, from the
// pod's and the container's security contexts (the container's wins, field
// by field, as upstream) and the image's USER. It is pure but for reading
// the image's /etc/passwd and /etc/group when USER names a user.
//
// Errors are configuration errors (CreateContainerConfigError), as
// upstream: runAsNonRoot with a root user, or with a user name that cannot
// be checked.
func containerSecurity(pod *corev1.Pod, c *corev1.Container, imageUser, rootfs string) (krt.Security, error) {
	var sec krt.Security
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	uid, gid := csc.RunAsUser, csc.RunAsGroup
	if uid == nil {
		uid = psc.RunAsUser
	}
	if gid == nil {
		gid = psc.RunAsGroup
	}
	nonRoot := csc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	imgUID, imgGID, userName, err := imageIDs(imageUser, rootfs)
	if err != nil {
		return sec, &configError{err.Error()}
	}
	if uid == nil {
		uid = imgUID
		if gid == nil {
			gid = imgGID
		}
	}
	if nonRoot != nil && *nonRoot {
		switch {
		case uid == nil && userName != "":
			return sec, &configError{fmt.Sprintf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root", userName)}
		case uid == nil || *uid == 0:
			return sec, &configError{"container has runAsNonRoot and image will run as root"}
		}
	}
	sec.UID, sec.GID = uid, gid
	sec.Groups = append(sec.Groups, psc.SupplementalGroups...)
	if psc.FSGroup != nil {
		sec.Groups = append(sec.Groups, *psc.FSGroup)
	}
	sec.ReadOnlyRootFS = csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem
	privileged := csc.Privileged != nil && *csc.Privileged
	// Upstream: no_new_privs unless escalation is allowed, which it is by
	// default and always for privileged containers or with CAP_SYS_ADMIN.
	sec.NoNewPrivileges = csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation && !privileged
	if privileged {
		sec.Capabilities = krt.AllCapabilities()
		return sec, nil
	}
	caps, err := capabilities(csc.Capabilities)
	if err != nil {
		return sec, &configError{err.Error()}
	}
	sec.Capabilities = caps
	return sec, nil
}

// capabilities is the default set plus adds minus drops ("ALL" drops or
// adds every capability), as containerd computes it for the CRI.
func capabilities(c *corev1.Capabilities) ([]string, error) {
	if c == nil {
		return krt.DefaultCapabilities, nil
	}
	set := map[string]bool{}
	for _, n := range krt.DefaultCapabilities {
		set[n] = true
	}
	for _, d := range c.Drop {
		if strings.EqualFold(string(d), "ALL") {
			clear(set)
			continue
		}
		n, err := krt.CapabilityName(string(d))
		if err != nil {
			return nil, err
		}
		delete(set, n)
	}
	for _, a := range c.Add {
		if strings.EqualFold(string(a), "ALL") {
			for _, n := range krt.AllCapabilities() {
				set[n] = true
			}
			continue
		}
		n, err := krt.CapabilityName(string(a))
		if err != nil {
			return nil, err
		}
		set[n] = true
	}
	out := []string{}
	for _, n := range krt.AllCapabilities() { // a stable order
		if set[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// imageIDs turns the image's USER ("", "uid", "uid:gid", "name",
// "name:group") into ids; a name is looked up in the image's /etc/passwd
// (and /etc/group). name is the user name when USER was not numeric.
func imageIDs(user, rootfs string) (uid, gid *int64, name string, err error) {
	if user == "" {
		return nil, nil, "", nil
	}
	u, g, _ := strings.Cut(user, ":")
	if n, err := strconv.ParseInt(u, 10, 64); err == nil {
		uid = &n
	} else {
		name = u
		id, pgid, ok := lookupID(filepath.Join(rootfs, "etc", "passwd"), u)
		if !ok {
			return nil, nil, name, fmt.Errorf("unable to find user %s: no matching entries in passwd file", u)
		}
		uid, gid = &id, &pgid
	}
	if g != "" {
		if n, err := strconv.ParseInt(g, 10, 64); err == nil {
			gid = &n
		} else if id, _, ok := lookupID(filepath.Join(rootfs, "etc", "group"), g); ok {
			gid = &id
		} else {
			return nil, nil, name, fmt.Errorf("unable to find group %s: no matching entries in group file", g)
		}
	}
	if uid != nil && gid == nil {
		zero := int64(0)
		gid = &zero
	}
	return uid, gid, name, nil
}

// lookupID finds name in a passwd- or group-format file: the third field,
// and (passwd) the fourth.
func lookupID(path, name string) (id, second int64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 || fields[0] != name {
			continue
		}
		id, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return 0, 0, false
		}
		if len(fields) > 3 {
			second, _ = strconv.ParseInt(fields[3], 10, 64)
		}
		return id, second, true
	}
	return 0, 0, false
}

// isDefaultSecurity reports whether sec asks for nothing beyond what a
// process started by root gets anyway (what a runtime without isolation can
// still honour).
func isDefaultSecurity(sec krt.Security) bool {
	root := sec.UID == nil || *sec.UID == 0
	noGroup := sec.GID == nil || *sec.GID == 0
	return root && noGroup && len(sec.Groups) == 0 && !sec.ReadOnlyRootFS && !sec.NoNewPrivileges &&
		slices.Equal(sec.Capabilities, krt.DefaultCapabilities)
}
