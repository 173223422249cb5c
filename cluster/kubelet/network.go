package kubelet

import (
	"context"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/project-seven/seven/cluster/kubelet/podnet"
)

// NodeRoutes are the CNI-mode routes of the node to other nodes' pods
// (package podnet's Network).
type NodeRoutes interface {
	SyncRoutes(want []podnet.Route) error
	// Teardown removes the routes (StopPodsOnExit).
	Teardown() error
	Close()
}

var _ NodeRoutes = (*podnet.Network)(nil)

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

// networkLoop keeps the routes in line with the Nodes: at every Node change, and every NodeStatusUpdate period to
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
	if err := k.routes.SyncRoutes(podnet.Routes(k.cfg.NodeName, nodes)); err != nil {
		k.log.Warn("pod routes", "err", err)
	}
}
