// Package garbagecollector deletes objects whose owners are gone and carries
// out the foreground and orphan propagation of deletes, as Kubernetes'
// garbage collector does:
//
//   - background: an object all of whose ownerReferences point to objects
//     that no longer exist (by UID) is deleted; references to missing owners
//     are removed from an object that still has a live owner;
//   - foreground: an owner being deleted with the foregroundDeletion finalizer
//     has its dependents deleted; the finalizer is removed once no dependent
//     with blockOwnerDeletion is left, and the API server then removes the owner;
//   - orphan: an owner being deleted with the orphan finalizer has its
//     ownerReference removed from every dependent, then the finalizer.
//
// It keeps a graph (UID → owners, owner UID → dependents) from typed informers
// of every kind in Kinds, confirms a missing owner with a live read before
// deleting anything, and acts through the dynamic client. decide.go holds the
// pure decisions; graph.go the graph; controller.go the loop.
package garbagecollector
