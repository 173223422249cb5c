// Package e2e holds thin entry suites, one per environment: each boots or
// connects to a target and runs the conformance suite (package conformance).
// The specs themselves live in conformance/specs and are written once.
package e2e
