package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100

var pageSize = uint64(os.Getpagesize())

// Stats implements Runtime: from the container's cgroup when it has one, else
// from /proc of its main process.
func (p *Process) Stats(id string) (Stats, error) {
	st, err := p.Status(id)
	if err != nil {
		return Stats{}, err
	}
	if !st.Running() || st.Pid == 0 {
		return Stats{}, fmt.Errorf("stats of %s: not running", id)
	}
	cfg, err := p.config(id)
	if err != nil {
		return Stats{}, err
	}
	if cfg.Cgroup != "" {
		if s, err := cgroupStats(cfg.Cgroup); err == nil {
			return s, nil
		}
	}
	if cfg.CgroupV1 != nil {
		if s, err := cgroupV1Stats(cfg.CgroupV1); err == nil {
			return s, nil
		}
	}
	return ProcStats(st.Pid)
}

func cgroupStats(dir string) (Stats, error) {
	s := Stats{Time: time.Now()}
	usec, err := keyed(filepath.Join(dir, "cpu.stat"), "usage_usec")
	if err != nil {
		return s, err
	}
	s.CPUUsageNanos = usec * 1000
	b, err := os.ReadFile(filepath.Join(dir, "memory.current"))
	if err != nil {
		return s, err
	}
	cur, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return s, err
	}
	inactive, _ := keyed(filepath.Join(dir, "memory.stat"), "inactive_file")
	anon, _ := keyed(filepath.Join(dir, "memory.stat"), "anon")
	s.MemoryWorkingSet, s.MemoryRSS = cur, anon
	if inactive < cur {
		s.MemoryWorkingSet = cur - inactive
	}
	return s, nil
}

func cgroupV1Stats(d *cgroupV1Dirs) (Stats, error) {
	s := Stats{Time: time.Now()}
	acct := d.CPUAcct
	if acct == "" {
		acct = d.CPU
	}
	ns, err := readUint(filepath.Join(acct, "cpuacct.usage"))
	if err != nil {
		return s, err
	}
	usage, err := readUint(filepath.Join(d.Memory, "memory.usage_in_bytes"))
	if err != nil {
		return s, err
	}
	stat := filepath.Join(d.Memory, "memory.stat")
	inactive, _ := keyed(stat, "total_inactive_file")
	rss, _ := keyed(stat, "total_rss")
	s.CPUUsageNanos, s.MemoryRSS, s.MemoryWorkingSet = ns, rss, usage
	if inactive < usage {
		s.MemoryWorkingSet = usage - inactive
	}
	return s, nil
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// ProcStats reads CPU time and resident memory of one process from /proc.
func ProcStats(pid int) (Stats, error) {
	s := Stats{Time: time.Now()}
	f, err := procStat(pid)
	if err != nil || len(f) < 13 {
		return s, fmt.Errorf("stats of pid %d: %w", pid, err)
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64) // fields 14 and 15 overall
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	s.CPUUsageNanos = (utime + stime) * uint64(time.Second) / clockTicks
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return s, fmt.Errorf("stats of pid %d: %w", pid, err)
	}
	if fs := strings.Fields(string(b)); len(fs) > 1 {
		rss, _ := strconv.ParseUint(fs[1], 10, 64)
		s.MemoryRSS = rss * pageSize
		s.MemoryWorkingSet = s.MemoryRSS
	}
	return s, nil
}
