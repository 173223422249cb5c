package docker

import (
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/moby/moby/client"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// ClusterInfo summarises one cluster found by its labels.
type ClusterInfo struct {
	Name         string
	Nodes        int // node containers
	Running      int // containers running, control plane included
	Containers   int // containers, control plane included
	APIServer    string
	Timings      string
	Image        string
	PausedOrDown []string // containers not running, with their state
}

// List finds every cluster on the Docker Engine by its labels.
func List(ctx context.Context) ([]ClusterInfo, error) {
	cli, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", LabelCluster)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	byName := map[string]*ClusterInfo{}
	for _, c := range cs.Items {
		name := c.Labels[LabelCluster]
		info := byName[name]
		if info == nil {
			info = &ClusterInfo{Name: name, Timings: c.Labels[LabelTimings], Image: c.Image}
			byName[name] = info
		}
		info.Containers++
		if c.State == "running" {
			info.Running++
		} else {
			info.PausedOrDown = append(info.PausedOrDown, strings.TrimPrefix(firstName(c.Names), "/")+"="+string(c.State))
		}
		switch c.Labels[LabelRole] {
		case RoleNode:
			info.Nodes++
		case RoleControlPlane:
			info.APIServer = "https://127.0.0.1:" + c.Labels[LabelAPIPort]
		}
	}
	out := make([]ClusterInfo, 0, len(byName))
	for _, i := range byName {
		sort.Strings(i.PausedOrDown)
		out = append(out, *i)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete removes a cluster's containers, network and volumes by its label.
func Delete(ctx context.Context, name string) error {
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return removeCluster(ctx, cli, name)
}

// Main runs `seven cluster <create|delete|list|kubeconfig|fault|load-image> …`; args
// start after "cluster". Progress and logs go to stderr, results to stdout.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// testcontainers greets on its default logger; commands print their own.
	tclog.SetDefault(tclog.NewNoopLogger())
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, cliUsage)
		if len(args) == 0 {
			return errors.New("missing command")
		}
		return nil
	}
	switch args[0] {
	case "create":
		return runCreate(ctx, args[1:], stdout, stderr)
	case "delete":
		return runDelete(ctx, args[1:], stdout, stderr)
	case "list":
		return runList(ctx, args[1:], stdout, stderr)
	case "kubeconfig":
		return runKubeconfig(ctx, args[1:], stdout, stderr)
	case "fault":
		return runFault(ctx, args[1:], stdout, stderr)
	case "load-image":
		return runLoadImage(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, cliUsage)
	return fmt.Errorf("unknown command %q", args[0])
}

const cliUsage = `usage: seven cluster <command> [flags]

commands:
  create      boot a cluster in Docker containers and write its kubeconfig
  delete      remove clusters (containers, network, volumes)
  list        list the clusters on this Docker Engine
  kubeconfig  print a cluster's admin kubeconfig
  load-image  copy images from this host's Docker into the nodes' image stores
              (seven cluster load-image --name NAME IMAGE...)
  fault       inject a fault: stop-node, start-node, kill-node, pause-node,
              unpause-node, partition, heal NODE; restart-control-plane
              (usable as the conformance kubeconfig target's --fault-hook:
              "seven cluster fault --name NAME")
`

func runCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seven cluster create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "seven", "cluster name (labels and container names)")
	nodes := fs.Int("nodes", 3, "number of node containers")
	preset := fs.String("timings", "fast", "timings preset: fast or kubernetes")
	kubeconfig := fs.String("kubeconfig", "", "where to write the admin kubeconfig (default ./<name>.kubeconfig)")
	image := fs.String("image", "", "node image to use as is (default: build or reuse one from the binaries)")
	sevenBin := fs.String("seven-binary", "", "static seven binary for the image (default: built from the checkout, or this executable)")
	fixtureBin := fs.String("fixture-binary", "", "static fixture binary for the image (default: built from the checkout, or next to this executable)")
	mode := fs.String("node-mode", string(NodeCNI), "what node containers run: cni (`seven node`: kubelet, proxy, DNS; a network namespace per pod), kubelet (the kubelet alone) or hollow (API-only nodes)")
	runtime := fs.String("runtime", RuntimeContainerd, "the nodes' container runtime: containerd (a containerd in each node container) or process (Seven's own)")
	port := fs.Int("api-port", 0, "host port for the API server (default: a free one)")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the cluster to be ready")
	retain := fs.Bool("retain", false, "keep the containers when the boot fails (for debugging)")
	logDir := fs.String("log-dir", "", "where to export container logs when the boot fails (default ./<name>-logs)")
	logLevel := fs.String("log-level", "warn", "harness log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if *kubeconfig == "" {
		*kubeconfig = *name + ".kubeconfig"
	}
	if *logDir == "" {
		*logDir = *name + "-logs"
	}
	src := ImageSource{Seven: *sevenBin, Fixture: *fixtureBin}
	if *image == "" && src.Seven == "" && src.Fixture == "" {
		var err error
		if src, err = defaultSource(); err != nil {
			return err
		}
	}
	p := newProgressPrinter(stderr)
	defer p.stop()
	c, err := NewCluster(ctx,
		WithName(*name), WithNodes(*nodes), WithTimings(*preset), WithNodeMode(NodeMode(*mode)), WithRuntime(*runtime),
		WithImage(*image), WithBinaries(src.Seven, src.Fixture), WithAPIPort(*port),
		WithStartupTimeout(*wait), WithLogDir(*logDir),
		WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))),
		WithProgress(p.report),
	)
	p.stop()
	if err != nil {
		if errors.Is(err, ErrExists) {
			return err
		}
		if c.owned {
			fmt.Fprintf(stderr, "container logs in %s\n", *logDir)
		}
		if !*retain {
			if derr := c.Terminate(context.WithoutCancel(ctx)); derr != nil {
				fmt.Fprintf(stderr, "clean-up: %v\n", derr)
			}
		}
		return err
	}
	if err := c.WriteKubeconfig(*kubeconfig); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	abs, _ := filepath.Abs(*kubeconfig)
	fmt.Fprintf(stdout, "cluster %s ready in %s: 1 control plane, %d nodes, API at %s\n", c.Name(), time.Since(c.start).Round(100*time.Millisecond), len(c.Nodes()), c.APIServer())
	fmt.Fprintf(stdout, "  export KUBECONFIG=%s\n  seven cluster delete %s   # when done\n", abs, c.Name())
	return nil
}

// defaultSource picks the binaries for `seven cluster create`: this
// executable with the fixture and the CNI plugins next to it (as make build
// lays them out), so that the nodes run what the user runs and nothing is
// built; else, inside a checkout, built from it.
func defaultSource() (ImageSource, error) {
	exe, err := os.Executable()
	if err != nil {
		return ImageSource{}, fmt.Errorf("find this executable: %w", err)
	}
	fixture := filepath.Join(filepath.Dir(exe), "fixture")
	_, ferr := os.Stat(fixture)
	_, cerr := os.Stat(filepath.Join(filepath.Dir(exe), "cni"))
	if ferr == nil && cerr == nil && staticELF(exe) {
		return ImageSource{Seven: exe, Fixture: fixture}, nil
	}
	if _, err := findModule(""); err == nil {
		return ImageSource{}, nil
	}
	return ImageSource{}, fmt.Errorf("no static %s with a fixture binary and cni/ plugins next to it, and no checkout of %s here: run make build, or give --seven-binary and --fixture-binary, or --image", exe, modulePath)
}

// staticELF reports whether path is an executable without a program
// interpreter (statically linked), which a FROM-scratch node image can run.
func staticELF(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// progressPrinter prints each boot stage with the elapsed time, and a
// reminder every few seconds while a stage lasts.
type progressPrinter struct {
	w        io.Writer
	mu       sync.Mutex
	last     Progress
	started  time.Time
	done     chan struct{}
	stopOnce sync.Once
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, started: time.Now(), done: make(chan struct{})}
	go p.tick()
	return p
}

func (p *progressPrinter) report(pr Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = pr
	fmt.Fprintf(p.w, "[%5.1fs] %s\n", pr.Elapsed.Seconds(), pr.Detail)
}

func (p *progressPrinter) tick() {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.mu.Lock()
			if p.last.Detail != "" {
				fmt.Fprintf(p.w, "[%5.1fs]   … still %s\n", time.Since(p.started).Seconds(), p.last.Detail)
			}
			p.mu.Unlock()
		}
	}
}

func (p *progressPrinter) stop() { p.stopOnce.Do(func() { close(p.done) }) }

func runDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seven cluster delete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "delete every cluster")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := fs.Args()
	if *all {
		infos, err := List(ctx)
		if err != nil {
			return err
		}
		for _, i := range infos {
			names = append(names, i.Name)
		}
	} else if len(names) == 0 {
		names = []string{"seven"}
	}
	var errs []error
	for _, n := range names {
		if err := Delete(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", n, err))
			continue
		}
		fmt.Fprintf(stdout, "deleted cluster %s\n", n)
	}
	return errors.Join(errs...)
}

func runList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seven cluster list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	infos, err := List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNODES\tRUNNING\tAPI\tTIMINGS\tNOT RUNNING")
	for _, i := range infos {
		fmt.Fprintf(tw, "%s\t%d\t%d/%d\t%s\t%s\t%s\n", i.Name, i.Nodes, i.Running, i.Containers, i.APIServer, i.Timings, strings.Join(i.PausedOrDown, " "))
	}
	return tw.Flush()
}

func runKubeconfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seven cluster kubeconfig", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "seven", "cluster name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := Attach(ctx, *name, nil)
	if err != nil {
		return err
	}
	kc := c.Kubeconfig()
	if kc == nil {
		return fmt.Errorf("cluster %s: no kubeconfig (is the control plane running?)", *name)
	}
	_, err = stdout.Write(kc)
	return err
}

// faultActions maps `seven cluster fault` actions to Cluster methods; the
// names match the kubeconfig target's fault hook protocol.
var faultActions = map[string]func(*Cluster, context.Context, string) error{
	"stop-node":    (*Cluster).StopNode,
	"start-node":   (*Cluster).StartNode,
	"kill-node":    (*Cluster).KillNode,
	"pause-node":   (*Cluster).PauseNode,
	"unpause-node": (*Cluster).UnpauseNode,
	"partition":    (*Cluster).Partition,
	"disconnect":   (*Cluster).Disconnect,
	"reconnect":    (*Cluster).Reconnect,
	"heal":         (*Cluster).Heal,
}

// exitUnsupported is the fault-hook exit status for "not supported".
const exitUnsupported = 3

// UnsupportedError is returned by `seven cluster fault` for an action it does
// not know; the caller should exit with Code (the hook protocol's "unsupported").
type UnsupportedError struct{ Action string }

func (e UnsupportedError) Error() string { return "unsupported fault " + strconv.Quote(e.Action) }

// Code is the exit status for the fault-hook protocol.
func (e UnsupportedError) Code() int { return exitUnsupported }

func runFault(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seven cluster fault", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "seven", "cluster name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return errors.New("usage: seven cluster fault [--name NAME] ACTION [NODE]")
	}
	c, err := Attach(ctx, *name, nil)
	if err != nil {
		return err
	}
	action := rest[0]
	if action == "restart-control-plane" {
		return c.RestartControlPlane(ctx)
	}
	fn, ok := faultActions[action]
	if !ok {
		return UnsupportedError{Action: action}
	}
	if len(rest) != 2 {
		return fmt.Errorf("usage: seven cluster fault [--name NAME] %s NODE", action)
	}
	if err := fn(c, ctx, rest[1]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s: done\n", action, rest[1])
	return nil
}

func runLoadImage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seven cluster load-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: seven cluster load-image [--name NAME] [--nodes NODE,...] IMAGE...\n\n"+
			"Copies images from this host's Docker Engine (docker save) into the image store of\n"+
			"each node, for pods with imagePullPolicy IfNotPresent or Never.\n\n")
		fs.PrintDefaults()
	}
	name := fs.String("name", "seven", "cluster name")
	nodes := fs.String("nodes", "", "comma-separated nodes to load into (default: every node)")
	// Flags may follow the images, as in `load-image IMAGE --name x`.
	var images []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		images, rest = append(images, fs.Arg(0)), fs.Args()[1:]
	}
	if len(images) == 0 {
		fs.Usage()
		return errors.New("no image given")
	}
	var only []string
	if *nodes != "" {
		only = strings.Split(*nodes, ",")
	}
	c, err := Attach(ctx, *name, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	progress := func(line string) {
		fmt.Fprintf(stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), line)
	}
	loaded, err := c.LoadImages(ctx, images, LoadOptions{Nodes: only, Progress: progress})
	if err != nil {
		return err
	}
	names := make([]string, len(loaded))
	for i, l := range loaded {
		names[i] = l.Node.Name
	}
	fmt.Fprintf(stdout, "loaded %s into %s in %s\n", strings.Join(images, ", "), strings.Join(names, ", "), time.Since(start).Round(10*time.Millisecond))
	return nil
}
