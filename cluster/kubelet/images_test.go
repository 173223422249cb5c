package kubelet

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/image/registrytest"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd/ctrdtest"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

func TestDecideImage(t *testing.T) {
	const (
		always  = corev1.PullAlways
		ifNot   = corev1.PullIfNotPresent
		never   = corev1.PullNever
		present = true
		missing = false
		remote  = true
		local   = false
	)
	for _, tc := range []struct {
		policy   corev1.PullPolicy
		present  bool
		pullable bool
		want     imageAction
	}{
		{always, present, remote, imagePullFirst},
		{always, missing, remote, imagePullFirst},
		{always, present, local, imageUse},
		{always, missing, local, imageImportOnly},
		{ifNot, present, remote, imageUse},
		{ifNot, missing, remote, imagePullFirst},
		{ifNot, present, local, imageUse},
		{ifNot, missing, local, imageImportOnly},
		{never, present, remote, imageUse},
		{never, missing, remote, imageNeverPull},
		{never, present, local, imageUse},
		{never, missing, local, imageNeverPull},
	} {
		if got := decideImage(tc.policy, tc.present, tc.pullable); got != tc.want {
			t.Errorf("decideImage(%s, present %v, pullable %v) = %v, want %v", tc.policy, tc.present, tc.pullable, got, tc.want)
		}
	}
}

func TestPullPolicyDefault(t *testing.T) {
	for _, tc := range []struct {
		policy corev1.PullPolicy
		ref    string
		want   corev1.PullPolicy
	}{
		{"", "docker.io/library/busybox:latest", corev1.PullAlways},
		{"", "docker.io/library/busybox:1.36", corev1.PullIfNotPresent},
		{"", "docker.io/library/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", corev1.PullIfNotPresent},
		{corev1.PullNever, "docker.io/library/busybox:latest", corev1.PullNever},
	} {
		if got := pullPolicy(&corev1.Container{ImagePullPolicy: tc.policy}, tc.ref); got != tc.want {
			t.Errorf("pullPolicy(%q, %s) = %s, want %s", tc.policy, tc.ref, got, tc.want)
		}
	}
}

// fixtureImage is the fixture binary as a FROM-scratch image for a
// registry, reporting version.
func fixtureImage(t *testing.T, version string) registrytest.Image {
	t.Helper()
	bin, err := os.ReadFile(fixturetest.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	return registrytest.Image{
		Files:      []registrytest.File{{Path: "/fixture", Mode: 0o755, Content: bin}},
		Entrypoint: []string{"/fixture"},
		Cmd:        []string{"serve"},
		Env:        []string{"PATH=/", "FIXTURE_VERSION=" + version},
	}
}

// counting counts the manifest GETs a registry gets by path, and delays its
// blob answers so that pulls last.
type counting struct {
	mu        sync.Mutex
	manifests map[string]int
	delay     atomic.Int64 // time.Duration
}

// gets is the number of GETs of the manifest of repo:tag.
func (c *counting) gets(repo, tag string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.manifests["/v2/"+repo+"/manifests/"+tag]
}

func (c *counting) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet:
			c.mu.Lock()
			if c.manifests == nil {
				c.manifests = map[string]int{}
			}
			c.manifests[r.URL.Path]++
			c.mu.Unlock()
		case strings.Contains(r.URL.Path, "/blobs/"):
			time.Sleep(time.Duration(c.delay.Load()))
		}
		next.ServeHTTP(w, r)
	})
}

func TestImagePulls(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	count := &counting{}
	reg := registrytest.Start(t, registrytest.WithMiddleware(count.middleware))
	private := registrytest.Start(t, registrytest.WithBasicAuth("puller", "s3cret"))
	broken := registrytest.Start(t, registrytest.WithMiddleware(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	}))
	reg.Push(t, "fixture:pulled", fixtureImage(t, "pulled"))
	private.Push(t, "fixture:private", fixtureImage(t, "private"))

	pod := func(name, img string, policy corev1.PullPolicy) *corev1.Pod {
		p := fixturePod(name, img)
		p.Spec.Containers[0].ImagePullPolicy = policy
		return p
	}
	event := func(name, prefix string) string {
		t.Helper()
		var found string
		eventually(t, 5*time.Second, func() (bool, string) {
			ev := c.events(name)
			for _, e := range ev {
				if strings.HasPrefix(e, prefix) {
					found = e
					return true, ""
				}
			}
			return false, fmt.Sprintf("no event %q for %s: %s", prefix, name, strings.Join(ev, "; "))
		})
		return found
	}
	waiting := func(name, reason string) *corev1.Pod {
		t.Helper()
		return c.waitPod(name, 10*time.Second, reason, func(p *corev1.Pod) bool { return waitingReason(p) == reason })
	}
	message := func(p *corev1.Pod) string { return p.Status.ContainerStatuses[0].State.Waiting.Message }

	t.Run("PullAndRun", func(t *testing.T) {
		c.create(pod("pulled", reg.Ref("fixture:pulled"), ""))
		p := c.waitPod("pulled", 20*time.Second, "running", running)
		if body := httpGet(t, "http://"+p.Status.PodIP+":8080/"); !strings.Contains(body, `"version":"pulled"`) {
			t.Errorf("the pulled fixture answered %q", body)
		}
		event("pulled", "Pulling: Pulling image")
		t.Log(event("pulled", "Pulled: Successfully pulled image"))
		logs := httpGet(t, "https://"+c.kubelet().ServerAddress()+"/containerLogs/default/pulled/app")
		if logs == "" {
			t.Error("no logs")
		}
		stored, err := c.images.Get(reg.Ref("fixture:pulled"))
		if err != nil || p.Status.ContainerStatuses[0].ImageID != stored.ID {
			t.Errorf("imageID %q, the store's %v (%v)", p.Status.ContainerStatuses[0].ImageID, stored, err)
		}
	})

	t.Run("PresentNotPulledAgain", func(t *testing.T) {
		before := count.gets("fixture", "pulled")
		c.create(pod("again", reg.Ref("fixture:pulled"), corev1.PullIfNotPresent))
		c.waitPod("again", 10*time.Second, "running", running)
		event("again", "Pulled: Container image \""+reg.Ref("fixture:pulled")+"\" already present on machine")
		if n := count.gets("fixture", "pulled") - before; n != 0 {
			t.Errorf("IfNotPresent with the image present asked the registry %d times", n)
		}
	})

	t.Run("AlwaysPullsAChangedDigest", func(t *testing.T) {
		ref := reg.Ref("fixture:moving")
		reg.Push(t, "fixture:moving", fixtureImage(t, "one"))
		p := pod("always", ref, corev1.PullAlways)
		c.create(p)
		p = c.waitPod("always", 20*time.Second, "running", running)
		firstID := p.Status.ContainerStatuses[0].ImageID
		reg.Push(t, "fixture:moving", fixtureImage(t, "two"))
		post(t, "http://"+p.Status.PodIP+":8080/exit?code=3")
		p = c.waitPod("always", 20*time.Second, "restarted on the new image", func(p *corev1.Pod) bool {
			return running(p) && p.Status.ContainerStatuses[0].RestartCount == 1
		})
		if p.Status.ContainerStatuses[0].ImageID == firstID {
			t.Errorf("restarted on the same image %s", firstID)
		}
		if body := httpGet(t, "http://"+p.Status.PodIP+":8080/"); !strings.Contains(body, `"version":"two"`) {
			t.Errorf("after the restart the fixture answered %q", body)
		}
	})

	t.Run("AlwaysWithTheRegistryDown", func(t *testing.T) {
		gone := registrytest.Start(t)
		gone.Push(t, "fixture:v1", fixtureImage(t, "gone"))
		if _, err := c.images.Pull(ctx, gone.Ref("fixture:v1"), image.PullOptions{}); err != nil {
			t.Fatal(err)
		}
		gone.Close()
		c.create(pod("unreachable", gone.Ref("fixture:v1"), corev1.PullAlways))
		p := waiting("unreachable", "ErrImagePull")
		if !strings.Contains(message(p), "unreachable") {
			t.Errorf("message %q does not say the registry is unreachable", message(p))
		}
	})

	t.Run("ImagePullSecrets", func(t *testing.T) {
		for _, s := range []*corev1.Secret{
			{ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "default"}, Type: corev1.SecretTypeDockerConfigJson,
				Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{%q:{"username":"puller","password":"s3cret"}}}`, private.Host)}},
			{ObjectMeta: metav1.ObjectMeta{Name: "wrongcred", Namespace: "default"}, Type: corev1.SecretTypeDockercfg,
				Data: map[string][]byte{corev1.DockerConfigKey: fmt.Appendf(nil, `{%q:{"auth":"cHVsbGVyOm5vcGU="}}`, "http://"+private.Host+"/fixture")}},
		} {
			if _, err := c.client.CoreV1().Secrets("default").Create(ctx, s, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		// The more specific key (host/fixture) comes first and is refused;
		// the host's credentials are tried next.
		p := pod("private", private.Ref("fixture:private"), "")
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}, {Name: "wrongcred"}, {Name: "absent"}}
		c.create(p)
		p = c.waitPod("private", 20*time.Second, "running", running)
		if body := httpGet(t, "http://"+p.Status.PodIP+":8080/"); !strings.Contains(body, `"version":"private"`) {
			t.Errorf("the private fixture answered %q", body)
		}
		t.Log(event("private", "FailedToRetrieveImagePullSecret: Unable to retrieve some image pull secrets (default/absent)"))
	})

	t.Run("NoImagePullSecrets", func(t *testing.T) {
		c.create(pod("denied", private.Ref("fixture:private"), corev1.PullAlways))
		p := waiting("denied", "ErrImagePull")
		if msg := message(p); !strings.Contains(msg, "401 Unauthorized") {
			t.Errorf("ErrImagePull message %q does not name 401 Unauthorized", msg)
		}
		p = waiting("denied", "ImagePullBackOff")
		if msg := message(p); !strings.HasPrefix(msg, "Back-off pulling image") || !strings.Contains(msg, "401 Unauthorized") {
			t.Errorf("ImagePullBackOff message %q", msg)
		}
		event("denied", "Failed: Failed to pull image \""+private.Ref("fixture:private")+"\"")
		event("denied", "Failed: Error: ErrImagePull")
		event("denied", "BackOff: Back-off pulling image")
		event("denied", "Failed: Error: ImagePullBackOff")
		if p := c.get("pulled"); !running(p) || p.Status.ContainerStatuses[0].RestartCount != 0 {
			t.Errorf("other pod disturbed: %s", describe(p))
		}
	})

	t.Run("RegistryErrors", func(t *testing.T) {
		for name, tc := range map[string]struct{ ref, want string }{
			"unknown": {reg.Ref("nope:v1"), "manifest unknown"},
			"broken":  {broken.Ref("fixture:v1"), "answered 500 Internal Server Error"},
		} {
			c.create(pod(name, tc.ref, ""))
			if msg := message(waiting(name, "ErrImagePull")); !strings.Contains(msg, tc.want) {
				t.Errorf("%s: ErrImagePull message %q does not contain %q", name, msg, tc.want)
			}
			event(name, "Failed: Failed to pull image")
		}
	})

	t.Run("NeverAndMissing", func(t *testing.T) {
		ref := reg.Ref("absent:v1")
		c.create(pod("never", ref, corev1.PullNever))
		p := waiting("never", "ErrImageNeverPull")
		if want := fmt.Sprintf("Container image %q is not present with pull policy of Never", ref); message(p) != want {
			t.Errorf("message %q, want %q", message(p), want)
		}
		event("never", "ErrImageNeverPull: Container image")
		event("never", "Failed: Error: ErrImageNeverPull")
	})

	t.Run("InvalidImageName", func(t *testing.T) {
		c.create(pod("invalid", "Bad/Image:Name", ""))
		p := waiting("invalid", "InvalidImageName")
		if !strings.HasPrefix(message(p), `Failed to apply default image tag "Bad/Image:Name"`) {
			t.Errorf("message %q", message(p))
		}
		event("invalid", "InspectFailed: Failed to apply default image tag")
		event("invalid", "Failed: Error: InvalidImageName")
	})

	t.Run("ConcurrentPullsShareOne", func(t *testing.T) {
		// Under Always every start pulls; starts while a pull of the same
		// reference is under way (its config blob takes a second) join it.
		reg.Push(t, "fixture:shared", fixtureImage(t, "shared"))
		count.delay.Store(int64(time.Second))
		defer count.delay.Store(0)
		for _, name := range []string{"share-a", "share-b", "share-c"} {
			c.create(pod(name, reg.Ref("fixture:shared"), corev1.PullAlways))
		}
		for _, name := range []string{"share-a", "share-b", "share-c"} {
			c.waitPod(name, 20*time.Second, "running", running)
		}
		if n := count.gets("fixture", "shared"); n != 1 {
			t.Errorf("three pods of one image: %d manifest requests, want 1 pull", n)
		}
	})
}

// TestContainerdPulledImage runs a pulled image in containerd: the pull
// goes into the node's store, from which the containerd runtime copies the
// image into containerd.
func TestContainerdPulledImage(t *testing.T) {
	requireRoot(t, "a network namespace per pod")
	d := ctrdtest.Start(t)
	c := newClusterOpts(t, clusterOpts{CNI: true, Containerd: d.Address})
	reg := registrytest.Start(t)
	reg.Push(t, "fixture:ctrd", fixtureImage(t, "ctrd"))

	c.create(fixturePod("pulled", reg.Ref("fixture:ctrd")))
	p := c.waitPod("pulled", time.Minute, "running", running)
	if id := p.Status.ContainerStatuses[0].ContainerID; !strings.HasPrefix(id, "containerd://") {
		t.Errorf("containerID %q, want containerd://…", id)
	}
	if body := httpGet(t, "http://"+p.Status.PodIP+":8080/"); !strings.Contains(body, `"version":"ctrd"`) {
		t.Errorf("the pulled fixture answered %q", body)
	}
}
