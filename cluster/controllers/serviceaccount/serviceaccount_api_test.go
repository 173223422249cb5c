package serviceaccount_test

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

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/serviceaccount"
	"github.com/project-seven/seven/cluster/timings"
)

// TestDefaultServiceAccount: against the real API server, every namespace
// gets the default ServiceAccount; a deleted one comes back, an edited one
// is left as edited, and a terminating namespace gets none.
func TestDefaultServiceAccount(t *testing.T) {
	env := controllertest.Start(t)
	var logs lockedBuffer
	c, err := serviceaccount.New(serviceaccount.Config{Client: env.Client, Informers: env.Informers, Timings: timings.Fast(),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, c)
	ctx := context.Background()

	// present waits for ns's default ServiceAccount and returns it; not is
	// a UID it must no longer have ("": any).
	present := func(what, ns string, not types.UID) *corev1.ServiceAccount {
		t.Helper()
		var sa *corev1.ServiceAccount
		controllertest.Eventually(t, 20*time.Second, what, func() (bool, string) {
			got, err := env.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			sa = got
			return got.UID != not, controllertest.Sprintf("uid %s", got.UID)
		})
		return sa
	}
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		present("the namespaces there before it started", ns, "")
	}

	mkNamespace := func(name string) {
		t.Helper()
		if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deleteSA := func(ns string) {
		t.Helper()
		if err := env.Client.CoreV1().ServiceAccounts(ns).Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkNamespace("team")
	first := present("a new namespace", "team", "")
	deleteSA("team")
	again := present("recreated after deletion", "team", first.UID)

	// An edit is the editor's: nothing is reset. The namespace's next
	// change syncs it (a label), then a barrier: the one worker takes
	// namespaces in order, so once another namespace's deleted default is
	// back, team's sync is done.
	edited := again.DeepCopy()
	edited.AutomountServiceAccountToken = new(bool)
	edited.Labels = map[string]string{"tier": "test"}
	if _, err := env.Client.CoreV1().ServiceAccounts("team").Update(ctx, edited, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	touch := func(ns string) {
		t.Helper()
		patch := []byte(`{"metadata":{"labels":{"touched":"` + time.Now().Format("150405.000000") + `"}}}`)
		if _, err := env.Client.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkNamespace("barrier")
	barrier := present("the barrier's namespace", "barrier", "")
	barrierPassed := func() {
		t.Helper()
		deleteSA("barrier")
		barrier = present("the barrier", "barrier", barrier.UID)
	}
	touch("team")
	barrierPassed()
	got := present("after an edit", "team", "")
	if got.UID != again.UID || got.AutomountServiceAccountToken == nil || *got.AutomountServiceAccountToken || got.Labels["tier"] != "test" {
		t.Errorf("the edited default was replaced or reset: uid %s (was %s), automount %v, labels %v",
			got.UID, again.UID, got.AutomountServiceAccountToken, got.Labels)
	}

	// A terminating namespace gets none. With no namespace controller
	// running, a deleted namespace stays Terminating (its "kubernetes"
	// finalizer), and its content can still be deleted.
	mkNamespace("doomed")
	present("before its deletion", "doomed", "")
	if err := env.Client.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Its deletion is in the controller's cache before its ServiceAccount
	// goes, so the controller decides on a terminating one.
	controllertest.Eventually(t, 20*time.Second, "terminating in the cache", func() (bool, string) {
		ns, err := env.Informers.Core().V1().Namespaces().Lister().Get("doomed")
		if err != nil {
			return false, err.Error()
		}
		return ns.DeletionTimestamp != nil && ns.Status.Phase == corev1.NamespaceTerminating, string(ns.Status.Phase)
	})
	deleteSA("doomed")
	barrierPassed()
	if sa, err := env.Client.CoreV1().ServiceAccounts("doomed").Get(ctx, "default", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a terminating namespace got its default ServiceAccount again: %v, err %v", sa, err)
	}
	// It did not try either (the API server would refuse): one create, before the deletion.
	n := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "msg=create ") && strings.Contains(line, "namespace=doomed") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d creates in doomed, want 1 (before its deletion):\n%s", n, logs.String())
	}
}

// lockedBuffer is a log sink the controller's worker writes while the test reads.
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
