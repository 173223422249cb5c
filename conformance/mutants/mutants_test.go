package mutants

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	"github.com/project-seven/seven/cluster/mutation"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/report"
	"github.com/project-seven/seven/conformance/target"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

const (
	envMutant = "SEVEN_MUTANT"
	envDir    = "SEVEN_MUTANT_REPORT_DIR"
)

// TestMutants runs every mutant in a child process and checks its verdict.
func TestMutants(t *testing.T) {
	if os.Getenv(envMutant) != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("boots a cluster per mutant")
	}
	if !mutation.Available {
		if os.Getenv("SEVEN_REQUIRE_MUTANTS") != "" {
			t.Fatal("the defects are compiled in only with -tags seven_mutants: run make mutants")
		}
		t.Skip("the defects are compiled in only with -tags seven_mutants: run make mutants")
	}
	var verdicts []Verdict
	for _, m := range Table {
		t.Run(m.Name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutantChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), envMutant+"="+m.Name, envDir+"="+dir)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			_ = cmd.Run() // a killed mutant makes the child fail; the report decides
			r, err := report.ReadYAML(filepath.Join(dir, report.YAMLFile))
			if err != nil {
				t.Fatalf("mutant %s wrote no report: %v\n%s", m.Name, err, out.String())
			}
			v := Judge(m, r)
			verdicts = append(verdicts, v)
			if !v.Killed || len(v.Collateral) > 0 {
				for _, g := range r.Guarantees {
					if g.Selected && g.Status != report.Pass && g.Status != report.Skip {
						t.Logf("%s %s: %s", g.ID, g.Status, g.Reason)
					}
				}
			}
			if !v.Killed {
				t.Errorf("mutant %s survived: %v did not fail", m.Name, v.Missed)
			}
			if len(v.Collateral) > 0 {
				t.Errorf("mutant %s also failed %v", m.Name, v.Collateral)
			}
		})
	}
	var b bytes.Buffer
	WriteTable(&b, verdicts)
	t.Logf("kill table:\n%s", b.String())
}

// TestMutantChild is the child: it runs one mutant and writes its report.
func TestMutantChild(t *testing.T) {
	name := os.Getenv(envMutant)
	if name == "" {
		t.Skip("run by TestMutants")
	}
	m, ok := Lookup(name)
	if !ok {
		t.Fatalf("unknown mutant %q", name)
	}
	tgt, err := target.NewLocal(target.LocalConfig{Configure: m.Configure, FixtureBinary: fixturetest.Binary(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conformance.Execute(tgt, conformance.Options{Profile: "core", Focus: m.FocusOf(), ReportDir: os.Getenv(envDir)}); err != nil {
		t.Fatal(err)
	}
}

func TestJudge(t *testing.T) {
	m := Mutant{Name: "m", Kills: []string{"SC-1"}}
	r := report.ConformanceReport{Guarantees: []report.GuaranteeResult{
		{ID: "SC-1", Profile: "core", Selected: true, Status: report.Fail},
		{ID: "SC-2", Profile: "core", Selected: true, Status: report.Pass},
		{ID: "SC-3", Profile: "core", Selected: true, Status: report.Fail},
	}}
	v := Judge(m, r)
	if !v.Killed || len(v.Collateral) != 1 || v.Collateral[0] != "SC-3(fail)" {
		t.Errorf("%+v", v)
	}
	r.Guarantees[0].Status = report.Skip
	if v := Judge(m, r); v.Killed || len(v.Missed) != 1 {
		t.Errorf("a skipped guarantee does not kill: %+v", v)
	}
	if got := (Mutant{Kills: []string{"SC-1", "SH-3", "SC-4"}}).FocusOf(); len(got) != 2 || got[0] != "SC" || got[1] != "SH" {
		t.Errorf("focus %v", got)
	}
}

func TestMain(m *testing.M) {
	// Nodes run as root give each pod a network namespace through the
	// CNI plugins: build them for this test binary.
	if err := cnitest.SetPath(); err != nil {
		fmt.Fprintln(os.Stderr, "build the CNI plugins:", err)
		os.Exit(1)
	}
	code := m.Run()
	fixturetest.Cleanup()
	cnitest.Cleanup()
	os.Exit(code)
}
