// Package report turns a Ginkgo report of a conformance run into the
// versioned ConformanceReport (conformance-report.yaml) — one result per
// guarantee of the catalogue, run or not — and writes it with the JUnit XML
// and Ginkgo JSON reports. It also prints live progress and the summary
// table. Build is a pure function of its Input, tested without running Ginkgo.
package report
