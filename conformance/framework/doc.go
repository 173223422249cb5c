// Package framework turns guarantees into Ginkgo specs. Guarantee is the one
// wrapper a spec is declared with: it labels the spec with its ID, area,
// profile and needed capabilities (so label filters and `--focus SC` work),
// records the guarantee in the catalogue, skips the spec with a reason when
// the target lacks a capability, and hands the body an F — a fresh namespace,
// clients, the resolved timing bounds, the target's Faults and a timeline of
// what the spec observed. When a spec fails, F attaches the timeline, the
// objects involved, recent events and pod logs to the report.
//
// Catalogue extracts the guarantee catalogue from a Ginkgo preview of the
// spec tree; docs/GUARANTEES.md and conformance/guarantees.yaml are rendered
// from it.
package framework
