package dns

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// Index names of the informer caches.
const (
	byClusterIP = "clusterIP"
	byService   = "service"
	byAddress   = "address"
)

// informerCluster is the Cluster of informer caches.
type informerCluster struct {
	namespaces cache.Indexer
	services   cache.Indexer
	slices     cache.Indexer
}

// newInformerCluster registers the informers and indexes Lookup needs on factory.
func newInformerCluster(factory informers.SharedInformerFactory) (*informerCluster, []cache.InformerSynced, error) {
	ns := factory.Core().V1().Namespaces().Informer()
	svc := factory.Core().V1().Services().Informer()
	sl := factory.Discovery().V1().EndpointSlices().Informer()
	if err := svc.AddIndexers(cache.Indexers{byClusterIP: func(obj any) ([]string, error) {
		s, ok := obj.(*corev1.Service)
		if !ok {
			return nil, nil
		}
		var out []string
		for _, ip := range s.Spec.ClusterIPs {
			if ip != "" && ip != corev1.ClusterIPNone {
				out = append(out, ip)
			}
		}
		return out, nil
	}}); err != nil {
		return nil, nil, err
	}
	if err := sl.AddIndexers(cache.Indexers{
		byService: func(obj any) ([]string, error) {
			s, ok := obj.(*discoveryv1.EndpointSlice)
			if !ok || s.Labels[discoveryv1.LabelServiceName] == "" {
				return nil, nil
			}
			return []string{s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]}, nil
		},
		byAddress: func(obj any) ([]string, error) {
			s, ok := obj.(*discoveryv1.EndpointSlice)
			if !ok {
				return nil, nil
			}
			var out []string
			for _, e := range s.Endpoints {
				if len(e.Addresses) > 0 {
					out = append(out, e.Addresses[0])
				}
			}
			return out, nil
		},
	}); err != nil {
		return nil, nil, err
	}
	c := &informerCluster{namespaces: ns.GetIndexer(), services: svc.GetIndexer(), slices: sl.GetIndexer()}
	return c, []cache.InformerSynced{ns.HasSynced, svc.HasSynced, sl.HasSynced}, nil
}

func (c *informerCluster) Namespace(name string) bool {
	_, ok, _ := c.namespaces.GetByKey(name)
	return ok
}

func (c *informerCluster) Service(namespace, name string) *corev1.Service {
	obj, ok, _ := c.services.GetByKey(namespace + "/" + name)
	if !ok {
		return nil
	}
	s, _ := obj.(*corev1.Service)
	return s
}

func (c *informerCluster) EndpointSlices(namespace, service string) []*discoveryv1.EndpointSlice {
	objs, _ := c.slices.ByIndex(byService, namespace+"/"+service)
	return slicesOf(objs)
}

func (c *informerCluster) ServicesByClusterIP(ip string) []*corev1.Service {
	objs, _ := c.services.ByIndex(byClusterIP, ip)
	out := make([]*corev1.Service, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*corev1.Service); ok {
			out = append(out, s)
		}
	}
	return out
}

func (c *informerCluster) EndpointSlicesByIP(ip string) []*discoveryv1.EndpointSlice {
	objs, _ := c.slices.ByIndex(byAddress, ip)
	return slicesOf(objs)
}

func slicesOf(objs []any) []*discoveryv1.EndpointSlice {
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, s)
		}
	}
	return out
}
