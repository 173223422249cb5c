package target

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/deviations"
)

// Target is a cluster the suite can run against.
//
// Setup is called once per suite, before any spec, and Teardown once after the
// last one (also when Setup failed part-way). Neither is called concurrently.
type Target interface {
	// Name is the target kind: "local", "docker", "kubeconfig", ….
	Name() string
	Setup(ctx context.Context) (*Environment, error)
	Teardown(ctx context.Context) error
}

// Environment is what a set-up target offers the specs.
type Environment struct {
	// Config is an admin client configuration for the cluster.
	Config *rest.Config
	// Faults injects faults; nil when the target cannot.
	Faults Faults
	// Capabilities the cluster declares. The fault capabilities (stop-node,
	// partition, …) must match what Faults can do.
	Capabilities Capabilities
	// Implementation describes what is under test.
	Implementation Implementation
	// Timings, when set, are the bounds the target knows it runs with (e.g.
	// the preset it booted); ResolveTimings prefers them over the cluster's
	// published ConfigMap only when no explicit file is given.
	Timings *ResolvedTimings
}

// Implementation is metadata about the orchestrator under test, copied into the report.
type Implementation struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	URL     string `json:"url,omitempty"`
	// Notes is free text, e.g. which components were replaced.
	Notes string `json:"notes,omitempty"`
	// Deviations are the ways the implementation declares it behaves unlike
	// Kubernetes (see ResolveDeviations); none for upstream Kubernetes.
	Deviations []deviations.Deviation `json:"deviations"`
	// Nodes are the target's nodes as they describe themselves when the
	// suite starts: which kubelet and which container runtime each runs.
	Nodes []Node `json:"nodes,omitempty"`
}

// Node is one node's status.nodeInfo, as the report shows it.
type Node struct {
	Name             string `json:"name"`
	KubeletVersion   string `json:"kubeletVersion"`
	ContainerRuntime string `json:"containerRuntime"`
	OSImage          string `json:"osImage,omitempty"`
}

// Factory builds a target from command-line style options.
type Factory func(opts FactoryOptions) (Target, error)

// FactoryOptions are the generic options `seven conformance` passes to a
// registered target factory.
type FactoryOptions struct {
	Kubeconfig   string
	FaultHook    string
	Capabilities []string
	DataDir      string
	Extra        map[string]string
}

var (
	registryMu sync.Mutex
	registry   = map[string]Factory{}
)

// Register makes a target available by name to `seven conformance --target`.
// The docker target registers itself this way (cluster/docker cannot be
// imported from here without a cycle once it uses this package).
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = f
}

// Lookup returns the factory registered under name.
func Lookup(name string) (Factory, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	f, ok := registry[name]
	if !ok {
		names := make([]string, 0, len(registry))
		for n := range registry {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown target %q (known: %s)", name, strings.Join(names, ", "))
	}
	return f, nil
}
