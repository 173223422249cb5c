// Package nodeipam is the node IPAM controller: it gives every Node a
// spec.podCIDR (and spec.podCIDRs) carved from the cluster CIDR
// (Config.ClusterCIDR, default 10.244.0.0/16) with a per-node mask
// (Config.NodeMaskSize, default 24), never handing out a range twice, and
// takes a range back when its Node is deleted.
//
// The allocator (cidrset.go) is pure and in memory. On Start, before any
// node is handled, it is rebuilt from the ranges the existing Nodes already
// hold, so a restarted controller (or a newly elected leader) never
// reassigns a range in use. Ranges outside the cluster CIDR are left alone.
//
// It watches Nodes only and writes spec.podCIDR/podCIDRs with a merge patch;
// the API server forbids changing a range once set.
package nodeipam
