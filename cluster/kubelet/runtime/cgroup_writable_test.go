package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadOnlyCgroupMounts(t *testing.T) {
	info := []byte(`184 183 0:68 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755
185 184 0:29 /docker/3bb7 /sys/fs/cgroup/cpu ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu
188 184 0:32 /docker/3bb7 /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
189 184 0:33 /docker/3bb7 /sys/fs/cgroup/devices ro,nosuid,nodev,noexec,relatime shared:5 - cgroup cgroup rw,devices
190 1 0:34 / /sys/fs/cgroupfoo ro,nosuid - cgroup cgroup rw,pids
191 184 0:35 / /sys/fs/cgroup/unified ro,nosuid - cgroup2 cgroup2 rw
192 1 0:36 / /proc ro - proc proc rw
`)
	got := readOnlyCgroupMounts(info, "/sys/fs/cgroup")
	want := []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/devices", "/sys/fs/cgroup/unified"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (not the tmpfs, not a rw mount, not a sibling path, not /proc)", got, want)
	}
}

// The cgroup v2 path runs only on cgroup v2 hosts, and the machine Seven is
// developed on is cgroup v1: these tests cover the decision, and the writes
// on plain files standing in for the cgroup's.

func TestPlanCgroupV2Nest(t *testing.T) {
	for _, tc := range []struct {
		name string
		root cgroupV2Root
		want cgroupV2Nest
	}{{
		name: "a container's root with processes",
		root: cgroupV2Root{Controllers: "cpuset cpu io memory hugetlb pids rdma misc\n", Procs: "1\n27\n33\n", NonRoot: true},
		want: cgroupV2Nest{Move: []int{1, 27, 33}, Enable: []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"}},
	}, {
		name: "controllers already enabled are not written again",
		root: cgroupV2Root{Controllers: "cpu io memory pids\n", Procs: "1\n", SubtreeControl: "memory pids\n", NonRoot: true},
		want: cgroupV2Nest{Move: []int{1}, Enable: []string{"cpu", "io"}},
	}, {
		name: "every controller enabled: the processes move all the same",
		root: cgroupV2Root{Controllers: "cpu memory\n", Procs: "1\n", SubtreeControl: "cpu memory\n", NonRoot: true},
		want: cgroupV2Nest{Move: []int{1}},
	}, {
		name: "no processes in the root: nothing",
		root: cgroupV2Root{Controllers: "cpu memory\n", Procs: "\n", NonRoot: true},
	}, {
		name: "the hierarchy's true root (no cgroup.type): nothing",
		root: cgroupV2Root{Controllers: "cpu memory\n", Procs: "1\n2\n"},
	}, {
		name: "junk in cgroup.procs is skipped",
		root: cgroupV2Root{Controllers: "memory", Procs: "12 x 0 -3\n14", NonRoot: true},
		want: cgroupV2Nest{Move: []int{12, 14}, Enable: []string{"memory"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := planCgroupV2Nest(tc.root)
			if !slices.Equal(got.Move, tc.want.Move) || !slices.Equal(got.Enable, tc.want.Enable) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// fakeCgroupV2 writes a directory of plain files standing in for a cgroup v2
// root; nonRoot adds cgroup.type.
func fakeCgroupV2(t *testing.T, controllers, procs string, nonRoot bool) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"cgroup.controllers": controllers, "cgroup.procs": procs, "cgroup.subtree_control": ""}
	if nonRoot {
		files["cgroup.type"] = "domain\n"
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestNestCgroupV2(t *testing.T) {
	// Plain files keep the last write only: the last pid moved and the last
	// controller enabled.
	dir := fakeCgroupV2(t, "cpu memory pids\n", "1\n40\n", true)
	got, err := nestCgroupV2(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := dir + ": 2 processes moved into " + filepath.Join(dir, "init") + "; controllers enabled for its children: cpu memory pids"
	if got != want {
		t.Errorf("reported %q, want %q", got, want)
	}
	for file, want := range map[string]string{"init/cgroup.procs": "40", "cgroup.subtree_control": "+pids"} {
		if b, err := os.ReadFile(filepath.Join(dir, file)); err != nil || string(b) != want {
			t.Errorf("%s holds %q (%v), want the last write %q", file, b, err, want)
		}
	}

	for name, dir := range map[string]string{
		"no processes":  fakeCgroupV2(t, "cpu memory\n", "", true),
		"the true root": fakeCgroupV2(t, "cpu memory\n", "1\n", false),
		"cgroup v1":     t.TempDir(),
	} {
		got, err := nestCgroupV2(dir)
		if err != nil || got != "" {
			t.Errorf("%s: reported %q, %v; want nothing done", name, got, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "init")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: init was created (%v)", name, err)
		}
	}
}
