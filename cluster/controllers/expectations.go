package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// ExpectationsTTL is how long unfulfilled expectations hold before a controller
// stops waiting for its informer (a watch event lost for good).
const ExpectationsTTL = 5 * time.Minute

// Expectations records, per controller key, the creations and deletions a
// controller has issued but its informer has not yet observed. A sync that
// would create or delete only proceeds when Satisfied: otherwise a stale cache
// would make it create (or delete) the same objects twice.
type Expectations struct {
	Clock clock.PassiveClock // nil: the real clock
	mu    sync.Mutex
	byKey map[string]*expectation
}

type expectation struct {
	adds    int
	deletes map[types.UID]bool
	at      time.Time
}

func (e *Expectations) now() time.Time {
	if e.Clock == nil {
		return time.Now()
	}
	return e.Clock.Now()
}

// Satisfied reports whether every recorded creation and deletion for key was
// observed (or the record expired, or none exists).
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.byKey[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.deletes) == 0 {
		return true
	}
	return e.now().Sub(x.at) > ExpectationsTTL
}

// Expect records that adds objects will be created and the objects with
// deletes UIDs deleted for key, replacing any previous record.
func (e *Expectations) Expect(key string, adds int, deletes []types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byKey == nil {
		e.byKey = map[string]*expectation{}
	}
	x := &expectation{adds: adds, deletes: map[types.UID]bool{}, at: e.now()}
	for _, uid := range deletes {
		x.deletes[uid] = true
	}
	e.byKey[key] = x
}

// Created records that one creation for key was observed (or will never happen).
func (e *Expectations) Created(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.byKey[key]; ok {
		x.adds--
	}
}

// Deleted records that the deletion of uid for key was observed (or will never happen).
func (e *Expectations) Deleted(key string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.byKey[key]; ok {
		delete(x.deletes, uid)
	}
}

// Forget drops the record of key (its owner is gone).
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.byKey, key)
}
