package registry

import (
	"fmt"
	"sort"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DefaultTolerationSeconds is Kubernetes' default for the not-ready and
// unreachable NoExecute tolerations added to every pod on create
// (--default-not-ready-toleration-seconds, --default-unreachable-toleration-seconds).
const DefaultTolerationSeconds int64 = 300

// Config holds the few settings of the strategies a server may change.
type Config struct {
	// NotReadyTolerationSeconds and UnreachableTolerationSeconds are the
	// tolerationSeconds of the NoExecute tolerations for
	// node.kubernetes.io/not-ready and node.kubernetes.io/unreachable that
	// pods get on create when they do not tolerate those taints already.
	// Negative means the default (300).
	NotReadyTolerationSeconds    int64
	UnreachableTolerationSeconds int64

	// AllowLoopbackEndpoints accepts loopback addresses (127.0.0.0/8, ::1) in
	// Endpoints and EndpointSlices, which Kubernetes rejects. It is the
	// reported deviation of rootless nodes whose pods have loopback IPs; off,
	// validation is Kubernetes'.
	AllowLoopbackEndpoints bool

	// AdmitUnsupportedPodFields turns off Seven's node-support admission,
	// which refuses pods asking for what Seven's nodes cannot honour (see
	// admission_nodesupport.go). Turn it off when the nodes are other
	// kubelets.
	AdmitUnsupportedPodFields bool
}

// DefaultConfig is Kubernetes' configuration.
func DefaultConfig() Config {
	return Config{NotReadyTolerationSeconds: DefaultTolerationSeconds, UnreachableTolerationSeconds: DefaultTolerationSeconds}
}

func (c Config) withDefaults() Config {
	if c.NotReadyTolerationSeconds < 0 {
		c.NotReadyTolerationSeconds = DefaultTolerationSeconds
	}
	if c.UnreachableTolerationSeconds < 0 {
		c.UnreachableTolerationSeconds = DefaultTolerationSeconds
	}
	return c
}

// Registry is the set of served resources built from one Config.
type Registry struct {
	resources []*Resource
	byGR      map[schema.GroupResource]*Resource
	byGVK     map[schema.GroupVersionKind]*Resource
}

// New builds every served resource with the given configuration.
func New(cfg Config) (*Registry, error) {
	cfg = cfg.withDefaults()
	r := &Registry{
		byGR:  map[schema.GroupResource]*Resource{},
		byGVK: map[schema.GroupVersionKind]*Resource{},
	}
	r.resources = []*Resource{
		namespaces(),
		nodes(),
		pods(cfg),
		services(),
		endpoints(cfg),
		configMaps(),
		secrets(),
		serviceAccounts(),
		coreEvents(),
		replicationControllers(),
		podTemplates(),
		persistentVolumes(),
		persistentVolumeClaims(),
		resourceQuotas(),
		limitRanges(),
		eventsV1Events(),
		deployments(),
		replicaSets(),
		daemonSets(),
		statefulSets(cfg),
		controllerRevisions(),
		jobs(),
		cronJobs(),
		horizontalPodAutoscalers(),
		leases(),
		endpointSlices(cfg),
		podDisruptionBudgets(),
		// Served as API objects only: Seven implements no behaviour behind
		// them (see each file), but upstream components list and watch them.
		storageClasses(),
		volumeAttributesClasses(),
		csiDrivers(),
		csiNodes(),
		csiStorageCapacities(),
		volumeAttachments(),
		deviceClasses(),
		deviceTaintRules(),
		resourceClaims(),
		resourceClaimTemplates(),
		resourceSlices(),
		ingresses(),
		ingressClasses(),
		networkPolicies(),
		serviceCIDRs(),
		ipAddresses(),
		runtimeClasses(),
		priorityClasses(),
		certificateSigningRequests(),
		clusterTrustBundles(),
		podCertificateRequests(),
		roles(),
		clusterRoles(),
		roleBindings(),
		clusterRoleBindings(),
		validatingAdmissionPolicies(),
		validatingAdmissionPolicyBindings(),
		storageVersionMigrations(),
	}
	for _, res := range r.resources {
		gr := res.GroupResource()
		if r.byGR[gr] != nil {
			return nil, fmt.Errorf("registry: duplicate resource %s", gr)
		}
		r.byGR[gr] = res
		r.byGVK[res.GroupVersionKind()] = res
	}
	return r, nil
}

// All returns the served resources, core group first, in a stable order.
func (r *Registry) All() []*Resource { return r.resources }

// Lookup returns the resource of a group ("" for core) and plural name, or nil.
func (r *Registry) Lookup(group, resource string) *Resource {
	return r.byGR[schema.GroupResource{Group: group, Resource: resource}]
}

// ForKind returns the resource serving a group/version/kind, or nil.
func (r *Registry) ForKind(gvk schema.GroupVersionKind) *Resource { return r.byGVK[gvk] }

// GroupVersions returns the served group versions, sorted with the core group first.
func (r *Registry) GroupVersions() []schema.GroupVersion {
	seen := map[schema.GroupVersion]bool{}
	var out []schema.GroupVersion
	for _, res := range r.resources {
		if !seen[res.GroupVersion] {
			seen[res.GroupVersion] = true
			out = append(out, res.GroupVersion)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Group == "") != (out[j].Group == "") {
			return out[i].Group == ""
		}
		return out[i].Group < out[j].Group
	})
	return out
}

var defaultRegistry = sync.OnceValue(func() *Registry {
	r, err := New(DefaultConfig())
	if err != nil {
		panic(err) // a broken internal invariant: the resource table itself
	}
	return r
})

// All returns every served resource with Kubernetes' default configuration.
func All() []*Resource { return defaultRegistry().All() }

// Lookup finds a resource of the default registry by group and plural name.
func Lookup(group, resource string) *Resource { return defaultRegistry().Lookup(group, resource) }
