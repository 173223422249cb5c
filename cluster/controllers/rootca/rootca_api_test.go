package rootca_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/rootca"
	"github.com/project-seven/seven/cluster/timings"
)

// TestRootCAPublished: against the real API server, every namespace gets
// kube-root-ca.crt with the bundle; a deleted one comes back, an edited one
// is reset, and a terminating namespace gets none.
func TestRootCAPublished(t *testing.T) {
	env := controllertest.Start(t)
	bundle := string(env.Config.CAData)
	var logs lockedBuffer
	c, err := rootca.New(rootca.Config{
		Config: controllers.Config{Client: env.Client, Informers: env.Informers, Timings: timings.Fast(),
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		Bundle: env.Config.CAData,
	})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, c)
	ctx := context.Background()

	// published waits for ns's kube-root-ca.crt as the publisher writes it
	// and returns it; not is a UID it must no longer have (0: any).
	published := func(what, ns string, not types.UID) *corev1.ConfigMap {
		t.Helper()
		var cm *corev1.ConfigMap
		controllertest.Eventually(t, 20*time.Second, what, func() (bool, string) {
			got, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, rootca.ConfigMapName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			cm = got
			ok := got.UID != not && len(got.Data) == 1 && got.Data["ca.crt"] == bundle &&
				got.Annotations["kubernetes.io/description"] == rootca.Description
			return ok, controllertest.Sprintf("uid %s, data %q, annotations %v", got.UID, got.Data, got.Annotations)
		})
		return cm
	}

	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		published("the namespaces there before it started", ns, "")
	}

	// A new namespace gets it.
	mkNamespace := func(name string) {
		t.Helper()
		if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkNamespace("team")
	first := published("a new namespace", "team", "")

	// A deleted one comes back (a new object).
	deleteCM := func(ns string) {
		t.Helper()
		if err := env.Client.CoreV1().ConfigMaps(ns).Delete(ctx, rootca.ConfigMapName, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deleteCM("team")
	again := published("recreated after deletion", "team", first.UID)

	// An edited one is reset; what else the editor added stays.
	edited := again.DeepCopy()
	edited.Data = map[string]string{"ca.crt": "not a CA", "extra": "x"}
	edited.Annotations = map[string]string{"owner": "someone"}
	edited.Labels = map[string]string{"tier": "test"}
	if _, err := env.Client.CoreV1().ConfigMaps("team").Update(ctx, edited, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	reset := published("reset after an edit", "team", "")
	if reset.UID != again.UID || reset.Annotations["owner"] != "someone" || reset.Labels["tier"] != "test" {
		t.Errorf("reset replaced the object or dropped what else it carried: uid %s (was %s), annotations %v, labels %v",
			reset.UID, again.UID, reset.Annotations, reset.Labels)
	}

	// A terminating namespace gets none. With no namespace controller
	// running, a deleted namespace stays Terminating (its "kubernetes"
	// finalizer), and its content can still be deleted.
	mkNamespace("doomed")
	published("before its deletion", "doomed", "")
	if err := env.Client.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 20*time.Second, "namespace terminating", func() (bool, string) {
		ns, err := env.Client.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return ns.Status.Phase == corev1.NamespaceTerminating, string(ns.Status.Phase)
	})
	// Its deletion is in the controller's cache (the shared informer) before
	// its ConfigMap goes, so the controller decides on a terminating one.
	controllertest.Eventually(t, 20*time.Second, "terminating in the cache", func() (bool, string) {
		ns, err := env.Informers.Core().V1().Namespaces().Lister().Get("doomed")
		if err != nil {
			return false, err.Error()
		}
		return ns.DeletionTimestamp != nil, string(ns.Status.Phase)
	})
	deleteCM("doomed")
	// A barrier: the same informer then sees team's deletion, and the one
	// worker takes namespaces in order; once team's is back, doomed's
	// deletion has been handled.
	current := published("team's before the barrier", "team", "")
	deleteCM("team")
	published("the barrier", "team", current.UID)
	time.Sleep(200 * time.Millisecond)
	if cm, err := env.Client.CoreV1().ConfigMaps("doomed").Get(ctx, rootca.ConfigMapName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a terminating namespace got kube-root-ca.crt again: %v, err %v", cm, err)
	}
	// It did not try: the API server would refuse, and the controller would
	// retry with back-off.
	creates, failures := 0, 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "msg=create ") && strings.Contains(line, "namespace=doomed") {
			creates++
		}
		if strings.Contains(line, "key=doomed") {
			failures++
		}
	}
	if creates != 1 || failures != 0 {
		t.Errorf("the controller wrote to the terminating namespace (one create expected, before its deletion):\n%s", logs.String())
	}
}

// lockedBuffer is a log sink the controller's workers write while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
