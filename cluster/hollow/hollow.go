// Package hollow registers nodes that exist only as API objects, like kwok:
// each is Ready, keeps its Lease in kube-node-lease renewed, reports the pods
// bound to it Running and Ready (with fake loopback IPs and no processes),
// and removes pods being deleted at once. One process holds thousands of
// them: one queue renews every Lease, spread evenly over the renew interval,
// and one pod informer serves every node.
package hollow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	coordinationv1 "k8s.io/api/coordination/v1"

	"github.com/project-seven/seven/cluster/timings"
)

// Config configures a set of hollow nodes.
type Config struct {
	Client kubernetes.Interface
	// Count nodes are registered, named NamePrefix0 … NamePrefix(Count-1).
	Count      int
	NamePrefix string // default "hollow-"
	// Capacity is each node's capacity and allocatable; default DefaultCapacity().
	Capacity corev1.ResourceList
	// Labels are added to every node (besides kubernetes.io/hostname, os and arch).
	Labels map[string]string
	// Timings: NodeLeaseDuration sets the Lease duration; Leases are renewed
	// every quarter of it, as the kubelet does. That is Count*4/duration
	// writes per second: with thousands of nodes, prefer the kubernetes
	// preset (40s: 500 writes/s for 5,000 nodes) or longer.
	Timings timings.Timings
	Logger  *slog.Logger
	// Workers is how many API writes run at once. Default 16.
	Workers int
}

// Nodes is a running set of hollow nodes.
type Nodes struct {
	cfg   Config
	log   *slog.Logger
	names []string
	index map[string]int // node name -> i

	mu     sync.Mutex
	nodes  map[string]*corev1.Node          // as registered (with UID)
	leases map[string]*coordinationv1.Lease // as last written

	registered chan struct{}
	podIPs     atomic.Uint32
	renewed    atomic.Int64
}

// New validates cfg and fills defaults.
func New(cfg Config) (*Nodes, error) {
	if cfg.Client == nil {
		return nil, errors.New("hollow: Client is required")
	}
	if cfg.Count <= 0 {
		return nil, fmt.Errorf("hollow: Count must be positive, got %d", cfg.Count)
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "hollow-"
	}
	if len(cfg.Capacity) == 0 {
		cfg.Capacity = DefaultCapacity()
	}
	if cfg.Timings.NodeLeaseDuration <= 0 {
		return nil, errors.New("hollow: Timings.NodeLeaseDuration must be positive")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	n := &Nodes{
		cfg: cfg, log: cfg.Logger.With("component", "hollow-nodes"),
		index: make(map[string]int, cfg.Count), nodes: make(map[string]*corev1.Node, cfg.Count),
		leases:     make(map[string]*coordinationv1.Lease, cfg.Count),
		registered: make(chan struct{}),
	}
	for i := range cfg.Count {
		name := NodeName(cfg.NamePrefix, i)
		n.names = append(n.names, name)
		n.index[name] = i
	}
	return n, nil
}

// Names returns the node names.
func (n *Nodes) Names() []string { return n.names }

// LeaseWrites returns how many Lease writes have succeeded.
func (n *Nodes) LeaseWrites() int64 { return n.renewed.Load() }

// Registered is closed once every node exists and reports Ready.
func (n *Nodes) Registered() <-chan struct{} { return n.registered }

// Start registers the nodes and serves them until ctx is done. The nodes
// are left in the cluster when it returns (their Leases then expire).
func (n *Nodes) Start(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(n.cfg.Client, 0)
	pods := factory.Core().V1().Pods()
	lister := pods.Lister()
	podQueue := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "hollow-pods"})
	leaseQueue := workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[string]{Name: "hollow-leases"})
	enqueue := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			return
		}
		if _, ours := n.index[pod.Spec.NodeName]; !ours {
			return
		}
		if pod.DeletionTimestamp != nil || !podDone(pod) {
			podQueue.Add(pod.Namespace + "/" + pod.Name)
		}
	}
	podReg, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	if err != nil {
		return fmt.Errorf("hollow: pod handler: %w", err)
	}
	nodeInformer := factory.Core().V1().Nodes()
	if _, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			// Someone (the node lifecycle controller) marked a live node not
			// Ready: report it Ready again, as a kubelet would.
			node := obj.(*corev1.Node)
			if _, ours := n.index[node.Name]; ours && !nodeReady(node) {
				podQueue.Add(nodeKeyPrefix + node.Name)
			}
		},
	}); err != nil {
		return fmt.Errorf("hollow: node handler: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		<-ctx.Done()
		podQueue.ShutDown()
		leaseQueue.ShutDown()
	})
	if !cache.WaitForCacheSync(ctx.Done(), podReg.HasSynced, nodeInformer.Informer().HasSynced) {
		return nil // only when ctx is done
	}
	if err := n.register(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	close(n.registered)
	n.log.Info("hollow nodes registered", "count", n.cfg.Count)

	// Spread the first renewals over one interval; each renewal re-arms itself.
	interval := n.cfg.Timings.NodeLeaseDuration / 4
	for i, name := range n.names {
		leaseQueue.AddAfter(name, time.Duration(int64(interval)*int64(i)/int64(len(n.names))))
	}
	leaseWorkers := max(1, n.cfg.Workers/4)
	for range leaseWorkers {
		wg.Go(func() {
			for {
				name, quit := leaseQueue.Get()
				if quit {
					return
				}
				if err := n.renewLease(ctx, name); err != nil && ctx.Err() == nil {
					n.log.Error("failed to renew lease", "node", name, "err", err)
					leaseQueue.AddAfter(name, interval/4)
				} else {
					leaseQueue.AddAfter(name, interval)
				}
				leaseQueue.Done(name)
			}
		})
	}
	for range n.cfg.Workers {
		wg.Go(func() {
			for {
				key, quit := podQueue.Get()
				if quit {
					return
				}
				if err := n.syncPod(ctx, lister, key); err != nil && ctx.Err() == nil {
					n.log.Debug("failed to sync pod", "pod", key, "err", err)
					podQueue.AddRateLimited(key)
				} else {
					podQueue.Forget(key)
				}
				podQueue.Done(key)
			}
		})
	}
	<-ctx.Done()
	return nil
}

const nodeKeyPrefix = "node:"

// register creates every node (or brings an existing one Ready) and its Lease.
func (n *Nodes) register(ctx context.Context) error {
	names := make(chan int)
	errs := make(chan error, n.cfg.Workers)
	var wg sync.WaitGroup
	for range n.cfg.Workers {
		wg.Go(func() {
			for i := range names {
				if err := n.registerNode(ctx, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range n.names {
		select {
		case names <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(names)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

func (n *Nodes) registerNode(ctx context.Context, i int) error {
	name := n.names[i]
	want := nodeObject(name, i, n.cfg.Capacity, n.cfg.Labels, metav1.Now())
	nodes := n.cfg.Client.CoreV1().Nodes()
	got, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		got, err = nodes.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			got.Status = want.Status
			got, err = nodes.UpdateStatus(ctx, got, metav1.UpdateOptions{})
		}
	} else if err == nil && !nodeReady(got) {
		// The server dropped the status on create: report it.
		got.Status = want.Status
		got, err = nodes.UpdateStatus(ctx, got, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", name, err)
	}
	n.mu.Lock()
	n.nodes[name] = got
	n.mu.Unlock()
	return nil
}

// renewLease writes the node's Lease with a fresh renewTime: an update of
// the copy last written, falling back to read-then-write when that is stale.
func (n *Nodes) renewLease(ctx context.Context, name string) error {
	n.mu.Lock()
	node, cur := n.nodes[name], n.leases[name]
	n.mu.Unlock()
	leases := n.cfg.Client.CoordinationV1().Leases(LeaseNamespace)
	seconds := max(int32(n.cfg.Timings.NodeLeaseDuration/time.Second), 1)
	want := leaseObject(node, seconds, metav1.NowMicro())
	var err error
	if cur == nil {
		cur, err = leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cur, err = leases.Create(ctx, want, metav1.CreateOptions{})
			if err == nil {
				n.storeLease(name, cur)
				n.renewed.Add(1)
			}
			return err
		}
		if err != nil {
			return err
		}
	}
	cur = cur.DeepCopy()
	cur.Spec = want.Spec
	if len(cur.OwnerReferences) == 0 {
		cur.OwnerReferences = want.OwnerReferences
	}
	written, err := leases.Update(ctx, cur, metav1.UpdateOptions{})
	if err != nil {
		n.storeLease(name, nil) // read it again next time
		return err
	}
	n.storeLease(name, written)
	n.renewed.Add(1)
	return nil
}

func (n *Nodes) storeLease(name string, l *coordinationv1.Lease) {
	n.mu.Lock()
	if l == nil {
		delete(n.leases, name)
	} else {
		n.leases[name] = l
	}
	n.mu.Unlock()
}

func (n *Nodes) syncPod(ctx context.Context, lister corelisters.PodLister, key string) error {
	if len(key) > len(nodeKeyPrefix) && key[:len(nodeKeyPrefix)] == nodeKeyPrefix {
		i := n.index[key[len(nodeKeyPrefix):]]
		return n.registerNode(ctx, i)
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := lister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	i, ours := n.index[pod.Spec.NodeName]
	if !ours {
		return nil
	}
	client := n.cfg.Client.CoreV1().Pods(ns)
	if pod.DeletionTimestamp != nil {
		zero := int64(0)
		err := client.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: metav1.NewUIDPreconditions(string(pod.UID))})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if podDone(pod) {
		return nil
	}
	updated := pod.DeepCopy()
	ip := pod.Status.PodIP
	if ip == "" {
		ip = PodIP(n.podIPs.Add(1))
	}
	updated.Status = runningStatus(pod, NodeIP(i), ip, metav1.Now())
	_, err = client.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
