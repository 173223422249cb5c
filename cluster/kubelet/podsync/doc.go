// Package podsync is the kubelet's pure decision core: given a pod, the
// runtime's view of its containers, the probe results and the back-off state,
// Decide says what to start, kill and remove, and Status computes the
// PodStatus to report. Neither does I/O; the clock is an input.
//
// # Rules
//
//   - Init containers run one at a time, in order; regular containers start
//     together once every init container has exited 0 (or once any regular
//     container has ever run, so a restarted kubelet does not re-run them).
//   - An exited container is restarted when restartPolicy is Always, or
//     OnFailure and it exited non-zero (init containers: unless Never).
//   - Crash back-off: the n-th consecutive restart of a container waits
//     min(Initial·2^(n-1), Max) after its exit. The count starts again at the
//     first step when the exited container had run for at least 2·Max (10 min
//     with the Kubernetes defaults). While waiting, the container shows
//     Waiting/CrashLoopBackOff.
//   - A running container whose liveness or startup probe reached its failure
//     threshold is killed (reason Unhealthy) and then restarted per policy.
//   - A pod in a terminal phase starts nothing; a pod being deleted starts
//     nothing and has every running container killed with its grace period;
//     when none runs any more, Decide reports Done.
//   - Of each container's attempts the latest two are kept (the previous one
//     serves `kubectl logs --previous`); older ones are removed.
package podsync
