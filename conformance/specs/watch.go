package specs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	toolswatch "k8s.io/client-go/tools/watch"

	"github.com/project-seven/seven/conformance/expect"
	"github.com/project-seven/seven/conformance/framework"
)

// podWatcher keeps the pods matching a selector up to date from a watch and
// checks an invariant at every observed state (every event), recording the
// first violations.
type podWatcher struct {
	f         *framework.F
	mu        sync.Mutex
	pods      map[string]*corev1.Pod
	states    int
	violation []string
	stop      context.CancelFunc
	done      chan struct{}
}

// invariant returns "" when the state is fine, else what is wrong.
type invariant func(pods map[string]*corev1.Pod) string

func watchPods(ctx context.Context, f *framework.F, selector string, inv invariant) *podWatcher {
	GinkgoHelper()
	list, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	f.NoError(err, "list pods %s", selector)
	w := &podWatcher{f: f, pods: map[string]*corev1.Pod{}, done: make(chan struct{})}
	for i := range list.Items {
		w.pods[list.Items[i].Name] = &list.Items[i]
	}
	w.check(inv, "initial list")
	wctx, cancel := context.WithCancel(ctx)
	w.stop = cancel
	rw, err := toolswatch.NewRetryWatcherWithContext(wctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return f.Client.CoreV1().Pods(f.Namespace).Watch(ctx, o)
		},
	})
	f.NoError(err, "watch pods %s", selector)
	go func() {
		defer GinkgoRecover()
		defer close(w.done)
		defer rw.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case ev, ok := <-rw.ResultChan():
				if !ok {
					return
				}
				p, ok := ev.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				w.mu.Lock()
				if ev.Type == watch.Deleted {
					delete(w.pods, p.Name)
				} else {
					w.pods[p.Name] = p
				}
				w.mu.Unlock()
				w.check(inv, fmt.Sprintf("%s %s", ev.Type, expect.DescribePod(p)))
			}
		}
	}()
	return w
}

func (w *podWatcher) check(inv invariant, cause string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.states++
	if msg := inv(w.pods); msg != "" && len(w.violation) < 10 {
		v := fmt.Sprintf("after %s: %s; pods: %s", cause, msg, describeMap(w.pods))
		w.violation = append(w.violation, v)
		w.f.Logf("VIOLATION %s", v)
	}
}

// finish stops the watch and returns the number of observed states and the violations.
func (w *podWatcher) finish() (int, []string) {
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.states, w.violation
}

func describeMap(pods map[string]*corev1.Pod) string {
	var ps []corev1.Pod
	for _, p := range pods {
		ps = append(ps, *p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return expect.DescribePods(ps)
}

func image(p *corev1.Pod) string { return p.Spec.Containers[0].Image }

func countImages(pods map[string]*corev1.Pod, live bool) string {
	n := map[string]int{}
	for _, p := range pods {
		if !live || expect.Live(p) {
			n[image(p)]++
		}
	}
	var parts []string
	for k, v := range n {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
