package conformance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/report"
	"github.com/project-seven/seven/conformance/target"
)

// ErrNotConformant is returned by Main when a selected guarantee failed.
var ErrNotConformant = errors.New("conformance: some guarantees failed")

// ErrHarness is returned by Main when the harness broke for some guarantee.
var ErrHarness = errors.New("conformance: the harness could not check some guarantees")

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// Main is `seven conformance`:
//
//	seven conformance --target local|docker|kubeconfig [--kubeconfig F] [--fault-hook CMD]
//	    [--profile core|extended|all] [--focus ID…] [--report-dir D] …
//
// It returns ErrNotConformant when a guarantee failed, ErrHarness when the
// harness broke, nil otherwise (skips are not failures).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seven conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		targetName  = fs.String("target", "local", "what to check: local (boots the reference in-process), docker, kubeconfig")
		kubeconfig  = fs.String("kubeconfig", "", "kubeconfig of the cluster (target kubeconfig); default $KUBECONFIG or ~/.kube/config")
		faultHook   = fs.String("fault-hook", "", "command run as `CMD stop-node|start-node|partition|heal NAME` to inject faults (target kubeconfig)")
		caps        multiFlag
		profile     = fs.String("profile", "", "core (default), extended or all")
		focus       multiFlag
		reportDir   = fs.String("report-dir", "conformance-report", "where to write conformance-report.yaml, junit.xml and ginkgo-report.json (empty: none)")
		timingsFile = fs.String("timings-file", "", "bounds to check, as a YAML map in the seven-timings ConfigMap format (overrides what the cluster publishes)")
		preset      = fs.String("timings-preset", "", "bounds to check: fast or kubernetes (overrides what the cluster publishes)")
		fixtureRepo = fs.String("fixture-image", "", "repository of the fixture images (tags v1, v2, v3, broken); default seven.local/fixture")
		slack       = fs.Duration("slack", 0, "allowance added to every timing bound (default 10s)")
		podStart    = fs.Duration("pod-start-timeout", 0, "allowance for a pod to be scheduled, started and ready (default 60s)")
		timeout     = fs.Duration("timeout", time.Hour, "bound on the whole run")
		dataDir     = fs.String("data-dir", "", "data dir of the local cluster (default a temporary directory)")
		labelFilter = fs.String("label-filter", "", "extra Ginkgo label filter")
		failFast    = fs.Bool("fail-fast", false, "stop at the first failure")
		verbose     = fs.Bool("v", false, "stream every spec's log")
		list        = fs.Bool("list", false, "list the guarantees and exit")
	)
	fs.Var(&caps, "capabilities", "capabilities the cluster has (comma-separated; target kubeconfig; default: detected). Known: "+capNames())
	fs.Var(&focus, "focus", "guarantee IDs (SC-4) or areas (SC) to check; repeatable or comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	focus = append(focus, fs.Args()...)
	if *list {
		for _, d := range framework.Declared() {
			fmt.Fprintf(stdout, "%-7s %-8s %s\n", d.ID, d.Profile, d.Statement)
		}
		return nil
	}
	factory, err := target.Lookup(*targetName)
	if err != nil {
		return err
	}
	tgt, err := factory(target.FactoryOptions{Kubeconfig: *kubeconfig, FaultHook: *faultHook, Capabilities: caps, DataDir: *dataDir})
	if err != nil {
		return fmt.Errorf("target %s: %w", *targetName, err)
	}
	opts := Options{
		Profile: *profile, Focus: focus, LabelFilter: *labelFilter, ReportDir: *reportDir,
		Timings: target.TimingsOptions{File: *timingsFile, Preset: *preset},
		Limits:  framework.Limits{Slack: *slack, PodStart: *podStart},
		Output:  stdout, Timeout: *timeout, FailFast: *failFast, Verbose: *verbose,
	}
	if *fixtureRepo != "" {
		opts.Images = framework.ImagesFromRepository(*fixtureRepo)
	}
	if _, err := opts.labelFilter(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r, err := Execute(tgt, opts)
	if err != nil {
		return err
	}
	switch {
	case r.Result == report.Failure:
		return ErrNotConformant
	case r.Totals.Errored > 0 || r.SetupError != "":
		return ErrHarness
	}
	return nil
}

func capNames() string {
	var names []string
	for _, c := range target.AllCapabilities() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}
