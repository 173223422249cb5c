// Package runtime is the kubelet's container runtime: the small interface the
// pod sync uses (start a container from a spec, stop it, read its status, list
// what exists, exec into it, read its stats) and Process, the implementation
// that runs every container as a real process.
//
// # Process runtime
//
// Each container is started through a tiny supervisor, the shim: the kubelet
// re-executes its own binary detached (setsid) as `<self> __seven-shim <dir>`.
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
// When running as root the shim lives in its own mount and UTS namespaces: it
// mounts an overlay of the image rootfs (a bind mount when overlay is not
// available), bind-mounts /dev, proc and the container's mounts (volumes,
// /etc/hosts, /etc/resolv.conf) under it, sets the hostname, and starts the
// container chrooted into it. Memory and CPU limits go through cgroup v2 when
// /sys/fs/cgroup is a writable cgroup2 hierarchy with the memory and cpu
// controllers (a cgroup seven/<pod>/<container>; an OOM kill is read from
// memory.events and reported as reason OOMKilled). Elsewhere (cgroup v1 or a
// read-only hierarchy) limits are not enforced and Stats falls back to /proc.
//
// When not running as root there is no isolation: the entrypoint is resolved
// inside the rootfs and run directly, with the same environment and a working
// directory inside the rootfs; mounts are not applied. This is enough for the
// fixture workload, which only needs its environment.
//
// Exec runs the command chrooted into /proc/<pid>/root of the container (so it
// sees the container's filesystem and mounts) with the container's environment;
// it does not enter the container's UTS namespace.
package runtime
