package kubelet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd"
)

// Container runtimes (Config.ContainerRuntime).
const (
	// RuntimeProcess is Seven's process runtime (package runtime).
	RuntimeProcess = "process"
	// RuntimeContainerd runs containers in containerd (package
	// runtime/containerd), its state under RootDir/containerd.
	RuntimeContainerd = "containerd"
)

// newRuntime opens the runtime cfg names; the caller closes it if it is an
// io.Closer.
func newRuntime(cfg Config, log *slog.Logger) (krt.Runtime, error) {
	switch cfg.ContainerRuntime {
	case "", RuntimeProcess:
		return krt.New(krt.Config{Root: filepath.Join(cfg.RootDir, "runtime"), Self: cfg.ShimBinary, Logger: log})
	case RuntimeContainerd:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return containerd.New(ctx, containerd.Config{
			Address: cfg.ContainerdAddress, Namespace: cfg.ContainerdNamespace, Root: filepath.Join(cfg.RootDir, "containerd"),
			Images: cfg.Images, Logger: log,
		})
	default:
		return nil, fmt.Errorf("unknown container runtime %q (want %s or %s)", cfg.ContainerRuntime, RuntimeProcess, RuntimeContainerd)
	}
}

// runtimeVersion is the Node's status.nodeInfo.containerRuntimeVersion:
// containerd://<version> under containerd, as upstream reports it, and
// seven-process://<version> under the process runtime.
func (k *Kubelet) runtimeVersion() string {
	if v, ok := k.rt.(interface{ RuntimeVersion() string }); ok {
		return v.RuntimeVersion()
	}
	return "seven-process://" + Version
}

// containerIDPrefix is the scheme of container ids in pod statuses:
// containerd:// under containerd, as upstream; podsync's default otherwise.
func (k *Kubelet) containerIDPrefix() string {
	if p, ok := k.rt.(interface{ ContainerIDPrefix() string }); ok {
		return p.ContainerIDPrefix()
	}
	return ""
}

// closeRuntime closes a runtime the kubelet opened itself (not one given
// in Config.Runtime); containers keep running.
func (k *Kubelet) closeRuntime() {
	if !k.ownsRuntime {
		return
	}
	if c, ok := k.rt.(io.Closer); ok {
		if err := c.Close(); err != nil {
			k.log.Warn("close container runtime", "err", err)
		}
	}
}
