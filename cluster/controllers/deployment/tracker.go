package deployment

import (
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/project-seven/seven/cluster/controllers"
)

// writes remembers, per Deployment, the ReplicaSet writes the informer has not
// shown yet, so that a sync never plans from a cache older than the
// controller's own last step (which could scale old ReplicaSets down twice).
type writes struct {
	mu sync.Mutex
	m  map[string]*pendingWrites
}

type pendingWrites struct {
	gens map[string]int64 // ReplicaSet name → generation the cache must reach; goneGen: deleted
	at   time.Time
}

const goneGen = -1

func (w *writes) record(key, rs string, gen int64, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]*pendingWrites{}
	}
	p := w.m[key]
	if p == nil {
		p = &pendingWrites{gens: map[string]int64{}}
		w.m[key] = p
	}
	p.gens[rs], p.at = gen, now
}

// fresh reports whether the cached ReplicaSets reflect every recorded write.
func (w *writes) fresh(key string, cached map[string]*appsv1.ReplicaSet, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.m[key]
	if p == nil {
		return true
	}
	for name, gen := range p.gens {
		rs, ok := cached[name]
		if (gen == goneGen && !ok) || (ok && gen != goneGen && rs.Generation >= gen) {
			delete(p.gens, name)
		}
	}
	if len(p.gens) == 0 || now.Sub(p.at) > controllers.ExpectationsTTL {
		delete(w.m, key)
		return true
	}
	return false
}

// deleted records that a ReplicaSet is gone, whatever was expected of it.
func (w *writes) deleted(key, rs string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.m[key]; p != nil {
		delete(p.gens, rs)
	}
}

func (w *writes) forget(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, key)
}
