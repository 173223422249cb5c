package manager

import (
	"github.com/project-seven/seven/cluster/component"
	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/controllers/daemonset"
	"github.com/project-seven/seven/cluster/controllers/deployment"
	"github.com/project-seven/seven/cluster/controllers/endpoints"
	"github.com/project-seven/seven/cluster/controllers/endpointslice"
	"github.com/project-seven/seven/cluster/controllers/garbagecollector"
	"github.com/project-seven/seven/cluster/controllers/job"
	"github.com/project-seven/seven/cluster/controllers/namespace"
	"github.com/project-seven/seven/cluster/controllers/nodeipam"
	"github.com/project-seven/seven/cluster/controllers/nodelifecycle"
	"github.com/project-seven/seven/cluster/controllers/replicaset"
	"github.com/project-seven/seven/cluster/controllers/replicationcontroller"
	"github.com/project-seven/seven/cluster/controllers/rootca"
	"github.com/project-seven/seven/cluster/controllers/serviceaccount"
	"github.com/project-seven/seven/cluster/controllers/statefulset"
)

// Entry names a controller and how to build it.
type Entry struct {
	Name string
	New  Constructor
}

// registry lists every controller the manager knows, in start order. A new
// controller adds one line here (and its constructor below).
var registry = []Entry{
	{"replicaset", newReplicaSet},
	{"replicationcontroller", newReplicationController},
	{"deployment", newDeployment},
	{"garbagecollector", newGarbageCollector},
	{"namespace", newNamespace},
	{"daemonset", newDaemonSet},
	{"statefulset", newStatefulSet},
	{"job", newJob},
	{"nodelifecycle", newNodeLifecycle},
	{"endpoints", newEndpoints},
	{"endpointslice", newEndpointSlice},
	{"nodeipam", newNodeIPAM},
	{"root-ca-cert-publisher", newRootCAPublisher}, // upstream's root-ca-certificate-publisher-controller, by its older name as the others
	{"serviceaccount", newServiceAccount},
}

// Names returns the names of every known controller.
func Names() []string {
	out := make([]string, len(registry))
	for i, e := range registry {
		out[i] = e.Name
	}
	return out
}

func newReplicaSet(c Context) (component.Component, error) {
	return replicaset.New(replicaset.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(replicaset.Name)})
}

func newReplicationController(c Context) (component.Component, error) {
	return replicationcontroller.New(replicationcontroller.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(replicationcontroller.Name)})
}

func newDeployment(c Context) (component.Component, error) {
	return deployment.New(deployment.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(deployment.Name)})
}

func newGarbageCollector(c Context) (component.Component, error) {
	return garbagecollector.New(garbagecollector.Config{Client: c.Client, Dynamic: c.Dynamic, Informers: c.Informers,
		Timings: c.Timings, Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(garbagecollector.Name)})
}

func newNamespace(c Context) (component.Component, error) {
	return namespace.New(namespace.Config{Client: c.Client, Dynamic: c.Dynamic, Informers: c.Informers,
		Timings: c.Timings, Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(namespace.Name)})
}

func newDaemonSet(c Context) (component.Component, error) {
	return daemonset.New(daemonset.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(daemonset.Name)})
}

func newStatefulSet(c Context) (component.Component, error) {
	return statefulset.New(statefulset.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(statefulset.Name)})
}

func newJob(c Context) (component.Component, error) {
	return job.New(job.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(job.Name)})
}

func newNodeLifecycle(c Context) (component.Component, error) {
	return nodelifecycle.New(nodelifecycle.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(nodelifecycle.Name)})
}

func newEndpoints(c Context) (component.Component, error) {
	return endpoints.New(endpoints.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(endpoints.Name)})
}

func newEndpointSlice(c Context) (component.Component, error) {
	return endpointslice.New(endpointslice.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(endpointslice.Name)})
}

func newNodeIPAM(c Context) (component.Component, error) {
	return nodeipam.New(nodeipam.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings, ClusterCIDR: c.ClusterCIDR,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(nodeipam.Name)})
}

func newRootCAPublisher(c Context) (component.Component, error) {
	return rootca.New(rootca.Config{Config: controllers.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(rootca.Name)}, Bundle: c.RootCA})
}

func newServiceAccount(c Context) (component.Component, error) {
	return serviceaccount.New(serviceaccount.Config{Client: c.Client, Informers: c.Informers, Timings: c.Timings,
		Logger: c.Logger, Clock: c.Clock, Recorder: c.Recorder(serviceaccount.Name)})
}
