package kubelet

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/project-seven/seven/cluster/proxy"
)

// hostPorts forwards the hostPorts of pods that have a network namespace of
// their own from the node to the pod, as the CNI portmap plugin does on an
// upstream node: a listener on hostIP:hostPort (the node IP when the port
// names none) relays each TCP connection to podIP:containerPort. (The
// scheduler keeps two pods of a node from claiming one hostPort.)
type hostPorts struct {
	nodeIP string

	mu    sync.Mutex
	byPod map[types.UID][]net.Listener
}

func newHostPorts(nodeIP string) *hostPorts {
	return &hostPorts{nodeIP: nodeIP, byPod: map[types.UID][]net.Listener{}}
}

// wanted are the pod's hostPort mappings: listen address → pod address.
func wantedHostPorts(pod *corev1.Pod, nodeIP, podIP string) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
				return nil, fmt.Errorf("hostPort %d/%s: only TCP hostPorts are forwarded", p.HostPort, p.Protocol)
			}
			ip := p.HostIP
			if ip == "" {
				ip = nodeIP
			}
			out[net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort)))] = net.JoinHostPort(podIP, strconv.Itoa(int(p.ContainerPort)))
		}
	}
	return out, nil
}

// ensure opens the pod's forwarders once; it is a no-op when they are open.
func (h *hostPorts) ensure(pod *corev1.Pod, podIP string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.byPod[pod.UID]; ok {
		return nil
	}
	want, err := wantedHostPorts(pod, h.nodeIP, podIP)
	if err != nil || len(want) == 0 {
		return err
	}
	var open []net.Listener
	for listen, target := range want {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			for _, l := range open {
				l.Close()
			}
			return fmt.Errorf("hostPort %s: %w", listen, err)
		}
		open = append(open, ln)
		go forward(ln, target)
	}
	h.byPod[pod.UID] = open
	return nil
}

// release closes the pod's forwarders (connections in flight go on).
func (h *hostPorts) release(uid types.UID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.byPod[uid] {
		l.Close()
	}
	delete(h.byPod, uid)
}

// closeAll closes every forwarder (the kubelet stops).
func (h *hostPorts) closeAll() {
	h.mu.Lock()
	uids := make([]types.UID, 0, len(h.byPod))
	for uid := range h.byPod {
		uids = append(uids, uid)
	}
	h.mu.Unlock()
	for _, uid := range uids {
		h.release(uid)
	}
}

func forward(ln net.Listener, target string) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		go func() {
			b, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				return
			}
			proxy.Relay(c.(*net.TCPConn), b.(*net.TCPConn))
		}()
	}
}
