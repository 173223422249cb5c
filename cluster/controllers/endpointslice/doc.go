// Package endpointslice is the EndpointSlice controller. For every Service
// with a selector it keeps EndpointSlices (labelled kubernetes.io/service-name
// and endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io,
// owned by the Service) that list one endpoint per matching pod with an IP,
// terminating pods included, each with its conditions: serving (the pod is
// Ready), terminating (it is being deleted) and ready (serving and not
// terminating); publishNotReadyAddresses makes every endpoint ready and
// serving. Endpoints carry nodeName, zone (the node's
// topology.kubernetes.io/zone), targetRef and, for a pod whose subdomain is
// the Service's name, hostname. The pod rules (which pods, which ports) are
// package endpoints'.
//
// Endpoints are grouped by address type and resolved port set, at most
// MaxEndpointsPerSlice per slice. Reconcile (decide.go, pure) keeps each
// endpoint in the slice that already holds it, fills slices with room before
// creating new ones, deletes slices left empty, and keeps one empty
// placeholder slice when a Service has no endpoints at all, as Kubernetes
// does. A slice is written only when its endpoints, ports, labels or owner
// change; a written slice gets the annotation
// endpoints.kubernetes.io/last-change-trigger-time. Pod changes are batched
// by Timings.EndpointsSyncDelay.
//
// Creations and deletions go through controllers.Expectations, so a sync
// never creates a second slice for endpoints its cache has not seen placed
// yet; a stale update fails on its resourceVersion and is retried.
package endpointslice
