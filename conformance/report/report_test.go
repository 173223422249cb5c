package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/deviations"
	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/target"
)

var catalogue = []framework.Definition{
	{ID: "API-1", Statement: "a.", Profile: framework.Core},
	{ID: "SC-1", Statement: "b.", Profile: framework.Core},
	{ID: "SC-8", Statement: "c.", Profile: framework.Extended},
}

func spec(id string, state types.SpecState, msg string) types.SpecReport {
	return types.SpecReport{
		LeafNodeType: types.NodeTypeIt, LeafNodeText: id + " x.", LeafNodeLabels: []string{id, framework.Area(id), "core"},
		State: state, Failure: types.Failure{Message: msg}, RunTime: time.Second,
	}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name   string
		specs  []types.SpecReport
		status map[string]Status
		result Result
	}{
		{"all pass", []types.SpecReport{spec("API-1", types.SpecStatePassed, ""), spec("SC-1", types.SpecStatePassed, "")},
			map[string]Status{"API-1": Pass, "SC-1": Pass, "SC-8": Skip}, Success},
		{"a skip makes it partial", []types.SpecReport{spec("API-1", types.SpecStatePassed, ""), spec("SC-1", types.SpecStateSkipped, framework.SkipPrefix+"pods")},
			map[string]Status{"API-1": Pass, "SC-1": Skip}, Partial},
		{"a failure fails", []types.SpecReport{spec("API-1", types.SpecStateFailed, "boom"), spec("SC-1", types.SpecStatePassed, "")},
			map[string]Status{"API-1": Fail, "SC-1": Pass}, Failure},
		{"harness errors are not failures", []types.SpecReport{spec("API-1", types.SpecStateFailed, framework.HarnessPrefix+"no namespace"), spec("SC-1", types.SpecStatePanicked, "nil map")},
			map[string]Status{"API-1": Error, "SC-1": Error}, Partial},
		{"timeouts are failures", []types.SpecReport{spec("API-1", types.SpecStateTimedout, "slow"), spec("SC-1", types.SpecStatePassed, "")},
			map[string]Status{"API-1": Fail}, Failure},
		{"setup failure errors every selected guarantee", []types.SpecReport{
			{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStateFailed, Failure: types.Failure{Message: "[harness] set up target: boom"}},
			spec("API-1", types.SpecStateSkipped, ""), spec("SC-1", types.SpecStateSkipped, "")},
			map[string]Status{"API-1": Error, "SC-1": Error}, Partial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build(Input{Catalogue: catalogue, Ginkgo: types.Report{SpecReports: tt.specs}, TargetName: "t", LabelFilter: "core", Selection: Selection{Profile: "core"}})
			if len(r.Guarantees) != len(catalogue) {
				t.Fatalf("report lists %d guarantees, want every one of %d", len(r.Guarantees), len(catalogue))
			}
			for id, want := range tt.status {
				g, _ := r.Guarantee(id)
				if g.Status != want {
					t.Errorf("%s: %s (%s), want %s", id, g.Status, g.Reason, want)
				}
			}
			if r.Result != tt.result {
				t.Errorf("result %s, want %s (totals %+v)", r.Result, tt.result, r.Totals)
			}
			sc8, _ := r.Guarantee("SC-8")
			if sc8.Selected || sc8.Reason != "not selected (no spec in this run)" {
				t.Errorf("SC-8: %+v", sc8)
			}
		})
	}
}

func TestWriteAllAndSummary(t *testing.T) {
	g := types.Report{SuiteDescription: "s", SpecReports: []types.SpecReport{spec("API-1", types.SpecStatePassed, ""), spec("SC-1", types.SpecStateFailed, "boom")}}
	r := Build(Input{Catalogue: catalogue, Ginkgo: g, TargetName: "t"})
	dir := t.TempDir()
	if err := WriteAll(dir, g, r); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{YAMLFile, JUnitFile, JSONFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	back, err := ReadYAML(filepath.Join(dir, YAMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if back.APIVersion != APIVersion || back.Kind != Kind || len(back.Guarantees) != 3 || back.Result != Failure {
		t.Errorf("read back %+v", back)
	}
	if back.Implementation.Deviations == nil || len(back.Implementation.Deviations) != 0 {
		t.Errorf("no environment, no deviations, as an empty list: %#v", back.Implementation.Deviations)
	}
	var b bytes.Buffer
	WriteSummary(&b, r)
	for _, want := range []string{"API-1", "PASS", "SC-1", "FAIL", "boom", "RESULT: FAILURE"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

// TestDeviationsInTheReport: the implementation's declared deviations are
// listed, id and reason, in the YAML and the summary.
func TestDeviationsInTheReport(t *testing.T) {
	env := &framework.Env{Target: "local", Config: &rest.Config{Host: "https://127.0.0.1:6443"},
		Implementation: target.Implementation{Name: "seven", Deviations: []deviations.Deviation{deviations.LoopbackEndpoints}}}
	r := Build(Input{Catalogue: catalogue, Ginkgo: types.Report{}, Env: env, TargetName: "local"})
	dir := t.TempDir()
	if err := WriteAll(dir, types.Report{}, r); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, YAMLFile))
	if err != nil {
		t.Fatal(err)
	}
	want := "  deviations:\n  - id: loopback-endpoints\n    reason: " + deviations.LoopbackEndpoints.Reason[:40]
	if !strings.Contains(string(raw), want) {
		t.Errorf("YAML lacks implementation.deviations:\n%s", raw)
	}
	var b bytes.Buffer
	WriteSummary(&b, r)
	if !strings.Contains(b.String(), "deviation loopback-endpoints: pods have loopback IPs") {
		t.Errorf("summary lacks the deviation:\n%s", b.String())
	}
}

// TestNodesInTheReport: each node's kubelet and container runtime are in
// the YAML and the summary, so a report says what the guarantees ran on.
func TestNodesInTheReport(t *testing.T) {
	env := &framework.Env{Target: "docker", Config: &rest.Config{Host: "https://127.0.0.1:6443"},
		Implementation: target.Implementation{Name: "seven", Nodes: []target.Node{
			{Name: "node-1", KubeletVersion: "v1.37.2-seven", ContainerRuntime: "containerd://1.6.20"},
			{Name: "node-2", KubeletVersion: "v1.37.2", ContainerRuntime: "seven://v1.37.2-seven"},
		}}}
	r := Build(Input{Catalogue: catalogue, Ginkgo: types.Report{}, Env: env, TargetName: "docker"})
	dir := t.TempDir()
	if err := WriteAll(dir, types.Report{}, r); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, YAMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := "  - containerRuntime: containerd://1.6.20\n    kubeletVersion: v1.37.2-seven\n    name: node-1\n"; !strings.Contains(string(raw), want) {
		t.Errorf("YAML lacks implementation.nodes:\n%s", raw)
	}
	var b bytes.Buffer
	WriteSummary(&b, r)
	for _, want := range []string{"node node-1: kubelet v1.37.2-seven, runtime containerd://1.6.20", "node node-2: kubelet v1.37.2, runtime seven://v1.37.2-seven"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b)
	now := time.Unix(0, 0)
	p.now = func() time.Time { return now }
	p.Begin(4)
	now = now.Add(10 * time.Second)
	p.SpecDone(spec("API-1", types.SpecStatePassed, ""))
	p.SpecDone(types.SpecReport{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped}) // filtered out: not counted
	if !strings.Contains(b.String(), "[1/4] PASSED") || !strings.Contains(b.String(), "elapsed 0:10  eta 0:30") {
		t.Errorf("progress:\n%s", b.String())
	}
}
