package apiserver

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/project-seven/seven/cluster/registry"
)

// Allocation works by reservation keys: choosing a ClusterIP or NodePort is a
// guess, and the storage transaction that writes the Service also creates one
// key per IP and port, failing if any exists. So two Services never share an
// IP, and deleting a Service releases its keys in the same transaction.
const (
	ipKeyPrefix   = "/registry/ranges/serviceips/"
	portKeyPrefix = "/registry/ranges/servicenodeports/"
)

type ipAllocator struct {
	cidr *net.IPNet
	base *big.Int
	size int64 // usable addresses: the network address is never handed out
}

func newIPAllocator(cidr string) (*ipAllocator, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil || n.IP.To4() == nil {
		return nil, fmt.Errorf("service cluster IP range %q: want an IPv4 CIDR", cidr)
	}
	ones, bits := n.Mask.Size()
	size := int64(1)<<(bits-ones) - 2 // no network, no broadcast
	if size < 2 {
		return nil, fmt.Errorf("service cluster IP range %q is too small", cidr)
	}
	return &ipAllocator{cidr: n, base: new(big.Int).SetBytes(n.IP.To4()), size: size}, nil
}

func (a *ipAllocator) at(offset int64) net.IP {
	v := new(big.Int).Add(a.base, big.NewInt(offset))
	b := v.Bytes()
	ip := make(net.IP, 4)
	copy(ip[4-len(b):], b)
	return ip
}

// first is the range's first usable IP, reserved for the kubernetes Service.
func (a *ipAllocator) first() (net.IP, error) { return a.at(1), nil }

func (a *ipAllocator) random() net.IP { return a.at(2 + rand.Int64N(a.size-1)) }

type portAllocator struct{ base, size int }

func newPortAllocator(r string) (*portAllocator, error) {
	lo, hi, ok := strings.Cut(r, "-")
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || a <= 0 || b < a || b > 65535 {
		return nil, fmt.Errorf("node port range %q: want LOW-HIGH", r)
	}
	return &portAllocator{base: a, size: b - a + 1}, nil
}

func (a *portAllocator) contains(p int32) bool {
	return int(p) >= a.base && int(p) < a.base+a.size
}

func (a *portAllocator) random() int32 { return int32(a.base + rand.IntN(a.size)) }

// reservedKeys lists the reservation keys an object holds.
func reservedKeys(res *registry.Resource, obj runtime.Object) []string {
	svc, ok := obj.(*corev1.Service)
	if !ok || res.Name != "services" {
		return nil
	}
	var keys []string
	for _, ip := range svc.Spec.ClusterIPs {
		if ip != "" && ip != corev1.ClusterIPNone {
			keys = append(keys, ipKeyPrefix+ip)
		}
	}
	if len(svc.Spec.ClusterIPs) == 0 && svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		keys = append(keys, ipKeyPrefix+svc.Spec.ClusterIP)
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			keys = append(keys, portKeyPrefix+strings.ToLower(string(p.Protocol))+"/"+strconv.Itoa(int(p.NodePort)))
		}
	}
	return keys
}

// releasedKeys are the keys old holds and newObj does not.
func releasedKeys(res *registry.Resource, old, newObj runtime.Object) []string {
	return difference(reservedKeys(res, old), reservedKeys(res, newObj))
}

func difference(a, b []string) []string {
	in := map[string]bool{}
	for _, k := range b {
		in[k] = true
	}
	var out []string
	for _, k := range a {
		if !in[k] {
			out = append(out, k)
		}
	}
	return out
}

// allocate fills a Service's ClusterIP and NodePorts (keeping old's on
// update) and returns the reservation keys the write must newly claim.
func (s *Server) allocate(_ context.Context, res *registry.Resource, obj, old runtime.Object) ([]string, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok || res.Name != "services" {
		return nil, nil
	}
	var prev *corev1.Service
	if old != nil {
		prev = old.(*corev1.Service)
	}
	spec := &svc.Spec
	path := field.NewPath("spec")
	if spec.Type == corev1.ServiceTypeExternalName {
		spec.ClusterIP, spec.ClusterIPs = "", nil
	} else {
		if spec.ClusterIP == "" && len(spec.ClusterIPs) > 0 {
			spec.ClusterIP = spec.ClusterIPs[0]
		}
		if spec.ClusterIP == "" && prev != nil && prev.Spec.ClusterIP != "" {
			spec.ClusterIP = prev.Spec.ClusterIP
		}
		switch ip := spec.ClusterIP; {
		case ip == "":
			spec.ClusterIP = s.ips.random().String()
		case ip == corev1.ClusterIPNone:
		case net.ParseIP(ip) == nil:
			return nil, s.invalidService(svc, field.Invalid(path.Child("clusterIPs").Index(0), ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
		case !s.ips.cidr.Contains(net.ParseIP(ip)) && (prev == nil || prev.Spec.ClusterIP != ip):
			return nil, s.invalidService(svc, field.Invalid(path.Child("clusterIPs").Index(0), ip, fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, ip, s.ips.cidr)))
		}
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
	needsNodePort := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if !needsNodePort {
			p.NodePort = 0
			continue
		}
		if p.NodePort == 0 && prev != nil {
			for _, pp := range prev.Spec.Ports {
				if pp.Port == p.Port && pp.Protocol == p.Protocol && pp.NodePort != 0 {
					p.NodePort = pp.NodePort
				}
			}
		}
		if p.NodePort == 0 {
			p.NodePort = s.ports.random()
		} else if !s.ports.contains(p.NodePort) {
			return nil, s.invalidService(svc, field.Invalid(path.Child("ports").Index(i).Child("nodePort"), p.NodePort, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", s.ports.base, s.ports.base+s.ports.size-1)))
		}
	}
	keys := reservedKeys(res, svc)
	if prev != nil {
		keys = difference(keys, reservedKeys(res, prev))
	}
	return keys, nil
}

func (s *Server) invalidService(svc *corev1.Service, err *field.Error) error {
	return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{err})
}
