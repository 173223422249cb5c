package kubelet

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/project-seven/seven/cluster/kubelet/podsync"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

var insecure = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}

// httpGet gets u, retrying for a while when the connection is refused (a
// container reported running may not listen yet).
func httpGet(t *testing.T, u string) string {
	t.Helper()
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err = insecure.Get(u); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func post(t *testing.T, u string) {
	t.Helper()
	var resp *http.Response
	var err error
	// Retried while refused: a container reported running may not listen yet.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err = http.Post(u, "text/plain", nil); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	resp.Body.Close()
}

func (c *cluster) pid(p *corev1.Pod) int {
	c.t.Helper()
	id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, podsync.ContainerIDPrefix)
	st, err := c.kubelet().rt.Status(id)
	if err != nil {
		c.t.Fatal(err)
	}
	return st.Pid
}

func TestKubelet(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()

	t.Run("NodeAndLease", func(t *testing.T) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n.Labels[corev1.LabelHostname] != "node-1" || n.Labels[corev1.LabelOSStable] != "linux" || n.Labels["seven.dev/test"] != "yes" {
			t.Errorf("labels %v", n.Labels)
		}
		readyCond := false
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				readyCond = true
			}
		}
		if !readyCond || n.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 || n.Status.Allocatable.Pods().Value() != 110 || len(n.Status.Addresses) != 2 {
			t.Errorf("node status %+v", n.Status)
		}
		eventually(t, 10*time.Second, func() (bool, string) {
			l, err := c.client.CoordinationV1().Leases(LeaseNamespace).Get(ctx, "node-1", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return l.Spec.RenewTime != nil && *l.Spec.HolderIdentity == "node-1", "lease not renewed"
		})
	})

	t.Run("RunningAndReady", func(t *testing.T) {
		c.create(withReadiness(fixturePod("web", "seven.local/fixture:v1")))
		p := c.waitPod("web", 10*time.Second, "ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
		if p.Status.PodIP == "" || p.Status.HostIP != "127.0.0.1" || p.Status.StartTime == nil || p.Status.QOSClass != corev1.PodQOSBestEffort {
			t.Errorf("status %+v", p.Status)
		}
		body := httpGet(t, "http://"+p.Status.PodIP+":8080/")
		if !strings.Contains(body, "v1") || !strings.Contains(body, "web") {
			t.Errorf("fixture answered %q", body)
		}
		events := c.events("web")
		for _, want := range []string{"Pulled", "Created", "Started"} {
			if !hasEvent(events, want) {
				eventually(t, 5*time.Second, func() (bool, string) {
					events = c.events("web")
					return hasEvent(events, want), "no " + want + " event: " + strings.Join(events, "; ")
				})
			}
		}
		// Logs and exec through the kubelet API.
		base := "https://" + c.kubelet().ServerAddress()
		if got := httpGet(t, base+"/healthz"); got != "ok" {
			t.Errorf("healthz %q", got)
		}
		logs := httpGet(t, base+"/containerLogs/default/web/app?timestamps=true")
		if logs == "" {
			t.Errorf("no logs")
		}
		if got := httpGet(t, base+"/containerLogs/default/web/app?tailLines=0"); got != "" {
			t.Errorf("tailLines=0 gave %q", got)
		}
		other := c.create(withReadiness(fixturePod("other", "seven.local/fixture:v2")))
		other = c.waitPod(other.Name, 10*time.Second, "ready", ready)
		out, errOut, err := c.exec("web", "app", "/fixture", "get", "http://"+other.Status.PodIP+":8080/")
		if err != nil || !strings.Contains(out, "v2") {
			t.Errorf("exec get: %v out %q stderr %q", err, out, errOut)
		}
		_, _, err = c.exec("web", "app", "/fixture", "exit", "3")
		var code interface{ ExitStatus() int }
		if !errorsAs(err, &code) || code.ExitStatus() != 3 {
			t.Errorf("exec exit 3: %v", err)
		}
		summary := httpGet(t, base+"/stats/summary")
		if !strings.Contains(summary, `"name":"web"`) || !strings.Contains(summary, "workingSetBytes") {
			t.Errorf("summary %s", summary)
		}
		metrics := httpGet(t, base+"/metrics/cadvisor")
		if !strings.Contains(metrics, `container_memory_working_set_bytes{container="app"`) || !strings.Contains(metrics, `pod="web"`) {
			t.Errorf("metrics %s", metrics)
		}
	})

	t.Run("KillRestarts", func(t *testing.T) {
		p := c.waitPod("web", 10*time.Second, "running", running)
		if err := unix.Kill(c.pid(p), unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p = c.waitPod("web", 3*time.Second, "restarted", func(p *corev1.Pod) bool {
			return running(p) && p.Status.ContainerStatuses[0].RestartCount == 1
		})
		t.Logf("restarted after kill -9 in %v", time.Since(start))
		last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
		if last == nil || last.ExitCode != 137 || last.Reason != "Error" {
			t.Errorf("lastState %+v", last)
		}
		base := "https://" + c.kubelet().ServerAddress()
		if prev := httpGet(t, base+"/containerLogs/default/web/app?previous=true"); prev == "" {
			t.Errorf("no previous logs")
		}
	})

	t.Run("ReadinessFlips", func(t *testing.T) {
		p := c.waitPod("web", 10*time.Second, "ready", ready)
		post(t, "http://"+p.Status.PodIP+":8080/readyz/fail")
		c.waitPod("web", 3*time.Second, "unready", func(p *corev1.Pod) bool { return !ready(p) && running(p) })
		post(t, "http://"+p.Status.PodIP+":8080/readyz/ok")
		c.waitPod("web", 3*time.Second, "ready again", ready)
	})

	t.Run("LivenessRestarts", func(t *testing.T) {
		p := fixturePod("live", "seven.local/fixture:v1")
		p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
			PeriodSeconds: 1, FailureThreshold: 2,
		}
		c.create(p)
		p = c.waitPod("live", 10*time.Second, "running", running)
		post(t, "http://"+p.Status.PodIP+":8080/healthz/fail")
		c.waitPod("live", 10*time.Second, "restarted", func(p *corev1.Pod) bool {
			return running(p) && p.Status.ContainerStatuses[0].RestartCount == 1
		})
		eventually(t, 5*time.Second, func() (bool, string) {
			ev := c.events("live")
			return hasEvent(ev, "Unhealthy") && hasEvent(ev, "Killing"), strings.Join(ev, "; ")
		})
	})

	t.Run("UnknownImage", func(t *testing.T) {
		c.create(fixturePod("ghost", "seven.local/nope:v1"))
		p := c.waitPod("ghost", 5*time.Second, "ErrImagePull", func(p *corev1.Pod) bool { return waitingReason(p) == "ErrImagePull" })
		if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, "`seven image import --store "+c.images.Dir()+" FILE`") {
			t.Errorf("ErrImagePull message %q does not name `seven image import --store <the node's store> FILE`", msg)
		}
		c.waitPod("ghost", 5*time.Second, "ImagePullBackOff", func(p *corev1.Pod) bool { return waitingReason(p) == "ImagePullBackOff" })
		eventually(t, 5*time.Second, func() (bool, string) {
			ev := c.events("ghost")
			return hasEvent(ev, "Failed: Failed to pull image") && hasEvent(ev, "BackOff"), strings.Join(ev, "; ")
		})
		if p := c.get("web"); !running(p) {
			t.Errorf("other pod disturbed: %s", describe(p))
		}
	})

	t.Run("MissingConfigMapVolume", func(t *testing.T) {
		p := fixturePod("conf", "seven.local/fixture:v1")
		p.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/settings"}}
		p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env,
			corev1.EnvVar{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "greeting"}}},
			corev1.EnvVar{Name: "MESSAGE", Value: "$(GREETING), $(POD_IP)"})
		c.create(p)
		c.waitPod("conf", 5*time.Second, "ContainerCreating", func(p *corev1.Pod) bool { return waitingReason(p) == "ContainerCreating" })
		eventually(t, 5*time.Second, func() (bool, string) {
			ev := c.events("conf")
			return hasEvent(ev, "FailedMount"), strings.Join(ev, "; ")
		})
		_, err := c.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "default"},
			Data:       map[string]string{"greeting": "hello"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p = c.waitPod("conf", 15*time.Second, "running", running)
		env := httpGet(t, "http://"+p.Status.PodIP+":8080/env")
		if !strings.Contains(env, "MESSAGE=hello, "+p.Status.PodIP) {
			t.Errorf("env %s", env)
		}
		if isolated(c) {
			file := httpGet(t, "http://"+p.Status.PodIP+":8080/file?path=/etc/settings/greeting")
			if !strings.Contains(file, "hello") {
				t.Errorf("mounted file %q", file)
			}
		}
	})

	t.Run("CrashLoop", func(t *testing.T) {
		c.create(fixturePod("broken", "seven.local/fixture:broken"))
		c.waitPod("broken", 10*time.Second, "in CrashLoopBackOff after restarts", func(p *corev1.Pod) bool {
			return waitingReason(p) == "CrashLoopBackOff" && p.Status.ContainerStatuses[0].RestartCount >= 1
		})
	})

	t.Run("InitContainersAndCompletion", func(t *testing.T) {
		p := fixturePod("job", "seven.local/fixture:v1")
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "seven.local/fixture:v1", Args: []string{"exit", "0"}}}
		p.Spec.Containers[0].Args = []string{"exit", "0"}
		c.create(p)
		p = c.waitPod("job", 10*time.Second, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if st := p.Status.InitContainerStatuses[0].State.Terminated; st == nil || st.Reason != "Completed" {
			t.Errorf("init container: %s", describe(p))
		}
		f := fixturePod("fail", "seven.local/fixture:v1")
		f.Spec.RestartPolicy = corev1.RestartPolicyNever
		f.Spec.Containers[0].Args = []string{"exit", "2"}
		c.create(f)
		f = c.waitPod("fail", 10*time.Second, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if st := f.Status.ContainerStatuses[0].State.Terminated; st == nil || st.ExitCode != 2 || st.Reason != "Error" {
			t.Errorf("failed container: %s", describe(f))
		}
	})

	t.Run("LimitsOOMAndStats", func(t *testing.T) {
		if p, ok := c.kubelet().rt.(*krt.Process); !ok || !p.CgroupsEnabled() {
			t.Skip("no writable cgroup hierarchy here: limits are not enforced")
		}
		hog := func(name, memory, limit string) *corev1.Pod {
			p := fixturePod(name, "seven.local/fixture:v1")
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Spec.Containers[0].Args = []string{"hog", "--memory", memory}
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)}
			return p
		}
		c.create(hog("oom", "256Mi", "48Mi"))
		c.create(hog("fits", "40Mi", "128Mi"))
		p := c.waitPod("oom", 15*time.Second, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if st := p.Status.ContainerStatuses[0].State.Terminated; st == nil || st.Reason != "OOMKilled" || st.ExitCode != 137 {
			t.Errorf("OOM-killed container: %s", describe(p))
		}
		c.waitPod("fits", 10*time.Second, "running", running)
		base := "https://" + c.kubelet().ServerAddress()
		eventually(t, 10*time.Second, func() (bool, string) {
			var summary struct {
				Pods []struct {
					PodRef     struct{ Name string }
					Containers []struct {
						Memory struct{ WorkingSetBytes uint64 }
					}
				}
			}
			body := httpGet(t, base+"/stats/summary")
			if err := json.Unmarshal([]byte(body), &summary); err != nil {
				return false, err.Error()
			}
			for _, p := range summary.Pods {
				if p.PodRef.Name == "fits" && len(p.Containers) == 1 {
					ws := p.Containers[0].Memory.WorkingSetBytes
					return ws >= 40<<20 && ws <= 128<<20, fmt.Sprintf("working set %d, want 40Mi..128Mi", ws)
				}
			}
			return false, "pod fits not in the summary"
		})
		for _, name := range []string{"oom", "fits"} {
			if err := c.client.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("GracefulDeletion", func(t *testing.T) {
		p := c.get("other")
		pid := c.pid(p)
		if err := c.client.CoreV1().Pods("default").Delete(ctx, "other", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, func() (bool, string) {
			_, err := c.client.CoreV1().Pods("default").Get(ctx, "other", metav1.GetOptions{})
			return apierrors.IsNotFound(err), "pod still there"
		})
		if unix.Kill(pid, 0) == nil && !zombieOrGone(pid) {
			t.Errorf("container process %d still runs", pid)
		}
	})

	t.Run("RestartAdopts", func(t *testing.T) {
		before := c.waitPod("web", 10*time.Second, "running", running)
		c.stopKubelet()
		c.startKubelet()
		// Give the new kubelet a few syncs, then check nothing changed.
		time.Sleep(2 * time.Second)
		after := c.waitPod("web", 10*time.Second, "running", running)
		b, a := before.Status.ContainerStatuses[0], after.Status.ContainerStatuses[0]
		if a.ContainerID != b.ContainerID || a.RestartCount != b.RestartCount {
			t.Errorf("container replaced: %s/%d → %s/%d", b.ContainerID, b.RestartCount, a.ContainerID, a.RestartCount)
		}
		n := 0
		for _, st := range c.kubelet().containersOf(after.UID) {
			if st.Running() {
				n++
			}
		}
		if n != 1 {
			list, err := c.kubelet().rt.List()
			t.Logf("runtime: %+v %v; index %v", list, err, c.kubelet().index)
			t.Errorf("%d running containers for the pod, want 1", n)
		}
	})
}

func isolated(c *cluster) bool {
	type iso interface{ Isolated() bool }
	i, ok := c.kubelet().rt.(iso)
	return ok && i.Isolated()
}

func zombieOrGone(pid int) bool {
	b, err := readFile("/proc/" + itoa(pid) + "/stat")
	return err != nil || bytes.Contains(b, []byte(") Z "))
}

func waitingReason(p *corev1.Pod) string {
	if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
		return ""
	}
	return p.Status.ContainerStatuses[0].State.Waiting.Reason
}

// exec runs a command in a container through the kubelet's exec endpoint
// with client-go's WebSocket executor (v5.channel.k8s.io).
func (c *cluster) exec(pod, container string, command ...string) (string, string, error) {
	q := url.Values{"command": command, "stdout": {"true"}, "stderr": {"true"}}
	u := "https://" + c.kubelet().ServerAddress() + "/exec/default/" + pod + "/" + container + "?" + q.Encode()
	ex, err := remotecommand.NewWebSocketExecutor(&rest.Config{TLSClientConfig: rest.TLSClientConfig{Insecure: true}}, "GET", u)
	if err != nil {
		return "", "", err
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), err
}
