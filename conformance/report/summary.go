package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/project-seven/seven/conformance/framework"
)

// WriteSummary prints the table of guarantees and the totals.
func WriteSummary(w io.Writer, r ConformanceReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROFILE\tRESULT\tTIME\tREASON")
	for _, g := range r.Guarantees {
		status := string(g.Status)
		if !g.Selected {
			status = "-"
		}
		reason := g.Reason
		if len(reason) > 110 {
			reason = reason[:107] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.ID, g.Profile, strings.ToUpper(status), g.Duration, reason)
	}
	_ = tw.Flush()
	t := r.Totals
	fmt.Fprintf(w, "\n%d guarantees, %d selected: %d passed, %d failed, %d skipped, %d errors (%d not selected)\n",
		t.Guarantees, t.Selected, t.Passed, t.Failed, t.Skipped, t.Errored, t.NotSelected)
	fmt.Fprintf(w, "target %s (%s), implementation %s %s\n", r.Target.Name, r.Target.Server, r.Implementation.Name, r.Implementation.Version)
	for _, n := range r.Implementation.Nodes {
		fmt.Fprintf(w, "node %s: kubelet %s, runtime %s\n", n.Name, n.KubeletVersion, n.ContainerRuntime)
	}
	for _, d := range r.Implementation.Deviations {
		fmt.Fprintf(w, "deviation %s: %s\n", d.ID, d.Reason)
	}
	fmt.Fprintf(w, "timings: preset %q from %s (%s), slack %s\n", r.Timings.Preset, r.Timings.Source, r.Timings.Detail, r.Timings.Slack)
	if r.SetupError != "" {
		fmt.Fprintf(w, "setup error: %s\n", r.SetupError)
	}
	fmt.Fprintf(w, "RESULT: %s in %s\n", strings.ToUpper(string(r.Result)), r.Duration)
}

// Progress prints one line per finished spec: N/M, elapsed, ETA.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	total int
	done  int
	now   func() time.Time
}

// NewProgress prints to w.
func NewProgress(w io.Writer) *Progress { return &Progress{w: w, now: time.Now} }

// Begin starts the clock with the number of specs that will run.
func (p *Progress) Begin(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.total, p.done = p.now(), total, 0
	fmt.Fprintf(p.w, "running %d specs\n", total)
}

// SpecDone reports a finished spec.
func (p *Progress) SpecDone(s types.SpecReport) {
	if s.LeafNodeType != types.NodeTypeIt || s.State == types.SpecStateSkipped && s.Failure.Message == "" {
		return // filtered out: not part of the run
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	elapsed := p.now().Sub(p.start)
	eta := "?"
	if p.done > 0 && p.total >= p.done {
		eta = fmtDur(time.Duration(float64(elapsed) / float64(p.done) * float64(p.total-p.done)))
	}
	status := strings.ToUpper(s.State.String())
	if s.State == types.SpecStateFailed && strings.HasPrefix(s.Failure.Message, framework.HarnessPrefix) {
		status = "ERROR"
	}
	text := s.LeafNodeText
	if len(text) > 70 {
		text = text[:67] + "..."
	}
	fmt.Fprintf(p.w, "[%*d/%d] %-8s %-72s %6s  elapsed %s  eta %s\n", len(fmt.Sprint(p.total)), p.done, p.total, status, text,
		s.RunTime.Round(100*time.Millisecond), fmtDur(elapsed), eta)
}

func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
