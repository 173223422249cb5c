package docker

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/project-seven/seven/cluster/timings"
)

// NodeMode is what runs in a node container.
type NodeMode string

const (
	// NodeHollow runs `seven hollow-nodes --count 1`: an API-only node that
	// renews its Lease and reports its pods running without running them. It
	// needs no privileges; faults behave as for a real node (the Lease stops).
	NodeHollow NodeMode = "hollow"
	// NodeCNI runs `seven node --mode cni`: kubelet, proxy and DNS; each
	// pod in a network namespace of its own on the node's bridge, with an IP
	// of the node's podCIDR routed between node containers (NET_ADMIN).
	NodeCNI NodeMode = "cni"
	// NodeKubelet runs `seven kubelet --mode cni`: real pods in their own
	// namespaces, but no service proxy or DNS.
	NodeKubelet NodeMode = "kubelet"
)

// Container runtimes of node containers (Config.Runtime).
const (
	RuntimeContainerd = "containerd" // seven node --runtime containerd
	RuntimeProcess    = "process"
)

// Config is a cluster's configuration. Build it with options (NewCluster) or
// fill it directly (New).
type Config struct {
	// Name of the cluster: the value of LabelCluster and the prefix of every
	// container and network name. Default "seven-" and six random hex digits.
	Name string
	// ControlPlanes is the number of control-plane members. Only 1 is
	// supported until the API server can join an etcd cluster.
	ControlPlanes int
	// Nodes is the number of node containers; default 1. 0 is allowed
	// (control plane only).
	Nodes int
	// TimingsPreset is "fast" (default) or "kubernetes".
	TimingsPreset string
	// NodeMode is what node containers run; default NodeCNI.
	NodeMode NodeMode
	// Runtime is the container runtime of nodes that run pods:
	// RuntimeContainerd (the default: a containerd in each node container)
	// or RuntimeProcess (Seven's own).
	Runtime string
	// Flavour, if set, runs another implementation's control plane and
	// nodes in the containers instead of Seven's (nodes as NodeCNI with
	// containerd).
	Flavour *Flavour
	// Image is a node image to use as is; empty builds (or reuses) one from
	// Binaries with EnsureImage.
	Image string
	// Binaries locate or build the static binaries of the image.
	Binaries ImageSource
	// APIPort is the host port the API server is published on (127.0.0.1);
	// 0 picks a free one. It stays the same across control-plane restarts.
	APIPort int
	// StartupTimeout bounds NewCluster from network creation to every node
	// Ready; default 2m.
	StartupTimeout time.Duration
	// Partition is how Partition cuts a node off; default PartitionDisconnect.
	Partition PartitionMethod
	// LogDir, if set, receives the containers' logs when NewCluster fails.
	LogDir string
	// Logger receives the harness's own logs; default discards them.
	Logger *slog.Logger
	// Progress, if set, is called at each boot stage (for `seven cluster create`).
	Progress func(Progress)
}

// Progress is one boot stage, reported as it starts.
type Progress struct {
	Stage   string        // "image", "network", "control-plane", "nodes", "ready"
	Detail  string        // human text
	Elapsed time.Duration // since NewCluster was called
}

// Option changes a Config; options apply after the defaults, in order.
type Option func(*Config)

// WithName names the cluster.
func WithName(name string) Option { return func(c *Config) { c.Name = name } }

// WithNodes sets the number of node containers.
func WithNodes(n int) Option { return func(c *Config) { c.Nodes = n } }

// WithControlPlanes sets the number of control-plane members.
func WithControlPlanes(n int) Option { return func(c *Config) { c.ControlPlanes = n } }

// WithTimings sets the timings preset ("fast" or "kubernetes").
func WithTimings(preset string) Option { return func(c *Config) { c.TimingsPreset = preset } }

// WithNodeMode sets what node containers run.
func WithNodeMode(m NodeMode) Option { return func(c *Config) { c.NodeMode = m } }

// WithRuntime sets the nodes' container runtime.
func WithRuntime(r string) Option { return func(c *Config) { c.Runtime = r } }

// WithFlavour runs another implementation in the containers.
func WithFlavour(f *Flavour) Option { return func(c *Config) { c.Flavour = f } }

// WithImage uses an existing node image instead of building one.
func WithImage(ref string) Option { return func(c *Config) { c.Image = ref } }

// WithBinaries builds the image from these static binaries.
func WithBinaries(seven, fixture string) Option {
	return func(c *Config) { c.Binaries.Seven, c.Binaries.Fixture = seven, fixture }
}

// WithAPIPort publishes the API server on this host port.
func WithAPIPort(port int) Option { return func(c *Config) { c.APIPort = port } }

// WithStartupTimeout bounds the boot.
func WithStartupTimeout(d time.Duration) Option { return func(c *Config) { c.StartupTimeout = d } }

// WithPartition chooses how Partition cuts a node off.
func WithPartition(m PartitionMethod) Option { return func(c *Config) { c.Partition = m } }

// WithLogDir exports container logs to dir when the boot fails.
func WithLogDir(dir string) Option { return func(c *Config) { c.LogDir = dir } }

// WithLogger sets the harness's logger.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithProgress reports boot stages to fn.
func WithProgress(fn func(Progress)) Option { return func(c *Config) { c.Progress = fn } }

// DefaultConfig is the configuration before options.
func DefaultConfig() Config {
	return Config{
		ControlPlanes:  1,
		Nodes:          1,
		TimingsPreset:  timings.PresetFast,
		NodeMode:       NodeCNI,
		Runtime:        RuntimeContainerd,
		StartupTimeout: 2 * time.Minute,
	}
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// validate checks c and fills what is still empty.
func (c *Config) validate() error {
	if c.Name == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		c.Name = "seven-" + hex.EncodeToString(b[:])
	}
	if !nameRE.MatchString(c.Name) {
		return fmt.Errorf("cluster name %q: want lowercase letters, digits and '-', at most 40", c.Name)
	}
	if c.ControlPlanes == 0 {
		c.ControlPlanes = 1
	}
	if c.ControlPlanes != 1 {
		return errors.New("only one control-plane member is supported (the API server runs a single embedded etcd)")
	}
	if c.Nodes < 0 || c.Nodes > maxNodes {
		return fmt.Errorf("nodes: %d is out of range 0..%d", c.Nodes, maxNodes)
	}
	if c.TimingsPreset == "" {
		c.TimingsPreset = timings.PresetFast
	}
	if _, err := timings.Preset(c.TimingsPreset); err != nil {
		return err
	}
	switch c.NodeMode {
	case "":
		c.NodeMode = NodeCNI
	case NodeHollow, NodeCNI, NodeKubelet:
	default:
		return fmt.Errorf("node mode %q: want %q, %q or %q", c.NodeMode, NodeHollow, NodeKubelet, NodeCNI)
	}
	switch c.Runtime {
	case "":
		c.Runtime = RuntimeContainerd
	case RuntimeContainerd, RuntimeProcess:
	default:
		return fmt.Errorf("runtime %q: want %q or %q", c.Runtime, RuntimeContainerd, RuntimeProcess)
	}
	if c.Runtime == RuntimeProcess {
		c.Binaries.NoContainerd = true
	}
	if f := c.Flavour; f != nil {
		if c.NodeMode != NodeCNI || c.Runtime != RuntimeContainerd {
			return fmt.Errorf("flavour %s: nodes run pods in containerd (node mode %q, runtime %q)", f.Name, NodeCNI, RuntimeContainerd)
		}
		c.Binaries.Extra, c.Binaries.Kind = f.Files, f.Name
	}
	switch c.Partition {
	case "":
		c.Partition = PartitionDisconnect
	case PartitionDisconnect, PartitionDrop:
	default:
		return fmt.Errorf("partition method %q: want %q or %q", c.Partition, PartitionDisconnect, PartitionDrop)
	}
	if c.StartupTimeout <= 0 {
		c.StartupTimeout = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}
