package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// MakeCgroupsWritable remounts read-write every cgroup (v1 or v2) mount at
// or under root that is mounted read-only, and reports what it changed.
//
// A Docker container that is not privileged sees its own cgroup mounted
// read-only (its cgroup's directory as the root of each hierarchy), so a
// runtime inside it — the kubelet of a node container, or runc under its
// containerd — cannot make pods' cgroups. The superblock stays read-write
// (the host writes it); only the mount's own read-only flag is cleared
// (a bind remount), which CAP_SYS_ADMIN in the container's initial user
// namespace allows. Pods' cgroups then nest under the node container's,
// within its limits, and go away with it.
func MakeCgroupsWritable(root string) ([]string, error) {
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	var changed []string
	for _, m := range readOnlyCgroupMounts(info, root) {
		flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
		if err := unix.Mount("", m, "", flags, ""); err != nil {
			return changed, fmt.Errorf("remount %s read-write: %w (the node needs CAP_SYS_ADMIN)", m, err)
		}
		changed = append(changed, m)
	}
	return changed, nil
}

// readOnlyCgroupMounts are the mount points of mountinfo's cgroup and
// cgroup2 mounts at or under root whose mount options say ro.
func readOnlyCgroupMounts(mountinfo []byte, root string) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 6 || len(g) < 1 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		point := f[4]
		if point != root && !strings.HasPrefix(point, strings.TrimSuffix(root, "/")+"/") {
			continue
		}
		for _, o := range strings.Split(f[5], ",") {
			if o == "ro" {
				out = append(out, point)
				break
			}
		}
	}
	return out
}
