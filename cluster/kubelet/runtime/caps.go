package runtime

import (
	"fmt"
	"strings"
)

// capNames are the Linux capabilities by number (capability.h).
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// DefaultCapabilities are what a container keeps when its security context
// adds and drops nothing: the set containerd and Docker give.
var DefaultCapabilities = []string{ // in capability order
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
	"CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
	"CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
}

// AllCapabilities are every capability (privileged containers).
func AllCapabilities() []string { return append([]string(nil), capNames[:]...) }

// CapabilityName normalises a Kubernetes capability name ("NET_ADMIN",
// "CAP_NET_ADMIN", any case) to its CAP_ form, or reports it unknown.
func CapabilityName(s string) (string, error) {
	n := strings.ToUpper(s)
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for _, c := range capNames {
		if c == n {
			return n, nil
		}
	}
	return "", fmt.Errorf("unknown capability %q", s)
}

// capMask turns names into a bit mask over the capability numbers.
func capMask(names []string) (uint64, error) {
	var m uint64
	for _, name := range names {
		n, err := CapabilityName(name)
		if err != nil {
			return 0, err
		}
		for i, c := range capNames {
			if c == n {
				m |= 1 << i
			}
		}
	}
	return m, nil
}
