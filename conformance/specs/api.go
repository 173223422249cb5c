package specs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	. "github.com/onsi/gomega"    //nolint:revive // the Gomega DSL
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/target"
)

const (
	api1 = "CRUD round-trip sets uid, creationTimestamp and a generated name, and reads back what was written."
	api2 = "An update with a stale resourceVersion is rejected with 409 Conflict; concurrent read-modify-write with retry loses nothing."
	api3 = "A watch from a resourceVersion delivers every later change once, in order; a compacted resourceVersion gives 410 Expired."
	api4 = "Label and field selectors filter list and watch."
	api5 = "Deleting an owner deletes its dependents (background and foreground propagation); orphan propagation leaves them."
	api6 = "Invalid objects are rejected with 422 Invalid and field causes, and nothing is stored."
)

func configMap(f *framework.F, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.Namespace}, Data: data}
}

var _ = framework.Guarantee("API-1", api1, framework.Core, nil, func(ctx context.Context, f *framework.F) {
	cms := f.Client.CoreV1().ConfigMaps(f.Namespace)
	in := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "round-trip-", Labels: map[string]string{"k": "v"}}, Data: map[string]string{"a": "1"}}
	created, err := cms.Create(ctx, in, metav1.CreateOptions{})
	f.NoError(err, "create a ConfigMap with generateName")
	f.Logf("created %s uid=%s rv=%s", created.Name, created.UID, created.ResourceVersion)
	Expect(created.Name).To(HavePrefix("round-trip-"), "the name is generated from generateName")
	Expect(len(created.Name)).To(BeNumerically(">", len("round-trip-")), "a random suffix is appended to generateName")
	Expect(created.UID).NotTo(BeEmpty(), "the server sets metadata.uid")
	Expect(created.CreationTimestamp.IsZero()).To(BeFalse(), "the server sets metadata.creationTimestamp")
	Expect(created.ResourceVersion).NotTo(BeEmpty(), "the server sets metadata.resourceVersion")
	Expect(created.Data).To(Equal(in.Data), "the data is stored as written")

	got, err := cms.Get(ctx, created.Name, metav1.GetOptions{})
	f.NoError(err, "get %s", created.Name)
	Expect(got.UID).To(Equal(created.UID), "a read returns the same object")
	Expect(got.Labels).To(Equal(in.Labels))
	Expect(got.Data).To(Equal(in.Data))

	got.Data["b"] = "2"
	updated, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	f.NoError(err, "update %s", created.Name)
	Expect(updated.UID).To(Equal(created.UID), "an update keeps the uid")
	Expect(updated.ResourceVersion).NotTo(Equal(created.ResourceVersion), "an update changes the resourceVersion")
	Expect(updated.CreationTimestamp.Time.Unix()).To(Equal(created.CreationTimestamp.Time.Unix()), "an update keeps creationTimestamp")
	Expect(updated.Data).To(HaveKeyWithValue("b", "2"))

	list, err := cms.List(ctx, metav1.ListOptions{})
	f.NoError(err, "list ConfigMaps")
	var names []string
	for _, c := range list.Items {
		names = append(names, c.Name)
	}
	Expect(names).To(ContainElement(created.Name), "a list includes the object")
	Expect(list.ResourceVersion).NotTo(BeEmpty(), "a list carries a resourceVersion")

	f.NoError(cms.Delete(ctx, created.Name, metav1.DeleteOptions{}), "delete %s", created.Name)
	_, err = cms.Get(ctx, created.Name, metav1.GetOptions{})
	Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a deleted object reads as 404 NotFound, got %v", err)
	err = cms.Delete(ctx, created.Name, metav1.DeleteOptions{})
	Expect(apierrors.IsNotFound(err)).To(BeTrue(), "deleting it again is 404 NotFound, got %v", err)
	_, err = cms.Create(ctx, configMap(f, "dup", nil), metav1.CreateOptions{})
	f.NoError(err, "create dup")
	_, err = cms.Create(ctx, configMap(f, "dup", nil), metav1.CreateOptions{})
	Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "creating an existing name is 409 AlreadyExists, got %v", err)
})

var _ = framework.Guarantee("API-2", api2, framework.Core, nil, func(ctx context.Context, f *framework.F) {
	cms := f.Client.CoreV1().ConfigMaps(f.Namespace)
	first, err := cms.Create(ctx, configMap(f, "counter", map[string]string{"n": "0"}), metav1.CreateOptions{})
	f.NoError(err, "create counter")
	stale := first.DeepCopy()
	first.Data["n"] = "first"
	_, err = cms.Update(ctx, first, metav1.UpdateOptions{})
	f.NoError(err, "first update")
	stale.Data["n"] = "stale"
	_, err = cms.Update(ctx, stale, metav1.UpdateOptions{})
	Expect(apierrors.IsConflict(err)).To(BeTrue(), "an update with resourceVersion %s after it changed must be 409 Conflict, got %v", stale.ResourceVersion, err)
	got, err := cms.Get(ctx, "counter", metav1.GetOptions{})
	f.NoError(err, "get counter")
	Expect(got.Data["n"]).To(Equal("first"), "the rejected update changed nothing")

	got.Data["n"] = "0"
	_, err = cms.Update(ctx, got, metav1.UpdateOptions{})
	f.NoError(err, "reset counter")
	const workers, increments = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	conflicts := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			c := 0
			for i := 0; i < increments; i++ {
				// Retry until it lands: apimachinery's Backoff stops at its Cap
				// (Steps drops to 0), so with 6 writers on a loaded machine
				// a worker could give up after ~20 lost races. The
				// guarantee is that nothing is lost, not how fast.
				err := retry.RetryOnConflict(wait.Backoff{Steps: 60, Duration: 2 * time.Millisecond, Factor: 1.1, Jitter: 1}, func() error {
					cm, err := cms.Get(ctx, "counter", metav1.GetOptions{})
					if err != nil {
						return err
					}
					n, err := strconv.Atoi(cm.Data["n"])
					if err != nil {
						return err
					}
					cm.Data["n"] = strconv.Itoa(n + 1)
					_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
					if apierrors.IsConflict(err) {
						c++
					}
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
			conflicts <- c
		}()
	}
	wg.Wait()
	close(errs)
	close(conflicts)
	for err := range errs {
		f.NoError(err, "read-modify-write")
	}
	total := 0
	for c := range conflicts {
		total += c
	}
	f.Logf("%d workers × %d increments; %d conflicts retried", workers, increments, total)
	got, err = cms.Get(ctx, "counter", metav1.GetOptions{})
	f.NoError(err, "get counter")
	Expect(got.Data["n"]).To(Equal(strconv.Itoa(workers*increments)), "every increment survives (%d conflicts were retried)", total)
})

// collect reads events from w until n arrived or within passed.
func collect(f *framework.F, w watch.Interface, n int, within time.Duration) []watch.Event {
	var out []watch.Event
	timer := time.NewTimer(within)
	defer timer.Stop()
	for len(out) < n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				f.Logf("watch closed after %d events", len(out))
				return out
			}
			if ev.Type == watch.Bookmark {
				continue
			}
			out = append(out, ev)
		case <-timer.C:
			return out
		}
	}
	return out
}

func describeEvents(evs []watch.Event) string {
	var parts []string
	for _, e := range evs {
		switch o := e.Object.(type) {
		case *corev1.ConfigMap:
			parts = append(parts, fmt.Sprintf("%s %s v=%s", e.Type, o.Name, o.Data["v"]))
		case *metav1.Status:
			parts = append(parts, fmt.Sprintf("%s %d %s", e.Type, o.Code, o.Reason))
		default:
			parts = append(parts, fmt.Sprintf("%s %T", e.Type, e.Object))
		}
	}
	return strings.Join(parts, ", ")
}

var _ = framework.Guarantee("API-3", api3, framework.Core, nil, func(ctx context.Context, f *framework.F) {
	cms := f.Client.CoreV1().ConfigMaps(f.Namespace)
	cm, err := cms.Create(ctx, configMap(f, "watched", map[string]string{"v": "0"}), metav1.CreateOptions{})
	f.NoError(err, "create watched")
	from := cm.ResourceVersion
	const updates = 20
	for i := 1; i <= updates; i++ {
		cm.Data["v"] = strconv.Itoa(i)
		cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		f.NoError(err, "update %d", i)
	}
	f.NoError(cms.Delete(ctx, "watched", metav1.DeleteOptions{}), "delete watched")
	f.Logf("made %d updates and a delete after resourceVersion %s", updates, from)

	// Only this ConfigMap: a namespace is not the spec's alone (Kubernetes'
	// root CA publisher adds kube-root-ca.crt to every new namespace, racing
	// the spec).
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: from, AllowWatchBookmarks: true, FieldSelector: "metadata.name=watched"})
	f.NoError(err, "watch from resourceVersion %s", from)
	defer w.Stop()
	evs := collect(f, w, updates+1, f.Bound(0))
	f.Logf("watch delivered: %s", describeEvents(evs))
	Expect(evs).To(HaveLen(updates+1), "a watch from %s delivers each of the %d later changes exactly once; got %s", from, updates+1, describeEvents(evs))
	last := int64(0)
	for i, ev := range evs {
		if i < updates {
			Expect(ev.Type).To(Equal(watch.Modified), "event %d is a modification; got %s", i, describeEvents(evs))
			Expect(ev.Object.(*corev1.ConfigMap).Data["v"]).To(Equal(strconv.Itoa(i+1)), "modifications arrive in order; got %s", describeEvents(evs))
		} else {
			Expect(ev.Type).To(Equal(watch.Deleted), "the last event is the deletion; got %s", describeEvents(evs))
		}
		rv, _ := strconv.ParseInt(ev.Object.(*corev1.ConfigMap).ResourceVersion, 10, 64)
		if rv != 0 {
			Expect(rv).To(BeNumerically(">", last), "resourceVersions increase along the watch")
			last = rv
		}
	}
	more := collect(f, w, 1, 500*time.Millisecond)
	Expect(more).To(BeEmpty(), "no change is delivered twice; extra: %s", describeEvents(more))
}, framework.Case("in order, once"))

var _ = framework.Guarantee("API-3", api3, framework.Core, []target.Capability{target.Compaction}, func(ctx context.Context, f *framework.F) {
	compactor, ok := f.Faults.(target.Compactor)
	if !ok {
		f.Broke("the target declares compaction but its Faults do not implement Compactor")
	}
	cms := f.Client.CoreV1().ConfigMaps(f.Namespace)
	cm, err := cms.Create(ctx, configMap(f, "old", map[string]string{"v": "0"}), metav1.CreateOptions{})
	f.NoError(err, "create old")
	from := cm.ResourceVersion
	for i := 1; i <= 3; i++ {
		cm.Data["v"] = strconv.Itoa(i)
		cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		f.NoError(err, "update %d", i)
	}
	if err := compactor.Compact(ctx); err != nil {
		f.Broke("compact: %v", err)
	}
	f.Logf("compacted after resourceVersion %s", cm.ResourceVersion)
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: from, FieldSelector: "metadata.name=old"})
	if err != nil {
		Expect(apierrors.IsResourceExpired(err) || apierrors.IsGone(err)).To(BeTrue(), "a watch from compacted resourceVersion %s fails with 410, got %v", from, err)
		return
	}
	defer w.Stop()
	evs := collect(f, w, 1, f.Bound(0))
	Expect(evs).To(HaveLen(1), "a watch from compacted resourceVersion %s must end with a 410 error event", from)
	Expect(evs[0].Type).To(Equal(watch.Error), "a watch from compacted resourceVersion %s delivers an ERROR event, got %s", from, describeEvents(evs))
	st, ok := evs[0].Object.(*metav1.Status)
	Expect(ok).To(BeTrue(), "the ERROR event carries a Status")
	Expect(st.Code).To(BeEquivalentTo(410), "the Status is 410 Expired/Gone: %+v", st)
}, framework.Case("compacted"), Serial)

var _ = framework.Guarantee("API-4", api4, framework.Core, nil, func(ctx context.Context, f *framework.F) {
	cms := f.Client.CoreV1().ConfigMaps(f.Namespace)
	mk := func(name string, labels map[string]string) *corev1.ConfigMap {
		cm := configMap(f, name, map[string]string{"v": "0"})
		cm.Labels = labels
		out, err := cms.Create(ctx, cm, metav1.CreateOptions{})
		f.NoError(err, "create %s", name)
		return out
	}
	mk("a", map[string]string{"tier": "front"})
	mk("b", map[string]string{"tier": "back"})
	mk("c", nil)
	// Only the spec's own objects count: a namespace is not the spec's
	// alone (Kubernetes' root CA publisher adds kube-root-ca.crt to every
	// namespace), and a server ignoring a selector still returns too many of them.
	mine := map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": true}
	names := func(opts metav1.ListOptions) []string {
		l, err := cms.List(ctx, opts)
		f.NoError(err, "list with %+v", opts)
		var out []string
		for _, c := range l.Items {
			if mine[c.Name] {
				out = append(out, c.Name)
			}
		}
		return out
	}
	Expect(names(metav1.ListOptions{LabelSelector: "tier=front"})).To(ConsistOf("a"), "equality label selector")
	Expect(names(metav1.ListOptions{LabelSelector: "tier in (front,back)"})).To(ConsistOf("a", "b"), "set label selector")
	Expect(names(metav1.ListOptions{LabelSelector: "tier,tier!=front"})).To(ConsistOf("b"), "exists and inequality")
	Expect(names(metav1.ListOptions{LabelSelector: "!tier"})).To(ConsistOf("c"), "does-not-exist label selector")
	Expect(names(metav1.ListOptions{FieldSelector: "metadata.name=b"})).To(ConsistOf("b"), "field selector on metadata.name")
	Expect(names(metav1.ListOptions{FieldSelector: "metadata.name!=b", LabelSelector: "tier"})).To(ConsistOf("a"), "field and label selectors together")

	l, err := cms.List(ctx, metav1.ListOptions{})
	f.NoError(err, "list")
	lw, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "tier=front", ResourceVersion: l.ResourceVersion})
	f.NoError(err, "watch tier=front")
	defer lw.Stop()
	fw, err := cms.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=e", ResourceVersion: l.ResourceVersion})
	f.NoError(err, "watch metadata.name=e")
	defer fw.Stop()

	mk("d", map[string]string{"tier": "front"})
	mk("e", map[string]string{"tier": "back"})
	_, err = cms.Patch(ctx, "a", types.MergePatchType, []byte(`{"data":{"v":"1"}}`), metav1.PatchOptions{})
	f.NoError(err, "patch a")
	_, err = cms.Patch(ctx, "b", types.MergePatchType, []byte(`{"data":{"v":"1"}}`), metav1.PatchOptions{})
	f.NoError(err, "patch b")
	_, err = cms.Patch(ctx, "a", types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":"back"}}}`), metav1.PatchOptions{})
	f.NoError(err, "relabel a")

	evs := collect(f, lw, 3, f.Bound(0))
	f.Logf("tier=front watch: %s", describeEvents(evs))
	Expect(describeEvents(evs)).To(Equal("ADDED d v=0, MODIFIED a v=1, DELETED a v=1"),
		"a label-selected watch sees only matching objects, and an object that stops matching as DELETED")
	more := collect(f, lw, 1, 500*time.Millisecond)
	Expect(more).To(BeEmpty(), "nothing else reaches the label-selected watch: %s", describeEvents(more))
	evs = collect(f, fw, 1, f.Bound(0))
	Expect(describeEvents(evs)).To(Equal("ADDED e v=0"), "a field-selected watch sees only its object")
})

var _ = framework.Guarantee("API-5", api5, framework.Core, []target.Capability{target.GarbageCollector}, func(ctx context.Context, f *framework.F) {
	cms := f.Client.CoreV1().ConfigMaps(f.Namespace)
	family := func(owner string, n int) []string {
		o, err := cms.Create(ctx, configMap(f, owner, nil), metav1.CreateOptions{})
		f.NoError(err, "create owner %s", owner)
		var deps []string
		for i := 0; i < n; i++ {
			d := configMap(f, fmt.Sprintf("%s-dep-%d", owner, i), nil)
			d.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: o.Name, UID: o.UID, BlockOwnerDeletion: ptr.To(true)}}
			_, err := cms.Create(ctx, d, metav1.CreateOptions{})
			f.NoError(err, "create dependent %s", d.Name)
			deps = append(deps, d.Name)
		}
		return deps
	}
	existing := func(ctx context.Context, names []string) ([]string, error) {
		var out []string
		for _, n := range names {
			_, err := cms.Get(ctx, n, metav1.GetOptions{})
			switch {
			case err == nil:
				out = append(out, n)
			case !apierrors.IsNotFound(err):
				return nil, err
			}
		}
		return out, nil
	}
	within := f.Bound(0)

	bg := family("background", 3)
	f.NoError(cms.Delete(ctx, "background", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}), "delete background owner")
	f.Await(ctx, "background: dependents deleted", within, func(ctx context.Context) (bool, string, error) {
		left, err := existing(ctx, bg)
		return len(left) == 0, fmt.Sprintf("dependents left: %v", left), err
	})

	fg := family("foreground", 3)
	f.NoError(cms.Delete(ctx, "foreground", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}), "delete foreground owner")
	f.Await(ctx, "foreground: dependents then owner deleted", within, func(ctx context.Context) (bool, string, error) {
		left, err := existing(ctx, append(fg, "foreground"))
		return len(left) == 0, fmt.Sprintf("left: %v", left), err
	})

	or := family("orphan", 3)
	f.NoError(cms.Delete(ctx, "orphan", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)}), "delete orphan owner")
	f.Await(ctx, "orphan: owner gone, dependents kept without the owner reference", within, func(ctx context.Context) (bool, string, error) {
		left, err := existing(ctx, []string{"orphan"})
		if err != nil || len(left) > 0 {
			return false, "the owner still exists", err
		}
		var refs []string
		for _, n := range or {
			d, err := cms.Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, fmt.Sprintf("dependent %s: %v", n, err), nil
			}
			for _, r := range d.OwnerReferences {
				refs = append(refs, n+"→"+r.Name)
			}
		}
		return len(refs) == 0, fmt.Sprintf("owner references left: %v", refs), nil
	})
	f.Hold(ctx, "orphaned dependents stay", f.Env.Limits.Quiet, func(ctx context.Context) (bool, string, error) {
		left, err := existing(ctx, or)
		return len(left) == len(or), fmt.Sprintf("dependents: %v", left), err
	})
})

// invalid asserts err is 422 Invalid with a cause naming field.
func invalid(err error, field, what string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "%s must be rejected", what)
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s must be rejected with 422 Invalid, got %v", what, err)
	st, ok := err.(apierrors.APIStatus)
	Expect(ok).To(BeTrue())
	var fields []string
	if d := st.Status().Details; d != nil {
		for _, c := range d.Causes {
			fields = append(fields, c.Field)
		}
	}
	Expect(fields).To(ContainElement(HavePrefix(field)), "%s: the Status names the field %s among its causes", what, field)
}

var _ = framework.Guarantee("API-6", api6, framework.Core, nil, func(ctx context.Context, f *framework.F) {
	_, err := f.Client.CoreV1().ConfigMaps(f.Namespace).Create(ctx, configMap(f, "Not_A_DNS_Name", nil), metav1.CreateOptions{})
	invalid(err, "metadata.name", "a ConfigMap named Not_A_DNS_Name")

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "no-containers", Namespace: f.Namespace}}
	_, err = f.Client.CoreV1().Pods(f.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	invalid(err, "spec.containers", "a pod without containers")

	d := f.Deployment("mismatch", 1)
	d.Spec.Template.Labels = map[string]string{"app": "other"}
	_, err = f.Client.AppsV1().Deployments(f.Namespace).Create(ctx, d, metav1.CreateOptions{})
	invalid(err, "spec.template.metadata.labels", "a Deployment whose selector does not match its template")

	svc := f.Service("badport")
	svc.Spec.Ports[0].Port = 70000
	_, err = f.Client.CoreV1().Services(f.Namespace).Create(ctx, svc, metav1.CreateOptions{})
	invalid(err, "spec.ports[0].port", "a Service with port 70000")

	good, err := f.Client.CoreV1().ConfigMaps(f.Namespace).Create(ctx, configMap(f, "good", map[string]string{"k": "v"}), metav1.CreateOptions{})
	f.NoError(err, "create good")
	good.Labels = map[string]string{"bad key!": "x"}
	_, err = f.Client.CoreV1().ConfigMaps(f.Namespace).Update(ctx, good, metav1.UpdateOptions{})
	invalid(err, "metadata.labels", "an update with an invalid label key")

	cms, err := f.Client.CoreV1().ConfigMaps(f.Namespace).List(ctx, metav1.ListOptions{})
	f.NoError(err, "list ConfigMaps")
	var names []string
	for _, c := range cms.Items {
		names = append(names, c.Name)
		if c.Name == "good" {
			Expect(c.Labels).To(BeEmpty(), "the rejected update changed nothing")
		}
	}
	Expect(names).NotTo(ContainElement("Not_A_DNS_Name"), "nothing invalid is stored")
	_, err = f.Client.CoreV1().Pods(f.Namespace).Get(ctx, "no-containers", metav1.GetOptions{})
	Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the invalid pod is not stored")
	_, err = f.Client.AppsV1().Deployments(f.Namespace).Get(ctx, "mismatch", metav1.GetOptions{})
	Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the invalid Deployment is not stored")
})
