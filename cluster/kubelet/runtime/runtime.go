package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned for an unknown container id.
var ErrNotFound = errors.New("container not found")

// Mount is a bind mount into the container.
type Mount struct {
	// HostPath is the source: a directory or a file.
	HostPath string `json:"hostPath"`
	// SubPath, when set, mounts this path inside HostPath instead, resolved
	// within HostPath (a symlink planted in a volume never leads out of it);
	// a missing one is created as a directory, as the kubelet does.
	SubPath string `json:"subPath,omitempty"`
	// ContainerPath is the absolute target inside the container, resolved
	// within the container's root.
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
}

// Security is what the container's process runs as. The zero value runs
// as the image's user (root when it names none) with the default
// capabilities.
type Security struct {
	// UID and GID override the image's user; nil keeps it.
	UID *int64 `json:"uid,omitempty"`
	GID *int64 `json:"gid,omitempty"`
	// Groups are supplementary groups (supplementalGroups, fsGroup).
	Groups []int64 `json:"groups,omitempty"`
	// ReadOnlyRootFS mounts the image's root read-only.
	ReadOnlyRootFS bool `json:"readOnlyRootFS,omitempty"`
	// NoNewPrivileges sets no_new_privs (allowPrivilegeEscalation: false).
	NoNewPrivileges bool `json:"noNewPrivileges,omitempty"`
	// Capabilities are the names (CAP_…) of the capabilities the process
	// keeps: its bounding set, and its effective set when it runs as root.
	// nil means DefaultCapabilities; empty, none.
	Capabilities []string `json:"capabilities"`
}

// Resources are the limits enforced when cgroups allow it.
type Resources struct {
	// MemoryLimit in bytes; 0 = none.
	MemoryLimit int64 `json:"memoryLimit,omitempty"`
	// CPULimitMilli in millicores; 0 = none.
	CPULimitMilli int64 `json:"cpuLimitMilli,omitempty"`
	// CPURequestMilli in millicores sets the container's share of contended
	// CPU (cpu.shares, cpu.weight); 0 = the default share.
	CPURequestMilli int64 `json:"cpuRequestMilli,omitempty"`
}

// ContainerSpec is everything needed to start one container.
type ContainerSpec struct {
	PodUID       string `json:"podUID"`
	PodNamespace string `json:"podNamespace"`
	PodName      string `json:"podName"`
	// Name is the container name within the pod.
	Name string `json:"name"`
	// Attempt counts restarts of this container: 0 for the first run.
	Attempt int `json:"attempt"`
	// Image and ImageID are recorded for the status.
	Image   string `json:"image,omitempty"`
	ImageID string `json:"imageID,omitempty"`

	// RootFS is the unpacked image root directory.
	RootFS string `json:"rootfs"`
	// Args is the full command line; Args[0] is resolved in the rootfs
	// through PATH from Env when it has no slash.
	Args       []string  `json:"args"`
	Env        []string  `json:"env,omitempty"`
	WorkingDir string    `json:"workingDir,omitempty"`
	Hostname   string    `json:"hostname,omitempty"`
	Mounts     []Mount   `json:"mounts,omitempty"`
	Resources  Resources `json:"resources,omitempty"`
	// NetNS is the path of the pod's network namespace, which the
	// container joins; "" keeps the node's (hostNetwork, loopback mode).
	NetNS string `json:"netns,omitempty"`
	// HostPID keeps the node's PID namespace; otherwise the container is
	// PID 1 of a namespace of its own and sees only its own processes.
	HostPID  bool     `json:"hostPID,omitempty"`
	Security Security `json:"security"`
	// Stdin gives the container a stdin that attach sessions write to
	// (StdinOpener); StdinOnce closes it when the first session ends.
	Stdin     bool `json:"stdin,omitempty"`
	StdinOnce bool `json:"stdinOnce,omitempty"`
}

// State of a container.
type State string

// States.
const (
	StateRunning State = "running"
	StateExited  State = "exited"
)

// Reasons reported with an exited container.
const (
	ReasonOOMKilled  = "OOMKilled"
	ReasonStartError = "StartError"
	// ReasonUnknown: the container's supervisor vanished without recording
	// an exit; the process is gone.
	ReasonUnknown = "ContainerStatusUnknown"
)

// Status is the runtime's view of one container.
type Status struct {
	ID   string        `json:"id"`
	Spec ContainerSpec `json:"spec"`
	// LogPath is the CRI-format log file of this attempt.
	LogPath    string    `json:"logPath"`
	State      State     `json:"state"`
	Pid        int       `json:"pid,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	StartedAt  time.Time `json:"startedAt,omitempty"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
	ExitCode   int       `json:"exitCode"`
	// Reason is set for exits the exit code does not explain
	// (ReasonOOMKilled, ReasonStartError, ReasonUnknown).
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Running reports whether the container is running.
func (s Status) Running() bool { return s.State == StateRunning }

// Size is a terminal size.
type Size struct{ Width, Height uint16 }

// ExecOptions describe a command run inside a running container.
type ExecOptions struct {
	Command []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// TTY allocates a terminal; Stderr is then unused and Resize applies.
	TTY    bool
	Resize <-chan Size
}

// Stats are cumulative resource figures of one container.
type Stats struct {
	Time time.Time
	// CPUUsageNanos is the cumulative CPU time used.
	CPUUsageNanos uint64
	// MemoryWorkingSet and MemoryRSS in bytes.
	MemoryWorkingSet uint64
	MemoryRSS        uint64
}

// Runtime runs containers. All methods are safe for concurrent use.
type Runtime interface {
	// Start creates and starts a container; it returns once the process
	// runs (or failed to start: the status then says exited, StartError).
	Start(ctx context.Context, spec ContainerSpec) (Status, error)
	// Stop sends SIGTERM, waits up to grace for the exit, then SIGKILL, and
	// returns once the exit is recorded. Stopping an exited container is a no-op.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Status reads one container.
	Status(id string) (Status, error)
	// List reads every container known, running or exited.
	List() ([]Status, error)
	// Remove deletes an exited container and its log.
	Remove(id string) error
	// Exec runs a command in a running container and returns its exit code.
	Exec(ctx context.Context, id string, opts ExecOptions) (int, error)
	// Stats reads resource usage of a running container.
	Stats(id string) (Stats, error)
	// Exits delivers the id of every container whose exit the runtime
	// notices promptly (containers it started itself); callers must also
	// List periodically for adopted ones. The channel is never closed.
	Exits() <-chan string
}
