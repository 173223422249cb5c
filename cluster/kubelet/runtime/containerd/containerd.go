package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/project-seven/seven/cluster/image"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// Defaults.
const (
	DefaultAddress   = "/run/containerd/containerd.sock"
	DefaultNamespace = "seven"
	// runtimeName is the shim every container runs under.
	runtimeName = "io.containerd.runc.v2"
)

// Config configures a containerd Runtime.
type Config struct {
	// Address is containerd's gRPC socket; default DefaultAddress.
	Address string
	// Namespace is the containerd namespace of Seven's images and
	// containers; default DefaultNamespace.
	Namespace string
	// Root holds logs/ (the CRI log files), fifo/ (the containers' stdio)
	// and subpaths/ (the subPath bind mounts). Required.
	Root string
	// Images is the node's image store containers' images are copied from.
	// Required.
	Images *image.Store
	// Snapshotter is the snapshotter for containers' roots; default
	// overlayfs when containerd has it working, else native.
	Snapshotter string
	Logger      *slog.Logger
}

// Runtime runs containers in containerd.
type Runtime struct {
	client      *client.Client
	ns          string
	root        string
	images      *image.Store
	snapshotter string
	version     string
	log         *slog.Logger
	exits       chan string
	cancel      context.CancelFunc
	done        chan struct{}

	importMu sync.Mutex
	imported map[string]string // reference → manifest digest imported and unpacked

	mu         sync.Mutex
	containers map[string]*entry
}

var _ krt.Runtime = (*Runtime)(nil)

// entry is what the runtime knows of one container. status is guarded by
// Runtime.mu; exitMu serialises the recording of its exit.
type entry struct {
	status krt.Status
	// starting: created in containerd, task not started yet.
	starting bool
	// oom: an OOM event came for it.
	oom bool
	// exited is closed once the exit is recorded.
	exited chan struct{}
	logs   *logCopier
	// stdin is the input of a Stdin container started by this runtime.
	stdin  *containerStdin
	exitMu sync.Mutex
}

// New connects to containerd, adopts the containers an earlier runtime left
// in the namespace, and starts following task events.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.Root == "" || cfg.Images == nil {
		return nil, errors.New("containerd runtime: Root and Images are required")
	}
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, d := range []string{"logs", "fifo", "subpaths"} {
		if err := os.MkdirAll(filepath.Join(cfg.Root, d), 0o755); err != nil {
			return nil, fmt.Errorf("containerd runtime: %w", err)
		}
	}
	c, err := client.New(cfg.Address, client.WithDefaultNamespace(cfg.Namespace), client.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("containerd runtime: connect %s: %w", cfg.Address, err)
	}
	r := &Runtime{
		client:     c,
		ns:         cfg.Namespace,
		root:       cfg.Root,
		images:     cfg.Images,
		log:        cfg.Logger.With("runtime", "containerd"),
		exits:      make(chan string, 1024),
		done:       make(chan struct{}),
		imported:   map[string]string{},
		containers: map[string]*entry{},
	}
	ctx = r.nsCtx(ctx)
	v, err := c.Version(ctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("containerd runtime: version: %w", err)
	}
	r.version = v.Version
	if r.snapshotter = cfg.Snapshotter; r.snapshotter == "" {
		if r.snapshotter, err = r.pickSnapshotter(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("containerd runtime: %w", err)
		}
	}
	// Subscribe before adopting, so an exit between the two is not missed.
	evCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	events, errs := r.subscribe(evCtx)
	if err := r.adopt(ctx); err != nil {
		cancel()
		c.Close()
		return nil, fmt.Errorf("containerd runtime: adopt: %w", err)
	}
	go r.followEvents(evCtx, events, errs)
	r.log.Info("containerd runtime", "address", cfg.Address, "version", r.version, "namespace", r.ns, "snapshotter", r.snapshotter)
	return r, nil
}

// Close stops following events and closes the connection; containers keep
// running (a new Runtime adopts them). Log copying stops with the process.
func (r *Runtime) Close() error {
	r.cancel()
	<-r.done
	return r.client.Close()
}

// RuntimeVersion is the node's status.nodeInfo.containerRuntimeVersion:
// containerd://<server version>, as upstream kubelets report it.
func (r *Runtime) RuntimeVersion() string { return "containerd://" + r.version }

// ContainerIDPrefix is the scheme of this runtime's container ids in pod
// statuses, as upstream kubelets report them.
func (r *Runtime) ContainerIDPrefix() string { return "containerd://" }

// Snapshotter names the snapshotter containers' roots come from.
func (r *Runtime) Snapshotter() string { return r.snapshotter }

// Isolated reports that containers get their own namespaces and root (the
// kubelet then honours security contexts).
func (r *Runtime) Isolated() bool { return true }

// Exits implements runtime.Runtime.
func (r *Runtime) Exits() <-chan string { return r.exits }

// LogDir is where the logs of a pod's containers live.
func (r *Runtime) LogDir(namespace, name, uid string) string {
	return filepath.Join(r.root, "logs", namespace+"_"+name+"_"+uid)
}

// RemovePod removes a pod's log directory once its containers are removed.
func (r *Runtime) RemovePod(uid string) {
	dirs, _ := filepath.Glob(filepath.Join(r.root, "logs", "*_"+uid))
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
}

func (r *Runtime) nsCtx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.ns)
}

// pickSnapshotter prefers overlayfs, falling back to native where the
// overlayfs plugin failed to load (a root on overlay or on an old kernel).
func (r *Runtime) pickSnapshotter(ctx context.Context) (string, error) {
	resp, err := r.client.IntrospectionService().Plugins(ctx, "type==io.containerd.snapshotter.v1")
	if err != nil {
		return "", fmt.Errorf("list snapshotters: %w", err)
	}
	ok := map[string]bool{}
	for _, p := range resp.Plugins {
		ok[p.ID] = p.InitErr == nil
	}
	for _, name := range []string{"overlayfs", "native"} {
		if ok[name] {
			return name, nil
		}
	}
	return "", errors.New("neither the overlayfs nor the native snapshotter is available")
}

func (r *Runtime) get(id string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.containers[id]
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
