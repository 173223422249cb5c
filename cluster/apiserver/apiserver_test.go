package apiserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
)

// shared is one API server for the package's tests; each test works in a
// namespace of its own, so they run in parallel.
var shared struct {
	cfg  *rest.Config
	stop func() error
}

func TestMain(m *testing.M) {
	var err error
	_, shared.cfg, shared.stop, err = apiservertest.Boot(apiservertest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "apiserver:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := shared.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "apiserver:", err)
	}
	os.Exit(code)
}

// client gives a parallel test a client of the shared server and a fresh namespace.
func client(t *testing.T) (*kubernetes.Clientset, *rest.Config, string) {
	t.Helper()
	t.Parallel()
	cs := kubernetes.NewForConfigOrDie(shared.cfg)
	ns := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(t.Name(), "Test"), "/", "-"))
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return cs, shared.cfg, ns
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "seven.local/fixture:v1"}}},
			},
		},
	}
}

// API-1: create sets uid, creationTimestamp and a generated name; the object reads back.
func TestCRUDRoundTrip(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	cms := cs.CoreV1().ConfigMaps(ns)
	created, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "cfg-"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.UID == "" || created.CreationTimestamp.IsZero() || !strings.HasPrefix(created.Name, "cfg-") || len(created.Name) != len("cfg-")+5 {
		t.Fatalf("system fields not set: %+v", created.ObjectMeta)
	}
	got, err := cms.Get(ctx, created.Name, metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" || got.UID != created.UID || got.ResourceVersion != created.ResourceVersion {
		t.Fatalf("get: %v %+v", err, got)
	}
	got.Data["k"] = "w"
	updated, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil || updated.Data["k"] != "w" || updated.ResourceVersion == got.ResourceVersion {
		t.Fatalf("update: %v %+v", err, updated)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: created.Name}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: want AlreadyExists, got %v", err)
	}
	if err := cms.Delete(ctx, created.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, created.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after delete: want NotFound, got %v", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("nope").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("create in missing namespace: want NotFound, got %v", err)
	}
}

func TestSystemNamespacesAndTimings(t *testing.T) {
	cs, _, _ := client(t)
	ctx := ctxT(t)
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s: %v", ns, err)
		}
	}
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "seven-timings", metav1.GetOptions{})
	if err != nil || cm.Data["preset"] != "fast" {
		t.Fatalf("timings configmap: %v %v", err, cm)
	}
}

// API-2: a stale resourceVersion is rejected; concurrent read-modify-write with retry loses nothing.
func TestOptimisticConcurrency(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	cms := cs.CoreV1().ConfigMaps(ns)
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "counter"}, Data: map[string]string{"n": "0"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := cm.DeepCopy()
	cm.Data["n"] = "0"
	cm.Labels = map[string]string{"touched": "yes"}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Data["n"] = "100"
	_, err = cms.Update(ctx, stale, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale update: want 409 Conflict, got %v", err)
	}
	const writers = 20
	// 20 writers on one object conflict a lot: retry after a jittered 5-10 ms
	// until every increment lands. (No Cap: reaching it ends a Backoff's
	// steps, which under load left a writer without retries.)
	contended := wait.Backoff{Steps: 400, Duration: 5 * time.Millisecond, Factor: 1, Jitter: 1}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- retry.RetryOnConflict(contended, func() error {
				cur, err := cms.Get(ctx, "counter", metav1.GetOptions{})
				if err != nil {
					return err
				}
				n, _ := strconv.Atoi(cur.Data["n"])
				cur.Data["n"] = strconv.Itoa(n + 1)
				_, err = cms.Update(ctx, cur, metav1.UpdateOptions{})
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	final, _ := cms.Get(ctx, "counter", metav1.GetOptions{})
	if final.Data["n"] != strconv.Itoa(writers) {
		t.Fatalf("lost updates: counter is %s, want %d", final.Data["n"], writers)
	}
}

// API-3: a watch from a resourceVersion delivers every later change once, in order.
func TestWatchFromResourceVersion(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	cms := cs.CoreV1().ConfigMaps(ns)
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cm, _ := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w"}}, metav1.CreateOptions{})
	for i := 0; i < 3; i++ {
		cm.Data = map[string]string{"i": strconv.Itoa(i)}
		if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.Delete(ctx, "w", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDED:", "MODIFIED:0", "MODIFIED:1", "MODIFIED:2", "DELETED:2"}
	var got []string
	lastRV := 0
	for len(got) < len(want) {
		select {
		case ev := <-w.ResultChan():
			c := ev.Object.(*corev1.ConfigMap)
			rv, _ := strconv.Atoi(c.ResourceVersion)
			if rv <= lastRV {
				t.Fatalf("resourceVersion went backwards: %d after %d", rv, lastRV)
			}
			lastRV = rv
			got = append(got, fmt.Sprintf("%s:%s", ev.Type, c.Data["i"]))
		case <-ctx.Done():
			t.Fatalf("watch got %v, want %v", got, want)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("watch got %v, want %v", got, want)
	}
}

// API-3: a watch from a compacted resourceVersion fails with 410 Expired.
func TestWatchCompactedIsGone(t *testing.T) {
	srv, cfg := apiservertest.StartServer(t, apiservertest.Options{})
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := ctxT(t)
	cm, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "old"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := cm.ResourceVersion
	for _, v := range []string{"b", "c"} {
		cm.Data = map[string]string{"a": v}
		if cm, err = cs.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.CompactNow(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: old})
	if err != nil {
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Fatalf("want 410, got %v", err)
		}
		return
	}
	defer w.Stop()
	ev := <-w.ResultChan()
	status, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || status.Code != http.StatusGone || status.Reason != metav1.StatusReasonExpired {
		t.Fatalf("want ERROR 410 Expired, got %s %+v", ev.Type, ev.Object)
	}
}

// API-4: label and field selectors filter lists and watches.
func TestSelectors(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	pods := cs.CoreV1().Pods(ns)
	w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: "tier=web"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i, tier := range []string{"web", "db", "web"} {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"tier": tier}},
			Spec:       corev1.PodSpec{NodeName: fmt.Sprintf("node-%d", i%2), Containers: []corev1.Container{{Name: "c", Image: "seven.local/fixture:v1"}}},
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "tier=web"})
	if err != nil || len(l.Items) != 2 {
		t.Fatalf("label selector: %v, %d items", err, len(l.Items))
	}
	l, err = pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-1"})
	if err != nil || len(l.Items) != 1 || l.Items[0].Name != "p1" {
		t.Fatalf("field selector: %v %v", err, l)
	}
	l, err = pods.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=p2,spec.nodeName=node-0"})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("two field selectors: %v %v", err, l)
	}
	if _, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.bogus=x"}); !apierrors.IsBadRequest(err) {
		t.Fatalf("unknown field label: want 400, got %v", err)
	}
	// Relabel p0 out of the selection: the watch sees it DELETED.
	if _, err := pods.Patch(ctx, "p0", types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":"db"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDED p0", "ADDED p2", "DELETED p0"}
	var got []string
	for len(got) < len(want) {
		select {
		case ev := <-w.ResultChan():
			got = append(got, fmt.Sprintf("%s %s", ev.Type, ev.Object.(*corev1.Pod).Name))
		case <-ctx.Done():
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPagination(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	cms := cs.CoreV1().ConfigMaps(ns)
	for i := 0; i < 25; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%02d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := cms.List(ctx, metav1.ListOptions{Limit: 10})
	if err != nil || len(first.Items) != 10 || first.Continue == "" {
		t.Fatalf("first page: %v %d %q", err, len(first.Items), first.Continue)
	}
	// A write between pages is not seen: the pages come from one snapshot.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c99"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range first.Items {
		names[c.Name] = true
	}
	token := first.Continue
	for token != "" {
		page, err := cms.List(ctx, metav1.ListOptions{Limit: 10, Continue: token})
		if err != nil {
			t.Fatal(err)
		}
		if page.ResourceVersion != first.ResourceVersion {
			t.Fatalf("page from another snapshot: %s vs %s", page.ResourceVersion, first.ResourceVersion)
		}
		for _, c := range page.Items {
			names[c.Name] = true
		}
		token = page.Continue
	}
	// kube-root-ca.crt-like extras aside, exactly the 25 created before the first page.
	for i := 0; i < 25; i++ {
		if !names[fmt.Sprintf("c%02d", i)] {
			t.Errorf("missing c%02d", i)
		}
	}
	if names["c99"] {
		t.Error("saw an object created after the snapshot")
	}
}

// API-6: invalid objects are rejected with 422 and field causes; nothing is stored.
func TestValidation(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	d := deployment("Bad_Name", 1)
	d.Spec.Template.Spec.Containers[0].Image = ""
	_, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want 422 Invalid, got %v", err)
	}
	status := err.(apierrors.APIStatus).Status()
	fields := map[string]bool{}
	for _, c := range status.Details.Causes {
		fields[c.Field] = true
	}
	if !fields["metadata.name"] || !fields["spec.template.spec.containers[0].image"] {
		t.Fatalf("causes %+v lack metadata.name and the image", status.Details.Causes)
	}
	l, _ := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if len(l.Items) != 0 {
		t.Fatalf("an invalid object was stored: %v", l.Items)
	}
}

func TestDefaultsStatusAndGeneration(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	deps := cs.AppsV1().Deployments(ns)
	d, err := deps.Create(ctx, deployment("web", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" ||
		*d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 || d.Generation != 1 {
		t.Fatalf("deployment defaults: %+v gen %d", d.Spec, d.Generation)
	}
	// A status update cannot change the spec; a spec update cannot change the status.
	d.Status.ObservedGeneration = 1
	d.Spec.Replicas = ptr.To(int32(9))
	d, err = deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil || *d.Spec.Replicas != 2 || d.Status.ObservedGeneration != 1 || d.Generation != 1 {
		t.Fatalf("status update: %v replicas %d status %+v gen %d", err, *d.Spec.Replicas, d.Status, d.Generation)
	}
	d.Spec.Replicas = ptr.To(int32(3))
	d.Status.ObservedGeneration = 7
	d, err = deps.Update(ctx, d, metav1.UpdateOptions{})
	if err != nil || *d.Spec.Replicas != 3 || d.Status.ObservedGeneration != 1 || d.Generation != 2 {
		t.Fatalf("spec update: %v %+v gen %d", err, d.Status, d.Generation)
	}
	// Scale subresource.
	sc, err := deps.GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil || sc.Spec.Replicas != 3 {
		t.Fatalf("get scale: %v %+v", err, sc)
	}
	sc.Spec.Replicas = 5
	if _, err := deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d, _ = deps.Get(ctx, "web", metav1.GetOptions{})
	if *d.Spec.Replicas != 5 || d.Generation != 3 {
		t.Fatalf("after scale: replicas %d generation %d", *d.Spec.Replicas, d.Generation)
	}
	// A no-op update writes nothing.
	same, err := deps.Update(ctx, d, metav1.UpdateOptions{})
	if err != nil || same.ResourceVersion != d.ResourceVersion {
		t.Fatalf("no-op update changed resourceVersion: %v %s -> %s", err, d.ResourceVersion, same.ResourceVersion)
	}
}

func TestPatchTypes(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	deps := cs.AppsV1().Deployments(ns)
	if _, err := deps.Create(ctx, deployment("p", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	smp := `{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"seven.local/fixture:v2"}]}}}}`
	d, err := deps.Patch(ctx, "p", types.StrategicMergePatchType, []byte(smp), metav1.PatchOptions{})
	if err != nil || len(d.Spec.Template.Spec.Containers) != 2 {
		t.Fatalf("strategic merge patch merges containers by name: %v %v", err, d.Spec.Template.Spec.Containers)
	}
	merge := `{"metadata":{"labels":{"a":"b"}}}`
	if d, err = deps.Patch(ctx, "p", types.MergePatchType, []byte(merge), metav1.PatchOptions{}); err != nil || d.Labels["a"] != "b" {
		t.Fatalf("merge patch: %v", err)
	}
	jp := `[{"op":"replace","path":"/spec/replicas","value":4}]`
	if d, err = deps.Patch(ctx, "p", types.JSONPatchType, []byte(jp), metav1.PatchOptions{}); err != nil || *d.Spec.Replicas != 4 {
		t.Fatalf("json patch: %v", err)
	}
	stale := `{"metadata":{"resourceVersion":"1"},"spec":{"replicas":1}}`
	if _, err = deps.Patch(ctx, "p", types.MergePatchType, []byte(stale), metav1.PatchOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("patch with stale resourceVersion: want 409, got %v", err)
	}
	if _, err = deps.Patch(ctx, "p", types.ApplyPatchType, []byte(`{}`), metav1.PatchOptions{FieldManager: "x"}); err == nil || apierrors.ReasonForError(err) != metav1.StatusReasonUnsupportedMediaType {
		t.Fatalf("apply patch: want 415, got %v", err)
	}
	unknown := `{"spec":{"replicaz":3}}`
	if _, err = deps.Patch(ctx, "p", types.MergePatchType, []byte(unknown), metav1.PatchOptions{FieldValidation: "Strict"}); !apierrors.IsBadRequest(err) {
		t.Fatalf("unknown field under Strict: want 400, got %v", err)
	}
}

func TestDeletionSemantics(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	pods := cs.CoreV1().Pods(ns)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "graceful"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "seven.local/fixture:v1"}}}}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "graceful", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "graceful", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp == nil || *p.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("a bound pod is deleted gracefully (30s): %v %+v", err, p.ObjectMeta)
	}
	if err := pods.Delete(ctx, "graceful", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "graceful", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("grace 0 deletes at once: %v", err)
	}
	// Finalizers hold an object until they are removed.
	cms := cs.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := cms.Get(ctx, "held", metav1.GetOptions{})
	if err != nil || cm.DeletionTimestamp == nil {
		t.Fatalf("finalized object: %v %+v", err, cm)
	}
	cm.Finalizers = nil
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("removing the last finalizer deletes: %v", err)
	}
	// Propagation policies become finalizers for the garbage collector.
	deps := cs.AppsV1().Deployments(ns)
	for _, tc := range []struct {
		policy    metav1.DeletionPropagation
		finalizer string
	}{{metav1.DeletePropagationForeground, metav1.FinalizerDeleteDependents}, {metav1.DeletePropagationOrphan, metav1.FinalizerOrphanDependents}} {
		name := strings.ToLower(string(tc.policy))
		if _, err := deps.Create(ctx, deployment(name, 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := deps.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &tc.policy}); err != nil {
			t.Fatal(err)
		}
		d, err := deps.Get(ctx, name, metav1.GetOptions{})
		if err != nil || len(d.Finalizers) != 1 || d.Finalizers[0] != tc.finalizer {
			t.Fatalf("%s delete: %v finalizers %v", tc.policy, err, d.Finalizers)
		}
	}
	// Preconditions.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pre"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("other"))}}); !apierrors.IsConflict(err) {
		t.Fatalf("uid precondition: want 409, got %v", err)
	}
}

func TestServiceClusterIPAllocation(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	svcs := cs.CoreV1().Services(ns)
	seen := map[string]bool{}
	for i := 0; i < 10; i++ {
		s, err := svcs.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s%d", i)},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "x"},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Spec.ClusterIP == "" || seen[s.Spec.ClusterIP] || s.Spec.Ports[0].NodePort < 30000 {
			t.Fatalf("allocation: %+v", s.Spec)
		}
		seen[s.Spec.ClusterIP] = true
	}
	s0, _ := svcs.Get(ctx, "s0", metav1.GetOptions{})
	_, err := svcs.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "dup"},
		Spec:       corev1.ServiceSpec{ClusterIP: s0.Spec.ClusterIP, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("taken ClusterIP: want 422, got %v", err)
	}
	if err := svcs.Delete(ctx, "s0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "reuse"},
		Spec:       corev1.ServiceSpec{ClusterIP: s0.Spec.ClusterIP, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a released ClusterIP can be taken again: %v", err)
	}
	headless, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "headless"}, Spec: corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if err != nil || headless.Spec.ClusterIP != "None" {
		t.Fatalf("headless: %v %v", err, headless)
	}
}

// raw sends a request with the admin's client certificate.
func raw(t *testing.T, cfg *rest.Config, method, path, contentType string, body []byte) (int, string) {
	t.Helper()
	tc, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, cfg.Host+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Transport: tc}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestBadInput(t *testing.T) {
	_, cfg, ns := client(t)
	cm := func(ns string) []byte {
		return []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":%q}}`, ns))
	}
	cases := []struct {
		name, method, path, ct string
		body                   []byte
		code                   int
		reason                 string
	}{
		{"malformed json", "POST", "/api/v1/namespaces/" + ns + "/configmaps", "application/json", []byte(`{"kind":`), 400, "BadRequest"},
		{"malformed yaml", "POST", "/api/v1/namespaces/" + ns + "/configmaps", "application/yaml", []byte("a: [b"), 400, "BadRequest"},
		{"malformed protobuf", "POST", "/api/v1/namespaces/" + ns + "/configmaps", "application/vnd.kubernetes.protobuf", []byte("k8s\x00\xff\xff"), 400, "BadRequest"},
		{"too large", "POST", "/api/v1/namespaces/" + ns + "/configmaps", "application/json", bytes.Repeat([]byte(" "), 3<<20+10), 413, "RequestEntityTooLarge"},
		{"unknown resource", "GET", "/api/v1/namespaces/" + ns + "/widgets", "", nil, 404, "NotFound"},
		{"unknown group", "GET", "/apis/example.com/v1/things", "", nil, 404, "NotFound"},
		{"namespace mismatch", "POST", "/api/v1/namespaces/" + ns + "/configmaps", "application/json", cm("kube-system"), 400, "BadRequest"},
		{"unsupported media type", "POST", "/api/v1/namespaces/" + ns + "/configmaps", "text/plain", cm(ns), 415, "UnsupportedMediaType"},
		{"wrong kind", "POST", "/api/v1/namespaces/" + ns + "/configmaps", "application/json", []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`), 400, "BadRequest"},
		{"unknown field strict", "POST", "/api/v1/namespaces/" + ns + "/configmaps?fieldValidation=Strict", "application/json", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"dta":{}}`), 400, "BadRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := raw(t, cfg, tc.method, tc.path, tc.ct, tc.body)
			var st metav1.Status
			if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" {
				t.Fatalf("not a Status: %d %s", code, body)
			}
			if code != tc.code || string(st.Reason) != tc.reason || int(st.Code) != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", code, st.Reason, st.Message, tc.code, tc.reason)
			}
		})
	}
	// Nothing was stored by any of them.
	code, body := raw(t, cfg, "GET", "/api/v1/namespaces/"+ns+"/configmaps/x", "", nil)
	if code != 404 {
		t.Fatalf("a bad request stored something: %d %s", code, body)
	}
}

func TestAuthentication(t *testing.T) {
	_, cfg, _ := client(t)
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the point is to have no client certificate
	resp, err := insecure.Get(cfg.Host + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous list: want 401, got %d", resp.StatusCode)
	}
	resp, err = insecure.Get(cfg.Host + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(data) != "ok" {
		t.Fatalf("/readyz: %d %s", resp.StatusCode, data)
	}
	// Plain HTTP gets Go's TLS-only refusal, never an API answer.
	resp, err = http.Get(strings.Replace(cfg.Host, "https", "http", 1) + "/api/v1/namespaces")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP answered %d", resp.StatusCode)
		}
	}
}

func TestProtobufClient(t *testing.T) {
	_, cfg, ns := client(t)
	pcfg := rest.CopyConfig(cfg)
	pcfg.ContentType = "application/vnd.kubernetes.protobuf"
	pcfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cs := kubernetes.NewForConfigOrDie(pcfg)
	ctx := ctxT(t)
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment("proto", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(l.Items) != 1 || l.Items[0].Spec.Template.Spec.Containers[0].Image != "seven.local/fixture:v1" {
		t.Fatalf("protobuf list: %v %v", err, l)
	}
	w, err := cs.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "proto", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := <-w.ResultChan(); ev.Type != watch.Deleted {
		t.Fatalf("protobuf watch: %v", ev)
	}
}

// Events written through events.k8s.io/v1 (client-go's events recorder) and
// core/v1 (kubectl describe) are one store, as in Kubernetes.
func TestEventsShareStorage(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "pod-x.1", Namespace: ns},
		EventTime:           metav1.NowMicro(),
		ReportingController: "seven.dev/test",
		ReportingInstance:   "test-1",
		Action:              "Testing",
		Reason:              "Tested",
		Note:                "it works",
		Type:                corev1.EventTypeNormal,
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "x", APIVersion: "v1"},
	}
	if _, err := cs.EventsV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	core, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=x,involvedObject.kind=Pod"})
	if err != nil || len(core.Items) != 1 || core.Items[0].Message != "it works" || core.Items[0].Reason != "Tested" {
		t.Fatalf("core/v1 view of an events.k8s.io/v1 event: %v %+v", err, core)
	}
	back, err := cs.EventsV1().Events(ns).Get(ctx, "pod-x.1", metav1.GetOptions{})
	if err != nil || back.Note != "it works" || back.Regarding.Name != "x" {
		t.Fatalf("events.k8s.io/v1 read back: %v %+v", err, back)
	}
}
