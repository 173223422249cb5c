package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Loading images into nodes, as `kind load docker-image` does: the host's
// Docker Engine saves the images once (docker save), and the tarball is
// streamed into each node container through the stdin of the node's own
// seven binary (`docker exec -i … seven image import --root <kubelet root> -`),
// so the image store has one writer and one format, and nothing but the store
// is written in the node. The kubelet reads its store on every container
// start, so a loaded image is usable by the next pod at once, with any
// imagePullPolicy short of Always (no node pulls from a registry).

// kubeletRootDir is the kubelet's --root-dir default (cmd/seven), which
// nodeCommand does not override: the node's image store is <root>/images.
const kubeletRootDir = "/var/lib/seven/kubelet"

// LoadOptions says where LoadImages puts the images and how it reports.
type LoadOptions struct {
	// Nodes are Node or container names; empty means every node.
	Nodes []string
	// Progress, if set, gets one line per step, one call at a time.
	Progress func(string)
}

// NodeLoad is what one node imported.
type NodeLoad struct {
	Node Node
	// Imported are the node's lines of `seven image import`: reference,
	// manifest digest, store.
	Imported []string
	Took     time.Duration
}

// LoadImages copies images from the host's Docker Engine into the image
// store of the cluster's node containers (every node, or opts.Nodes). Images
// are references with a tag that the host's Docker holds (an ID or a digest
// carries no name into the store). Nothing is imported anywhere when an
// image is not on the host or a chosen node is not running. Nodes import in
// parallel; a node that fails does not stop the others, and the error names
// each failed node.
func (c *Cluster) LoadImages(ctx context.Context, images []string, opts LoadOptions) ([]NodeLoad, error) {
	if c == nil || c.cli == nil {
		return nil, errors.New("load images: the cluster is not running")
	}
	var mu sync.Mutex
	report := func(line string) {
		if opts.Progress != nil {
			mu.Lock()
			defer mu.Unlock()
			opts.Progress(line)
		}
	}
	if len(images) == 0 {
		return nil, errors.New("load images: no image given")
	}
	names, err := c.hostImages(ctx, images)
	if err != nil {
		return nil, err
	}
	targets, err := c.loadTargets(ctx, opts.Nodes)
	if err != nil {
		return nil, err
	}

	start := time.Now()
	report(fmt.Sprintf("saving %s from Docker", strings.Join(names, ", ")))
	tarball, size, err := c.saveImages(ctx, names)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tarball.Name())
	defer tarball.Close()
	report(fmt.Sprintf("saved %s in %s", formatSize(size), since(start)))

	results := make([]NodeLoad, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			report(fmt.Sprintf("loading %s into %s (%s)…", strings.Join(names, ", "), t.Node.Name, formatSize(size)))
			t0 := time.Now()
			lines, err := c.importInto(ctx, t, io.NewSectionReader(tarball, 0, size))
			results[i] = NodeLoad{Node: t.Node, Imported: lines, Took: time.Since(t0)}
			if err != nil {
				errs[i] = fmt.Errorf("node %s: %w", t.Node.Name, err)
				report(fmt.Sprintf("%s: failed after %s", t.Node.Name, since(t0)))
				return
			}
			for _, l := range lines {
				report(fmt.Sprintf("%s: %s", t.Node.Name, l))
			}
			report(fmt.Sprintf("%s: done in %s", t.Node.Name, since(t0)))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return results, fmt.Errorf("load images into cluster %s: %w", c.cfg.Name, err)
	}
	return results, nil
}

// hostImages checks that the host's Docker holds every image and returns
// the names to save, tagged ("fixture" → "fixture:latest"), so that
// docker save writes exactly these tags.
func (c *Cluster) hostImages(ctx context.Context, images []string) ([]string, error) {
	var names []string
	var errs []error
	for _, img := range images {
		res, err := c.cli.ImageInspect(ctx, img)
		if cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("image %s not present locally: docker build/pull it first", img))
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("inspect image %s: %w", img, err))
			continue
		}
		name, err := savedName(img, res.RepoTags)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w (nothing loaded)", err)
	}
	return names, nil
}

// savedName is the tag to save for img, given the tags the host's image
// carries: img itself, with ":latest" when it has neither tag nor digest. An
// image ID or a digest reference names no tag of the image, and a tarball
// saved by one would carry no name into the node's store.
func savedName(img string, repoTags []string) (string, error) {
	hint := fmt.Errorf("image %s: give a tag of it (docker tag %s NAME:TAG, then load NAME:TAG): an ID or a digest carries no name into the node's store", img, img)
	ref, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return "", hint
	}
	if _, ok := ref.(reference.Digested); ok {
		return "", hint
	}
	want := reference.TagNameOnly(ref).String()
	for _, t := range repoTags {
		if r, err := reference.ParseNormalizedNamed(t); err == nil && r.String() == want {
			return reference.FamiliarString(r), nil
		}
	}
	return "", hint // img is an ID (or an ID's prefix) that looks like a name
}

// loadTarget is a node container to import into.
type loadTarget struct {
	Node Node
	Root string // the kubelet's --root-dir inside the container
}

// nodeState is what Docker says about a node container, for planLoad.
type nodeState struct {
	Node  Node
	State container.ContainerState
	Cmd   []string // the container's command, after the entrypoint (seven)
}

// loadTargets inspects the cluster's node containers and plans the load.
func (c *Cluster) loadTargets(ctx context.Context, only []string) ([]loadTarget, error) {
	var states []nodeState
	for _, n := range c.Nodes() {
		res, err := c.cli.ContainerInspect(ctx, n.Container, client.ContainerInspectOptions{})
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", n.Container, err)
		}
		st := nodeState{Node: n}
		if res.Container.State != nil {
			st.State = res.Container.State.Status
		}
		if res.Container.Config != nil {
			st.Cmd = res.Container.Config.Cmd
		}
		states = append(states, st)
	}
	return planLoad(c.cfg.Name, states, only)
}

// planLoad picks the nodes a load goes to (all, or those named in only by
// Node or container name) and checks that each can take it: running, and
// running a kubelet (hollow nodes have no image store). Every problem is
// reported, each with what to do about it.
func planLoad(cluster string, nodes []nodeState, only []string) ([]loadTarget, error) {
	if len(nodes) == 0 {
		return nil, fmt.Errorf("cluster %s has no node containers", cluster)
	}
	chosen := nodes
	if len(only) > 0 {
		chosen = nil
		var unknown []string
		for _, name := range only {
			i := slices.IndexFunc(nodes, func(n nodeState) bool { return n.Node.Name == name || n.Node.Container == name })
			switch {
			case i < 0:
				unknown = append(unknown, name)
			case !slices.ContainsFunc(chosen, func(n nodeState) bool { return n.Node == nodes[i].Node }):
				chosen = append(chosen, nodes[i])
			}
		}
		if len(unknown) > 0 {
			all := make([]string, len(nodes))
			for i, n := range nodes {
				all[i] = n.Node.Name
			}
			return nil, fmt.Errorf("cluster %s has no node %s (its nodes: %s): %w", cluster, strings.Join(unknown, ", "), strings.Join(all, ", "), ErrNotFound)
		}
	}
	var out []loadTarget
	var errs []error
	for _, n := range chosen {
		if err := loadable(cluster, n); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, loadTarget{Node: n.Node, Root: flagValue(n.Cmd, "root-dir", kubeletRootDir)})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w (nothing loaded)", err)
	}
	return out, nil
}

// loadable says why a node container cannot take an import, if it cannot.
func loadable(cluster string, n nodeState) error {
	what := fmt.Sprintf("node %s (container %s)", n.Node.Name, n.Node.Container)
	if len(n.Cmd) > 0 && n.Cmd[0] == "hollow-nodes" {
		return fmt.Errorf("%s is a hollow node: it runs no pods and has no image store", what)
	}
	switch n.State {
	case container.StateRunning:
		return nil
	case container.StatePaused:
		return fmt.Errorf("%s is paused: seven cluster fault --name %s unpause-node %s, or leave it out with --nodes", what, cluster, n.Node.Name)
	case container.StateExited, container.StateCreated, container.StateDead:
		return fmt.Errorf("%s is %s, not running: seven cluster fault --name %s start-node %s, or leave it out with --nodes", what, n.State, cluster, n.Node.Name)
	default:
		return fmt.Errorf("%s is %s, not running: wait for it, or leave it out with --nodes", what, n.State)
	}
}

// flagValue is the value of --name (or -name, --name=v) in args, or def.
func flagValue(args []string, name, def string) string {
	for i, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return def
}

// saveImages writes `docker save names…` to a temporary file and returns it
// (at offset 0; the caller removes it) with its size.
func (c *Cluster) saveImages(ctx context.Context, names []string) (*os.File, int64, error) {
	rc, err := c.cli.ImageSave(ctx, names)
	if err != nil {
		return nil, 0, fmt.Errorf("save %s: %w", strings.Join(names, ", "), err)
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "seven-load-image-*.tar")
	if err != nil {
		return nil, 0, fmt.Errorf("save images: %w", err)
	}
	size, err := io.Copy(f, rc)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, fmt.Errorf("save %s: %w", strings.Join(names, ", "), err)
	}
	return f, size, nil
}

// importInto runs the node's `seven image import --root <root> -` with the
// tarball as its stdin.
func (c *Cluster) importInto(ctx context.Context, t loadTarget, tarball io.Reader) ([]string, error) {
	cmd := []string{sevenPath, "image", "import", "--root", t.Root, "-"}
	out, code, err := c.execStdin(ctx, t.Node.Container, tarball, cmd...)
	if err != nil {
		return nil, err
	}
	out = strings.TrimSpace(out)
	if code != 0 {
		return nil, fmt.Errorf("%s exited %d: %s", strings.Join(cmd, " "), code, out)
	}
	if out == "" {
		return nil, nil
	}
	return strings.Split(out, "\n"), nil
}

// execStdin runs cmd in a container with stdin as its standard input, which
// is closed at stdin's end, and returns its output (stdout and stderr) and
// exit code, as `docker exec -i` does.
//
// The command may stop reading before stdin ends (an import that fails, or
// that has read the end of the archive but not its padding), so a failed
// write is no error of its own: the exit code and output tell. If stdin
// itself fails to read, the command sees its input end early.
func (c *Cluster) execStdin(ctx context.Context, ctr string, stdin io.Reader, cmd ...string) (string, int, error) {
	created, err := c.cli.ExecCreate(ctx, ctr, client.ExecCreateOptions{AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: cmd})
	if err != nil {
		return "", 0, fmt.Errorf("exec in %s: %w", ctr, err)
	}
	att, err := c.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return "", 0, fmt.Errorf("exec in %s: %w", ctr, err)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, func() { att.Close() }) // the hijacked connection ignores ctx
	defer stop()
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = io.Copy(att.Conn, stdin)
		_ = att.CloseWrite()
	}()
	var buf bytes.Buffer
	_, err = stdcopy.StdCopy(&buf, &buf, att.Reader)
	att.Close() // unblocks a write the command no longer reads
	<-written
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return buf.String(), 0, fmt.Errorf("exec in %s: %w", ctr, err)
	}
	code, err := c.execExitCode(ctx, created.ID)
	if err != nil {
		return buf.String(), 0, fmt.Errorf("exec in %s: %w", ctr, err)
	}
	return buf.String(), code, nil
}

// execExitCode is the exit code of an exec whose output has ended. Docker
// may close the output a moment before it records the exit, so a running
// exec is asked again, for up to 5 s.
func (c *Cluster) execExitCode(ctx context.Context, id string) (int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ins, err := c.cli.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			return 0, err
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return 0, errors.New("the command's output ended but it still runs")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// formatSize is a byte count for people: "850 B", "12.3 MB".
func formatSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, prefixes := float64(n)/unit, "kMGT"
	i := 0
	for v >= unit && i < len(prefixes)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, prefixes[i])
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }
