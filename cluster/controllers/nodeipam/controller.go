package nodeipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/timings"
)

// Name is the controller's name in the manager, logs and events.
const Name = "node-ipam-controller"

// Defaults of Config.
const (
	DefaultClusterCIDR  = "10.244.0.0/16"
	DefaultNodeMaskSize = 24
)

// Config configures the controller; see package controllers for the conventions.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Timings   timings.Timings
	Logger    *slog.Logger
	Clock     clock.Clock
	Recorder  events.EventRecorder
	// ClusterCIDR is the range node pod CIDRs come from; default DefaultClusterCIDR.
	ClusterCIDR string
	// NodeMaskSize is the prefix length of each node's range; default DefaultNodeMaskSize.
	NodeMaskSize int
}

// Controller is the node IPAM controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	alloc    *Allocator
	nodes    corelisters.NodeLister
	synced   cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	recorder events.EventRecorder
}

// New validates cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("nodeipam: Client and Informers are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.ClusterCIDR == "" {
		cfg.ClusterCIDR = DefaultClusterCIDR
	}
	if cfg.NodeMaskSize == 0 {
		cfg.NodeMaskSize = DefaultNodeMaskSize
	}
	cluster, err := netip.ParsePrefix(cfg.ClusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("nodeipam: cluster CIDR: %w", err)
	}
	set, err := NewCIDRSet(cluster, cfg.NodeMaskSize)
	if err != nil {
		return nil, fmt.Errorf("nodeipam: %w", err)
	}
	inf := cfg.Informers.Core().V1().Nodes()
	c := &Controller{
		cfg:    cfg,
		log:    cfg.Logger.With("controller", "nodeipam"),
		alloc:  NewAllocator(set),
		nodes:  inf.Lister(),
		synced: inf.Informer().HasSynced,
		queue:  controllers.NewQueue("nodeipam"),
	}
	_, err = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: func(obj any) {
			if n, ok := controllers.Unwrap(obj).(*corev1.Node); ok {
				c.alloc.Release(n.Name)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("nodeipam: %w", err)
	}
	return c, nil
}

func (c *Controller) enqueue(obj any) {
	if key, ok := controllers.Key(obj); ok {
		c.queue.Add(key)
	}
}

// Start rebuilds the allocator from the existing nodes, then assigns ranges
// until ctx is done. One worker: allocation is serial anyway.
func (c *Controller) Start(ctx context.Context) error {
	rec, stop := controllers.Recorder(ctx, c.cfg.Client, c.cfg.Recorder, Name)
	defer stop()
	c.recorder = rec
	if err := controllers.WaitForSync(ctx, "nodeipam", c.synced); err != nil {
		return err
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("nodeipam: list nodes: %w", err)
	}
	for _, n := range nodes {
		if err := c.alloc.Observe(n); err != nil {
			c.log.Warn("pod CIDR not tracked", "node", n.Name, "err", err)
		}
	}
	c.log.Info("started", "clusterCIDR", c.cfg.ClusterCIDR, "nodeMask", c.cfg.NodeMaskSize, "inUse", len(nodes))
	controllers.RunWorkers(ctx, c.log, c.queue, 1, c.sync)
	return nil
}

func (c *Controller) sync(ctx context.Context, key string) error {
	node, err := c.nodes.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.alloc.Observe(node); err != nil {
		c.log.Warn("pod CIDR not tracked", "node", node.Name, "err", err)
		return nil
	}
	p, ok, err := c.alloc.Assign(node)
	if errors.Is(err, ErrFull) {
		c.recorder.Eventf(node, nil, corev1.EventTypeWarning, "CIDRNotAvailable", "AllocateCIDR", "Node %s status is now: CIDRNotAvailable", node.Name)
		return fmt.Errorf("assign pod CIDR to %s: %w", node.Name, err)
	}
	if err != nil || !ok {
		return err
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": p.String(), "podCIDRs": []string{p.String()}}})
	_, err = c.cfg.Client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	switch {
	case apierrors.IsNotFound(err):
		c.alloc.Release(node.Name)
		return nil
	case err != nil:
		// Keep the range for this node: the retry writes the same one.
		return fmt.Errorf("set pod CIDR of %s: %w", node.Name, err)
	}
	c.log.Info("pod CIDR assigned", "node", node.Name, "cidr", p)
	c.recorder.Eventf(node, nil, corev1.EventTypeNormal, "CIDRAssignmentSucceeded", "AllocateCIDR", "Node %s got pod CIDR %s", node.Name, p)
	return nil
}
