// Package docker is the thin entry suite that runs the conformance suite
// against the reference booted in Docker containers (the "docker" target,
// cluster/docker/dockertarget), partition guarantees included.
//
// It needs a Docker Engine: without one the tests are skipped with a message,
// except when CI=true, where that is a failure. Run it with
//
//	go test ./e2e/docker/
//
// Until `seven node` exists the node containers run hollow nodes (API-only),
// so the target declares no Pods capability and the specs that need running
// pods (partition guarantees included) are reported as skipped.
package docker
