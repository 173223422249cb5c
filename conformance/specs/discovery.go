package specs

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	. "github.com/onsi/gomega"    //nolint:revive // the Gomega DSL
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/conformance/expect"
	"github.com/project-seven/seven/conformance/framework"
)

const (
	sd1 = "A ClusterIP Service reaches only ready endpoints, and all of them."
	sd2 = "DNS resolves Services to ClusterIPs and headless Services to ready pod IPs, with SRV records for named ports."
	sd3 = "Endpoints follow readiness and deletion within the bound."
	sd4 = "Pods get SERVICE_HOST and SERVICE_PORT variables for the Services that exist when they start."
	sd5 = "A NodePort Service answers on every node."
)

// backends starts n ready pods of app plus unready ones (whose readiness
// fails from the start), and returns the ready pods.
func backends(ctx context.Context, f *framework.F, app string, ready, unready int) []corev1.Pod {
	GinkgoHelper()
	for i := 0; i < ready+unready; i++ {
		opts := []framework.PodOption{framework.WithReadiness()}
		if i >= ready {
			opts = append(opts, framework.WithEnv("READYZ_FAIL_AFTER", "1ms"))
		}
		p := f.Pod(fmt.Sprintf("%s-%d", app, i), opts...)
		p.Labels = map[string]string{"app": app}
		if i >= ready {
			p.Labels["state"] = "unready"
		}
		expect.CreatePod(ctx, f, p)
	}
	return expect.PodsMatch(ctx, f, "app="+app+",!state", fmt.Sprintf("%d ready", ready), f.Bound(f.PodStart()), func(ps []corev1.Pod) bool {
		n := 0
		for _, p := range ps {
			if expect.PodReady(&p) {
				n++
			}
		}
		return n == ready
	})
}

var _ = framework.Guarantee("SD-1", sd1, framework.Core, caps("pods", "endpoints", "service-proxy"), func(ctx context.Context, f *framework.F) {
	svc := expect.CreateService(ctx, f, f.Service("web"))
	ready := backends(ctx, f, "web", 3, 1)
	expect.EndpointsAre(ctx, f, "web", expect.PodIPs(ready), f.Bound(f.Timings.EndpointsSyncDelay))
	client := clientPod(ctx, f, "client")
	want := map[string]bool{}
	for _, p := range ready {
		want[p.Name] = true
	}
	url := fmt.Sprintf("http://%s:80/", svc.Spec.ClusterIP)
	seen := map[string]int{}
	f.Await(ctx, "every ready endpoint answers through "+url, f.Bound(0), func(ctx context.Context) (bool, string, error) {
		a, err := httpGet(ctx, f, client.Name, url)
		if err != nil {
			return false, fmt.Sprintf("answers so far %v; last request: %v", seen, err), nil
		}
		seen[a.Pod]++
		if !want[a.Pod] {
			Fail(fmt.Sprintf("the Service's ClusterIP routed to %s, which is not a ready endpoint (answers so far %v)", a.Pod, seen))
		}
		return len(seen) == len(want), fmt.Sprintf("answers so far %v", seen), nil
	})
	for i := 0; i < 15; i++ {
		a, err := httpGet(ctx, f, client.Name, url)
		f.NoError(err, "request %d through the ClusterIP", i)
		seen[a.Pod]++
		Expect(want).To(HaveKey(a.Pod), "only ready endpoints answer (answers %v)", seen)
	}
	f.Logf("answers: %v", seen)
})

var _ = framework.Guarantee("SD-2", sd2, framework.Core, caps("pods", "endpoints", "dns"), func(ctx context.Context, f *framework.F) {
	svc := expect.CreateService(ctx, f, f.Service("web"))
	headless := f.Service("web")
	headless.Name = "web-headless"
	headless.Spec.ClusterIP = corev1.ClusterIPNone
	expect.CreateService(ctx, f, headless)
	ready := backends(ctx, f, "web", 2, 1)
	client := clientPod(ctx, f, "client")
	domain := f.Namespace + ".svc.cluster.local"
	within := f.Bound(f.Timings.EndpointsSyncDelay)
	resolves := func(args []string, want string) {
		GinkgoHelper()
		f.Await(ctx, fmt.Sprintf("dns %s answers %q", strings.Join(args, " "), want), within, func(ctx context.Context) (bool, string, error) {
			out, err := f.Fixture(ctx, client.Name, append([]string{"dns"}, args...)...)
			if err != nil {
				return false, err.Error(), nil
			}
			got := strings.Join(strings.Fields(out), " ")
			return got == want, got, nil
		})
	}
	resolves([]string{"web." + domain}, svc.Spec.ClusterIP)
	resolves([]string{"web-headless." + domain}, strings.Join(expect.PodIPs(ready), " "))
	resolves([]string{"--srv", "_http._tcp.web." + domain}, "web."+domain+". 80")
	var srv []string
	for range ready {
		srv = append(srv, fmt.Sprintf("%d", framework.FixturePort))
	}
	f.Await(ctx, "headless SRV lists a target per ready pod on the named port", within, func(ctx context.Context) (bool, string, error) {
		out, err := f.Fixture(ctx, client.Name, "dns", "--srv", "_http._tcp.web-headless."+domain)
		if err != nil {
			return false, err.Error(), nil
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var ports []string
		for _, l := range lines {
			if fs := strings.Fields(l); len(fs) == 2 {
				ports = append(ports, fs[1])
			}
		}
		sort.Strings(ports)
		return strings.Join(ports, ",") == strings.Join(srv, ","), strings.TrimSpace(out), nil
	})
})

var _ = framework.Guarantee("SD-3", sd3, framework.Core, caps("pods", "deployment", "replicaset", "endpoints"), func(ctx context.Context, f *framework.F) {
	expect.CreateService(ctx, f, f.Service("web"))
	expect.CreateDeployment(ctx, f, f.Deployment("web", 2, framework.WithReadiness()))
	pods := expect.PodsReady(ctx, f, "app=web", 2, f.Bound(f.PodStart()))
	bound := f.Bound(f.Timings.EndpointsSyncDelay)
	expect.EndpointsAre(ctx, f, "web", expect.PodIPs(pods), bound)

	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](3) })
	pods = expect.PodsReady(ctx, f, "app=web", 3, f.Bound(f.PodStart()))
	expect.EndpointsAre(ctx, f, "web", expect.PodIPs(pods), bound)

	// Readiness: an unready pod's address moves to the not-ready endpoints
	// and comes back when it is ready again.
	unready := pods[1]
	post(ctx, f, &unready, "/readyz/fail")
	f.Await(ctx, "the unready pod's address leaves the ready endpoints", f.Bound(2*time.Second+f.Timings.EndpointsSyncDelay), func(ctx context.Context) (bool, string, error) {
		ready, notReady, err := expect.EndpointIPs(ctx, f, "web")
		return err == nil && !slices.Contains(ready, unready.Status.PodIP), fmt.Sprintf("ready=%v notReady=%v", ready, notReady), err
	})
	post(ctx, f, &unready, "/readyz/ok")
	expect.EndpointsAre(ctx, f, "web", expect.PodIPs(pods), f.Bound(2*time.Second+f.Timings.EndpointsSyncDelay))

	victim := pods[0]
	f.NoError(f.Client.CoreV1().Pods(f.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{}), "delete %s", victim.Name)
	f.Logf("deleted %s (%s)", victim.Name, victim.Status.PodIP)
	f.Await(ctx, "the deleted pod's address leaves the ready endpoints", bound, func(ctx context.Context) (bool, string, error) {
		ready, notReady, err := expect.EndpointIPs(ctx, f, "web")
		for _, ip := range ready {
			if ip == victim.Status.PodIP {
				return false, fmt.Sprintf("ready=%v notReady=%v", ready, notReady), err
			}
		}
		return err == nil, fmt.Sprintf("ready=%v notReady=%v", ready, notReady), err
	})
	pods = expect.PodsReady(ctx, f, "app=web", 3, f.Bound(f.PodStart()))
	expect.EndpointsAre(ctx, f, "web", expect.PodIPs(pods), bound)

	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](1) })
	pods = expect.PodsReady(ctx, f, "app=web", 1, f.Bound(f.PodStart()))
	expect.EndpointsAre(ctx, f, "web", expect.PodIPs(pods), bound)
})

var _ = framework.Guarantee("SD-4", sd4, framework.Core, podsOnly, func(ctx context.Context, f *framework.F) {
	svc := expect.CreateService(ctx, f, f.Service("web-api"))
	// A node knows the Services through a watch: a pod started while its
	// node's view lags (its watch reconnecting after an API server restart,
	// say) may miss a Service created just before, upstream's kubelet as
	// Seven's. Such a pod is replaced by another; one that ignores the
	// Services misses them every time, and the third reader fails the spec.
	const attempts = 3
	for i := 1; ; i++ {
		name := fmt.Sprintf("reader-%d", i)
		p := clientPod(ctx, f, name)
		url := fmt.Sprintf("http://%s:%d/env", p.Status.PodIP, framework.FixturePort)
		out, err := f.Fixture(ctx, p.Name, "get", url, "--timeout", "2s")
		if err != nil {
			f.Broke("read the environment: %v", err)
		}
		env := strings.Split(out, "\n")
		if i < attempts && !slices.Contains(env, "WEB_API_SERVICE_HOST="+svc.Spec.ClusterIP) {
			f.Logf("pod %s started without the Service's variables; starting another", name)
			f.NoError(f.Client.CoreV1().Pods(f.Namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}), "delete %s", name)
			continue
		}
		Expect(env).To(ContainElement("WEB_API_SERVICE_HOST="+svc.Spec.ClusterIP), "the Service's host variable is set")
		Expect(env).To(ContainElement("WEB_API_SERVICE_PORT=80"), "the Service's port variable is set")
		Expect(env).To(ContainElement("WEB_API_SERVICE_PORT_HTTP=80"), "the named port's variable is set")
		return
	}
})

var _ = framework.Guarantee("SD-5", sd5, framework.Extended, caps("pods", "endpoints", "node-port"), func(ctx context.Context, f *framework.F) {
	svc := f.Service("web")
	svc.Spec.Type = corev1.ServiceTypeNodePort
	svc = expect.CreateService(ctx, f, svc)
	port := svc.Spec.Ports[0].NodePort
	Expect(port).NotTo(BeZero(), "a NodePort is allocated")
	ready := backends(ctx, f, "web", 2, 0)
	expect.EndpointsAre(ctx, f, "web", expect.PodIPs(ready), f.Bound(f.Timings.EndpointsSyncDelay))
	client := clientPod(ctx, f, "client")
	nodes := expect.SchedulableNodes(ctx, f, 1)
	for _, n := range nodes {
		addr := ""
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				addr = a.Address
			}
		}
		if addr == "" {
			f.Broke("node %s has no InternalIP", n.Name)
		}
		url := fmt.Sprintf("http://%s:%d/", addr, port)
		f.Await(ctx, "node "+n.Name+" answers on "+url, f.Bound(2*time.Second), func(ctx context.Context) (bool, string, error) {
			a, err := httpGet(ctx, f, client.Name, url)
			if err != nil {
				return false, err.Error(), nil
			}
			return true, "answered by " + a.Pod, nil
		})
	}
})
