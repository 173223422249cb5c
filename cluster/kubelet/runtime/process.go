package runtime

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Isolation modes.
const (
	// IsolationAuto picks IsolationNamespaces when running as root.
	IsolationAuto = ""
	// IsolationNamespaces: own mount and UTS namespaces, rootfs as /.
	IsolationNamespaces = "namespaces"
	// IsolationNone: run the entrypoint from the rootfs directly.
	IsolationNone = "none"
)

// Config configures a Process runtime.
type Config struct {
	// Root holds containers/<id>/ (state) and logs/ (CRI log files).
	Root string
	// Self is the executable started as the shim: ShimBinary next to this
	// executable when it is there, else os.Executable() (re-executed).
	Self string
	// Isolation is IsolationAuto, IsolationNamespaces or IsolationNone.
	Isolation string
	// CgroupRoot is where the cgroup hierarchies are mounted; default
	// /sys/fs/cgroup. It is used as cgroup v2 when it is a unified
	// hierarchy, else as cgroup v1 (memory/, cpu/, cpuacct/ beneath). Set to
	// "-" to disable cgroups.
	CgroupRoot string
	Logger     *slog.Logger
}

// ShimBinary is the name of the dedicated shim executable (package
// seven-shim) looked for next to the running executable.
const ShimBinary = "seven-shim"

// Process runs each container as a real process under a shim.
type Process struct {
	root    string
	self    string
	isolate bool
	cgroups cgroupDriver // nil when not usable
	log     *slog.Logger
	exits   chan string

	mu      sync.Mutex
	configs map[string]*config // immutable once written
}

var _ Runtime = (*Process)(nil)

// config is <dir>/spec.json: what the shim needs, written before it starts.
type config struct {
	Spec      ContainerSpec `json:"spec"`
	LogPath   string        `json:"logPath"`
	CreatedAt time.Time     `json:"createdAt"`
	Isolate   bool          `json:"isolate"`
	// Cgroup is the container's cgroup v2 directory, "" when none.
	Cgroup string `json:"cgroup,omitempty"`
	// CgroupV1 are its cgroup v1 directories, nil when none.
	CgroupV1 *cgroupV1Dirs `json:"cgroupV1,omitempty"`
}

func (c *config) cgroup() cgroupRef { return cgroupRef{V2: c.Cgroup, V1: c.CgroupV1} }

// state is <dir>/state.json, written by the shim.
type state struct {
	ShimPid    int       `json:"shimPid"`
	Pid        int       `json:"pid,omitempty"`
	PidStart   uint64    `json:"pidStart,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitempty"`
	Exited     bool      `json:"exited,omitempty"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
	ExitCode   int       `json:"exitCode"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
}

// New returns a Process runtime over cfg.Root, creating it if needed.
func New(cfg Config) (*Process, error) {
	if cfg.Root == "" {
		return nil, errors.New("runtime: Root is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("runtime: find own executable: %w", err)
		}
		cfg.Self = self
		shim := filepath.Join(filepath.Dir(self), ShimBinary)
		if st, err := os.Stat(shim); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			cfg.Self = shim
		}
	}
	var isolate bool
	switch cfg.Isolation {
	case IsolationAuto:
		isolate = os.Geteuid() == 0
	case IsolationNamespaces:
		isolate = true
	case IsolationNone:
	default:
		return nil, fmt.Errorf("runtime: unknown isolation %q", cfg.Isolation)
	}
	for _, d := range []string{"containers", "logs"} {
		if err := os.MkdirAll(filepath.Join(cfg.Root, d), 0o755); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	}
	p := &Process{
		root:    cfg.Root,
		self:    cfg.Self,
		isolate: isolate,
		log:     cfg.Logger,
		exits:   make(chan string, 1024),
		configs: map[string]*config{},
	}
	p.log.Debug("container shim", "path", p.self)
	if cfg.CgroupRoot != "-" {
		if cfg.CgroupRoot == "" {
			cfg.CgroupRoot = "/sys/fs/cgroup"
		}
		cg, err := openCgroupDriver(cfg.CgroupRoot)
		if err != nil {
			p.log.Info("resource limits not enforced", "reason", err)
		} else {
			p.cgroups = cg
		}
	}
	return p, nil
}

// Shim is the executable started as each container's shim.
func (p *Process) Shim() string { return p.self }

// Isolated reports whether containers get their own namespaces and rootfs.
func (p *Process) Isolated() bool { return p.isolate }

// CgroupsEnabled reports whether limits are enforced through cgroups.
func (p *Process) CgroupsEnabled() bool { return p.cgroups != nil }

// CgroupVersion is 1 or 2 when limits are enforced, else 0.
func (p *Process) CgroupVersion() int {
	if p.cgroups == nil {
		return 0
	}
	return p.cgroups.version()
}

// Exits implements Runtime.
func (p *Process) Exits() <-chan string { return p.exits }

func (p *Process) dir(id string) string { return filepath.Join(p.root, "containers", id) }

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// LogDir is where the logs of a pod's containers live.
func (p *Process) LogDir(namespace, name, uid string) string {
	return filepath.Join(p.root, "logs", namespace+"_"+name+"_"+uid)
}

// Start implements Runtime.
func (p *Process) Start(ctx context.Context, spec ContainerSpec) (Status, error) {
	if len(spec.Args) == 0 {
		return Status{}, errors.New("start container: no command")
	}
	id := newID()
	dir := p.dir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Status{}, fmt.Errorf("start container: %w", err)
	}
	cfg := &config{
		Spec:      spec,
		LogPath:   filepath.Join(p.LogDir(spec.PodNamespace, spec.PodName, spec.PodUID), spec.Name, fmt.Sprintf("%d.log", spec.Attempt)),
		CreatedAt: time.Now(),
		Isolate:   p.isolate,
	}
	if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o755); err != nil {
		return Status{}, fmt.Errorf("start container: %w", err)
	}
	if p.cgroups != nil {
		ref, err := p.cgroups.create(spec.PodUID, id, spec.Resources)
		if err != nil {
			p.log.Warn("container cgroup not created", "err", err, "container", spec.Name)
			removeCgroup(ref)
		} else {
			cfg.Cgroup, cfg.CgroupV1 = ref.V2, ref.V1
		}
	}
	if err := writeJSON(filepath.Join(dir, "spec.json"), cfg); err != nil {
		return Status{}, fmt.Errorf("start container: %w", err)
	}
	p.mu.Lock()
	p.configs[id] = cfg
	p.mu.Unlock()

	ready, readyW, err := os.Pipe()
	if err != nil {
		return Status{}, fmt.Errorf("start container: %w", err)
	}
	defer ready.Close()
	shimLog, err := os.Create(filepath.Join(dir, "shim.log"))
	if err != nil {
		readyW.Close()
		return Status{}, fmt.Errorf("start container: %w", err)
	}
	defer shimLog.Close()
	cmd := exec.Command(p.self, shimArg, dir)
	cmd.Stdout, cmd.Stderr = shimLog, shimLog
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if p.isolate {
		cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS
	}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return Status{}, fmt.Errorf("start shim: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		select {
		case p.exits <- id:
		default:
		}
	}()
	// The shim writes one line: "ok" once the process runs, or the start
	// error; EOF without a line means the shim itself failed.
	msg := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(ready).ReadString('\n')
		msg <- strings.TrimSpace(line)
	}()
	select {
	case m := <-msg:
		if m == "" {
			out, _ := os.ReadFile(filepath.Join(dir, "shim.log"))
			return Status{}, fmt.Errorf("start container: shim failed: %s", strings.TrimSpace(string(out)))
		}
	case <-ctx.Done():
		// The shim goes on; the container will be listed and handled.
		return Status{}, fmt.Errorf("start container: %w", ctx.Err())
	}
	return p.Status(id)
}

func (p *Process) config(id string) (*config, error) {
	p.mu.Lock()
	cfg := p.configs[id]
	p.mu.Unlock()
	if cfg != nil {
		return cfg, nil
	}
	cfg = &config{}
	if err := readJSON(filepath.Join(p.dir(id), "spec.json"), cfg); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, fmt.Errorf("read container %s: %w", id, err)
	}
	p.mu.Lock()
	p.configs[id] = cfg
	p.mu.Unlock()
	return cfg, nil
}

// Status implements Runtime.
func (p *Process) Status(id string) (Status, error) {
	cfg, err := p.config(id)
	if err != nil {
		return Status{}, err
	}
	st := Status{ID: id, Spec: cfg.Spec, LogPath: cfg.LogPath, CreatedAt: cfg.CreatedAt, State: StateRunning}
	var s state
	if err := readJSON(filepath.Join(p.dir(id), "state.json"), &s); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return Status{}, fmt.Errorf("read container %s: %w", id, err)
		}
		// Not started yet (or the shim died before starting it).
		if time.Since(cfg.CreatedAt) > time.Minute {
			st.State, st.ExitCode, st.Reason, st.FinishedAt = StateExited, 128, ReasonUnknown, cfg.CreatedAt
		}
		return st, nil
	}
	st.Pid, st.StartedAt = s.Pid, s.StartedAt
	if s.Exited {
		st.State, st.FinishedAt, st.ExitCode, st.Reason, st.Message = StateExited, s.FinishedAt, s.ExitCode, s.Reason, s.Message
		return st, nil
	}
	if !alive(s.Pid, s.PidStart) {
		// The process is gone. If the shim still lives it is about to
		// record the exit; report running until it does.
		if alive(s.ShimPid, 0) && !zombie(s.ShimPid) {
			return st, nil
		}
		// Re-read: the shim may have recorded the exit just now.
		if err := readJSON(filepath.Join(p.dir(id), "state.json"), &s); err == nil && s.Exited {
			st.State, st.FinishedAt, st.ExitCode, st.Reason, st.Message = StateExited, s.FinishedAt, s.ExitCode, s.Reason, s.Message
			return st, nil
		}
		st.State, st.ExitCode, st.Reason = StateExited, 137, ReasonUnknown
		st.Message = "the container's supervisor exited without recording its exit"
		st.FinishedAt = time.Now()
	}
	return st, nil
}

// List implements Runtime.
func (p *Process) List() ([]Status, error) {
	entries, err := os.ReadDir(filepath.Join(p.root, "containers"))
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]Status, 0, len(entries))
	for _, e := range entries {
		st, err := p.Status(e.Name())
		if err != nil {
			continue // half-created or removed meanwhile
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Stop implements Runtime.
func (p *Process) Stop(ctx context.Context, id string, grace time.Duration) error {
	st, err := p.Status(id)
	if err != nil {
		return err
	}
	if !st.Running() {
		return nil
	}
	if st.Pid == 0 {
		// Still starting: wait briefly for the pid.
		if st, err = p.waitStarted(ctx, id); err != nil || !st.Running() {
			return err
		}
	}
	signal(st.Pid, unix.SIGTERM)
	if grace > 0 {
		if done, err := p.waitExit(ctx, id, grace); err != nil || done {
			return err
		}
	}
	signal(st.Pid, unix.SIGKILL)
	if _, err := p.waitExit(ctx, id, 10*time.Second); err != nil {
		return err
	}
	return nil
}

func signal(pid int, sig unix.Signal) {
	_ = unix.Kill(-pid, sig) // the container's process group
	_ = unix.Kill(pid, sig)
}

func (p *Process) waitStarted(ctx context.Context, id string) (Status, error) {
	for {
		st, err := p.Status(id)
		if err != nil || st.Pid != 0 || !st.Running() {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("stop container: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitExit polls until the container's exit is recorded or timeout.
func (p *Process) waitExit(ctx context.Context, id string, timeout time.Duration) (bool, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := p.Status(id)
		if err != nil {
			return false, err
		}
		if !st.Running() {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("stop container: %w", ctx.Err())
		case <-deadline.C:
			return false, nil
		case <-tick.C:
		}
	}
}

// Remove implements Runtime.
func (p *Process) Remove(id string) error {
	st, err := p.Status(id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	if st.Running() {
		return fmt.Errorf("remove container %s: still running", id)
	}
	cfg, _ := p.config(id)
	if cfg != nil {
		removeCgroup(cfg.cgroup())
	}
	if err := os.RemoveAll(p.dir(id)); err != nil {
		return fmt.Errorf("remove container: %w", err)
	}
	_ = os.Remove(st.LogPath)
	_ = os.Remove(filepath.Dir(st.LogPath))               // the container's log dir, if empty
	_ = os.Remove(filepath.Dir(filepath.Dir(st.LogPath))) // the pod's, if empty
	p.mu.Lock()
	delete(p.configs, id)
	p.mu.Unlock()
	return nil
}

// alive reports whether pid runs and, when start is set, is the same process
// (its start time in /proc/<pid>/stat matches).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	if start == 0 {
		return true
	}
	got, err := procStart(pid)
	return err == nil && got == start && !zombie(pid)
}

// procStat returns the fields of /proc/<pid>/stat after the command name.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strings.Fields(s[i+1:]), nil
}

func procStart(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil || len(f) < 20 {
		return 0, fmt.Errorf("read start time of %d: %w", pid, err)
	}
	var v uint64
	_, err = fmt.Sscan(f[19], &v) // field 22 overall
	return v, err
}

func zombie(pid int) bool {
	f, err := procStat(pid)
	return err == nil && len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
