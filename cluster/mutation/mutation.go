// Package mutation holds the deliberate defects that prove the conformance
// suite's power: each one breaks one behaviour of the reference, and the
// suite must then fail the matching guarantee (make mutants). A defect is
// compiled in only with the seven_mutants build tag and switched on by the
// SEVEN_MUTANT environment variable; every other build answers false to
// Enabled, a constant the compiler folds away, so shipped binaries carry no
// defect at all.
package mutation

// The defects. Each names the component it breaks and how.
const (
	SchedulerIgnoresMemory          = "scheduler-ignores-memory"
	SchedulerIgnoresTaints          = "scheduler-ignores-taints"
	KubeletNeverRestarts            = "kubelet-never-restarts"
	EndpointsIncludeUnready         = "endpoints-include-unready"
	DeploymentIgnoresMaxUnavailable = "deployment-ignores-max-unavailable"
	NodeLifecycleNeverEvicts        = "nodelifecycle-never-evicts"
	ReplicaSetNeverReplaces         = "replicaset-never-replaces"
)

// EnvVar names the defect to switch on in a seven_mutants build.
const EnvVar = "SEVEN_MUTANT"
