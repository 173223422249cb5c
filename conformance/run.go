package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	"github.com/onsi/ginkgo/v2/formatter"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/report"
	_ "github.com/project-seven/seven/conformance/specs" // the guarantees
	"github.com/project-seven/seven/conformance/target"
)

// The run in progress in this process (Ginkgo runs one suite per process).
var state struct {
	mu       sync.Mutex
	target   target.Target
	opts     Options
	filter   string
	out      io.Writer
	env      *framework.Env
	progress *report.Progress
	result   *report.ConformanceReport
	ran      bool
}

// Execute runs the suite against tgt and returns the ConformanceReport.
// The error is for a run that could not start (bad options, a second run in
// the same process); failed guarantees are in the report.
func Execute(tgt target.Target, opts Options) (report.ConformanceReport, error) {
	return execute(nopT{}, tgt, opts)
}

// Run runs the suite from a go test and fails t unless every selected
// guarantee passed or was skipped for a missing capability.
func Run(t testing.TB, tgt target.Target, opts Options) report.ConformanceReport {
	t.Helper()
	r, err := execute(nopT{}, tgt, opts)
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	if ids := r.IDsWithStatus(report.Fail); len(ids) > 0 {
		t.Errorf("conformance: failed guarantees: %s", strings.Join(ids, " "))
	}
	if ids := r.IDsWithStatus(report.Error); len(ids) > 0 {
		t.Errorf("conformance: harness errors in: %s", strings.Join(ids, " "))
	}
	if r.SetupError != "" {
		t.Errorf("conformance: setup: %s", r.SetupError)
	}
	return r
}

type nopT struct{}

func (nopT) Fail() {}

func execute(t GinkgoTestingT, tgt target.Target, opts Options) (report.ConformanceReport, error) {
	filter, err := opts.labelFilter()
	if err != nil {
		return report.ConformanceReport{}, err
	}
	if opts.Output == nil {
		opts.Output = os.Stdout
	}
	if opts.Images == (framework.Images{}) {
		opts.Images = framework.DefaultImages()
	}
	opts.Limits = opts.Limits.WithDefaults()
	if opts.Timeout == 0 {
		opts.Timeout = time.Hour
	}
	state.mu.Lock()
	if state.ran {
		state.mu.Unlock()
		return report.ConformanceReport{}, errors.New("the suite already ran in this process (Ginkgo allows one run per process)")
	}
	state.ran = true
	state.target, state.opts, state.out = tgt, opts, opts.Output
	state.progress = report.NewProgress(opts.Output)
	state.mu.Unlock()

	sc, rc := GinkgoConfiguration()
	state.filter = combineFilters(sc.LabelFilter, filter)
	sc.LabelFilter = state.filter
	sc.Timeout = opts.Timeout
	sc.FailFast = sc.FailFast || opts.FailFast
	if !opts.Verbose && !rc.Verbose && !rc.VeryVerbose {
		rc.Succinct = true
	}
	rc.Verbose = rc.Verbose || opts.Verbose
	rc.SilenceSkips = true
	if rc.Succinct && sc.ParallelTotal <= 1 {
		// Our progress lines replace Ginkgo's succinct dots; failures still print in full.
		restore := formatter.ColorableStdOut
		formatter.ColorableStdOut = dropGlyphs{restore}
		defer func() { formatter.ColorableStdOut = restore }()
	}
	RunSpecs(t, "Seven conformance", sc, rc)
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.result == nil {
		if sc.ParallelProcess > 1 {
			return report.ConformanceReport{}, nil // process 1 writes the report
		}
		return report.ConformanceReport{}, errors.New("the suite ended without a report")
	}
	return *state.result, nil
}

func combineFilters(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return "(" + a + ") && (" + b + ")"
}

// sharedEnv is what process 1 hands the other parallel processes.
type sharedEnv struct {
	Target         string
	Host           string
	TLS            rest.TLSClientConfig
	BearerToken    string
	Capabilities   []string
	Implementation target.Implementation
	Timings        target.ResolvedTimings
}

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	env, err := setUp(ctx)
	if err != nil {
		Fail(framework.HarnessPrefix + "set up target: " + err.Error())
	}
	framework.SetEnv(env)
	raw, err := json.Marshal(sharedEnv{
		Target: env.Target, Host: env.Config.Host, TLS: env.Config.TLSClientConfig, BearerToken: env.Config.BearerToken,
		Capabilities: env.Capabilities.Strings(), Implementation: env.Implementation, Timings: env.Timings,
	})
	if err != nil {
		Fail(framework.HarnessPrefix + "share environment: " + err.Error())
	}
	return raw
}, func(ctx SpecContext, raw []byte) {
	if framework.CurrentEnv() != nil {
		return // process 1
	}
	var se sharedEnv
	if err := json.Unmarshal(raw, &se); err != nil {
		Fail(framework.HarnessPrefix + "shared environment: " + err.Error())
	}
	cfg := &rest.Config{Host: se.Host, TLSClientConfig: se.TLS, BearerToken: se.BearerToken, QPS: 100, Burst: 200}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		Fail(framework.HarnessPrefix + "client: " + err.Error())
	}
	caps, _ := target.ParseCapabilities(se.Capabilities)
	framework.SetEnv(&framework.Env{
		Target: se.Target, Config: cfg, Client: client, Capabilities: caps,
		Implementation: se.Implementation, Timings: se.Timings,
		Images: state.opts.Images, Limits: state.opts.Limits,
	})
}, NodeTimeout(5*time.Minute))

var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if state.target == nil {
		return
	}
	if err := state.target.Teardown(ctx); err != nil {
		fmt.Fprintf(state.out, "teardown: %v\n", err)
	}
}, NodeTimeout(2*time.Minute))

var _ = ReportBeforeSuite(func(r Report) {
	if state.progress != nil {
		state.progress.Begin(r.PreRunStats.SpecsThatWillRun)
	}
})

var _ = ReportAfterEach(func(s SpecReport) {
	if state.progress != nil && GinkgoParallelProcess() == 1 {
		state.progress.SpecDone(s)
	}
})

var _ = ReportAfterSuite("conformance report", func(r Report) {
	in := report.Input{
		Catalogue:   framework.Declared(),
		Ginkgo:      r,
		Env:         framework.CurrentEnv(),
		TargetName:  targetName(),
		Selection:   report.Selection{Profile: state.opts.profileName(), Focus: state.opts.Focus, LabelFilter: state.filter},
		LabelFilter: state.filter,
	}
	cr := report.Build(in)
	out := state.out
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintln(out)
	report.WriteSummary(out, cr)
	if dir := state.opts.ReportDir; dir != "" {
		if err := report.WriteAll(dir, r, cr); err != nil {
			fmt.Fprintf(out, "write reports: %v\n", err)
		} else {
			fmt.Fprintf(out, "reports written to %s\n", dir)
		}
	}
	state.mu.Lock()
	state.result = &cr
	state.mu.Unlock()
})

func targetName() string {
	if state.target == nil {
		return ""
	}
	return state.target.Name()
}

// setUp boots or connects to the target and builds the shared environment.
func setUp(ctx context.Context) (*framework.Env, error) {
	if state.target == nil {
		return nil, errors.New("no target: run through conformance.Run, Execute or Main")
	}
	te, err := state.target.Setup(ctx)
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(te.Config)
	cfg.QPS, cfg.Burst = 100, 200
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	rt, err := target.ResolveTimings(ctx, client, te.Timings, state.opts.Timings)
	if err != nil {
		return nil, err
	}
	// What the cluster declares, unless the target said it already.
	if te.Implementation.Deviations == nil {
		if te.Implementation.Deviations, err = target.ResolveDeviations(ctx, client); err != nil {
			return nil, err
		}
	}
	caps := te.Capabilities
	if caps == nil {
		caps = target.Capabilities{}
	}
	env := &framework.Env{
		Target: state.target.Name(), Config: cfg, Client: client, Faults: te.Faults,
		Capabilities: caps, Implementation: te.Implementation, Timings: rt,
		Images: state.opts.Images, Limits: state.opts.Limits,
	}
	if caps.Has(target.Pods) {
		want := 1
		if caps.Has(target.MultiNode) {
			want = 2
		}
		if err := waitForNodes(ctx, client, want, env.Limits.PodStart); err != nil {
			return nil, err
		}
		if env.Implementation.Nodes, err = describeNodes(ctx, client); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// describeNodes says what each node runs, for the report.
func describeNodes(ctx context.Context, client kubernetes.Interface) ([]target.Node, error) {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := make([]target.Node, 0, len(nodes.Items))
	for _, n := range nodes.Items {
		i := n.Status.NodeInfo
		out = append(out, target.Node{Name: n.Name, KubeletVersion: i.KubeletVersion, ContainerRuntime: i.ContainerRuntimeVersion, OSImage: i.OSImage})
	}
	return out, nil
}

func waitForNodes(ctx context.Context, client kubernetes.Interface, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	saw := ""
	for {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			saw = err.Error()
		} else {
			ready := 0
			for _, n := range nodes.Items {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && !n.Spec.Unschedulable {
						ready++
					}
				}
			}
			if ready >= want {
				return nil
			}
			saw = fmt.Sprintf("%d of %d nodes Ready and schedulable", ready, len(nodes.Items))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the target declares capability pods but after %s: %s (want %d)", within, saw, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// dropGlyphs swallows the one-glyph writes of Ginkgo's succinct reporter.
type dropGlyphs struct{ w io.Writer }

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func (d dropGlyphs) Write(p []byte) (int, error) {
	switch ansi.ReplaceAllString(string(p), "") {
	case "•", "S", "P", "•\n", "S\n", "P\n":
		return len(p), nil
	}
	return d.w.Write(p)
}
