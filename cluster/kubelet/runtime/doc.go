// Package runtime is the kubelet's container runtime: the small interface the
// pod sync uses (start a container from a spec, stop it, read its status, list
// what exists, exec into it, read its stats) and Process, the implementation
// that runs every container as a real process.
//
// # Process runtime
//
// Each container is started through a tiny supervisor, the shim, detached
// (setsid) as `<shim> __seven-shim <dir>`. The shim executable is seven-shim
// (package seven-shim: nothing but this package's shim, ~4 MB) when it is
// installed next to the running binary, else the running binary itself,
// re-executed. The dedicated binary matters: per container it costs about
// 0.9 MB of private memory and 3.5 ms of CPU to start, against 3.4 MB and
// 9 ms for a re-executed 100 MB seven binary (Go initialises every package
// and dirties the data pages of the whole binary).
// The shim starts the container process, records its pid and start time in
// <dir>/state.json, copies its stdout and stderr into the container log file in
// the CRI format (package crilog), waits for it, records the exit status, and
// exits. Because the shim is not a child that dies with the kubelet, containers
// survive a kubelet restart; a new runtime over the same root directory lists
// the state directories and adopts them.
//
// Binaries that embed the runtime must call ReexecMain first thing in main so
// that the shim subcommand is dispatched (tests do it from TestMain).
//
// When running as root the shim lives in its own mount and UTS namespaces:
// it mounts an overlay of the image rootfs (a bind mount when overlay is not
// available), bind-mounts /dev and the container's mounts (volumes,
// /etc/hosts, /etc/resolv.conf) under it through handles opened within
// their roots (a symlink in the image or a volume never leads a mount to a
// host path; subPaths resolve within their volume), remounts the root
// read-only when asked, sets the hostname, enters the pod's network
// namespace (ContainerSpec.NetNS), and starts the container init (init.go)
// as the first process of a new PID and IPC namespace (the node's PID
// namespace with HostPID). The init mounts the container's own /proc,
// enters the root, takes the user, groups, capabilities and no_new_privs
// of ContainerSpec.Security, and execs the command, which so is PID 1 and
// sees only its own processes, as under runc.

// # Resource limits
//
// Memory and CPU limits, and the CPU request as a share, go through cgroups
// when /sys/fs/cgroup (Config.CgroupRoot) is writable, in a cgroup
// seven/pod<uid>/<container id>:
//   - cgroup v2 (a unified hierarchy with the memory and cpu controllers):
//     memory.max, cpu.max, cpu.weight; the shim clones the container straight
//     into its cgroup; an OOM kill is read from memory.events (oom_kill).
//   - cgroup v1 (memory, cpu and cpuacct hierarchies, the latter two possibly
//     co-mounted): memory.limit_in_bytes (and memsw, no swap),
//     cpu.cfs_quota_us/cfs_period_us, cpu.shares; the shim joins the
//     container's cgroups, forks the container and moves itself back to
//     seven/, so only the container is charged; an OOM kill is read from
//     memory.oom_control (oom_kill), or on old kernels from memory.failcnt
//     together with a SIGKILL. Exec'd processes join right after they start.
//
// An OOM kill is reported as exit code 137 with reason OOMKilled, as
// Kubernetes does. Stats come from the same cgroups (v2: cpu.stat and
// memory.current less inactive_file; v1: cpuacct.usage and
// memory.usage_in_bytes less total_inactive_file). Where no hierarchy is
// writable (a read-only /sys/fs/cgroup in an unprivileged container) limits
// are not enforced and Stats falls back to /proc of the main process.
//
// When not running as root there is no isolation: the entrypoint is resolved
// inside the rootfs and run directly, with the same environment and a working
// directory inside the rootfs; mounts are not applied. This is enough for the
// fixture workload, which only needs its environment.
//
// Exec runs the command chrooted into /proc/<pid>/root of the container (so it
// sees the container's filesystem and mounts) with the container's environment
// and user, started from a thread that entered the container's network, PID,
// IPC and UTS namespaces.
package runtime
