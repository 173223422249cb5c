// Package containerd is the kubelet's containerd runtime: the
// runtime.Runtime interface implemented with the containerd v2 Go client,
// each container an OCI container run by runc through
// containerd-shim-runc-v2, as containerd's own CRI plugin runs them.
//
// Everything Seven makes lives in one containerd namespace (Config.Namespace,
// "seven"), so it stays apart from Docker's "moby" and the CRI's "k8s.io".
//
// # Images
//
// The node's image store (package image) stays the one place images are
// imported into and resolved from: the kubelet resolves a pod's image there
// as for the process runtime (it reads the image's user from the unpacked
// root), and this runtime copies the image's blobs (manifest, config,
// layers) into containerd's content store the first time a container needs
// it, records the image under its reference and unpacks it into the
// snapshotter (overlayfs, or native where overlayfs does not work). The
// import runs under a lease, so the garbage collector cannot take the
// blobs half-way; afterwards the image record holds them, with the usual
// gc.ref labels from the manifest to its config and layers. So the fixture
// images and `seven image import`ed tarballs run without a registry.
// ContainerSpec.RootFS is ignored: each container gets a snapshot of its
// own from the image, removed with it.
//
// # Containers
//
// The OCI spec is built from the ContainerSpec alone (spec.go): the kubelet
// has already merged the image's entrypoint, command, environment and
// working directory with the pod's; this package adds the mounts (a subPath
// is resolved inside its volume through a handle and bind-mounted under
// Config.Root/subpaths first, as the upstream kubelet does, so runc mounts
// a path nothing in the volume can redirect), the cgroup limits, the user,
// groups, capabilities, no_new_privs and read-only root, and the
// namespaces: the pod's network namespace is joined by path (never
// created), hostPID keeps the node's PID namespace, a hostNetwork container
// keeps the node's network and UTS namespaces.
//
// A container's identity and history are kept in containerd itself, so a
// new runtime (a restarted kubelet) adopts what an earlier one left running:
// labels name the pod and container, an extension holds the ContainerSpec,
// and the start and the exit (code, time, reason) are written to labels
// when they happen. Nothing is killed or started twice on adoption.
//
// # Exits
//
// One subscription to containerd's event stream (task exit and OOM events
// of the namespace) notices exits; Stop also waits on the task itself. An
// exit is recorded once: its status read, the task deleted (which ends the
// shim), the exit written to the container's labels, and the id sent on
// Exits. An OOM event, or an oom_kill count in the task's cgroup metrics,
// makes the exit "OOMKilled" (exit code 137), as Kubernetes reports it.
//
// # Logs
//
// A container's stdout and stderr reach the kubelet process through the
// FIFOs containerd's cio package creates (under Config.Root/fifo); a copier
// in this process writes them to the container's log file in the CRI
// format (package crilog), as containerd's CRI plugin does in its own
// process. A new runtime re-opens the FIFOs of the tasks it adopts and
// carries on appending. The cost of that choice: while no kubelet runs, a
// container's output waits in the FIFO, and a container that writes more
// than the pipe holds (64 KiB) blocks until a kubelet is back, as under the
// CRI plugin while containerd restarts. A log-URI binary (a process per
// container started by the shim) would keep logging across kubelet
// restarts at the price of a process per container; not done.
//
// A `stdin: true` container's input goes the same way in reverse
// (stdin.go, runtime.StdinOpener): attach sessions write into a pipe that
// cio copies into the task's stdin FIFO. The shim holds that FIFO open
// itself, so the container reads no EOF between sessions or across a
// kubelet restart; with stdinOnce the first session's end closes it.
package containerd
