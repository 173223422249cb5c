package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/project-seven/seven/cluster/deviations"
	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/target"
)

// Report versioning.
const (
	APIVersion = "conformance.seven.dev/v1alpha1"
	Kind       = "ConformanceReport"
)

// Status of a guarantee or a spec.
type Status string

// Statuses. Error means the harness broke (setup, a harness step, a panic in
// the suite), not that the implementation failed.
const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Skip  Status = "skip"
	Error Status = "error"
)

// Result of the whole run.
type Result string

// Results: success when every selected guarantee passed, failure when any
// failed, partial otherwise (some skipped or errored).
const (
	Success Result = "success"
	Partial Result = "partial"
	Failure Result = "failure"
)

// ConformanceReport is conformance-report.yaml.
type ConformanceReport struct {
	APIVersion     string                `json:"apiVersion"`
	Kind           string                `json:"kind"`
	Implementation target.Implementation `json:"implementation"`
	Target         TargetInfo            `json:"target"`
	Timings        TimingsInfo           `json:"timings"`
	Selection      Selection             `json:"selection"`
	StartTime      time.Time             `json:"startTime"`
	EndTime        time.Time             `json:"endTime"`
	Duration       string                `json:"duration"`
	// SetupError is set when the suite could not set up the target.
	SetupError string            `json:"setupError,omitempty"`
	Guarantees []GuaranteeResult `json:"guarantees"`
	Totals     Totals            `json:"totals"`
	Result     Result            `json:"result"`
}

// TargetInfo describes the target.
type TargetInfo struct {
	Name         string   `json:"name"`
	Server       string   `json:"server,omitempty"`
	Capabilities []string `json:"capabilities"`
	Faults       bool     `json:"faults"`
}

// TimingsInfo says which bounds were checked and where they came from.
type TimingsInfo struct {
	Preset string            `json:"preset,omitempty"`
	Source string            `json:"source"`
	Detail string            `json:"detail,omitempty"`
	Values map[string]string `json:"values"`
	// Slack and PodStart are the harness's own allowances.
	Slack    string `json:"slack"`
	PodStart string `json:"podStart"`
}

// Selection is what the run was asked to check.
type Selection struct {
	Profile     string   `json:"profile"`
	Focus       []string `json:"focus,omitempty"`
	LabelFilter string   `json:"labelFilter,omitempty"`
}

// GuaranteeResult is one guarantee's outcome.
type GuaranteeResult struct {
	ID           string              `json:"id"`
	Area         string              `json:"area"`
	Statement    string              `json:"statement"`
	Profile      framework.Profile   `json:"profile"`
	Capabilities []target.Capability `json:"capabilities,omitempty"`
	// Selected is false when the profile or focus left it out; it is then
	// reported as skip with that reason.
	Selected bool         `json:"selected"`
	Status   Status       `json:"status"`
	Reason   string       `json:"reason,omitempty"`
	Duration string       `json:"duration,omitempty"`
	Specs    []SpecResult `json:"specs,omitempty"`

	duration time.Duration
}

// SpecResult is one spec's outcome.
type SpecResult struct {
	Case     string `json:"case,omitempty"`
	Status   Status `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Duration string `json:"duration,omitempty"`
	Location string `json:"location,omitempty"`
	// Diagnostics, for specs that did not pass: the timeline, objects,
	// events, pod logs and nodes the spec attached.
	Diagnostics map[string]string `json:"diagnostics,omitempty"`
}

// Totals count guarantees by status.
type Totals struct {
	Guarantees  int `json:"guarantees"`
	Selected    int `json:"selected"`
	Passed      int `json:"passed"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"`
	Errored     int `json:"errored"`
	NotSelected int `json:"notSelected"`
}

// Input is everything Build needs.
type Input struct {
	Catalogue  []framework.Definition
	Ginkgo     types.Report
	Env        *framework.Env // nil when setup failed
	TargetName string
	Selection  Selection
	// LabelFilter is the effective Ginkgo label filter, used to tell
	// "not selected" from "skipped".
	LabelFilter string
}

// maxDiagnostic bounds each diagnostic text in the YAML report.
const maxDiagnostic = 64 << 10

// Build makes the ConformanceReport.
func Build(in Input) ConformanceReport {
	r := ConformanceReport{
		APIVersion: APIVersion, Kind: Kind,
		Target:    TargetInfo{Name: in.TargetName},
		Selection: in.Selection,
		StartTime: in.Ginkgo.StartTime.UTC().Truncate(time.Millisecond),
		EndTime:   in.Ginkgo.EndTime.UTC().Truncate(time.Millisecond),
		Duration:  in.Ginkgo.RunTime.Round(time.Millisecond).String(),
	}
	if env := in.Env; env != nil {
		r.Implementation = env.Implementation
		r.Target.Name = env.Target
		if env.Config != nil {
			r.Target.Server = env.Config.Host
		}
		r.Target.Capabilities = env.Capabilities.Strings()
		r.Target.Faults = env.Faults != nil
		r.Timings = TimingsInfo{
			Preset: env.Timings.Preset, Source: env.Timings.Source, Detail: env.Timings.Detail,
			Values: env.Timings.Timings.Data(env.Timings.Preset),
			Slack:  env.Limits.Slack.String(), PodStart: env.Limits.PodStart.String(),
		}
		delete(r.Timings.Values, "preset")
	}
	if r.Target.Capabilities == nil {
		r.Target.Capabilities = []string{}
	}
	if r.Implementation.Deviations == nil {
		r.Implementation.Deviations = []deviations.Deviation{}
	}
	filter := func([]string) bool { return true }
	if in.LabelFilter != "" {
		if f, err := types.ParseLabelFilter(in.LabelFilter); err == nil {
			filter = func(labels []string) bool { return f(labels) }
		}
	}

	setupErr := ""
	specs := map[string][]types.SpecReport{}
	for _, s := range in.Ginkgo.SpecReports {
		switch s.LeafNodeType {
		case types.NodeTypeIt:
			if id := framework.IDFromLabels(s.Labels()); id != "" {
				specs[id] = append(specs[id], s)
			}
		case types.NodeTypeBeforeSuite, types.NodeTypeSynchronizedBeforeSuite:
			if s.State.Is(types.SpecStateFailureStates) {
				setupErr = firstLine(s.Failure.Message)
			}
		}
	}
	r.SetupError = setupErr

	defs := append([]framework.Definition(nil), in.Catalogue...)
	framework.SortGuarantees(defs)
	for _, d := range defs {
		g := GuaranteeResult{ID: d.ID, Area: framework.AreaTitle(d.Area()), Statement: d.Statement, Profile: d.Profile, Capabilities: d.Capabilities}
		for _, s := range specs[d.ID] {
			if !filter(s.Labels()) {
				continue
			}
			g.Selected = true
			sr := specResult(d, s, setupErr)
			g.Specs = append(g.Specs, sr)
			g.duration += s.RunTime
		}
		if !g.Selected {
			g.Status, g.Reason = Skip, "not selected"
			if len(specs[d.ID]) == 0 {
				g.Reason = "not selected (no spec in this run)"
			} else if in.Selection.Profile != "" && in.Selection.Profile != "all" && string(d.Profile) != in.Selection.Profile {
				g.Reason = fmt.Sprintf("not selected (profile %s)", in.Selection.Profile)
			} else if len(in.Selection.Focus) > 0 {
				g.Reason = "not selected (focus " + strings.Join(in.Selection.Focus, " ") + ")"
			}
		} else {
			g.Status, g.Reason = aggregate(g.Specs)
			g.Duration = g.duration.Round(time.Millisecond).String()
		}
		r.Guarantees = append(r.Guarantees, g)
	}
	r.Totals, r.Result = totals(r.Guarantees)
	return r
}

func specResult(d framework.Definition, s types.SpecReport, setupErr string) SpecResult {
	sr := SpecResult{Case: framework.CaseFromText(d, s.LeafNodeText), Duration: s.RunTime.Round(time.Millisecond).String()}
	msg := strings.TrimSpace(s.Failure.Message)
	loc := s.Failure.Location
	switch {
	case s.State == types.SpecStatePassed:
		sr.Status = Pass
		sr.Duration = s.RunTime.Round(time.Millisecond).String()
		return sr
	case s.State == types.SpecStateSkipped && strings.HasPrefix(msg, framework.SkipPrefix):
		sr.Status, sr.Reason = Skip, msg
	case s.State == types.SpecStateSkipped && setupErr != "":
		sr.Status, sr.Reason = Error, "not run: suite setup failed: "+setupErr
	case s.State == types.SpecStateSkipped && msg != "":
		sr.Status, sr.Reason = Skip, msg
	case s.State == types.SpecStateSkipped:
		sr.Status, sr.Reason = Error, "not run: the suite stopped before it (interrupted, aborted or fail-fast)"
	case s.State == types.SpecStatePending:
		sr.Status, sr.Reason = Skip, "pending"
	case (s.State == types.SpecStateFailed || s.State == types.SpecStateTimedout) && strings.HasPrefix(msg, framework.HarnessPrefix):
		sr.Status, sr.Reason = Error, strings.TrimPrefix(msg, framework.HarnessPrefix)
	case s.State == types.SpecStateFailed || s.State == types.SpecStateTimedout:
		sr.Status, sr.Reason = Fail, msg
		if s.State == types.SpecStateTimedout {
			sr.Reason = "spec timed out: " + msg
		}
	default: // panicked, interrupted, aborted
		sr.Status, sr.Reason = Error, fmt.Sprintf("%s: %s", s.State, msg)
		if s.Failure.ForwardedPanic != "" {
			sr.Reason += " (panic: " + s.Failure.ForwardedPanic + ")"
		}
	}
	if loc.FileName != "" {
		sr.Location = fmt.Sprintf("%s:%d", shortFile(loc.FileName), loc.LineNumber)
	}
	if sr.Status == Fail || sr.Status == Error {
		for _, e := range s.ReportEntries {
			if sr.Diagnostics == nil {
				sr.Diagnostics = map[string]string{}
			}
			v := e.StringRepresentation()
			if len(v) > maxDiagnostic {
				v = v[:maxDiagnostic] + "\n… (truncated; the Ginkgo JSON report has it all)"
			}
			sr.Diagnostics[e.Name] = v
		}
	}
	return sr
}

// aggregate: a guarantee fails if any spec failed, errors if any errored,
// is skipped if any was skipped, and passes only when all passed.
func aggregate(specs []SpecResult) (Status, string) {
	for _, want := range []Status{Fail, Error, Skip} {
		for _, s := range specs {
			if s.Status == want {
				reason := s.Reason
				if s.Case != "" {
					reason = "[" + s.Case + "] " + reason
				}
				return want, firstLine(reason)
			}
		}
	}
	return Pass, ""
}

func totals(gs []GuaranteeResult) (Totals, Result) {
	t := Totals{Guarantees: len(gs)}
	for _, g := range gs {
		if !g.Selected {
			t.NotSelected++
			continue
		}
		t.Selected++
		switch g.Status {
		case Pass:
			t.Passed++
		case Fail:
			t.Failed++
		case Skip:
			t.Skipped++
		case Error:
			t.Errored++
		}
	}
	switch {
	case t.Failed > 0:
		return t, Failure
	case t.Selected > 0 && t.Passed == t.Selected:
		return t, Success
	}
	return t, Partial
}

// firstLine condenses a message to one line of at most 300 characters.
func firstLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}

func shortFile(path string) string {
	path = strings.ReplaceAll(path, "\\", "/")
	if i := strings.LastIndex(path, "/conformance/"); i >= 0 {
		return path[i+1:]
	}
	if i := strings.LastIndex(path, "/"); i >= 0 {
		return path[i+1:]
	}
	return path
}

// Guarantee returns the result for an ID.
func (r ConformanceReport) Guarantee(id string) (GuaranteeResult, bool) {
	for _, g := range r.Guarantees {
		if g.ID == id {
			return g, true
		}
	}
	return GuaranteeResult{}, false
}

// IDsWithStatus lists the IDs of selected guarantees with a status, sorted.
func (r ConformanceReport) IDsWithStatus(st Status) []string {
	var out []string
	for _, g := range r.Guarantees {
		if g.Selected && g.Status == st {
			out = append(out, g.ID)
		}
	}
	sort.Slice(out, func(i, j int) bool { return framework.LessID(out[i], out[j]) })
	return out
}
