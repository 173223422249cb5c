package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MakeCgroupsWritable remounts read-write every cgroup (v1 or v2) mount at
// or under root that is mounted read-only, nests the processes of a
// container's cgroup v2 root (see nestCgroupV2), and reports what it
// changed: the mounts remounted, then a line for the nesting.
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
	nested, err := nestCgroupV2(root)
	if err != nil {
		return changed, err
	}
	if nested != "" {
		changed = append(changed, nested)
	}
	return changed, nil
}

// cgroupV2InitDir is the child cgroup that a container's cgroup v2 root
// moves its processes into, as kind's node entrypoint does.
const cgroupV2InitDir = "init"

// cgroupV2Root is what nesting reads of a cgroup v2 hierarchy's root.
type cgroupV2Root struct {
	// Controllers, Procs and SubtreeControl are the contents of
	// cgroup.controllers, cgroup.procs and cgroup.subtree_control.
	Controllers, Procs, SubtreeControl string
	// NonRoot says cgroup.type exists: the root is the root of a cgroup
	// namespace (a container's cgroup), not the hierarchy's true root, to
	// which the no-internal-processes rule does not apply.
	NonRoot bool
}

// cgroupV2Nest is what nesting writes: each pid into
// <root>/init/cgroup.procs, one write per pid, then "+<controller>" into the
// root's cgroup.subtree_control, one write per controller.
type cgroupV2Nest struct {
	Move   []int
	Enable []string
}

func (n cgroupV2Nest) empty() bool { return len(n.Move) == 0 && len(n.Enable) == 0 }

// planCgroupV2Nest decides how to nest a cgroup v2 root.
//
// In a container with its own cgroup namespace (Docker's default on cgroup
// v2), the node's processes sit in the container's cgroup, which is the
// root the node sees, and is not a true root: the no-internal-processes
// rule forbids enabling controllers in its cgroup.subtree_control while it
// holds processes, so the pods' cgroups that runc and Seven make below it
// would get no controllers. So when that root holds processes, every one
// moves into a child, init, and then every controller the root has that its
// children lack is enabled for them. A root without processes, or the
// hierarchy's true root, is left alone.
func planCgroupV2Nest(r cgroupV2Root) cgroupV2Nest {
	if !r.NonRoot {
		return cgroupV2Nest{}
	}
	var n cgroupV2Nest
	for _, f := range strings.Fields(r.Procs) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			n.Move = append(n.Move, pid)
		}
	}
	if len(n.Move) == 0 {
		return cgroupV2Nest{}
	}
	enabled := strings.Fields(r.SubtreeControl)
	for _, c := range strings.Fields(r.Controllers) {
		if !contains(enabled, c) && !contains(n.Enable, c) {
			n.Enable = append(n.Enable, c)
		}
	}
	return n
}

// nestCgroupV2 carries out planCgroupV2Nest on the hierarchy mounted at
// mount, if it is a cgroup v2 one (it has cgroup.controllers), and says
// what it did ("" for nothing). A pid that has exited meanwhile is skipped.
//
// The machine Seven is developed on runs cgroup v1 (with an unused v2
// hierarchy), so this path runs only in node containers on cgroup v2 hosts;
// its tests cover the decision and the writes on a directory of plain files
// standing in for the cgroup. Checked once by hand there, in a container in a
// cgroup namespace of its own on that v2 hierarchy: the namespace's root has
// cgroup.type (the true root has not), and its pid moved into init; with
// every controller bound to v1, no controller could be enabled.
func nestCgroupV2(mount string) (string, error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(mount, name))
		return string(b), err
	}
	var r cgroupV2Root
	var err error
	if r.Controllers, err = read("cgroup.controllers"); errors.Is(err, os.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("cgroups: %w", err)
	}
	_, err = os.Stat(filepath.Join(mount, "cgroup.type"))
	r.NonRoot = err == nil
	if r.Procs, err = read("cgroup.procs"); err != nil {
		return "", fmt.Errorf("cgroups: %w", err)
	}
	if r.SubtreeControl, err = read("cgroup.subtree_control"); err != nil {
		return "", fmt.Errorf("cgroups: %w", err)
	}
	plan := planCgroupV2Nest(r)
	if plan.empty() {
		return "", nil
	}
	child := filepath.Join(mount, cgroupV2InitDir)
	if err := os.MkdirAll(child, 0o755); err != nil {
		return "", fmt.Errorf("cgroups: create %s: %w", child, err)
	}
	moved := 0
	for _, pid := range plan.Move {
		err := os.WriteFile(filepath.Join(child, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
		switch {
		case err == nil:
			moved++
		case errors.Is(err, unix.ESRCH):
			// gone
		default:
			return "", fmt.Errorf("cgroups: move pid %d into %s: %w", pid, child, err)
		}
	}
	for _, c := range plan.Enable {
		if err := os.WriteFile(filepath.Join(mount, "cgroup.subtree_control"), []byte("+"+c), 0o644); err != nil {
			return "", fmt.Errorf("cgroups: enable %s for the children of %s: %w", c, mount, err)
		}
	}
	enabled := strings.Join(plan.Enable, " ")
	if enabled == "" {
		enabled = "none missing"
	}
	return fmt.Sprintf("%s: %d processes moved into %s; controllers enabled for its children: %s", mount, moved, child, enabled), nil
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
