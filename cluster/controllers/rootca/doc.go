// Package rootca is the root CA certificate publisher, upstream's
// "root-ca-certificate-publisher-controller" (its older name,
// "root-ca-cert-publisher", is its name in Seven's controller manager). It
// keeps a ConfigMap kube-root-ca.crt in every namespace whose data key
// ca.crt holds the cluster's CA bundle (PEM), the certificates that verify
// the API server, as every Kubernetes cluster does: pods and clients inside
// the cluster read it to trust the server behind kubernetes.default.svc.
//
// It creates the ConfigMap when a namespace appears, creates it again when
// it is deleted, and resets its data (and the kubernetes.io/description
// annotation, when missing) when someone changes it. A namespace being
// terminated gets no new one; as upstream, a changed ConfigMap in it is
// still reset until the namespace controller removes it.
//
// It watches Namespaces and ConfigMaps; its queue holds namespace names.
// decide.go is the pure core (a namespace and its ConfigMap in, create,
// update or nothing out); controller.go is the I/O, on the shared base of
// package controllers.
package rootca
