// Package mutants tests the suite's own power: each Mutant boots the
// reference with one deliberately broken component and names the
// guarantees that must fail because of it. TestMutants runs each variant in
// its own process (Ginkgo allows one suite run per process) and prints the
// kill table; `make mutants` runs it.
//
// The breakage itself lives in the reference behind test-only injection in
// cluster/local.Config; a Mutant only sets it through Configure.
package mutants

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/cluster/mutation"
	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/report"
)

// Mutant is one broken variant of the reference.
type Mutant struct {
	// Name is short and stable ("scheduler-ignores-memory").
	Name string
	// Description says what is broken.
	Description string
	// Configure injects the breakage into the local cluster's configuration.
	Configure func(*local.Config)
	// Kills lists the guarantees that must fail.
	Kills []string
	// Focus narrows the run (default: the areas of Kills, so that a variant
	// runs in seconds); every core guarantee run must pass except Kills.
	Focus []string
}

// Table is the mutation table. Each defect lives in the reference behind
// package cluster/mutation: compiled in only with the seven_mutants build
// tag and switched on in the child process by SEVEN_MUTANT=<name>.
var Table = []Mutant{
	{Name: mutation.SchedulerIgnoresMemory, Description: "the scheduler ignores memory requests", Kills: []string{"SC-1"}},
	{Name: mutation.SchedulerIgnoresTaints, Description: "the scheduler ignores NoSchedule taints", Kills: []string{"SC-3"}},
	{Name: mutation.KubeletNeverRestarts, Description: "the kubelet never restarts containers", Kills: []string{"SH-1", "SH-2"}},
	{Name: mutation.EndpointsIncludeUnready, Description: "endpoints include unready pods", Kills: []string{"SH-4", "SD-1", "SD-2", "SD-3"}},
	{Name: mutation.DeploymentIgnoresMaxUnavailable, Description: "the deployment controller ignores maxUnavailable", Kills: []string{"RO-1", "RO-2"}},
	{Name: mutation.NodeLifecycleNeverEvicts, Description: "the node lifecycle controller never evicts", Kills: []string{"SH-5", "SC-3", "PA-1"}},
	{Name: mutation.ReplicaSetNeverReplaces, Description: "a ReplicaSet never replaces a lost pod", Kills: []string{"SH-3", "SH-5"}},
}

// Lookup finds a mutant by name.
func Lookup(name string) (Mutant, bool) {
	for _, m := range Table {
		if m.Name == name {
			return m, true
		}
	}
	return Mutant{}, false
}

// FocusOf is the focus a mutant runs with.
func (m Mutant) FocusOf() []string {
	if len(m.Focus) > 0 {
		return m.Focus
	}
	seen := map[string]bool{}
	var out []string
	for _, id := range m.Kills {
		if a := framework.Area(id); !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// Verdict is how a mutant fared.
type Verdict struct {
	Mutant Mutant
	// Killed: every guarantee in Kills failed.
	Killed bool
	// Missed lists guarantees in Kills that did not fail.
	Missed []string
	// Collateral lists other guarantees that failed or errored (a spec that
	// is not specific enough, or a mutant breaking more than it says).
	Collateral []string
}

// Judge compares a mutant's report with what it must kill.
func Judge(m Mutant, r report.ConformanceReport) Verdict {
	v := Verdict{Mutant: m}
	want := map[string]bool{}
	for _, id := range m.Kills {
		want[id] = true
		if g, ok := r.Guarantee(id); !ok || g.Status != report.Fail {
			v.Missed = append(v.Missed, id)
		}
	}
	for _, g := range r.Guarantees {
		if !g.Selected || want[g.ID] || g.Profile != framework.Core {
			continue
		}
		if g.Status == report.Fail || g.Status == report.Error {
			v.Collateral = append(v.Collateral, g.ID+"("+string(g.Status)+")")
		}
	}
	v.Killed = len(v.Missed) == 0
	return v
}

// WriteTable prints the kill table.
func WriteTable(w io.Writer, vs []Verdict) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MUTANT\tMUST KILL\tKILLED\tMISSED\tCOLLATERAL")
	for _, v := range vs {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", v.Mutant.Name, strings.Join(v.Mutant.Kills, " "), v.Killed, strings.Join(v.Missed, " "), strings.Join(v.Collateral, " "))
	}
	_ = tw.Flush()
}
