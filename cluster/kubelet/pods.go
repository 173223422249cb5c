package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/kubelet/podsync"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// podWorker serialises everything done for one pod. Its fields other than
// wakeCh are touched only by its goroutine.
type podWorker struct {
	uid       types.UID
	namespace string
	name      string
	wakeCh    chan struct{}

	lastPod    *corev1.Pod
	backOff    map[string]podsync.BackOff
	failures   map[string]podsync.StartFailure
	mountFails int
	mountRetry time.Time
	mountErr   string
	volumes    map[string]string
	volumesAt  time.Time
	// pulls are the image pulls of containers waiting to start, by name.
	pulls map[string]*pendingPull
	// written is the pod as returned by our last status write, and
	// writtenFrom the resourceVersion that write was based on: while the
	// informer still holds that version it lags behind our own write, and
	// written is the fresher pod (no second write, no conflict).
	written     *corev1.Pod
	writtenFrom string
}

func (k *Kubelet) ensureWorker(uid types.UID, namespace, name string) {
	k.mu.Lock()
	w, ok := k.workers[uid]
	if !ok && k.synced && k.ctx.Err() == nil {
		w = &podWorker{uid: uid, namespace: namespace, name: name, wakeCh: make(chan struct{}, 1),
			backOff: map[string]podsync.BackOff{}, failures: map[string]podsync.StartFailure{}, pulls: map[string]*pendingPull{}}
		k.workers[uid] = w
		k.wg.Add(1)
		go k.runWorker(k.ctx, w)
	}
	k.mu.Unlock()
	if w != nil {
		k.wakeWorker(w)
	}
}

func (k *Kubelet) wake(uid types.UID) {
	k.mu.Lock()
	w := k.workers[uid]
	k.mu.Unlock()
	if w != nil {
		k.wakeWorker(w)
	}
}

func (k *Kubelet) wakeString(uid string) { k.wake(types.UID(uid)) }

func (k *Kubelet) wakeWorker(w *podWorker) {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

func (k *Kubelet) runWorker(ctx context.Context, w *podWorker) {
	defer k.wg.Done()
	resync := k.cfg.Timings.PodResync
	timer := k.clock.NewTimer(resync)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wakeCh:
		case <-timer.C():
		}
		next, finished := k.syncPod(ctx, w)
		if finished {
			k.mu.Lock()
			delete(k.workers, w.uid)
			k.mu.Unlock()
			return
		}
		if next <= 0 || next > resync {
			next = resync
		}
		if !timer.Stop() {
			select {
			case <-timer.C():
			default:
			}
		}
		timer.Reset(next)
	}
}

// syncPod does one round for a pod; it returns when it wants the next one,
// or finished when the pod is gone and cleaned up.
func (k *Kubelet) syncPod(ctx context.Context, w *podWorker) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false // stopping: touch nothing
	}
	now := k.clock.Now()
	pod, err := k.podLister.Pods(w.namespace).Get(w.name)
	if err != nil || pod.UID != w.uid || pod.Spec.NodeName != k.cfg.NodeName {
		pod = nil
	}
	if pod == nil {
		return k.syncGone(ctx, w)
	}
	if w.written != nil && pod.ResourceVersion == w.writtenFrom {
		pod = w.written
	}
	w.lastPod = pod

	in := podsync.Input{
		Pod:                 pod,
		Containers:          k.containersOf(pod.UID),
		Now:                 now,
		BackOff:             w.backOff,
		StartFailures:       w.failures,
		HostIP:              k.hostIP(),
		CrashBackOffInitial: k.cfg.Timings.CrashBackOffInitial,
		CrashBackOffMax:     k.cfg.Timings.CrashBackOffMax,
		ContainerIDPrefix:   k.containerIDPrefix(), // runtime_select.go
	}
	next := time.Duration(0)
	want := func(d time.Duration) {
		if d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	if pod.DeletionTimestamp == nil && !podsync.Terminal(pod) {
		ip, err := k.ensureSandbox(ctx, w, pod, now)
		in.PodIP = ip
		if err != nil {
			in.SandboxError = err.Error()
			want(w.mountRetry.Sub(now))
		} else {
			in.SandboxReady = true
			if k.hostPorts != nil && !pod.Spec.HostNetwork {
				if err := k.hostPorts.ensure(pod, ip); err != nil {
					k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedHostPort", "Failed to forward hostPorts: %v", err)
				}
			}
			if len(pod.Spec.Volumes) > 0 {
				want(k.cfg.Timings.ConfigVolumeSync)
			}
		}
	} else {
		in.PodIP = k.podIP(pod)
	}
	in.Probes = k.probeResults(in.Containers)

	plan := podsync.Decide(in)
	w.backOff = plan.BackOff
	want(plan.Requeue)
	for _, e := range plan.Events {
		k.recorder.Event(pod, e.Type, e.Reason, e.Message)
	}
	k.kill(ctx, pod, in, plan.Kill)
	for _, id := range plan.Remove {
		if err := k.rt.Remove(id); err != nil {
			k.log.Warn("remove container", "err", err, "pod", klogRef(pod))
			continue
		}
		k.track(pod.UID, id, false)
	}
	for _, s := range plan.Start {
		pulling, err := k.start(ctx, w, pod, s, in.PodIP)
		if pulling {
			continue // the pull wakes the worker when it is done
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0, false
			}
			f := k.startFailed(w, pod, s.Name, err, now)
			want(f.RetryAt.Sub(now))
			continue
		}
		delete(w.failures, s.Name)
	}
	if plan.Done {
		return k.finishDeletion(ctx, w, pod)
	}

	in.Containers = k.containersOf(pod.UID)
	keep := map[string]bool{}
	for _, c := range in.Containers {
		if c.Running() && pod.DeletionTimestamp == nil {
			keep[c.ID] = true
			if spec := findContainer(pod, c.Spec.Name); spec != nil && !isInit(pod, c.Spec.Name) {
				k.probes.ensure(ctx, pod, spec, c, in.PodIP)
			}
		}
	}
	k.probes.forget(pod.UID, keep)
	in.Probes = k.probeResults(in.Containers)
	in.BackOff, in.StartFailures = w.backOff, w.failures
	k.writeStatus(ctx, w, pod, podsync.Status(in))
	if pod.DeletionTimestamp != nil {
		want(100 * time.Millisecond) // until every container is gone
	}
	return next, false
}

func isInit(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func (k *Kubelet) probeResults(cs []krt.Status) map[string]podsync.Probes {
	out := map[string]podsync.Probes{}
	for _, c := range cs {
		if c.Running() {
			out[c.ID] = k.probes.get(c.ID)
		}
	}
	return out
}

func (k *Kubelet) podIP(pod *corev1.Pod) string {
	if pod.Spec.HostNetwork {
		return k.hostIP()
	}
	pn := k.podNet()
	if pn == nil {
		return ""
	}
	sb, _ := pn.lookup(pod.UID)
	return sb.IP
}

// podNetNS is the path of the pod's network namespace; "" for the node's
// (hostNetwork pods, loopback mode).
func (k *Kubelet) podNetNS(uid types.UID) string {
	pn := k.podNet()
	if pn == nil {
		return ""
	}
	sb, _ := pn.lookup(uid)
	return sb.NetNS
}

// ensureSandbox gives the pod its IP, its volumes and its hosts and
// resolv.conf files. Volumes are refreshed every ConfigVolumeSync.
func (k *Kubelet) ensureSandbox(ctx context.Context, w *podWorker, pod *corev1.Pod, now time.Time) (string, error) {
	var ip string
	if pod.Spec.HostNetwork {
		ip = k.hostIP()
	} else {
		pn := k.podNet()
		if pn == nil {
			w.mountRetry = now.Add(time.Second)
			return "", errors.New("waiting for the node's podCIDR")
		}
		sb, err := pn.setup(ctx, pod)
		if err != nil {
			w.mountRetry = now.Add(2 * time.Second)
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
			return "", err
		}
		ip = sb.IP
	}
	if w.volumes != nil && now.Sub(w.volumesAt) < k.cfg.Timings.ConfigVolumeSync {
		return ip, nil
	}
	if w.mountErr != "" && now.Before(w.mountRetry) {
		return ip, errors.New(w.mountErr)
	}
	vols, err := k.setupVolumes(ctx, pod, ip)
	if err == nil {
		err = k.writeNetworkFiles(pod, ip)
	}
	if err != nil {
		if w.volumes != nil {
			// Already running: keep the old contents, try again later.
			k.log.Warn("volume refresh failed", "pod", klogRef(pod), "err", err)
			w.volumesAt = now
			return ip, nil
		}
		w.mountFails++
		w.mountErr = err.Error()
		w.mountRetry = now.Add(backoffDelay(k.cfg.Timings.ImagePullBackOffInitial, k.cfg.Timings.ImagePullBackOffMax, w.mountFails))
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedMount", "MountVolume.SetUp failed: %v", err)
		return ip, err
	}
	w.mountFails, w.mountErr = 0, ""
	w.volumes, w.volumesAt = vols, now
	return ip, nil
}

func backoffDelay(initial, maxDelay time.Duration, n int) time.Duration {
	d := initial
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// importHint is the command that the ErrImagePull message of a missing
// image names: hint (Config.ImageImportHint), or else importCommand(dir).
func importHint(hint, dir string) string {
	if hint != "" {
		return hint
	}
	return importCommand(dir)
}

// importCommand is the command that imports a tarball into the image store
// in dir: a node root's store is <root>/images (for the nodes of seven up,
// <data-dir>/nodes/node-<i>).
func importCommand(dir string) string {
	if filepath.Base(dir) == "images" {
		return "seven image import --root " + filepath.Dir(dir) + " FILE"
	}
	return "seven image import --store " + dir + " FILE"
}

// start starts a container once its image is there (see images.go);
// pulling means it waits for a pull, which wakes the worker when done.
func (k *Kubelet) start(ctx context.Context, w *podWorker, pod *corev1.Pod, s podsync.Start, podIP string) (pulling bool, err error) {
	c := findContainer(pod, s.Name)
	if c == nil {
		return false, &configError{fmt.Sprintf("container %q not in the pod spec", s.Name)}
	}
	img, pulling, err := k.ensureImage(ctx, w, pod, c)
	if err != nil || pulling {
		return pulling, err
	}
	return false, k.startContainer(ctx, w, pod, c, s, img, podIP)
}

func (k *Kubelet) startContainer(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container, s podsync.Start, img *image.Image, podIP string) error {
	env, err := containerEnv(pod, c, k.lookups(ctx, pod.Namespace), podIP, k.hostIP(), k.allocatable())
	if err != nil {
		return err
	}
	argv := commandLine(c, img.Config.Entrypoint, img.Config.Cmd, env)
	if len(argv) == 0 {
		return &configError{"no command specified"}
	}
	mounts := []krt.Mount{}
	custom := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		src, ok := w.volumes[vm.Name]
		if !ok {
			return &configError{fmt.Sprintf("volume %q not found", vm.Name)}
		}
		// The runtime resolves the subPath within the volume.
		mounts = append(mounts, krt.Mount{HostPath: src, SubPath: vm.SubPath, ContainerPath: vm.MountPath, ReadOnly: vm.ReadOnly})
		custom[filepath.Clean(vm.MountPath)] = true
	}
	dir := k.podDir(pod.UID)
	if !custom["/etc/hosts"] {
		hosts := filepath.Join(dir, "etc-hosts")
		if pod.Spec.HostNetwork {
			hosts = "/etc/hosts"
		}
		mounts = append(mounts, krt.Mount{HostPath: hosts, ContainerPath: "/etc/hosts"})
	}
	if !custom["/etc/resolv.conf"] {
		mounts = append(mounts, krt.Mount{HostPath: filepath.Join(dir, "resolv.conf"), ContainerPath: "/etc/resolv.conf"})
	}
	workingDir := c.WorkingDir
	if workingDir == "" {
		workingDir = img.Config.WorkingDir
	}
	host := pod.Spec.Hostname
	if host == "" {
		host = pod.Name
	}
	if pod.Spec.HostNetwork {
		host, _ = os.Hostname()
	}
	sec, err := containerSecurity(pod, c, img.Config.User, img.RootFS)
	if err != nil {
		return err
	}
	if iso, ok := k.rt.(interface{ Isolated() bool }); ok && !iso.Isolated() && !isDefaultSecurity(sec) {
		return &configError{"the rootless process runtime cannot honour the container's securityContext (user, groups, capabilities, read-only root); run the node as root"}
	}
	spec := krt.ContainerSpec{
		PodUID: string(pod.UID), PodNamespace: pod.Namespace, PodName: pod.Name,
		Name: c.Name, Attempt: s.Attempt, Image: c.Image, ImageID: img.ID,
		RootFS: img.RootFS, Args: argv, Env: mergeEnv(img.Config.Env, env), WorkingDir: workingDir,
		Hostname: host, Mounts: mounts, HostPID: pod.Spec.HostPID, Security: sec,
		Stdin: c.Stdin, StdinOnce: c.StdinOnce,
	}
	if !pod.Spec.HostNetwork {
		spec.NetNS = k.podNetNS(pod.UID)
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		spec.Resources.MemoryLimit = q.Value()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		spec.Resources.CPULimitMilli = q.MilliValue()
	}
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		spec.Resources.CPURequestMilli = q.MilliValue()
	} else {
		spec.Resources.CPURequestMilli = spec.Resources.CPULimitMilli // as API defaulting would
	}
	st, err := k.rt.Start(ctx, spec)
	if err != nil {
		return fmt.Errorf("start container %s: %w", c.Name, err)
	}
	k.track(pod.UID, st.ID, true)
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
	if st.Reason == krt.ReasonStartError {
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", st.Message)
		return nil
	}
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		// As in Kubernetes: the hook runs before the container counts as
		// started; if it fails the container is killed (and restarted per policy).
		h := c.Lifecycle.PostStart
		ok, msg := true, ""
		if h.Sleep != nil {
			select {
			case <-ctx.Done():
			case <-k.clock.After(time.Duration(h.Sleep.Seconds) * time.Second):
			}
		} else {
			ok, msg = k.runHandler(ctx, pod, c, st.ID, podIP, corev1.ProbeHandler{Exec: h.Exec, HTTPGet: h.HTTPGet, TCPSocket: h.TCPSocket}, podsync.GracePeriod(pod))
		}
		if !ok {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed: %s", msg)
			if err := k.rt.Stop(ctx, st.ID, podsync.GracePeriod(pod)); err != nil && ctx.Err() == nil {
				k.log.Warn("stop container after failed postStart", "pod", klogRef(pod), "err", err)
			}
		}
	}
	return nil
}

// startFailed records a failed start and its retry time.
func (k *Kubelet) startFailed(w *podWorker, pod *corev1.Pod, name string, err error, now time.Time) podsync.StartFailure {
	f := w.failures[name]
	f.Count++
	f.Message = err.Error()
	t := k.cfg.Timings
	var img *imageError
	var cfgErr *configError
	switch {
	case errors.As(err, &img):
		f.Reason = img.reason
		f.RetryAt = now.Add(backoffDelay(t.ImagePullBackOffInitial, t.ImagePullBackOffMax, f.Count))
		k.imageFailed(pod, findContainer(pod, name), img, &f)
	case errors.As(err, &cfgErr):
		f.Reason = podsync.ReasonConfigError
		f.RetryAt = now.Add(backoffDelay(t.ImagePullBackOffInitial, t.ImagePullBackOffMax, f.Count))
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
	default:
		f.Reason = "CreateContainerError"
		f.RetryAt = now.Add(backoffDelay(t.CrashBackOffInitial, t.CrashBackOffMax, f.Count))
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		k.log.Warn("start container failed", "pod", klogRef(pod), "container", name, "err", err)
	}
	w.failures[name] = f
	return f
}

// kill stops containers concurrently: preStop hook first when asked, then
// SIGTERM, the grace period, SIGKILL.
func (k *Kubelet) kill(ctx context.Context, pod *corev1.Pod, in podsync.Input, kills []podsync.Kill) {
	var wg sync.WaitGroup
	for _, kl := range kills {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := kl.Message
			if msg == "" {
				msg = "Stopping container " + kl.Name
			}
			k.recorder.Event(pod, corev1.EventTypeNormal, "Killing", msg)
			deadline := k.clock.Now().Add(kl.Grace)
			if c := findContainer(pod, kl.Name); kl.PreStop && c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && kl.Grace > 0 {
				k.runLifecycle(ctx, pod, c, kl.ID, in.PodIP, c.Lifecycle.PreStop, kl.Grace)
			}
			grace := max(deadline.Sub(k.clock.Now()), 0)
			if kl.PreStop && kl.Grace > 0 {
				grace = max(grace, 2*time.Second) // like the kubelet's minimum after a preStop hook
			}
			if err := k.rt.Stop(ctx, kl.ID, grace); err != nil && ctx.Err() == nil {
				k.log.Warn("stop container", "pod", klogRef(pod), "container", kl.Name, "err", err)
			}
		}()
	}
	wg.Wait()
}

func (k *Kubelet) runLifecycle(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id, podIP string, h *corev1.LifecycleHandler, limit time.Duration) {
	if h.Sleep != nil {
		select {
		case <-ctx.Done():
		case <-k.clock.After(min(time.Duration(h.Sleep.Seconds)*time.Second, limit)):
		}
		return
	}
	ph := corev1.ProbeHandler{Exec: h.Exec, HTTPGet: h.HTTPGet, TCPSocket: h.TCPSocket}
	if ok, msg := k.runHandler(ctx, pod, c, id, podIP, ph, limit); !ok {
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed: %s", msg)
	}
}

// finishDeletion deletes the pod object once nothing of it runs (grace 0,
// UID precondition), then cleans up.
func (k *Kubelet) finishDeletion(ctx context.Context, w *podWorker, pod *corev1.Pod) (time.Duration, bool) {
	err := k.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		k.log.Warn("delete pod", "pod", klogRef(pod), "err", err)
		return time.Second, false
	}
	k.cleanup(pod.UID)
	return 0, true
}

// syncGone handles a pod that left the API (or this node): whatever still
// runs is stopped, then everything is cleaned up.
func (k *Kubelet) syncGone(ctx context.Context, w *podWorker) (time.Duration, bool) {
	grace := time.Duration(0)
	if w.lastPod != nil && ptr.Deref(w.lastPod.DeletionGracePeriodSeconds, 1) != 0 {
		grace = podsync.GracePeriod(w.lastPod)
	}
	var wg sync.WaitGroup
	for _, c := range k.containersOf(w.uid) {
		if c.Running() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := k.rt.Stop(ctx, c.ID, grace); err != nil && ctx.Err() == nil {
					k.log.Warn("stop orphaned container", "err", err, "container", c.ID)
				}
			}()
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return 0, false
	}
	k.cleanup(w.uid)
	return 0, true
}

// cleanup removes a finished pod's containers, logs, volumes and IP.
func (k *Kubelet) cleanup(uid types.UID) {
	k.probes.forget(uid, nil)
	for _, c := range k.containersOf(uid) {
		if err := k.rt.Remove(c.ID); err != nil {
			k.log.Warn("remove container", "err", err, "container", c.ID)
			continue
		}
		k.track(uid, c.ID, false)
	}
	_ = os.RemoveAll(k.podDir(uid))
	if k.hostPorts != nil {
		k.hostPorts.release(uid)
	}
	if pn := k.podNet(); pn != nil {
		if err := pn.teardown(context.Background(), uid); err != nil {
			k.log.Warn("pod network teardown", "err", err, "pod", uid)
		}
	}
	if p, ok := k.rt.(interface{ RemovePod(string) }); ok {
		p.RemovePod(string(uid))
	}
}

// writeStatus writes the pod's status through pods/status when it changed.
func (k *Kubelet) writeStatus(ctx context.Context, w *podWorker, pod *corev1.Pod, status corev1.PodStatus) {
	if apiequality.Semantic.DeepEqual(pod.Status, status) {
		return
	}
	pods := k.cfg.Client.CoreV1().Pods(pod.Namespace)
	cur := pod.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur.Status = status
		updated, err := pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if err == nil {
			w.written, w.writtenFrom = updated, cur.ResourceVersion
		}
		if apierrors.IsConflict(err) {
			fresh, gerr := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			if fresh.UID != pod.UID {
				return nil
			}
			cur = fresh
		}
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		k.log.Warn("update pod status", "pod", klogRef(pod), "err", err)
	}
}
