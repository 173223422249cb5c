package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// initArg is the hidden subcommand that becomes a container's process.
const initArg = "__seven-init"

// The container init. An isolated container is not started by the shim
// directly: the shim starts `<shim> __seven-init <dir>` as the first process
// of a new PID namespace (inside the pod's network namespace, in the shim's
// mount namespace where the rootfs is ready), and the init does what must
// happen inside the new namespace and cannot be expressed with exec.Cmd:
// mount a /proc that shows the container's processes only, enter the root,
// take the user, groups, capabilities and no_new_privs of the security
// context, and exec the container's command, which so becomes PID 1.
//
// Errors before the exec go to fd 3, the shim's error pipe (close-on-exec,
// so a successful exec reads as EOF); that is how a bad user or a missing
// working directory becomes a StartError instead of an exit code.

// runInit never returns on success.
func runInit(dir string) int {
	goruntime.LockOSThread() // credentials and capabilities are per thread until the exec
	errPipe := os.NewFile(3, "init-errors")
	unix.CloseOnExec(3)
	fail := func(err error) int {
		_, _ = fmt.Fprint(errPipe, err.Error())
		return 1
	}
	var cfg config
	if err := readJSON(filepath.Join(dir, "spec.json"), &cfg); err != nil {
		return fail(fmt.Errorf("read spec: %w", err))
	}
	spec := cfg.Spec
	root := filepath.Join(dir, "rootfs")
	if !spec.HostPID {
		if err := unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fail(fmt.Errorf("mount proc: %w", err))
		}
	}
	path, err := resolve(root, spec.Args[0], spec.Env)
	if err != nil {
		return fail(err)
	}
	if err := unix.Chroot(root); err != nil {
		return fail(fmt.Errorf("enter root: %w", err))
	}
	wd := spec.WorkingDir
	if wd == "" {
		wd = "/"
	}
	if err := unix.Chdir(wd); err != nil {
		return fail(fmt.Errorf("working directory %s: %w", wd, err))
	}
	if err := applySecurity(spec.Security); err != nil {
		return fail(err)
	}
	err = unix.Exec(path, spec.Args, spec.Env)
	return fail(fmt.Errorf("exec %s: %w", spec.Args[0], err))
}

// applySecurity gives the calling thread the container's identity: the
// bounding set first (that needs CAP_SETPCAP), then groups and user, then
// the capabilities a root process keeps, then no_new_privs.
func applySecurity(sec Security) error {
	caps := sec.Capabilities
	if caps == nil {
		caps = DefaultCapabilities
	}
	keep, err := capMask(caps)
	if err != nil {
		return err
	}
	for c := 0; c < len(capNames); c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("drop %s: %w", capNames[c], err)
		}
	}
	groups := make([]int, 0, len(sec.Groups))
	for _, g := range sec.Groups {
		groups = append(groups, int(g))
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("supplementary groups: %w", err)
	}
	if sec.GID != nil {
		if err := unix.Setresgid(int(*sec.GID), int(*sec.GID), int(*sec.GID)); err != nil {
			return fmt.Errorf("group %d: %w", *sec.GID, err)
		}
	}
	if sec.UID != nil && *sec.UID != 0 {
		// A non-root user loses every capability here, as under runc.
		if err := unix.Setresuid(int(*sec.UID), int(*sec.UID), int(*sec.UID)); err != nil {
			return fmt.Errorf("user %d: %w", *sec.UID, err)
		}
	} else {
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		data := [2]unix.CapUserData{
			{Effective: uint32(keep), Permitted: uint32(keep), Inheritable: uint32(keep)},
			{Effective: uint32(keep >> 32), Permitted: uint32(keep >> 32), Inheritable: uint32(keep >> 32)},
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return fmt.Errorf("capabilities: %w", err)
		}
	}
	if sec.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	return nil
}
