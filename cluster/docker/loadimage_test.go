package docker_test

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/cluster/docker/dockertest"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// TestLoadImage builds a small image in the host's Docker and loads it into
// a 2-node cluster with `seven cluster load-image`: a pod on each node runs
// it without pulling. A load naming a missing image fails and imports
// nothing; a stopped node is refused by name and can be left out.
func TestLoadImage(t *testing.T) {
	c := dockertest.Cluster(t, docker.WithNodes(2))
	cs := clientFor(t, c)
	version, images := testImage(t, "seven.test/load-image:a", "seven.test/load-image:b")
	img, img2 := images[0], images[1]
	missing := "seven.test/missing:" + version

	t.Run("missing image", func(t *testing.T) {
		_, _, err := run(t, "load-image", "--name", c.Name(), img2, missing)
		want := "image " + missing + " not present locally: docker build/pull it first"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("load-image with a missing image: %v, want %q", err, want)
		}
		// img2 was present but must not have reached any node.
		p := runPod(t, cs, "not-loaded", "node-1", img2, corev1.PullNever)
		waitPod(t, cs, p, "ErrImageNeverPull", 60*time.Second, func(p *corev1.Pod) bool { return waitingReason(p) == "ErrImageNeverPull" })

		// A seven.local image no node has: the kubelet names load-image, not
		// the seven image import inside the node container.
		p = runPod(t, cs, "not-imported", "node-2", "seven.local/missing:"+version, corev1.PullIfNotPresent)
		hint := "`seven cluster load-image --name " + c.Name() + " IMAGE`"
		waitPod(t, cs, p, "ErrImagePull naming "+hint, 60*time.Second, func(p *corev1.Pod) bool {
			st := p.Status.ContainerStatuses
			return len(st) == 1 && st[0].State.Waiting != nil && st[0].State.Waiting.Reason == "ErrImagePull" && strings.Contains(st[0].State.Waiting.Message, hint)
		})
	})

	t.Run("every node", func(t *testing.T) {
		// Flags may follow the images.
		out, progress, err := run(t, "load-image", img, "--name", c.Name())
		t.Logf("load-image:\n%s%s", progress, out)
		if err != nil {
			t.Fatalf("load-image: %v", err)
		}
		for _, want := range []string{"saving " + img + " from Docker", "loading " + img + " into node-1 (", "loading " + img + " into node-2 (",
			"node-1: imported " + img, "node-2: done in"} {
			if !strings.Contains(progress, want) {
				t.Errorf("progress lacks %q", want)
			}
		}
		if !strings.Contains(out, "loaded "+img+" into node-1, node-2 in ") {
			t.Errorf("output %q does not say where the image went", out)
		}
		for node, policy := range map[string]corev1.PullPolicy{"node-1": corev1.PullNever, "node-2": corev1.PullIfNotPresent} {
			p := runPod(t, cs, "loaded-"+node, node, img, policy)
			waitPod(t, cs, p, "running", 60*time.Second, running)
			// The image's own config came along: entrypoint, command and env.
			waitLogs(t, cs, p, "version="+version, 30*time.Second)
		}
		// The tarball went through the import's stdin: nothing is left in the nodes.
		for _, n := range c.Nodes() {
			if left := loadLeftovers(t, n.Container); len(left) > 0 {
				t.Errorf("%s: load-image left %v in /tmp", n.Name, left)
			}
		}
	})

	t.Run("stopped node", func(t *testing.T) {
		ctx := context.Background()
		if err := c.StopNode(ctx, "node-2"); err != nil {
			t.Fatal(err)
		}
		_, err := c.LoadImages(ctx, []string{img2}, docker.LoadOptions{})
		want := fmt.Sprintf("node node-2 (container %s-node-2) is exited, not running: seven cluster fault --name %s start-node node-2", c.Name(), c.Name())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("load into a stopped node: %v, want %q", err, want)
		}
		loaded, err := c.LoadImages(ctx, []string{img2}, docker.LoadOptions{Nodes: []string{"node-1"}, Progress: func(l string) { t.Log(l) }})
		if err != nil {
			t.Fatalf("load with --nodes node-1: %v", err)
		}
		if len(loaded) != 1 || loaded[0].Node.Name != "node-1" || len(loaded[0].Imported) == 0 || !strings.Contains(loaded[0].Imported[0], img2) {
			t.Errorf("loaded %+v, want %s on node-1 alone", loaded, img2)
		}
	})
}

// TestLoadImageNoCluster: a cluster that does not exist is reported as the
// other cluster commands report it.
func TestLoadImageNoCluster(t *testing.T) {
	dockertest.Require(t)
	name := dockertest.Name(t)
	_, _, err := run(t, "load-image", "--name", name, "seven.test/anything:v1")
	if !errors.Is(err, docker.ErrNotFound) || !strings.Contains(err.Error(), "cluster "+name) {
		t.Errorf("load-image into no cluster: %v, want cluster %s: not found", err, name)
	}
	if _, _, err := run(t, "load-image", "--name", name); err == nil || !strings.Contains(err.Error(), "no image given") {
		t.Errorf("load-image without images: %v, want no image given", err)
	}
}

// loadLeftovers lists the seven-load-image files in a container's /tmp.
func loadLeftovers(t *testing.T, ctr string) []string {
	t.Helper()
	ctx := context.Background()
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	res, err := dc.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: "/tmp"})
	if err != nil {
		t.Fatalf("read /tmp of %s: %v", ctr, err)
	}
	defer res.Content.Close()
	var left []string
	tr := tar.NewReader(res.Content)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return left
		}
		if err != nil {
			t.Fatalf("read /tmp of %s: %v", ctr, err)
		}
		if strings.Contains(h.Name, "seven-load-image") {
			left = append(left, h.Name)
		}
	}
}

// testImage builds a FROM-scratch image holding the fixture in the host's
// Docker, tagged with each tag plus a random suffix, and removes it at
// cleanup. The image reports the returned version (FIXTURE_VERSION).
func testImage(t *testing.T, tags ...string) (version string, images []string) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	version = hex.EncodeToString(b[:])
	for _, tag := range tags {
		images = append(images, tag+"-"+version)
	}
	ctx := context.Background()
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, img := range images {
			if _, err := dc.ImageRemove(context.Background(), img, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
				t.Errorf("remove test image %s: %v", img, err)
			}
		}
		dc.Close()
	})
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY fixture /fixture\nENV PATH=/ FIXTURE_VERSION=%s\nENTRYPOINT [\"/fixture\"]\nCMD [\"serve\"]\n", version)
	fixture := fixturetest.Binary(t)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(testImageContext(pw, dockerfile, fixture)) }()
	res, err := dc.ImageBuild(ctx, pr, client.ImageBuildOptions{Tags: images, Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		t.Fatalf("build test image: %v", err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("build test image: %v", err)
		}
		if msg.Error != "" {
			t.Fatalf("build test image: %s", msg.Error)
		}
	}
	return version, images
}

// testImageContext writes a Dockerfile and the fixture binary as a tar stream.
func testImageContext(w io.Writer, dockerfile, fixture string) error {
	bin, err := os.ReadFile(fixture)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"fixture", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Now()}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// runPod creates a pod running image on node, deleted at cleanup.
func runPod(t *testing.T, cs kubernetes.Interface, name, node, image string, policy corev1.PullPolicy) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceDefault},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "app", Image: image, ImagePullPolicy: policy}},
		},
	}
	p, err := cs.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Pods(p.Namespace).Delete(context.Background(), p.Name, metav1.DeleteOptions{})
	})
	return p
}

// running reports whether the pod's container runs (and has not restarted).
func running(p *corev1.Pod) bool {
	st := p.Status.ContainerStatuses
	return p.Status.Phase == corev1.PodRunning && len(st) == 1 && st[0].State.Running != nil && st[0].RestartCount == 0
}

func waitingReason(p *corev1.Pod) string {
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Waiting != nil {
			return s.State.Waiting.Reason
		}
	}
	return ""
}

// waitPod polls the pod until ok, failing after within with what it saw.
func waitPod(t *testing.T, cs kubernetes.Interface, p *corev1.Pod, what string, within time.Duration, ok func(*corev1.Pod) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	saw := "nothing yet"
	for {
		got, err := cs.CoreV1().Pods(p.Namespace).Get(context.Background(), p.Name, metav1.GetOptions{})
		if err == nil && ok(got) {
			return
		}
		if err != nil {
			saw = err.Error()
		} else {
			saw = "phase " + string(got.Status.Phase)
			for _, s := range got.Status.ContainerStatuses {
				switch st := s.State; {
				case st.Waiting != nil:
					saw += fmt.Sprintf(", waiting %s: %s", st.Waiting.Reason, st.Waiting.Message)
				case st.Terminated != nil:
					saw += fmt.Sprintf(", terminated %s: %s", st.Terminated.Reason, st.Terminated.Message)
				}
				saw += fmt.Sprintf(", %d restarts", s.RestartCount)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s on %s not %s within %s; last saw %s", p.Name, p.Spec.NodeName, what, within, saw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitLogs polls the pod's logs until they contain want.
func waitLogs(t *testing.T, cs kubernetes.Interface, p *corev1.Pod, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var saw string
	for {
		body, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(context.Background())
		saw = string(body)
		if err != nil {
			saw = err.Error()
		} else if strings.Contains(saw, want) {
			t.Logf("pod %s on %s logs: %s", p.Name, p.Spec.NodeName, strings.TrimSpace(saw))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s logs lack %q within %s; last saw %q", p.Name, want, within, saw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
