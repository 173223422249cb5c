// Package conformance runs Seven's conformance suite — every guarantee of
// the catalogue (docs/GUARANTEES.md) as Ginkgo specs — against a target and
// writes the reports.
//
// Three entry points share one implementation:
//
//   - Run(t, target, opts) from any module's go test;
//   - Execute(target, opts) when the caller wants the ConformanceReport
//     without failing a test (the mutation tests);
//   - Main(ctx, args, stdout, stderr), the `seven conformance` command.
//
// Ginkgo allows one suite run per process: call one of them once.
// Under `ginkgo -p`, process 1 sets the target up and shares its client
// configuration with the others; Serial specs (the fault specs) run on
// process 1, which holds the Faults.
package conformance
