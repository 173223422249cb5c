package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
)

// DaemonConfig configures a containerd of Seven's own.
type DaemonConfig struct {
	// Binary is the containerd executable; default "containerd" in PATH.
	// containerd-shim-runc-v2 and runc must be in PATH too.
	Binary string
	// Dir holds the configuration, the sockets (containerd.sock) and the
	// state (tasks, shim sockets; removed as the process ends). Keep it
	// short: a unix socket path is limited to 108 bytes.
	Dir string
	// Root holds images, content and snapshots; default Dir/root. Node
	// containers put it on a volume of its own: overlayfs snapshots do not
	// work on an overlay root.
	Root string
	// CRI, if set, enables containerd's CRI plugin (for an upstream kubelet);
	// nil disables it, as Seven's kubelet drives containerd through its Go
	// client.
	CRI *CRIConfig
	// Output receives containerd's log; default Dir/containerd.log.
	Output io.Writer
	Logger *slog.Logger
}

// CRIConfig is what containerd's CRI plugin needs on a node of Seven's.
type CRIConfig struct {
	// SandboxImage is the pause image (already in the k8s.io namespace: no
	// registry is reachable).
	SandboxImage string
	// CNIBinDir and CNIConfDir are where the plugins and their
	// configuration are.
	CNIBinDir, CNIConfDir string
}

// Daemon is a running containerd: Start runs it until the context ends.
type Daemon struct {
	cfg     DaemonConfig
	serving chan struct{}
}

// NewDaemon checks cfg and fills its defaults.
func NewDaemon(cfg DaemonConfig) (*Daemon, error) {
	if cfg.Dir == "" {
		return nil, errors.New("containerd daemon: Dir is required")
	}
	if cfg.Binary == "" {
		cfg.Binary = "containerd"
	}
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("containerd daemon: %w (install containerd, or give its path)", err)
	}
	cfg.Binary = bin
	for _, b := range []string{"containerd-shim-runc-v2", "runc"} {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Errorf("containerd daemon: %w (containerd runs containers with it)", err)
		}
	}
	if cfg.Root == "" {
		cfg.Root = filepath.Join(cfg.Dir, "root")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Daemon{cfg: cfg, serving: make(chan struct{})}, nil
}

// Address is the daemon's gRPC socket.
func (d *Daemon) Address() string { return filepath.Join(d.cfg.Dir, "containerd.sock") }

// Serving is closed once the daemon answers its health check.
func (d *Daemon) Serving() <-chan struct{} { return d.serving }

// daemonConfig is containerd's configuration (version 2, which containerd
// 1.6 to 2.x read). Snapshotters that cannot work in a container are
// disabled; overlayfs falls back to native in the runtime when the root's
// file system cannot hold overlay upper directories.
func daemonConfig(cfg DaemonConfig, address string) string {
	disabled := []string{"io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"}
	if cfg.CRI == nil {
		disabled = append(disabled, "io.containerd.grpc.v1.cri")
	}
	quoted := make([]string, len(disabled))
	for i, p := range disabled {
		quoted[i] = fmt.Sprintf("%q", p)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [%s]\n", cfg.Root, filepath.Join(cfg.Dir, "state"), strings.Join(quoted, ", "))
	// oom_score 0: a negative score needs CAP_SYS_RESOURCE, which
	// containers (and some hosts) lack.
	fmt.Fprintf(&b, "oom_score = 0\n\n[grpc]\n  address = %q\n\n[ttrpc]\n  address = %q\n\n[debug]\n  address = \"\"\n\n[metrics]\n  address = \"\"\n\n", address, address+".ttrpc")
	fmt.Fprintf(&b, "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = %q\n", filepath.Join(cfg.Root, "opt"))
	if c := cfg.CRI; c != nil {
		// restrict_oom_score_adj: the CRI would set a negative score on
		// sandboxes otherwise. No SELinux, no AppArmor in node containers.
		fmt.Fprintf(&b, "\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = %q\n  restrict_oom_score_adj = true\n  disable_apparmor = true\n", c.SandboxImage)
		fmt.Fprintf(&b, "\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  snapshotter = \"overlayfs\"\n  default_runtime_name = \"runc\"\n")
		fmt.Fprintf(&b, "\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n  runtime_type = %q\n", runtimeName)
		fmt.Fprintf(&b, "\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = %q\n  conf_dir = %q\n", c.CNIBinDir, c.CNIConfDir)
	}
	return b.String()
}

// Start runs containerd until ctx ends, then stops it (SIGTERM, SIGKILL
// after 15 s); the shims, and so the containers, outlive it as under
// systemd. An exit of containerd before that is an error.
func (d *Daemon) Start(ctx context.Context) error {
	for _, dir := range []string{d.cfg.Dir, d.cfg.Root} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return fmt.Errorf("containerd daemon: %w", err)
		}
	}
	conf := filepath.Join(d.cfg.Dir, "config.toml")
	if err := os.WriteFile(conf, []byte(daemonConfig(d.cfg, d.Address())), 0o600); err != nil {
		return fmt.Errorf("containerd daemon: %w", err)
	}
	out := d.cfg.Output
	if out == nil {
		f, err := os.OpenFile(filepath.Join(d.cfg.Dir, "containerd.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("containerd daemon: %w", err)
		}
		defer f.Close()
		out = f
	}
	cmd := exec.Command(d.cfg.Binary, "--config", conf, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a ^C meant for the caller does not stop it
	// first. No Pdeathsig: it fires when the forking thread ends, and Go
	// ends threads that goroutines locked (network namespace helpers).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := d.awaitServing(ctx, exited); err != nil {
		stop()
		return err
	}
	d.cfg.Logger.Info("containerd serving", "address", d.Address(), "root", d.cfg.Root, "took", time.Since(start).Round(time.Millisecond))
	close(d.serving)
	select {
	case <-ctx.Done():
		stop()
		return nil
	case err := <-exited:
		return fmt.Errorf("containerd exited: %v (its log: %s)", err, d.logHint())
	}
}

// awaitServing polls the health check until containerd answers, it exits,
// or 30 s pass.
func (d *Daemon) awaitServing(ctx context.Context, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("containerd exited while starting: %v (its log: %s)", err, d.logHint())
		case <-ctx.Done():
			return fmt.Errorf("containerd not serving on %s: %w (its log: %s)", d.Address(), ctx.Err(), d.logHint())
		case <-time.After(20 * time.Millisecond):
		}
		if _, err := os.Stat(d.Address()); err != nil {
			continue
		}
		c, err := client.New(d.Address(), client.WithTimeout(time.Second))
		if err != nil {
			continue
		}
		ok, _ := c.IsServing(ctx)
		c.Close()
		if ok {
			return nil
		}
	}
}

func (d *Daemon) logHint() string {
	if d.cfg.Output != nil {
		return "above"
	}
	return filepath.Join(d.cfg.Dir, "containerd.log")
}
