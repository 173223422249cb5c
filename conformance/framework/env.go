package framework

import (
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/conformance/target"
)

// Env is what every spec of a run shares: the target's environment, the
// resolved bounds, the images to run.
type Env struct {
	// Target is the target's name (local, docker, kubeconfig).
	Target         string
	Config         *rest.Config
	Client         kubernetes.Interface
	Faults         target.Faults
	Capabilities   target.Capabilities
	Implementation target.Implementation
	Timings        target.ResolvedTimings
	Images         Images
	Limits         Limits
}

// Images are the fixture images specs run (see fixtures/README.md).
type Images struct {
	V1, V2, V3, Broken string
}

// DefaultImages are the reference's built-in fixture images.
func DefaultImages() Images { return ImagesFromRepository("seven.local/fixture") }

// ImagesFromRepository names the four fixture tags in repo (for a real
// cluster, push the fixture image there).
func ImagesFromRepository(repo string) Images {
	return Images{V1: repo + ":v1", V2: repo + ":v2", V3: repo + ":v3", Broken: repo + ":broken"}
}

// Limits are the harness's own allowances, on top of the target's timings.
type Limits struct {
	// PodStart bounds how long a pod may take from creation to Running and
	// Ready (scheduling, image, start); default 60s.
	PodStart time.Duration
	// Slack is added to every bound derived from the timings, for API and
	// controller latency; default 10s.
	Slack time.Duration
	// Poll is how often conditions are checked; default 200ms.
	Poll time.Duration
	// Quiet is how long a spec watches for something that must not happen
	// (a paused rollout progressing, a repelled pod being placed); default
	// 3s: a component that does the forbidden thing does it within
	// milliseconds of the event that triggers it.
	Quiet time.Duration
}

// WithDefaults fills zero fields.
func (l Limits) WithDefaults() Limits {
	if l.PodStart == 0 {
		l.PodStart = 60 * time.Second
	}
	if l.Slack == 0 {
		l.Slack = 10 * time.Second
	}
	if l.Quiet == 0 {
		l.Quiet = 3 * time.Second
	}
	if l.Poll == 0 {
		l.Poll = 200 * time.Millisecond
	}
	return l
}

var current atomic.Pointer[Env]

// SetEnv installs the environment specs run with (nil removes it).
func SetEnv(e *Env) { current.Store(e) }

// CurrentEnv is the installed environment, or nil.
func CurrentEnv() *Env { return current.Load() }
