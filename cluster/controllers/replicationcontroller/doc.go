// Package replicationcontroller is the ReplicationController controller:
// core/v1's older form of a ReplicaSet, whose selector is a plain label map.
// It makes the same decisions as the ReplicaSet controller — it views each
// ReplicationController as a ReplicaSet (AsReplicaSet) and asks
// replicaset.Decide — so the two cannot drift: spec.replicas active pods,
// adoption and release of pods by selector, the least valuable pods deleted
// first, status replicas, fullyLabeledReplicas, readyReplicas,
// availableReplicas and observedGeneration, and the ReplicaFailure
// condition.
//
// It watches ReplicationControllers and Pods. decide.go is the pure core
// (the conversion around replicaset's); controller.go is the I/O, on the
// shared base of package controllers.
package replicationcontroller
