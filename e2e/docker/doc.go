// Package docker is the thin entry suite that runs the conformance suite
// against the reference booted in Docker containers (the "docker" target,
// cluster/docker/dockertarget), partition guarantees included.
//
// It needs a Docker Engine: without one the tests are skipped with a message,
// except when CI=true, where that is a failure. Run it with
//
//	go test ./e2e/docker/
//
// The node containers run `seven kubelet` (real pods, routed pod IPs) but no
// service proxy or DNS until `seven node` exists, so the guarantees needing
// service-proxy or dns are reported as skipped. SEVEN_DOCKER_NODE_MODE picks
// another mode (hollow, routed).
package docker
