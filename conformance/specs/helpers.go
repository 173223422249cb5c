package specs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/project-seven/seven/conformance/expect"
	"github.com/project-seven/seven/conformance/framework"
)

// Capability sets used below.
var (
	podsOnly   = caps("pods")
	workloads  = caps("pods", "deployment", "replicaset")
	multiNodes = caps("pods", "multi-node")
)

// pinLabel labels node with a key unique to the spec and returns a node
// selector that picks exactly that node; the label is removed after the spec.
func pinLabel(ctx context.Context, f *framework.F, node string) map[string]string {
	GinkgoHelper()
	// The value names the node, so that two nodes pinned by one spec get
	// different selectors.
	key, value := "conformance.seven.dev/"+f.Namespace, pinValue(node)
	setNodeLabel(ctx, f, node, key, value)
	DeferCleanup(func(ctx SpecContext) { removeNodeLabel(ctx, f, node, key) })
	return map[string]string{key: value}
}

// pinValue is a label value for a node name: the name itself when it is a
// valid label value, else a short hash of it.
func pinValue(node string) string {
	if len(validation.IsValidLabelValue(node)) == 0 {
		return node
	}
	sum := sha256.Sum256([]byte(node))
	return "node-" + hex.EncodeToString(sum[:8])
}

func setNodeLabel(ctx context.Context, f *framework.F, node, key, value string) {
	GinkgoHelper()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{key: value}}})
	_, err := f.Client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{})
	f.NoError(err, "label node %s %s=%s", node, key, value)
	f.TouchNode(node)
	f.Logf("labelled node %s %s=%s", node, key, value)
}

func removeNodeLabel(ctx context.Context, f *framework.F, node, key string) {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{key: nil}}})
	if _, err := f.Client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		GinkgoWriter.Printf("remove label %s from node %s: %v\n", key, node, err)
	}
}

// unschedulable reports a pod the scheduler marked Unschedulable.
func unschedulable(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return p.Spec.NodeName == ""
		}
	}
	return false
}

// fixtureAnswer is what the fixture's / answers.
type fixtureAnswer struct {
	Version string `json:"version"`
	Pod     string `json:"pod"`
	PodIP   string `json:"podIP"`
	Node    string `json:"node"`
}

// httpGet runs `fixture get URL` in a client pod and decodes the fixture's answer.
func httpGet(ctx context.Context, f *framework.F, client, url string) (fixtureAnswer, error) {
	out, err := f.Fixture(ctx, client, "get", url, "--timeout", "2s")
	if err != nil {
		return fixtureAnswer{}, err
	}
	var a fixtureAnswer
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &a); err != nil {
		return fixtureAnswer{}, fmt.Errorf("answer %q: %w", out, err)
	}
	return a, nil
}

// post makes the fixture in pod change a probe: `fixture get --method POST`.
func post(ctx context.Context, f *framework.F, pod *corev1.Pod, path string) {
	GinkgoHelper()
	url := fmt.Sprintf("http://%s:%d%s", pod.Status.PodIP, framework.FixturePort, path)
	_, err := f.Fixture(ctx, pod.Name, "get", "--method", "POST", url, "--timeout", "2s")
	if err != nil {
		f.Broke("POST %s in pod %s: %v", path, pod.Name, err)
	}
	f.Logf("POST %s to pod %s", path, pod.Name)
}

// clientPod starts a fixture pod to run requests from, optionally pinned.
// It has a readiness probe, so that Ready means its server listens: specs
// also read from it over HTTP (a pod without one is Ready as soon as its
// process starts, a few milliseconds before it listens).
func clientPod(ctx context.Context, f *framework.F, name string, opts ...framework.PodOption) *corev1.Pod {
	GinkgoHelper()
	expect.CreatePod(ctx, f, f.Pod(name, append([]framework.PodOption{framework.WithReadiness()}, opts...)...))
	return expect.PodRunning(ctx, f, name)
}
