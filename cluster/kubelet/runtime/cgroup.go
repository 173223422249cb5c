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
	"time"
)

// cgroupDriver makes a cgroup per container, with its limits. Two exist:
// cgroupsV2 (a writable unified hierarchy) and cgroupsV1 (writable memory,
// cpu and cpuacct hierarchies); openCgroupDriver picks what the host has.
type cgroupDriver interface {
	// version is 1 or 2.
	version() int
	// create makes the container's cgroup with its limits.
	create(podUID, id string, res Resources) (cgroupRef, error)
	// removePod removes the pod's (empty) cgroup.
	removePod(podUID string)
}

// cgroupRef names a container's cgroup; it is stored in spec.json.
type cgroupRef struct {
	// V2 is the container's cgroup v2 directory.
	V2 string
	// V1 are its cgroup v1 directories.
	V1 *cgroupV1Dirs
}

func (r cgroupRef) v1All() []string {
	if r.V1 == nil {
		return nil
	}
	return r.V1.all()
}

// cgroupV1Dirs are one container's directories in the v1 hierarchies.
type cgroupV1Dirs struct {
	Memory string `json:"memory"`
	CPU    string `json:"cpu"`
	// CPUAcct is set when cpuacct is not mounted together with cpu.
	CPUAcct string `json:"cpuacct,omitempty"`
	// Home are the seven/ directories of each hierarchy, where the shim
	// moves itself back once the container process runs.
	Home []string `json:"home"`
}

func (d *cgroupV1Dirs) all() []string {
	out := []string{d.Memory, d.CPU}
	if d.CPUAcct != "" {
		out = append(out, d.CPUAcct)
	}
	return out
}

// openCgroupDriver returns the driver for the cgroup mount root (normally
// /sys/fs/cgroup): v2 when it is a unified hierarchy, else v1 when it holds
// memory and cpu hierarchies.
func openCgroupDriver(mount string) (cgroupDriver, error) {
	if _, err := os.Stat(filepath.Join(mount, "cgroup.controllers")); err == nil {
		return openCgroupsV2(mount)
	}
	if _, err := os.Stat(filepath.Join(mount, "memory", "memory.limit_in_bytes")); err == nil {
		return openCgroupsV1(mount)
	}
	return nil, fmt.Errorf("%s is neither a cgroup v2 hierarchy nor a set of cgroup v1 hierarchies with memory", mount)
}

// cpuShares turns a CPU request into cgroup v1 shares (1 CPU = 1024).
func cpuShares(milli int64) int64 {
	if milli <= 0 {
		return 0
	}
	s := milli * 1024 / 1000
	return max(s, 2)
}

// cfsQuota is the CFS quota per 100 ms period for a CPU limit.
func cfsQuota(milli int64) (quota, period int64) {
	period = 100000
	quota = milli * period / 1000
	return max(quota, 1000), period
}

func writeFile(dir, name string, v string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}

// --- cgroup v2 ---

// cgroupsV2 manages <mount>/seven/pod<uid>/<container id>.
type cgroupsV2 struct {
	root string // <mount>/seven
}

// openCgroupsV2 checks that mount is a writable cgroup v2 hierarchy with the
// memory and cpu controllers and prepares <mount>/seven.
func openCgroupsV2(mount string) (*cgroupsV2, error) {
	b, err := os.ReadFile(filepath.Join(mount, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a cgroup v2 hierarchy", mount)
	}
	ctrls := strings.Fields(string(b))
	if !contains(ctrls, "memory") || !contains(ctrls, "cpu") {
		return nil, fmt.Errorf("%s lacks the memory or cpu controller (has %q)", mount, ctrls)
	}
	if err := enable(mount); err != nil {
		return nil, err
	}
	root := filepath.Join(mount, "seven")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("%s is not writable: %w", mount, err)
	}
	if err := enable(root); err != nil {
		return nil, err
	}
	collectOrphans(root)
	return &cgroupsV2{root: root}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// enable turns on the memory and cpu controllers for the children of dir.
func enable(dir string) error {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	have := strings.Fields(string(b))
	if contains(have, "memory") && contains(have, "cpu") {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +cpu"), 0o644); err != nil {
		return fmt.Errorf("enable controllers in %s: %w", dir, err)
	}
	return nil
}

func (c *cgroupsV2) version() int { return 2 }

func (c *cgroupsV2) create(podUID, id string, res Resources) (cgroupRef, error) {
	pod := filepath.Join(c.root, "pod"+podUID)
	if err := os.MkdirAll(pod, 0o755); err != nil {
		return cgroupRef{}, fmt.Errorf("create pod cgroup: %w", err)
	}
	if err := enable(pod); err != nil {
		return cgroupRef{}, err
	}
	dir := filepath.Join(pod, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return cgroupRef{}, fmt.Errorf("create container cgroup: %w", err)
	}
	if res.MemoryLimit > 0 {
		if err := writeFile(dir, "memory.max", strconv.FormatInt(res.MemoryLimit, 10)); err != nil {
			return cgroupRef{}, err
		}
		_ = writeFile(dir, "memory.swap.max", "0")
	}
	if res.CPULimitMilli > 0 {
		quota, period := cfsQuota(res.CPULimitMilli)
		if err := writeFile(dir, "cpu.max", fmt.Sprintf("%d %d", quota, period)); err != nil {
			return cgroupRef{}, err
		}
	}
	if shares := cpuShares(res.CPURequestMilli); shares > 0 {
		// The usual mapping of shares [2, 262144] onto weight [1, 10000].
		weight := 1 + (shares-2)*9999/262142
		if err := writeFile(dir, "cpu.weight", strconv.FormatInt(weight, 10)); err != nil {
			return cgroupRef{}, err
		}
	}
	return cgroupRef{V2: dir}, nil
}

func (c *cgroupsV2) removePod(podUID string) {
	_ = os.Remove(filepath.Join(c.root, "pod"+podUID))
}

// oomKilledV2 reports whether the cgroup saw an OOM kill.
func oomKilledV2(dir string) bool {
	v, err := keyed(filepath.Join(dir, "memory.events"), "oom_kill")
	return err == nil && v > 0
}

// --- cgroup v1 ---

// cgroupsV1 manages seven/pod<uid>/<container id> in the memory, cpu and
// (when mounted apart) cpuacct hierarchies.
type cgroupsV1 struct {
	memory, cpu, cpuacct string // the seven/ directories; cpuacct "" when with cpu
}

func openCgroupsV1(mount string) (*cgroupsV1, error) {
	resolve := func(name, probe string) (string, error) {
		dir, err := filepath.EvalSymlinks(filepath.Join(mount, name))
		if err != nil {
			return "", fmt.Errorf("no cgroup v1 %s hierarchy under %s", name, mount)
		}
		if _, err := os.Stat(filepath.Join(dir, probe)); err != nil {
			return "", fmt.Errorf("%s is not a cgroup v1 %s hierarchy", dir, name)
		}
		return dir, nil
	}
	mem, err := resolve("memory", "memory.limit_in_bytes")
	if err != nil {
		return nil, err
	}
	cpu, err := resolve("cpu", "cpu.cfs_quota_us")
	if err != nil {
		return nil, err
	}
	acct, err := resolve("cpuacct", "cpuacct.usage")
	if err != nil {
		return nil, err
	}
	c := &cgroupsV1{}
	for _, d := range []struct {
		dst  *string
		base string
	}{{&c.memory, mem}, {&c.cpu, cpu}, {&c.cpuacct, acct}} {
		if d.dst == &c.cpuacct && acct == cpu {
			continue // co-mounted (cpu,cpuacct)
		}
		root := filepath.Join(d.base, "seven")
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("%s is not writable: %w", d.base, err)
		}
		*d.dst = root
		collectOrphans(root)
	}
	return c, nil
}

func (c *cgroupsV1) version() int { return 1 }

func (c *cgroupsV1) homes() []string {
	out := []string{c.memory, c.cpu}
	if c.cpuacct != "" {
		out = append(out, c.cpuacct)
	}
	return out
}

func (c *cgroupsV1) create(podUID, id string, res Resources) (cgroupRef, error) {
	d := &cgroupV1Dirs{Home: c.homes()}
	for _, h := range []struct {
		dst  *string
		root string
	}{{&d.Memory, c.memory}, {&d.CPU, c.cpu}, {&d.CPUAcct, c.cpuacct}} {
		if h.root == "" {
			continue
		}
		dir := filepath.Join(h.root, "pod"+podUID, id)
		if err := mkdirCgroup(dir); err != nil {
			return cgroupRef{V1: d}, err
		}
		*h.dst = dir
	}
	if res.MemoryLimit > 0 {
		limit := strconv.FormatInt(res.MemoryLimit, 10)
		if err := writeFile(d.Memory, "memory.limit_in_bytes", limit); err != nil {
			return cgroupRef{V1: d}, err
		}
		// No swap beyond the limit, where swap is accounted.
		_ = writeFile(d.Memory, "memory.memsw.limit_in_bytes", limit)
		_ = writeFile(d.Memory, "memory.swappiness", "0")
	}
	if res.CPULimitMilli > 0 {
		quota, period := cfsQuota(res.CPULimitMilli)
		if err := writeFile(d.CPU, "cpu.cfs_period_us", strconv.FormatInt(period, 10)); err != nil {
			return cgroupRef{V1: d}, err
		}
		if err := writeFile(d.CPU, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10)); err != nil {
			return cgroupRef{V1: d}, err
		}
	}
	if shares := cpuShares(res.CPURequestMilli); shares > 0 {
		if err := writeFile(d.CPU, "cpu.shares", strconv.FormatInt(shares, 10)); err != nil {
			return cgroupRef{V1: d}, err
		}
	}
	return cgroupRef{V1: d}, nil
}

func (c *cgroupsV1) removePod(podUID string) {
	for _, h := range c.homes() {
		_ = os.Remove(filepath.Join(h, "pod"+podUID))
	}
}

// joinV1 moves process pid into every directory.
func joinV1(pid int, dirs []string) error {
	for _, d := range dirs {
		if err := writeFile(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("join %s: %w", d, err)
		}
	}
	return nil
}

// oomKilledV1 reports whether the memory cgroup saw an OOM kill: the
// oom_kill counter of memory.oom_control (Linux 4.13+), else a hit limit
// (memory.failcnt) together with a death by SIGKILL.
func oomKilledV1(memDir string, sigkilled bool) bool {
	if v, err := keyed(filepath.Join(memDir, "memory.oom_control"), "oom_kill"); err == nil {
		return v > 0
	}
	b, err := os.ReadFile(filepath.Join(memDir, "memory.failcnt"))
	if err != nil {
		return false
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n > 0 && sigkilled
}

// removeCgroup removes a container's cgroups, and its pod's when that was
// the last container.
func removeCgroup(ref cgroupRef) {
	dirs := ref.v1All()
	if ref.V2 != "" {
		dirs = append(dirs, ref.V2)
	}
	for _, d := range dirs {
		_ = os.Remove(d)
		_ = os.Remove(filepath.Dir(d)) // fails while the pod has other containers
	}
}

// orphanAge is how old an empty container cgroup must be before any runtime
// removes it: a container's own cgroup is empty only for the moment between
// its creation and the shim joining it, and after the container exited (its
// OOM count is read by then).
const orphanAge = time.Minute

// collectOrphans removes the empty container cgroups and pod cgroups under
// root (a seven/ directory) that were left by runtimes that did not stop
// cleanly (a killed test process, a crashed kubelet). rmdir fails on a
// cgroup that still has processes or children, so live ones stay.
func collectOrphans(root string) {
	pods, _ := filepath.Glob(filepath.Join(root, "pod*"))
	now := time.Now()
	for _, pod := range pods {
		info, err := os.Stat(pod) // before its children go, which touches it
		stale := err == nil && now.Sub(info.ModTime()) > orphanAge
		entries, _ := os.ReadDir(pod)
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > orphanAge {
				_ = os.Remove(filepath.Join(pod, e.Name()))
			}
		}
		if stale {
			_ = os.Remove(pod)
		}
	}
}

// mkdirCgroup creates pod/container directories; it retries once when the
// pod directory vanished under it (its last container was just removed).
func mkdirCgroup(dir string) error {
	err := os.MkdirAll(dir, 0o755)
	if errors.Is(err, os.ErrNotExist) {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("create container cgroup: %w", err)
	}
	return nil
}

// RemovePod removes a pod's (empty) cgroups; a no-op without cgroups.
func (p *Process) RemovePod(podUID string) {
	if p.cgroups != nil {
		p.cgroups.removePod(podUID)
	}
}

// keyed reads "key value" files such as memory.events or cpu.stat.
func keyed(path, key string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New(key + " not found in " + path)
}
