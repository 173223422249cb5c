package conformance_test

import (
	"os"
	"testing"

	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/target"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// TestConformance runs the core profile against the reference booted
// in-process. Guarantees whose components cluster/local does not run yet
// are skipped by capability. SEVEN_CONFORMANCE_FOCUS (e.g. "SC" or
// "API-3,SH-1") narrows the run; SEVEN_CONFORMANCE_REPORT_DIR keeps the reports.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a cluster")
	}
	local, err := target.NewLocal(target.LocalConfig{FixtureBinary: fixturetest.Binary(t)})
	if err != nil {
		t.Fatal(err)
	}
	opts := conformance.Options{ReportDir: os.Getenv("SEVEN_CONFORMANCE_REPORT_DIR")}
	if f := os.Getenv("SEVEN_CONFORMANCE_FOCUS"); f != "" {
		opts.Focus = []string{f}
	}
	conformance.Run(t, local, opts)
}

func TestMain(m *testing.M) {
	code := m.Run()
	fixturetest.Cleanup()
	os.Exit(code)
}
