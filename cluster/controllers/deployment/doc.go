// Package deployment is the Deployment controller. It owns ReplicaSets (one
// per pod template, named <deployment>-<pod-template-hash>) and drives a
// Deployment from its old ReplicaSets to the one matching its template:
//
//   - RollingUpdate within maxSurge/maxUnavailable (Rolling is the pure step,
//     counted from pods so a stale ReplicaSet status never over-deletes);
//   - Recreate: old ReplicaSets to zero, wait until their pods are gone, then the new one;
//   - proportional scaling while a rollout is under way or paused;
//   - revisions (deployment.kubernetes.io/revision on ReplicaSets and the
//     Deployment; an old ReplicaSet whose template comes back, as after
//     `kubectl rollout undo`, becomes the new one with the next revision),
//     revisionHistoryLimit clean-up;
//   - status: observedGeneration, replicas, updated/ready/available/
//     unavailableReplicas, collisionCount, and the Available and Progressing
//     conditions (with progressDeadlineSeconds → ProgressDeadlineExceeded).
//
// It watches Deployments, ReplicaSets and Pods. decide.go plans one sync as a
// pure function of that state; controller.go applies the plan.
package deployment
