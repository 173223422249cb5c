package garbagecollector

import (
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// node is what the graph knows of one object.
type node struct {
	kind       Kind
	namespace  string
	name       string
	uid        types.UID
	owners     []metav1.OwnerReference
	deleting   bool
	finalizers []string
}

func (n *node) has(finalizer string) bool { return slices.Contains(n.finalizers, finalizer) }

// graph is the ownership graph: objects by UID and, for every UID named as
// an owner (present or not), the UIDs of its dependents.
type graph struct {
	mu         sync.RWMutex
	nodes      map[types.UID]*node
	dependents map[types.UID]map[types.UID]bool
}

func newGraph() *graph {
	return &graph{nodes: map[types.UID]*node{}, dependents: map[types.UID]map[types.UID]bool{}}
}

func newNode(k Kind, obj metav1.Object) *node {
	return &node{
		kind: k, namespace: obj.GetNamespace(), name: obj.GetName(), uid: obj.GetUID(),
		owners:     append([]metav1.OwnerReference(nil), obj.GetOwnerReferences()...),
		deleting:   obj.GetDeletionTimestamp() != nil,
		finalizers: append([]string(nil), obj.GetFinalizers()...),
	}
}

// upsert stores n and returns the node it replaced, if any.
func (g *graph) upsert(n *node) *node {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.nodes[n.uid]
	if old != nil {
		g.unlink(old)
	}
	g.nodes[n.uid] = n
	for _, o := range n.owners {
		deps := g.dependents[o.UID]
		if deps == nil {
			deps = map[types.UID]bool{}
			g.dependents[o.UID] = deps
		}
		deps[n.uid] = true
	}
	return old
}

func (g *graph) unlink(n *node) {
	for _, o := range n.owners {
		if deps := g.dependents[o.UID]; deps != nil {
			delete(deps, n.uid)
			if len(deps) == 0 {
				delete(g.dependents, o.UID)
			}
		}
	}
}

// remove drops uid and returns its node, if it was known.
func (g *graph) remove(uid types.UID) *node {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.nodes[uid]
	if n != nil {
		g.unlink(n)
		delete(g.nodes, uid)
	}
	return n
}

func (g *graph) get(uid types.UID) *node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.nodes[uid]
}

// dependentsOf returns the known dependents of uid.
func (g *graph) dependentsOf(uid types.UID) []*node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []*node
	for d := range g.dependents[uid] {
		if n := g.nodes[d]; n != nil {
			out = append(out, n)
		}
	}
	return out
}

func (g *graph) hasDependents(uid types.UID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.dependents[uid]) > 0
}
