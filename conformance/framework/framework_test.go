package framework_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega" //nolint:revive // the Gomega DSL
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/report"
	"github.com/project-seven/seven/conformance/target"
)

// A tiny fake suite: one spec per outcome the reporter must tell apart.
var (
	_ = framework.Guarantee("API-1", "passes.", framework.Core, nil, func(ctx context.Context, f *framework.F) {
		Expect(f.Namespace).To(HavePrefix("conformance-api-1-"))
		f.Await(ctx, "something trivial", time.Second, func(context.Context) (bool, string, error) { return true, "fine", nil })
	})
	_ = framework.Guarantee("API-2", "fails with a timeline.", framework.Core, nil, func(ctx context.Context, f *framework.F) {
		f.Await(ctx, "the impossible", 300*time.Millisecond, func(context.Context) (bool, string, error) { return false, "still impossible", nil })
	})
	_ = framework.Guarantee("SD-2", "needs dns.", framework.Core, []target.Capability{target.DNS}, func(ctx context.Context, f *framework.F) {
		Fail("must not run")
	})
	_ = framework.Guarantee("SH-1", "the harness breaks.", framework.Core, []target.Capability{target.Pods}, func(ctx context.Context, f *framework.F) {
		f.Broke("could not prepare")
	})
	_ = framework.Guarantee("SH-2", "panics.", framework.Core, nil, func(ctx context.Context, f *framework.F) {
		var m map[string]int
		m["x"]++
	})
	_ = framework.Guarantee("SD-5", "is extended.", framework.Extended, nil, func(ctx context.Context, f *framework.F) {})
	_ = framework.Guarantee("SH-3", "two cases, one skipped.", framework.Core, nil, func(ctx context.Context, f *framework.F) {}, framework.Case("runs"))
	_ = framework.Guarantee("SH-3", "two cases, one skipped.", framework.Core, []target.Capability{target.StopNode}, func(ctx context.Context, f *framework.F) {}, framework.Case("faults"), Serial)
)

var captured types.Report

var _ = ReportAfterSuite("capture", func(r Report) { captured = r })

func TestFakeSuiteThroughTheReporter(t *testing.T) {
	cfg := apiservertest.Start(t)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := &framework.Env{
		Target: "fake", Config: cfg, Client: client, Capabilities: target.NewCapabilities(target.Pods),
		Timings: target.ResolvedTimings{Timings: timings.Fast(), Preset: "fast", Source: target.SourceTarget},
		Images:  framework.DefaultImages(), Limits: framework.Limits{}.WithDefaults(),
	}
	framework.SetEnv(env)
	defer framework.SetEnv(nil)
	sc, rc := GinkgoConfiguration()
	sc.LabelFilter = "core"
	rc.Succinct = true
	RunSpecs(&quietT{}, "fake", sc, rc)

	r := report.Build(report.Input{Catalogue: framework.Declared(), Ginkgo: captured, Env: env, TargetName: "fake",
		Selection: report.Selection{Profile: "core"}, LabelFilter: "core"})
	want := map[string]report.Status{
		"API-1": report.Pass, "API-2": report.Fail, "SD-2": report.Skip, "SH-1": report.Error,
		"SH-2": report.Error, "SD-5": report.Skip, "SH-3": report.Skip,
	}
	for _, g := range r.Guarantees {
		if g.Status != want[g.ID] {
			t.Errorf("%s: status %s (%s), want %s", g.ID, g.Status, g.Reason, want[g.ID])
		}
	}
	sd5, _ := r.Guarantee("SD-5")
	if sd5.Selected || !strings.Contains(sd5.Reason, "not selected") {
		t.Errorf("SD-5 should be not selected: %+v", sd5)
	}
	sd2, _ := r.Guarantee("SD-2")
	if !strings.Contains(sd2.Reason, `lacks capability dns`) {
		t.Errorf("SD-2 reason %q does not name the capability", sd2.Reason)
	}
	api2, _ := r.Guarantee("API-2")
	diag := api2.Specs[0].Diagnostics
	for _, entry := range []string{framework.EntryTimeline, framework.EntryObjects, framework.EntryEvents, framework.EntryPodLogs, framework.EntryNodes} {
		if _, ok := diag[entry]; !ok {
			t.Errorf("API-2 failure lacks the %q diagnostic", entry)
		}
	}
	if !strings.Contains(diag[framework.EntryTimeline], "the impossible: still impossible") {
		t.Errorf("timeline does not show what was seen:\n%s", diag[framework.EntryTimeline])
	}
	if !strings.Contains(api2.Reason, "the impossible did not happen within") {
		t.Errorf("API-2 reason is not explanatory: %q", api2.Reason)
	}
	sh3, _ := r.Guarantee("SH-3")
	if len(sh3.Specs) != 2 || !strings.HasPrefix(sh3.Reason, "[faults]") {
		t.Errorf("SH-3 should aggregate two cases with the skipped one as reason: %+v", sh3)
	}
	if r.Result != report.Failure || r.Totals.Passed != 1 || r.Totals.Failed != 1 || r.Totals.Errored != 2 || r.Totals.Skipped != 2 || r.Totals.NotSelected != 1 {
		t.Errorf("totals %+v result %s", r.Totals, r.Result)
	}
}

type quietT struct{}

func (*quietT) Fail() {}
