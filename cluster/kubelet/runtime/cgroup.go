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
)

// cgroups manages <root>/seven/pod<uid>/<container id> in a cgroup v2 hierarchy.
type cgroups struct {
	root string // <mount>/seven
}

// openCgroups checks that mount is a writable cgroup v2 hierarchy with the
// memory and cpu controllers and prepares <mount>/seven.
func openCgroups(mount string) (*cgroups, error) {
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
	return &cgroups{root: root}, nil
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

// create makes the container's cgroup with its limits and returns its path.
func (c *cgroups) create(podUID, id string, res Resources) (string, error) {
	pod := filepath.Join(c.root, "pod"+podUID)
	if err := os.MkdirAll(pod, 0o755); err != nil {
		return "", fmt.Errorf("create pod cgroup: %w", err)
	}
	if err := enable(pod); err != nil {
		return "", err
	}
	dir := filepath.Join(pod, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create container cgroup: %w", err)
	}
	if res.MemoryLimit > 0 {
		if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(strconv.FormatInt(res.MemoryLimit, 10)), 0o644); err != nil {
			return "", fmt.Errorf("set memory.max: %w", err)
		}
		_ = os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0o644)
	}
	if res.CPULimitMilli > 0 {
		const period = 100000
		quota := res.CPULimitMilli * period / 1000
		if quota < 1000 {
			quota = 1000
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), fmt.Appendf(nil, "%d %d", quota, period), 0o644); err != nil {
			return "", fmt.Errorf("set cpu.max: %w", err)
		}
	}
	return dir, nil
}

// RemovePod removes a pod's (empty) cgroup; a no-op without cgroups.
func (p *Process) RemovePod(podUID string) {
	if p.cgroups != nil {
		_ = os.Remove(filepath.Join(p.cgroups.root, "pod"+podUID))
	}
}

// oomKilled reports whether the cgroup saw an OOM kill.
func oomKilled(dir string) bool {
	v, err := keyed(filepath.Join(dir, "memory.events"), "oom_kill")
	return err == nil && v > 0
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
