// Package target is what the conformance suite runs against: a Target sets up
// a cluster (or connects to one) and hands back an Environment — a client
// configuration, the capabilities the cluster declares, an optional Faults
// implementation, and metadata about the implementation under test. It also
// resolves the timing bounds the specs check (ResolveTimings).
//
// Three targets exist: Local boots the reference in-process, Kubeconfig talks
// to any cluster (faults through an optional hook command), and "docker" is
// registered by the containers package through Register.
package target
