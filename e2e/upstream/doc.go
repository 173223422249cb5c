// Package upstream runs Seven's components beside upstream Kubernetes ones
// built from the published k8s.io/kubernetes module: the swap matrix of
// docs/SWAP.md, where the suite's claim that it describes Kubernetes, and
// Seven's that it behaves as Kubernetes does, are put to the test.
//
// The upstream binaries are built from a module of their own
// (e2e/upstream/kubernetes), so Seven's module never depends on
// k8s.io/kubernetes and kubernetes builds with exactly the dependency
// versions its own go.mod pins (Build, cached per version). ControlPlane runs
// kube-apiserver, kube-controller-manager and kube-scheduler as processes on
// this host, on Seven's embedded etcd, flagged as kubeadm flags them.
//
// The tests are the matrix's cells; they run under `make e2e-upstream`
// (SEVEN_E2E_UPSTREAM=1), as root.
package upstream
