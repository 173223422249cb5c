package kubelet

import (
	"context"
	"net/netip"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/project-seven/seven/cluster/kubelet/podnet"
)

// PodNetwork is the routed-mode pod network of the node (package podnet's
// Network): pod IPs held by a node interface, routes to other nodes' pods.
type PodNetwork interface {
	AddPodIP(ip netip.Addr) error
	DelPodIP(ip netip.Addr) error
	SyncPodIPs(want []netip.Addr) error
	SyncRoutes(want []podnet.Route) error
	// Teardown removes the interface and the routes (StopPodsOnExit).
	Teardown() error
	Close()
}

var _ PodNetwork = (*podnet.Network)(nil)

// startNodeWatch starts an informer over every Node: their podCIDRs and
// InternalIPs are the routes.
func (k *Kubelet) startNodeWatch(ctx context.Context) {
	k.nodeFactory = informers.NewSharedInformerFactory(k.cfg.Client, 0)
	inf := k.nodeFactory.Core().V1().Nodes()
	k.nodeLister = inf.Lister()
	dirty := func(any) { k.networkChanged() }
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    dirty,
		UpdateFunc: func(_, obj any) { dirty(obj) },
		DeleteFunc: dirty,
	})
	k.nodeFactory.Start(ctx.Done())
	k.nodeFactory.WaitForCacheSync(ctx.Done())
}

// networkChanged asks networkLoop for a sync.
func (k *Kubelet) networkChanged() {
	if k.netDirty == nil {
		return
	}
	select {
	case k.netDirty <- struct{}{}:
	default:
	}
}

// networkLoop keeps the routes and pod IPs in line with the Nodes and the
// allocations: at every Node change, and every NodeStatusUpdate period to
// repair what others changed (a link taken down and up again loses its routes).
func (k *Kubelet) networkLoop(ctx context.Context) {
	t := k.clock.NewTicker(k.cfg.Timings.NodeStatusUpdate)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.netDirty:
		case <-t.C():
		}
		k.syncNetwork()
	}
}

func (k *Kubelet) syncNetwork() {
	nodes, err := k.nodeLister.List(labelsEverything())
	if err != nil {
		k.log.Error("list nodes", "err", err)
		return
	}
	if err := k.net.SyncRoutes(podnet.Routes(k.cfg.NodeName, nodes)); err != nil {
		k.log.Warn("pod routes", "err", err)
	}
	k.mu.Lock()
	a := k.ipam
	k.mu.Unlock()
	if a == nil {
		return
	}
	if err := k.net.SyncPodIPs(a.all()); err != nil {
		k.log.Warn("pod IPs", "err", err)
	}
}

// addPodIP puts a newly allocated pod IP on the node (routed mode).
func (k *Kubelet) addPodIP(ip string) error {
	if k.net == nil {
		return nil
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return err
	}
	return k.net.AddPodIP(addr)
}

// delPodIP removes a released pod IP from the node (routed mode).
func (k *Kubelet) delPodIP(ip string) {
	if k.net == nil || ip == "" {
		return
	}
	if addr, err := netip.ParseAddr(ip); err == nil {
		if err := k.net.DelPodIP(addr); err != nil {
			k.log.Warn("remove pod IP", "err", err, "ip", ip)
		}
	}
}
