package upstream

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/project-seven/seven/conformance/report"
)

// Run is one conformance run of the matrix: a cell (or the upstream
// target) and its report.
type Run struct {
	// Cell names the run's report directory (upstream-target-1, seven-nodes, …).
	Cell   string
	Report report.ConformanceReport
}

// WriteResults writes the guarantee-by-guarantee table of runs as
// Markdown: one row per guarantee, one column per run, and each run's
// totals, duration and nodes. Guarantees no run selected are left out.
func WriteResults(w io.Writer, runs []Run) {
	ids := map[string]report.GuaranteeResult{}
	for _, r := range runs {
		for _, g := range r.Report.Guarantees {
			if g.Selected {
				ids[g.ID] = g
			}
		}
	}
	order := make([]string, 0, len(ids))
	for id := range ids {
		order = append(order, id)
	}
	sort.Slice(order, func(i, j int) bool { return lessID(order[i], order[j]) })

	fmt.Fprintf(w, "| guarantee |")
	for _, r := range runs {
		fmt.Fprintf(w, " %s |", r.Cell)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(runs)))
	for _, id := range order {
		fmt.Fprintf(w, "| %s %s |", id, escape(short(ids[id].Statement, 70)))
		for _, r := range runs {
			g, ok := r.Report.Guarantee(id)
			switch {
			case !ok || !g.Selected:
				fmt.Fprint(w, " – |")
			case g.Status == report.Pass:
				fmt.Fprintf(w, " pass (%s) |", g.Duration)
			default:
				fmt.Fprintf(w, " **%s**: %s |", g.Status, escape(short(g.Reason, 100)))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	for _, r := range runs {
		t := r.Report.Totals
		fmt.Fprintf(w, "- **%s**: %s — %d passed, %d failed, %d skipped, %d errors of %d selected, in %s (%s)\n",
			r.Cell, strings.ToUpper(string(r.Report.Result)), t.Passed, t.Failed, t.Skipped, t.Errored, t.Selected, r.Report.Duration,
			r.Report.StartTime.UTC().Format("2006-01-02 15:04 UTC"))
		for _, n := range r.Report.Implementation.Nodes {
			fmt.Fprintf(w, "  - node %s: kubelet %s, runtime %s\n", n.Name, n.KubeletVersion, n.ContainerRuntime)
		}
		if r.Report.SetupError != "" {
			fmt.Fprintf(w, "  - setup error: %s\n", escape(short(r.Report.SetupError, 200)))
		}
	}
}

// lessID orders API-2 before API-10.
func lessID(a, b string) bool {
	pa, na := splitID(a)
	pb, nb := splitID(b)
	if pa != pb {
		return pa < pb
	}
	return na < nb
}

func splitID(id string) (string, int) {
	i := strings.LastIndex(id, "-")
	n := 0
	if i >= 0 {
		fmt.Sscanf(id[i+1:], "%d", &n)
		return id[:i], n
	}
	return id, 0
}

func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
