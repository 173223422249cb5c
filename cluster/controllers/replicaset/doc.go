// Package replicaset is the ReplicaSet controller: it keeps spec.replicas
// active pods matching each ReplicaSet's selector, adopts matching orphans and
// releases pods whose labels stop matching (through controller
// ownerReferences), deletes the least valuable pods first (see DeletionOrder),
// and reports status replicas, fullyLabeledReplicas, readyReplicas,
// availableReplicas (ready for minReadySeconds) and observedGeneration.
//
// It watches ReplicaSets and Pods. decide.go is the pure core; controller.go
// reads the informers, applies decisions and records events.
package replicaset
