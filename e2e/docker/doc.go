// Package docker is the thin entry suite that runs the conformance suite
// against the reference booted in Docker containers (the "docker" target,
// cluster/docker/dockertarget), partition guarantees included.
//
// It needs a Docker Engine: without one the tests are skipped with a message,
// except when CI=true, where that is a failure. Run it with
//
//	go test ./e2e/docker/
//
// The node containers run `seven node`: real pods in network namespaces of
// their own, the service proxy and a node-local DNS. SEVEN_DOCKER_NODE_MODE
// picks another mode (kubelet, hollow).
package docker
