// Package endpoints is the Endpoints controller, and holds the pod → endpoint
// rules the EndpointSlice controller (package endpointslice) shares.
//
// For every Service with a selector it keeps an Endpoints object of the same
// name whose subsets list the matching pods that have an IP: ready pods in
// addresses, the others in notReadyAddresses (publishNotReadyAddresses puts
// every pod, terminating ones included, in addresses). Pods being deleted
// are left out, as are pods that finished for good (restartPolicy Never and
// Succeeded or Failed, OnFailure and Succeeded). Named target ports are
// resolved per pod from its containers' ports; a pod that lacks a named port
// is left out of that port only. Addresses carry nodeName, targetRef and,
// for a pod whose subdomain is the Service's name, its hostname. Addresses
// with the same ports share a subset; at most MaxAddresses addresses are
// kept (the annotation endpoints.kubernetes.io/over-capacity says so).
//
// The object gets the Service's labels, service.kubernetes.io/headless for
// headless Services, endpointslice.kubernetes.io/skip-mirror=true (it is
// not mirrored into slices: the EndpointSlice controller makes its own), and
// the annotation endpoints.kubernetes.io/last-change-trigger-time (the
// latest pod or Service change it reflects). It is written only when its
// subsets or labels change. Pod changes are batched: a Service is synced
// Timings.EndpointsSyncDelay after the first pod change that touches it.
//
// It watches Services, Pods and Endpoints (to repair edits and deletions).
// Services without a selector are left alone: their Endpoints are the
// user's. The Endpoints of a deleted Service are deleted.
package endpoints
