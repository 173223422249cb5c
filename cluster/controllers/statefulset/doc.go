// Package statefulset is the StatefulSet controller: pods with stable
// identities <set>-<ordinal> (hostname the pod's name, subdomain the set's
// service), created in ordinal order one at a time, each once its
// predecessors are Running, Ready and available (OrderedReady), or all at
// once (Parallel); scaled down from the highest ordinal; replaced when they
// fail; and updated as Kubernetes does — RollingUpdate from the highest
// ordinal down to the partition within maxUnavailable, or OnDelete, leaving
// updates to the user. Each template a set runs is a ControllerRevision;
// status reports replicas, readyReplicas, availableReplicas,
// currentReplicas, updatedReplicas, currentRevision, updateRevision and
// collisionCount. Claims of volumeClaimTemplates are created for a pod
// before it (retained unless whenDeleted is Delete), though Seven's own API
// server refuses such sets by default: its nodes mount no claims.
//
// It watches StatefulSets and Pods and reads ControllerRevisions and
// PersistentVolumeClaims. decide.go is the pure core (Input in, Plan out)
// and revisions.go the naming of revisions; controller.go is the I/O, on
// the shared base of package controllers.
package statefulset
