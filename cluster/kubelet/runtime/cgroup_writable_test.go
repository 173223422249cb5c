package runtime

import (
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
