// Package job is the Job controller. It runs pods from a Job's template
// until spec.completions of them succeed (or, without completions, until
// one succeeds and the others end), at most spec.parallelism at a time.
//
//   - Failures: a failed pod, or one deleted before it succeeded, counts as
//     a failure (with restartPolicy OnFailure, container restarts count too).
//     New pods wait a back-off after failures: Timings.JobBackOffInitial,
//     doubling per failure since the last success, up to
//     Timings.JobBackOffMax, counted from the last failure. The back-off is
//     computed from the pods themselves (their finish times), so it survives
//     a controller restart. More than spec.backoffLimit failures fail the
//     Job (BackoffLimitExceeded); so does running longer than
//     spec.activeDeadlineSeconds from status.startTime (DeadlineExceeded).
//   - Ending, as Kubernetes 1.31+ does: the controller first adds
//     FailureTarget or SuccessCriteriaMet (reason CompletionsReached) and
//     deletes the pods still running; once no pod is active or terminating
//     and every finished pod is counted, it adds Failed or Complete (the
//     same reason and message; Complete also sets completionTime).
//   - Counting, as Kubernetes does: pods are created with the finalizer
//     batch.kubernetes.io/job-tracking. A finished pod's UID is first
//     written to status.uncountedTerminatedPods, then its finalizer is
//     removed, and once the finalizer is seen gone (or the pod is) the UID
//     moves into status.succeeded or status.failed. Finalizer removals in
//     flight are remembered so a stale cache never records a pod twice. The
//     finalizer is removed without counting from pods of a finished Job, of
//     a deleted Job, and from pods deleted because the Job was suspended.
//   - ttlSecondsAfterFinished: the finished Job is deleted (propagation
//     Foreground, preconditions on uid and resourceVersion) that long after
//     its Complete or Failed condition.
//   - Indexed completion mode: each pod gets its index in the annotation and
//     label batch.kubernetes.io/job-completion-index, JOB_COMPLETION_INDEX
//     (from the annotation) in every container, and hostname <job>-<index>;
//     status.completedIndexes lists the succeeded indexes; missing indexes
//     are started lowest first; a second pod for an index is deleted.
//   - suspend: running pods are deleted and Suspended=True (JobSuspended);
//     on resume Suspended=False (JobResumed) and startTime restarts.
//   - status: active, ready, terminating, succeeded, failed, startTime,
//     completionTime, conditions, uncountedTerminatedPods, completedIndexes.
//
// Not done: podFailurePolicy, backoffLimitPerIndex, successPolicy and
// managedBy are accepted by the API but ignored here; lowering the
// parallelism of an Indexed job does not delete running pods.
//
// It watches Jobs and Pods; orphans matching a Job's selector are adopted
// (running ones only). decide.go is the pure core.
package job
