// Package specs holds the conformance specs, one file per area of the
// catalogue (api.go, selfhealing.go, rollouts.go, discovery.go,
// scheduling.go, config.go, partition.go). Each spec is declared with
// framework.Guarantee, speaks only the Kubernetes API (client-go) plus the
// target's Faults, and works in its own namespace. Importing the package
// registers the specs in Ginkgo's global tree.
package specs
