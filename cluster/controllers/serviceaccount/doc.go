// Package serviceaccount is the ServiceAccount controller, upstream's
// "serviceaccount-controller" ("serviceaccount" in Seven's controller
// manager, its older name). It keeps a ServiceAccount named default in
// every active namespace, as every Kubernetes cluster does: a pod that
// names no ServiceAccount runs as default, and kube-apiserver's
// ServiceAccount admission refuses a pod whose ServiceAccount does not
// exist.
//
// It creates default when a namespace appears or changes, and again when
// it is deleted. A namespace that is not Active (terminating, or with no
// phase yet) gets none. It writes nothing else: the ServiceAccount is
// created with its name only, and someone's later edits are left alone.
//
// It watches Namespaces and ServiceAccounts; its queue holds namespace
// names. decide.go is the pure core (a namespace and its default
// ServiceAccount in, the ServiceAccount to create or nothing out);
// controller.go is the I/O, on the shared base of package controllers.
package serviceaccount
