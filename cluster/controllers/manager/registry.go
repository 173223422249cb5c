package manager

import (
	"github.com/project-seven/seven/cluster/component"
	"github.com/project-seven/seven/cluster/controllers/deployment"
	"github.com/project-seven/seven/cluster/controllers/garbagecollector"
	"github.com/project-seven/seven/cluster/controllers/namespace"
	"github.com/project-seven/seven/cluster/controllers/replicaset"
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
	{"deployment", newDeployment},
	{"garbagecollector", newGarbageCollector},
	{"namespace", newNamespace},
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
