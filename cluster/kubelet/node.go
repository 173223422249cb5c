package kubelet

import (
	"bufio"
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Version is what the Node reports as its kubelet version.
const Version = "v1.37.2-seven"

// LeaseNamespace holds the node Leases.
const LeaseNamespace = "kube-node-lease"

func labelsEverything() labels.Selector { return labels.Everything() }

// machineMemory reads MemTotal from /proc/meminfo (bytes).
func machineMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 4 << 30
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 4 << 30
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// nodeObject is the Node this kubelet registers.
func (k *Kubelet) nodeObject() *corev1.Node {
	lbls := map[string]string{}
	for key, v := range k.cfg.Labels {
		lbls[key] = v
	}
	lbls[corev1.LabelHostname] = k.cfg.NodeName
	lbls[corev1.LabelOSStable] = goruntime.GOOS
	lbls[corev1.LabelArchStable] = goruntime.GOARCH
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Labels: lbls},
	}
	if k.cfg.PodCIDR != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = k.cfg.PodCIDR, []string{k.cfg.PodCIDR}
	}
	k.fillStatus(n)
	return n
}

// fillStatus sets everything the kubelet reports in NodeStatus.
func (k *Kubelet) fillStatus(n *corev1.Node) {
	now := metav1.NewTime(k.clock.Now())
	n.Status.Capacity = k.allocatable()
	n.Status.Allocatable = k.allocatable()
	n.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: k.cfg.NodeIP},
		{Type: corev1.NodeHostName, Address: k.cfg.NodeName},
	}
	k.mu.Lock()
	if k.listener != nil {
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(portOf(k.listener.Addr().String()))
	}
	k.mu.Unlock()
	kernel := readTrim("/proc/sys/kernel/osrelease")
	n.Status.NodeInfo = corev1.NodeSystemInfo{
		MachineID:               readTrim("/etc/machine-id"),
		SystemUUID:              k.cfg.NodeName,
		BootID:                  readTrim("/proc/sys/kernel/random/boot_id"),
		KernelVersion:           kernel,
		OSImage:                 "Seven",
		ContainerRuntimeVersion: k.runtimeVersion(),
		KubeletVersion:          Version,
		OperatingSystem:         goruntime.GOOS,
		Architecture:            goruntime.GOARCH,
	}
	want := []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
	}
	for i := range want {
		c := &want[i]
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		for _, old := range n.Status.Conditions {
			if old.Type == c.Type && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	// Keep conditions other components own.
	for _, old := range n.Status.Conditions {
		switch old.Type {
		case corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
		default:
			want = append(want, old)
		}
	}
	n.Status.Conditions = want
}

func portOf(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	p, _ := strconv.Atoi(addr[i+1:])
	return p
}

// register creates the Node, or refreshes an existing one (labels, status),
// retrying until it succeeds or ctx ends.
func (k *Kubelet) register(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := k.registerOnce(ctx)
		if err == nil {
			return nil
		}
		k.log.Warn("node registration failed, retrying", "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("register node: %w", ctx.Err())
		case <-k.clock.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (k *Kubelet) registerOnce(ctx context.Context) error {
	nodes := k.cfg.Client.CoreV1().Nodes()
	want := k.nodeObject()
	created, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		k.setNode(created)
		// Status is a subresource: the create may have dropped it.
		return k.updateStatus(ctx)
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node: %w", err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := nodes.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		for key, v := range want.Labels {
			n.Labels[key] = v
		}
		if n.Spec.PodCIDR == "" && want.Spec.PodCIDR != "" {
			n.Spec.PodCIDR, n.Spec.PodCIDRs = want.Spec.PodCIDR, want.Spec.PodCIDRs
		}
		updated, err := nodes.Update(ctx, n, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		k.setNode(updated)
		return nil
	})
	if err != nil {
		return fmt.Errorf("update node: %w", err)
	}
	return k.updateStatus(ctx)
}

// setNode remembers the Node's uid (for the Lease owner) and picks up its
// podCIDR when the kubelet was not given one.
func (k *Kubelet) setNode(n *corev1.Node) {
	k.mu.Lock()
	k.nodeUID = n.UID
	needCIDR := k.pnet == nil && n.Spec.PodCIDR != ""
	k.mu.Unlock()
	if !needCIDR {
		return
	}
	pn, err := k.newPodNetwork(n.Spec.PodCIDR)
	if err != nil {
		k.log.Error("unusable podCIDR", "err", err, "podCIDR", n.Spec.PodCIDR)
		return
	}
	k.mu.Lock()
	k.pnet = pn
	uids := make([]string, 0, len(k.workers))
	for uid := range k.workers {
		uids = append(uids, string(uid))
	}
	k.mu.Unlock()
	k.log.Info("podCIDR assigned", "podCIDR", n.Spec.PodCIDR)
	k.networkChanged()
	for _, uid := range uids {
		k.wakeString(uid)
	}
}

func (k *Kubelet) updateStatus(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := k.cfg.Client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		k.fillStatus(n)
		updated, err := k.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		k.setNode(updated)
		return nil
	})
}

func (k *Kubelet) statusLoop(ctx context.Context) {
	t := k.clock.NewTicker(k.cfg.Timings.NodeStatusUpdate)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if err := k.updateStatus(ctx); err != nil {
				if apierrors.IsNotFound(err) {
					// Deleted from under us: register again.
					err = k.registerOnce(ctx)
				}
				if err != nil && ctx.Err() == nil {
					k.log.Warn("node status update failed", "err", err)
				}
			}
		}
	}
}

func (k *Kubelet) leaseLoop(ctx context.Context) {
	interval := k.cfg.Timings.NodeLeaseDuration / 4
	if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
		k.log.Warn("lease renewal failed", "err", err)
	}
	t := k.clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
				k.log.Warn("lease renewal failed", "err", err)
			}
		}
	}
}

func (k *Kubelet) renewLease(ctx context.Context) error {
	leases := k.cfg.Client.CoordinationV1().Leases(LeaseNamespace)
	now := metav1.NewMicroTime(k.clock.Now())
	k.mu.Lock()
	uid := k.nodeUID
	k.mu.Unlock()
	spec := coordinationv1.LeaseSpec{
		HolderIdentity:       ptr.To(k.cfg.NodeName),
		LeaseDurationSeconds: ptr.To(int32(k.cfg.Timings.NodeLeaseDuration / time.Second)),
		RenewTime:            &now,
	}
	if *spec.LeaseDurationSeconds < 1 {
		spec.LeaseDurationSeconds = ptr.To[int32](1)
	}
	lease, err := leases.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Namespace: LeaseNamespace}, Spec: spec}
		if uid != "" {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: k.cfg.NodeName, UID: uid}}
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = spec.HolderIdentity, spec.LeaseDurationSeconds, spec.RenewTime
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}
