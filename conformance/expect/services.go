package expect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/conformance/framework"
)

// CreateService creates s.
func CreateService(ctx context.Context, f *framework.F, s *corev1.Service) *corev1.Service {
	GinkgoHelper()
	out, err := f.Client.CoreV1().Services(f.Namespace).Create(ctx, s, metav1.CreateOptions{})
	f.NoError(err, "create service %s", s.Name)
	f.Logf("created service %s (clusterIP %s)", s.Name, out.Spec.ClusterIP)
	return out
}

// EndpointIPs returns the ready and not-ready addresses of a Service, from
// its EndpointSlices when it has any, else from its Endpoints.
func EndpointIPs(ctx context.Context, f *framework.F, service string) (ready, notReady []string, err error) {
	slices, err := f.Client.DiscoveryV1().EndpointSlices(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err == nil && len(slices.Items) > 0 {
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				r := e.Conditions.Ready == nil || *e.Conditions.Ready
				if e.Conditions.Terminating != nil && *e.Conditions.Terminating {
					r = false
				}
				if r {
					ready = append(ready, e.Addresses...)
				} else {
					notReady = append(notReady, e.Addresses...)
				}
			}
		}
		sort.Strings(ready)
		sort.Strings(notReady)
		return ready, notReady, nil
	}
	ep, err := f.Client.CoreV1().Endpoints(f.Namespace).Get(ctx, service, metav1.GetOptions{}) //nolint:staticcheck // Endpoints is still served
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			ready = append(ready, a.IP)
		}
		for _, a := range s.NotReadyAddresses {
			notReady = append(notReady, a.IP)
		}
	}
	sort.Strings(ready)
	sort.Strings(notReady)
	return ready, notReady, nil
}

// EndpointsAre waits until the Service's ready addresses are exactly ips.
func EndpointsAre(ctx context.Context, f *framework.F, service string, ips []string, within time.Duration) {
	GinkgoHelper()
	want := append([]string(nil), ips...)
	sort.Strings(want)
	f.Await(ctx, fmt.Sprintf("service %s ready endpoints = %v", service, want), within, func(ctx context.Context) (bool, string, error) {
		ready, notReady, err := EndpointIPs(ctx, f, service)
		if err != nil {
			return false, "", err
		}
		return strings.Join(ready, ",") == strings.Join(want, ","), fmt.Sprintf("ready=%v notReady=%v", ready, notReady), nil
	})
}

// PodIPs returns the pods' IPs.
func PodIPs(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		if p.Status.PodIP != "" {
			out = append(out, p.Status.PodIP)
		}
	}
	sort.Strings(out)
	return out
}
