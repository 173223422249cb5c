package framework

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/conformance/target"
)

func init() { gomega.RegisterFailHandler(Fail) }

// HarnessPrefix starts the failure message of a spec that could not run
// because the harness broke (not because the implementation failed); the
// report classifies such specs as "error".
const HarnessPrefix = "[harness] "

// GuaranteeLabelKey labels each spec's namespace with its guarantee.
const GuaranteeLabelKey = "conformance.seven.dev/guarantee"

// F is one running spec's handle: its namespace, clients, bounds, faults and
// timeline.
type F struct {
	Guarantee Definition
	Case      string
	// Namespace is created for the spec and deleted after it.
	Namespace string
	Client    kubernetes.Interface
	Config    *rest.Config
	Timings   timings.Timings
	Faults    target.Faults
	Images    Images
	Env       *Env
	Timeline  *Timeline

	nodes []string // nodes the spec touched, for diagnostics
}

func newF(ctx context.Context, env *Env, g Definition, caseName string) *F {
	f := &F{
		Guarantee: g, Case: caseName,
		Client: env.Client, Config: env.Config, Timings: env.Timings.Timings,
		Faults: env.Faults, Images: env.Images, Env: env,
		Timeline: NewTimeline(time.Now()),
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "conformance-" + strings.ToLower(g.ID) + "-",
		Labels:       map[string]string{GuaranteeLabelKey: g.ID},
	}}
	created, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		f.Broke("create the spec's namespace: %v", err)
	}
	f.Namespace = created.Name
	f.Logf("namespace %s created", f.Namespace)
	if env.Capabilities.Has(target.Pods) {
		f.awaitDefaultServiceAccount(ctx)
	}
	return f
}

// awaitDefaultServiceAccount waits, as upstream's e2e framework does, for
// the namespace's default ServiceAccount: kube-apiserver's ServiceAccount
// admission refuses pods until the controller made it, which can take
// seconds while the controllers' watches reconnect (after an API server
// restart). A cluster that never makes one is not failed here: after the
// pod-start allowance the spec goes on, and its pods say what happens.
func (f *F) awaitDefaultServiceAccount(ctx context.Context) {
	deadline := time.Now().Add(f.PodStart())
	for {
		_, err := f.Client.CoreV1().ServiceAccounts(f.Namespace).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			f.Logf("no default ServiceAccount in %s after %s (%v); going on", f.Namespace, f.PodStart(), err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Logf records a line in the timeline and writes it to GinkgoWriter.
func (f *F) Logf(format string, args ...any) {
	f.Timeline.Add(format, args...)
	GinkgoWriter.Printf(format+"\n", args...)
}

// Broke fails the spec as a harness error: the suite could not do what it
// needed, which says nothing about the implementation.
func (f *F) Broke(format string, args ...any) {
	GinkgoHelper()
	Fail(HarnessPrefix + fmt.Sprintf(format, args...))
}

// Bound is base plus the run's slack: the allowance for a timing-derived bound.
func (f *F) Bound(base time.Duration) time.Duration { return base + f.Env.Limits.Slack }

// PodStart is the allowance for pods to be scheduled, started and ready.
func (f *F) PodStart() time.Duration { return f.Env.Limits.PodStart }

// TouchNode notes a node the spec acts on, so failure diagnostics show it.
func (f *F) TouchNode(name string) {
	for _, n := range f.nodes {
		if n == name {
			return
		}
	}
	f.nodes = append(f.nodes, name)
}

// Check looks at the cluster once: ok when the awaited condition holds, and
// in any case a short description of what it saw ("2/3 pods ready: web-x
// Pending (Unschedulable: …)"). An error is reported as what was seen.
type Check func(ctx context.Context) (ok bool, saw string, err error)

// Await polls check until it holds, failing the spec after within with the
// last thing it saw; each change of what it saw goes into the timeline.
func (f *F) Await(ctx context.Context, what string, within time.Duration, check Check) string {
	GinkgoHelper()
	f.Logf("await %s (bound %s)", what, within.Round(time.Millisecond))
	start := time.Now()
	var saw string
	gomega.Eventually(ctx, func() error {
		ok, s, err := check(ctx)
		if err != nil {
			s = "error: " + err.Error()
		}
		saw = s
		f.Timeline.Observe(what, s)
		if ok && err == nil {
			return nil
		}
		return errors.New(s)
	}).WithTimeout(within).WithPolling(f.Env.Limits.Poll).Should(gomega.Succeed(),
		"%s did not happen within %s (started at +%.1fs); the last observation is below", what, within, start.Sub(f.Timeline.start).Seconds())
	f.Logf("%s: done after %s", what, time.Since(start).Round(time.Millisecond))
	return saw
}

// Hold checks that check keeps holding for the whole of d, failing the spec
// at the first observation where it does not.
func (f *F) Hold(ctx context.Context, what string, d time.Duration, check Check) {
	GinkgoHelper()
	f.Logf("check %s holds for %s", what, d)
	gomega.Consistently(ctx, func() error {
		ok, s, err := check(ctx)
		if err != nil {
			s = "error: " + err.Error()
		}
		f.Timeline.Observe(what, s)
		if ok && err == nil {
			return nil
		}
		return errors.New(s)
	}).WithTimeout(d).WithPolling(f.Env.Limits.Poll).Should(gomega.Succeed(), "%s stopped holding", what)
}

// Expect asserts with a description; a thin convenience over gomega.
func (f *F) Expect(actual any, extra ...any) gomega.Assertion {
	return gomega.ExpectWithOffset(1, actual, extra...)
}

// NoError fails the spec (as the implementation's failure) when err is set.
func (f *F) NoError(err error, what string, args ...any) {
	GinkgoHelper()
	if err != nil {
		msg := fmt.Sprintf(what, args...)
		f.Logf("%s: %v", msg, err)
		Fail(fmt.Sprintf("%s: %v", msg, err))
	}
}

func (f *F) cleanup(ctx SpecContext) {
	if CurrentSpecReport().Failed() {
		f.attachDiagnostics(ctx)
	} else if f.Timeline.Len() > 0 {
		AddReportEntry("timeline", f.Timeline.String(), ReportEntryVisibilityNever)
	}
	if f.Namespace == "" {
		return
	}
	bg := metav1.DeletePropagationBackground
	err := f.Client.CoreV1().Namespaces().Delete(ctx, f.Namespace, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil {
		GinkgoWriter.Printf("delete namespace %s: %v\n", f.Namespace, err)
	}
}
