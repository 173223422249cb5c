package framework

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Report entry names attached to a failed spec.
const (
	EntryTimeline = "timeline"
	EntryObjects  = "objects"
	EntryEvents   = "events"
	EntryPodLogs  = "pod logs"
	EntryNodes    = "nodes"
)

// attachDiagnostics adds what is needed to debug a failure without
// re-running: the timeline, the namespace's objects, its events, pod logs and
// the nodes.
func (f *F) attachDiagnostics(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	vis := ReportEntryVisibilityFailureOrVerbose
	AddReportEntry(EntryTimeline, f.Timeline.String(), vis)
	if f.Namespace != "" {
		AddReportEntry(EntryObjects, f.objectsDump(ctx), vis)
		AddReportEntry(EntryEvents, f.eventsDump(ctx), vis)
		AddReportEntry(EntryPodLogs, f.logsDump(ctx), vis)
	}
	AddReportEntry(EntryNodes, f.nodesDump(ctx), vis)
}

func (f *F) objectsDump(ctx context.Context) string {
	var b strings.Builder
	ns := f.Namespace
	opts := metav1.ListOptions{}
	section := func(kind string, list runtime.Object, err error) {
		if err != nil {
			fmt.Fprintf(&b, "# %s: %v\n", kind, err)
			return
		}
		items := itemsOf(list)
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "# %s (%d)\n", kind, len(items))
		for _, o := range items {
			b.WriteString("---\n")
			b.WriteString(renderObject(o))
		}
	}
	{
		l, err := f.Client.AppsV1().Deployments(ns).List(ctx, opts)
		section("Deployments", l, err)
	}
	{
		l, err := f.Client.AppsV1().ReplicaSets(ns).List(ctx, opts)
		section("ReplicaSets", l, err)
	}
	{
		l, err := f.Client.AppsV1().DaemonSets(ns).List(ctx, opts)
		section("DaemonSets", l, err)
	}
	{
		l, err := f.Client.BatchV1().Jobs(ns).List(ctx, opts)
		section("Jobs", l, err)
	}
	{
		l, err := f.Client.CoreV1().Pods(ns).List(ctx, opts)
		section("Pods", l, err)
	}
	{
		l, err := f.Client.CoreV1().Services(ns).List(ctx, opts)
		section("Services", l, err)
	}
	{
		l, err := f.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, opts)
		section("EndpointSlices", l, err)
	}
	if b.Len() == 0 {
		return "(the namespace holds no workload objects)"
	}
	return b.String()
}

func itemsOf(list runtime.Object) []runtime.Object {
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil
	}
	return objs
}

// renderObject renders an object as YAML without managedFields.
func renderObject(o runtime.Object) string {
	o = o.DeepCopyObject()
	if m, ok := o.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	raw, err := yaml.Marshal(o)
	if err != nil {
		return fmt.Sprintf("(cannot render: %v)\n", err)
	}
	return string(raw)
}

func (f *F) eventsDump(ctx context.Context) string {
	evs, err := f.Client.CoreV1().Events(f.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "list events: " + err.Error()
	}
	items := evs.Items
	sort.Slice(items, func(i, j int) bool { return eventTime(items[i]).Before(eventTime(items[j])) })
	if len(items) > 100 {
		items = items[len(items)-100:]
	}
	var b strings.Builder
	for _, e := range items {
		from := e.ReportingController
		if from == "" {
			from = e.Source.Component
		}
		if e.Source.Host != "" {
			from += " on " + e.Source.Host
		}
		fmt.Fprintf(&b, "%s  %-7s %-22s %s/%s: %s (x%d, from %s)\n", eventTime(e).Format("15:04:05.000"), e.Type, e.Reason,
			e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message, max(e.Count, 1), from)
	}
	if b.Len() == 0 {
		return "(no events in the namespace)"
	}
	return b.String()
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

func (f *F) logsDump(ctx context.Context) string {
	pods, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "list pods: " + err.Error()
	}
	var b strings.Builder
	for i, p := range pods.Items {
		if i >= 20 {
			fmt.Fprintf(&b, "(logs of %d more pods left out)\n", len(pods.Items)-i)
			break
		}
		if p.Spec.NodeName == "" {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount > 0 {
				fmt.Fprintf(&b, "== %s/%s (previous) ==\n%s", p.Name, cs.Name, f.tail(ctx, p.Name, cs.Name, true))
			}
			fmt.Fprintf(&b, "== %s/%s ==\n%s", p.Name, cs.Name, f.tail(ctx, p.Name, cs.Name, false))
		}
	}
	if b.Len() == 0 {
		return "(no container logs: no pod ran)"
	}
	return b.String()
}

func (f *F) tail(ctx context.Context, pod, container string, previous bool) string {
	lines := int64(40)
	rc, err := f.Client.CoreV1().Pods(f.Namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: previous, TailLines: &lines}).Stream(ctx)
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")\n"
	}
	defer rc.Close()
	raw, _ := io.ReadAll(io.LimitReader(rc, 16<<10))
	s := string(raw)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

func (f *F) nodesDump(ctx context.Context) string {
	nodes, err := f.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "list nodes: " + err.Error()
	}
	var b strings.Builder
	for _, n := range nodes.Items {
		ready := "Ready=?"
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = fmt.Sprintf("Ready=%s (%s, since %s)", c.Status, c.Reason, c.LastTransitionTime.Format("15:04:05"))
			}
		}
		var taints []string
		for _, t := range n.Spec.Taints {
			taints = append(taints, t.ToString())
		}
		fmt.Fprintf(&b, "%s %s unschedulable=%v taints=%v allocatable=cpu:%s,memory:%s,pods:%s\n", n.Name, ready, n.Spec.Unschedulable, taints,
			n.Status.Allocatable.Cpu(), n.Status.Allocatable.Memory(), n.Status.Allocatable.Pods())
	}
	for _, name := range f.nodes {
		if n, err := f.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
			b.WriteString("---\n" + renderObject(n))
		}
	}
	if b.Len() == 0 {
		return "(no nodes)"
	}
	return b.String()
}
