package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Addressing. Local clusters on one host share its network namespace, so
// each takes a slot k, held with a lock file for its lifetime, and its own
// ranges. Node n counts from 1.
//
// With a namespace per pod (CNI mode, as root) node n has the IP
// 10.(160+k).254.n (its kubelet API, NodePorts, hostPorts: reachable from
// pods, as a node's address is), its pods 10.(200+k).n.0/24 on a bridge of
// their own; Services get ClusterIPs from 10.(160+k).0.0/16, and the cluster
// DNS answers on 10.(160+k).255.53 behind the kube-dns ClusterIP
// 10.(160+k).0.10. The node and service addresses sit on a dummy device
// s7c<k> of the cluster's.
//
// In loopback mode (rootless, a reported deviation) node n has the IP
// 127.(160+k).0.n, its pods 127.(200+k).n.0/24, Services 127.(120+k).0.0/16,
// and the cluster DNS answers on 127.(160+k).255.53 behind 127.(120+k).0.10.
//
// The slot is remembered in the data dir, so a restarted cluster keeps its
// addresses when it can.
const slots = 40

type slot struct {
	k    int
	lock *os.File
	// cni: pods in namespaces of their own, non-loopback ranges.
	cni bool
}

func (s slot) nodeIP(i int) string {
	if s.cni {
		return fmt.Sprintf("10.%d.254.%d", 160+s.k, i+1)
	}
	return fmt.Sprintf("127.%d.0.%d", 160+s.k, i+1)
}

func (s slot) podCIDR(i int) string {
	if s.cni {
		return fmt.Sprintf("10.%d.%d.0/24", 200+s.k, i+1)
	}
	return fmt.Sprintf("127.%d.%d.0/24", 200+s.k, i+1)
}

// clusterCIDR holds every node's podCIDR.
func (s slot) clusterCIDR() string {
	if s.cni {
		return fmt.Sprintf("10.%d.0.0/16", 200+s.k)
	}
	return fmt.Sprintf("127.%d.0.0/16", 200+s.k)
}

func (s slot) serviceRange() string {
	if s.cni {
		return fmt.Sprintf("10.%d.0.0/16", 160+s.k)
	}
	return fmt.Sprintf("127.%d.0.0/16", 120+s.k)
}

func (s slot) clusterDNSIP() string {
	if s.cni {
		return fmt.Sprintf("10.%d.0.10", 160+s.k)
	}
	return fmt.Sprintf("127.%d.0.10", 120+s.k)
}

func (s slot) dnsListen() string {
	if s.cni {
		return fmt.Sprintf("10.%d.255.53:53", 160+s.k)
	}
	return fmt.Sprintf("127.%d.255.53:53", 160+s.k)
}

// device holds the cluster's service addresses (CNI mode).
func (s slot) device() string { return fmt.Sprintf("s7c%d", s.k) }

// bridge is node i's pod bridge (CNI mode).
func (s slot) bridge(i int) string { return fmt.Sprintf("s7c%db%d", s.k, i+1) }
func (s slot) release() {
	if s.lock != nil {
		s.lock.Close()
	}
}
func slotFile(dataDir string) string { return filepath.Join(dataDir, "loopback-slot") }
func lockPath(k int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("seven-loopback-slot-%d.lock", k))
}
func nodeName(i int) string { return fmt.Sprintf("node-%d", i) }

// takeSlot locks a free slot, preferring the one dataDir used before.
func takeSlot(dataDir string) (slot, error) {
	order := make([]int, 0, slots)
	if data, err := os.ReadFile(slotFile(dataDir)); err == nil {
		if k, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && k >= 0 && k < slots {
			order = append(order, k)
		}
	}
	for k := 0; k < slots; k++ {
		order = append(order, k)
	}
	for _, k := range order {
		f, err := os.OpenFile(lockPath(k), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return slot{}, fmt.Errorf("loopback slot lock: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			return slot{}, fmt.Errorf("loopback slot lock: %w", err)
		}
		if err := os.WriteFile(slotFile(dataDir), []byte(strconv.Itoa(k)+"\n"), 0o600); err != nil {
			f.Close()
			return slot{}, fmt.Errorf("loopback slot: %w", err)
		}
		return slot{k: k, lock: f}, nil
	}
	return slot{}, fmt.Errorf("all %d loopback slots are taken by other local clusters on this host", slots)
}
