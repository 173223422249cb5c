// Package namespace is the namespace controller: when a namespace is being
// deleted (deletionTimestamp set, phase Terminating, spec.finalizers holding
// "kubernetes") it deletes every namespaced object in it — every resource the
// API server's discovery lists with the list and delete verbs — waits until
// they are gone, then removes "kubernetes" through the namespaces/finalize
// subresource, after which the API server deletes the namespace. Status
// conditions say what holds it up (NamespaceContentRemaining,
// NamespaceDeletionContentFailure, NamespaceDeletionDiscoveryFailure, …).
//
// decide.go is the pure part (conditions from what a pass found);
// controller.go lists, deletes and finalizes.
package namespace
