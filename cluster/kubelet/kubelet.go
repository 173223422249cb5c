package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/kubelet/podnet"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/timings"
)

// Network modes.
const (
	// ModeLoopback is the rootless deviation: pods share the node's network
	// namespace with IPs from a 127/8 podCIDR (see sandbox.go).
	ModeLoopback = "loopback"
	// ModeCNI is the Kubernetes pod network: a network namespace per pod with
	// an IP from the node's podCIDR, plugged in by the CNI plugins, and routes
	// to the other nodes' podCIDRs. It needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
	ModeCNI = "cni"
)

// Config configures a kubelet.
type Config struct {
	Client kubernetes.Interface
	// EventClient records Events; default Client. Give it a client with its
	// own rate limits (Kubernetes: --event-qps 50, --event-burst 100) so that
	// a burst of Events never delays pod status writes.
	EventClient kubernetes.Interface
	NodeName    string
	// PodCIDR is the range pod IPs come from; when empty the kubelet waits
	// for the Node's spec.podCIDR. In loopback mode it lies in 127.0.0.0/8.
	PodCIDR string
	// NodeIP is the node's InternalIP and the pods' hostIP; default 127.0.0.1.
	NodeIP string
	// CPU, Memory and Pods are the node's capacity (and allocatable);
	// defaults: the machine's CPUs and memory, 110 pods.
	CPU    resource.Quantity
	Memory resource.Quantity
	Pods   int
	// Labels are added to the Node's (kubernetes.io/hostname, os, arch are set).
	Labels map[string]string
	// RootDir holds the state: containers, logs, pod volumes, IPs; and the
	// image store (RootDir/images) when Images is nil.
	RootDir string
	Images  *image.Store
	// InsecureRegistries may be reached over plain HTTP, and over HTTPS
	// without a certificate check: host, host:port or a CIDR (see
	// image.PullOptions). Loopback registries need not be listed.
	InsecureRegistries []string
	// ImageImportHint is the command that the ErrImagePull message of a
	// missing image no registry serves (seven.local/…) tells a person to
	// run to add it, for nodes whose own seven they cannot run (a Docker
	// cluster's: seven cluster load-image); default: this node's
	// `seven image import --root <RootDir> FILE` (--store for another Images).
	ImageImportHint string
	// FixtureBinary, when set, makes sure the fixture images are in the store.
	FixtureBinary string
	Timings       timings.Timings
	Logger        *slog.Logger
	// ServerPort is the kubelet API's HTTPS port on NodeIP; 0 picks a free one.
	ServerPort int
	// ServingConfig is the kubelet API's certificate and access control
	// (see server.go).
	ServingConfig
	// Mode is ModeLoopback (default) or ModeCNI (see sandbox.go, network.go
	// and package podnet). In CNI mode NodeIP defaults to the address of the
	// default route's interface.
	Mode string
	// CNIBinDirs are searched for the CNI plugins (CNI mode); default:
	// $CNI_PATH, cni/ next to this executable, then /opt/cni/bin.
	CNIBinDirs []string
	// Bridge is the node bridge (CNI mode); default podnet.DefaultBridge.
	// Nodes sharing a network namespace need one each.
	Bridge string
	// Routes overrides the CNI-mode routes to other nodes (tests).
	Routes NodeRoutes
	// ClusterDNS and ClusterDomain go into the pods' resolv.conf (dnsPolicy
	// ClusterFirst); without ClusterDNS the node's resolv.conf is used.
	ClusterDNS    []string
	ClusterDomain string
	// RelistPeriod is how often the runtime is listed to notice exits of
	// containers the kubelet did not start itself (adopted); default 1s.
	RelistPeriod time.Duration
	// StopPodsOnExit stops and removes every container when Start returns
	// (for in-process clusters and tests). By default containers outlive the
	// kubelet, to be adopted by the next one.
	StopPodsOnExit bool
	// ShimBinary is the container shim executable; default: seven-shim next
	// to this executable, else this executable (see package runtime).
	ShimBinary string
	// Runtime overrides the runtime ContainerRuntime names (tests).
	Runtime krt.Runtime
	// ContainerRuntime is RuntimeProcess (the default) or RuntimeContainerd.
	ContainerRuntime string
	// ContainerdAddress is containerd's socket (RuntimeContainerd); default
	// /run/containerd/containerd.sock.
	ContainerdAddress string
	// ContainerdNamespace holds this node's containers and images in
	// containerd; default "seven". Nodes sharing one containerd need one
	// each, or each would adopt the others' containers.
	ContainerdNamespace string
	// Clock defaults to the real clock.
	Clock clock.WithTicker
}

// Kubelet is a node agent.
type Kubelet struct {
	cfg         Config
	log         *slog.Logger
	clock       clock.WithTicker
	rt          krt.Runtime
	ownsRuntime bool // opened by New, closed when Start returns
	probes      *prober
	puller      *imagePuller // see imagepull.go
	probeClient *http.Client
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	started     time.Time
	samples     cpuSamples

	podInformer cache.SharedIndexInformer
	podLister   corelisters.PodLister
	svcLister   corelisters.ServiceLister
	factory     informers.SharedInformerFactory
	nodeFactory informers.SharedInformerFactory
	svcFactory  informers.SharedInformerFactory

	ctx context.Context
	wg  sync.WaitGroup

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	index   map[types.UID]map[string]bool // runtime containers by pod
	owner   map[string]types.UID          // container id → pod
	running map[string]bool               // last relist: container id → running
	// pnet gives pods their network; nil until the podCIDR is known.
	pnet podNetwork
	// routes are the CNI-mode routes to other nodes (nil in loopback
	// mode); netDirty asks networkLoop for a sync.
	routes   NodeRoutes
	netDirty chan struct{}
	// hostPorts forwards hostPorts to pods with namespaces of their own
	// (CNI mode; nil otherwise).
	hostPorts  *hostPorts
	nodeLister corelisters.NodeLister
	nodeUID    types.UID
	listener   net.Listener
	metrics    apiMetrics // see server_metrics.go
	// synced: the pod informer has synced, so a pod missing from it is gone.
	synced bool
}

// New validates cfg and fills defaults.
func New(cfg Config) (*Kubelet, error) {
	if cfg.Client == nil {
		return nil, errors.New("kubelet: Client is required")
	}
	if cfg.NodeName == "" {
		return nil, errors.New("kubelet: NodeName is required")
	}
	if cfg.EventClient == nil {
		cfg.EventClient = cfg.Client
	}
	if cfg.RootDir == "" {
		return nil, errors.New("kubelet: RootDir is required")
	}
	if cfg.Timings == (timings.Timings{}) {
		return nil, errors.New("kubelet: Timings is required")
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeLoopback
	case ModeLoopback, ModeCNI:
	default:
		return nil, fmt.Errorf("kubelet: unknown mode %q (loopback or cni)", cfg.Mode)
	}
	if cfg.NodeIP == "" && cfg.Mode == ModeCNI {
		ip, err := podnet.DefaultIP()
		if err != nil {
			return nil, fmt.Errorf("kubelet: CNI mode needs NodeIP: %w", err)
		}
		cfg.NodeIP = ip.String()
	}
	if len(cfg.CNIBinDirs) == 0 {
		cfg.CNIBinDirs = defaultCNIBinDirs()
	}
	if cfg.NodeIP == "" {
		cfg.NodeIP = "127.0.0.1"
	}
	if net.ParseIP(cfg.NodeIP) == nil {
		return nil, fmt.Errorf("kubelet: NodeIP %q is not an IP", cfg.NodeIP)
	}
	if cfg.CPU.IsZero() {
		cfg.CPU = *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI)
	}
	if cfg.Memory.IsZero() {
		cfg.Memory = *resource.NewQuantity(machineMemory(), resource.BinarySI)
	}
	if cfg.Pods == 0 {
		cfg.Pods = 110
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = "cluster.local"
	}
	if cfg.RelistPeriod <= 0 {
		cfg.RelistPeriod = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	log := cfg.Logger.With("node", cfg.NodeName)
	abs, err := filepath.Abs(cfg.RootDir)
	if err != nil {
		return nil, fmt.Errorf("kubelet: %w", err)
	}
	cfg.RootDir = abs
	if err := os.MkdirAll(cfg.RootDir, 0o755); err != nil {
		return nil, fmt.Errorf("kubelet: %w", err)
	}
	if cfg.Images == nil {
		if cfg.Images, err = image.Open(filepath.Join(cfg.RootDir, "images")); err != nil {
			return nil, fmt.Errorf("kubelet: %w", err)
		}
	}
	ownsRuntime := cfg.Runtime == nil
	if ownsRuntime {
		if cfg.Runtime, err = newRuntime(cfg, log); err != nil {
			return nil, fmt.Errorf("kubelet: %w", err)
		}
	}
	k := &Kubelet{
		cfg:         cfg,
		log:         log,
		clock:       cfg.Clock,
		rt:          cfg.Runtime,
		ownsRuntime: ownsRuntime,
		probeClient: newProbeClient(),
		workers:     map[types.UID]*podWorker{},
		index:       map[types.UID]map[string]bool{},
		owner:       map[string]types.UID{},
		running:     map[string]bool{},
	}
	k.probes = newProber(k)
	k.puller = newImagePuller(cfg.Images, cfg.InsecureRegistries, &k.wg, k.clock.Now)
	if cfg.Mode == ModeCNI {
		if cfg.Routes == nil {
			nw, err := podnet.New(podnet.Config{Logger: log})
			if err != nil {
				return nil, fmt.Errorf("kubelet: CNI mode: %w", err)
			}
			cfg.Routes = nw
			k.cfg.Routes = nw
		}
		k.routes = cfg.Routes
		k.netDirty = make(chan struct{}, 1)
		k.hostPorts = newHostPorts(cfg.NodeIP)
	}
	if cfg.PodCIDR != "" {
		if k.pnet, err = k.newPodNetwork(cfg.PodCIDR); err != nil {
			return nil, fmt.Errorf("kubelet: %w", err)
		}
	}
	return k, nil
}

// Start runs the kubelet until ctx ends.
func (k *Kubelet) Start(ctx context.Context) error {
	defer k.closeRuntime() // last: StopPodsOnExit still needs it
	k.ctx = ctx
	k.started = k.clock.Now()
	if k.cfg.FixtureBinary != "" {
		if err := k.cfg.Images.EnsureFixtures(k.cfg.FixtureBinary); err != nil {
			return fmt.Errorf("kubelet: %w", err)
		}
	}
	k.broadcaster = record.NewBroadcaster(record.WithContext(ctx))
	k.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: k.cfg.EventClient.CoreV1().Events("")})
	k.recorder = k.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: k.cfg.NodeName})
	defer k.broadcaster.Shutdown()

	srv, err := k.listen()
	if err != nil {
		return fmt.Errorf("kubelet: %w", err)
	}
	if err := k.register(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("kubelet: %w", err)
	}
	// The Lease comes with the Node: a node that reports Ready has a
	// heartbeat to watch from its first moment, not once the pod caches
	// have synced.
	if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
		k.log.Warn("lease renewal failed", "err", err)
	}

	k.factory = informers.NewSharedInformerFactoryWithOptions(k.cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName=" + k.cfg.NodeName }))
	k.podInformer = k.factory.Core().V1().Pods().Informer()
	k.podLister = k.factory.Core().V1().Pods().Lister()
	k.svcFactory = informers.NewSharedInformerFactory(k.cfg.Client, 0)
	k.svcLister = k.svcFactory.Core().V1().Services().Lister()
	_, _ = k.podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.podChanged(obj) },
		UpdateFunc: func(_, obj any) { k.podChanged(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				k.wake(pod.UID)
			}
		},
	})
	// Adopt what runs before pods arrive, so that nothing is started twice.
	k.relist()
	k.factory.Start(ctx.Done())
	k.svcFactory.Start(ctx.Done())
	defer k.factory.Shutdown()
	defer k.svcFactory.Shutdown()
	for typ, ok := range k.factory.WaitForCacheSync(ctx.Done()) {
		if !ok && ctx.Err() == nil {
			return fmt.Errorf("kubelet: %v cache did not sync", typ)
		}
	}
	k.svcFactory.WaitForCacheSync(ctx.Done())
	k.mu.Lock()
	k.synced = true
	k.mu.Unlock()
	if k.routes != nil {
		k.startNodeWatch(ctx)
		defer k.nodeFactory.Shutdown()
		k.syncNetwork() // routes back before pods are synced
	}
	k.relist() // workers for adopted containers, whose pods may be gone
	if pods, err := k.podLister.List(labelsEverything()); err == nil {
		for _, p := range pods {
			k.podChanged(p)
		}
	}

	if k.routes != nil {
		k.wg.Add(1)
		go func() { defer k.wg.Done(); k.networkLoop(ctx) }()
	}
	k.wg.Add(5)
	go func() { defer k.wg.Done(); k.leaseLoop(ctx) }()
	go func() { defer k.wg.Done(); k.statusLoop(ctx) }()
	go func() { defer k.wg.Done(); k.relistLoop(ctx) }()
	go func() { defer k.wg.Done(); k.exitLoop(ctx) }()
	go func() { defer k.wg.Done(); k.serve(ctx, srv) }()
	k.log.Info("kubelet started", "server", k.listener.Addr().String())
	<-ctx.Done()
	k.wg.Wait()
	if k.hostPorts != nil {
		k.hostPorts.closeAll()
	}
	if k.cfg.StopPodsOnExit {
		k.stopEverything()
	}
	if k.cfg.StopPodsOnExit {
		if pn := k.podNet(); pn != nil {
			if err := pn.close(); err != nil {
				k.log.Warn("pod network teardown", "err", err)
			}
		}
	}
	if k.routes != nil {
		if k.cfg.StopPodsOnExit {
			if err := k.routes.Teardown(); err != nil {
				k.log.Warn("pod routes teardown", "err", err)
			}
		}
		k.routes.Close()
	}
	return nil
}

// ServerAddress is the kubelet API's address (valid once Start has begun
// serving).
func (k *Kubelet) ServerAddress() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.listener == nil {
		return ""
	}
	return k.listener.Addr().String()
}

// Synced reports whether the kubelet has registered, synced its pod cache and
// adopted what was running: from then on it runs pods.
func (k *Kubelet) Synced() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.synced
}

func (k *Kubelet) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName != k.cfg.NodeName {
		return
	}
	k.ensureWorker(pod.UID, pod.Namespace, pod.Name)
}

// relist reads the runtime, refreshes the index and wakes the pods whose
// containers changed; containers of pods without a worker get one (which
// cleans them up if the pod is gone).
func (k *Kubelet) relist() {
	list, err := k.rt.List()
	if err != nil {
		k.log.Error("relist failed", "err", err)
		return
	}
	index := map[types.UID]map[string]bool{}
	owner := map[string]types.UID{}
	running := map[string]bool{}
	meta := map[types.UID][2]string{}
	for _, c := range list {
		uid := types.UID(c.Spec.PodUID)
		if index[uid] == nil {
			index[uid] = map[string]bool{}
		}
		index[uid][c.ID] = true
		owner[c.ID] = uid
		running[c.ID] = c.Running()
		meta[uid] = [2]string{c.Spec.PodNamespace, c.Spec.PodName}
	}
	k.mu.Lock()
	var changed []types.UID
	for id, r := range running {
		if old, ok := k.running[id]; !ok || old != r {
			changed = append(changed, owner[id])
		}
	}
	// Keep entries added by starts that raced with this list.
	for uid, ids := range k.index {
		for id := range ids {
			if _, ok := owner[id]; !ok {
				if _, err := k.rt.Status(id); err == nil {
					if index[uid] == nil {
						index[uid] = map[string]bool{}
					}
					index[uid][id], owner[id] = true, uid
				}
			}
		}
	}
	k.index, k.owner, k.running = index, owner, running
	synced := k.synced
	k.mu.Unlock()
	if !synced {
		return // initial adoption, before the informers have synced
	}
	for uid, m := range meta {
		k.ensureWorker(uid, m[0], m[1])
	}
	for _, uid := range changed {
		k.wake(uid)
	}
}

func (k *Kubelet) relistLoop(ctx context.Context) {
	t := k.clock.NewTicker(k.cfg.RelistPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			k.relist()
		}
	}
}

func (k *Kubelet) exitLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-k.rt.Exits():
			k.mu.Lock()
			uid, ok := k.owner[id]
			k.mu.Unlock()
			if ok {
				k.wake(uid)
			}
		}
	}
}

// containersOf reads the runtime state of a pod's containers.
func (k *Kubelet) containersOf(uid types.UID) []krt.Status {
	k.mu.Lock()
	ids := make([]string, 0, len(k.index[uid]))
	for id := range k.index[uid] {
		ids = append(ids, id)
	}
	k.mu.Unlock()
	out := make([]krt.Status, 0, len(ids))
	for _, id := range ids {
		st, err := k.rt.Status(id)
		if err != nil {
			continue
		}
		out = append(out, st)
	}
	return out
}

func (k *Kubelet) track(uid types.UID, id string, add bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if add {
		if k.index[uid] == nil {
			k.index[uid] = map[string]bool{}
		}
		k.index[uid][id], k.owner[id] = true, uid
		return
	}
	delete(k.index[uid], id)
	delete(k.owner, id)
	delete(k.running, id)
	if len(k.index[uid]) == 0 {
		delete(k.index, uid)
	}
}

// stopEverything stops and removes every container (StopPodsOnExit).
func (k *Kubelet) stopEverything() {
	list, err := k.rt.List()
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, c := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := k.rt.Stop(ctx, c.ID, 2*time.Second); err != nil {
				k.log.Warn("stop container", "err", err, "container", c.ID)
			}
			_ = k.rt.Remove(c.ID)
		}()
	}
	wg.Wait()
}

func (k *Kubelet) hostIP() string { return k.cfg.NodeIP }

func (k *Kubelet) allocatable() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    k.cfg.CPU,
		corev1.ResourceMemory: k.cfg.Memory,
		corev1.ResourcePods:   *resource.NewQuantity(int64(k.cfg.Pods), resource.DecimalSI),
	}
}

// services are the Services whose variables a starting pod gets: those of
// its namespace and default/kubernetes. They are read from the API, not the
// informer, so a Service created just before the pod is never missed (the
// guarantee is "the Services that exist when the pod starts"); the informer
// is the fallback when the API cannot be reached.
func (k *Kubelet) services(namespace string) []*corev1.Service {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if list, err := k.cfg.Client.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{}); err == nil {
		out := make([]*corev1.Service, 0, len(list.Items)+1)
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		if namespace != "default" {
			if s, err := k.cfg.Client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err == nil {
				out = append(out, s)
			}
		}
		return out
	}
	if k.svcLister == nil {
		return nil
	}
	out, _ := k.svcLister.Services(namespace).List(labelsEverything())
	if namespace != "default" {
		if s, err := k.svcLister.Services("default").Get("kubernetes"); err == nil {
			out = append(out, s)
		}
	}
	return out
}

func (k *Kubelet) podDir(uid types.UID) string {
	return filepath.Join(k.cfg.RootDir, "pods", string(uid))
}

// podNet is the pod network, nil until the podCIDR is known.
func (k *Kubelet) podNet() podNetwork {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pnet
}

// defaultCNIBinDirs: $CNI_PATH (the CNI convention), cni/ next to the
// executable (make build puts the plugins in bin/cni), then the conventional
// /opt/cni/bin.
func defaultCNIBinDirs() []string {
	dirs := filepath.SplitList(os.Getenv("CNI_PATH"))
	if self, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(self), "cni"))
	}
	return append(dirs, "/opt/cni/bin")
}

func klogRef(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }
