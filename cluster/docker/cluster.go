package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/project-seven/seven/cluster/apiserver"
)

// ErrNoDocker means no Docker Engine answered.
var ErrNoDocker = errors.New("no Docker Engine reachable")

// ErrExists means a cluster of that name already exists.
var ErrExists = errors.New("cluster exists")

// ErrNotFound means no cluster (or node) of that name exists.
var ErrNotFound = errors.New("not found")

// Node is one node container.
type Node struct {
	// Name is the Node object's name in the API.
	Name string
	// Container is the container's name.
	Container string
	// IP is the node's fixed address on the cluster network.
	IP netip.Addr
}

// Cluster is a cluster of containers. Its methods are safe for concurrent use.
type Cluster struct {
	cfg   Config
	log   *slog.Logger
	cli   *client.Client
	start time.Time

	// owned is false until the name is known to be free, so that Terminate
	// never removes a cluster this handle did not create or attach to.
	owned bool

	mu         sync.Mutex
	image      string
	layout     layout
	network    string // network ID
	apiPort    int
	kubeconfig []byte // for the host
	rest       *rest.Config
	nodes      []Node
}

// Available reports whether a Docker Engine answers; the error wraps ErrNoDocker.
func Available(ctx context.Context) error {
	cli, err := newClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	return nil
}

// disableReaper turns testcontainers' Ryuk reaper off unless the caller chose:
// its image cannot be pulled without a registry, and this package removes
// what it creates. testcontainers reads the variable once, at first use.
func disableReaper() {
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
}

func newClient(ctx context.Context) (*client.Client, error) {
	disableReaper()
	c, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	return c.Client, nil
}

// NewCluster boots a cluster: DefaultConfig, then opts in order. It returns
// the handle even on error, so callers register Terminate before checking:
//
//	c, err := docker.NewCluster(ctx, docker.WithNodes(3))
//	defer c.Terminate(context.Background())
//	if err != nil { … }
func NewCluster(ctx context.Context, opts ...Option) (*Cluster, error) {
	cfg := DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return Create(ctx, cfg)
}

// Create boots a cluster from cfg (see NewCluster).
func Create(ctx context.Context, cfg Config) (*Cluster, error) {
	c := &Cluster{start: time.Now()}
	if err := cfg.validate(); err != nil {
		c.cfg = cfg
		return c, err
	}
	c.cfg, c.log = cfg, cfg.Logger.With("cluster", cfg.Name)
	cli, err := newClient(ctx)
	if err != nil {
		return c, err
	}
	c.cli = cli
	if err := c.boot(ctx); err != nil {
		if cfg.LogDir != "" && c.owned {
			if lerr := c.ExportLogs(context.WithoutCancel(ctx), cfg.LogDir); lerr != nil {
				c.log.Warn("export logs", "err", lerr)
			}
		}
		return c, fmt.Errorf("create cluster %s: %w", cfg.Name, err)
	}
	return c, nil
}

func (c *Cluster) progress(stage, format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	c.log.Info(detail, "stage", stage, "elapsed", time.Since(c.start).Round(time.Millisecond))
	if c.cfg.Progress != nil {
		c.cfg.Progress(Progress{Stage: stage, Detail: detail, Elapsed: time.Since(c.start)})
	}
}

func (c *Cluster) boot(ctx context.Context) error {
	image := c.cfg.Image
	if image == "" {
		c.progress("image", "building or reusing the node image")
		var err error
		if image, err = ensureImage(ctx, c.cli, c.cfg.Binaries, c.log); err != nil {
			return err
		}
	}
	c.image = image
	// The startup timeout covers the cluster, not a cold image build.
	ctx, cancel := context.WithTimeout(ctx, c.cfg.StartupTimeout)
	defer cancel()

	if err := c.claimName(ctx); err != nil {
		return err
	}
	c.progress("network", "creating network %s", networkName(c.cfg.Name))
	if err := c.createNetwork(ctx); err != nil {
		return err
	}
	c.apiPort = c.cfg.APIPort
	if c.apiPort == 0 {
		p, err := freePort()
		if err != nil {
			return fmt.Errorf("api port: %w", err)
		}
		c.apiPort = p
	}
	c.progress("control-plane", "starting %s (%s)", controlPlaneName(c.cfg.Name), image)
	if err := c.runControlPlane(ctx); err != nil {
		return err
	}
	c.progress("control-plane", "waiting for the API server")
	nodeKubeconfig, err := c.awaitControlPlane(ctx)
	if err != nil {
		return err
	}
	if c.cfg.Nodes > 0 {
		c.progress("nodes", "starting %d node containers", c.cfg.Nodes)
		if err := c.runNodes(ctx, nodeKubeconfig); err != nil {
			return err
		}
		c.progress("nodes", "waiting for %d nodes to be Ready", c.cfg.Nodes)
		if err := c.awaitNodesReady(ctx); err != nil {
			return err
		}
	}
	c.progress("ready", "cluster %s is ready: API at %s", c.cfg.Name, c.APIServer())
	return nil
}

// claimName fails when objects with this cluster's label or names exist.
func (c *Cluster) claimName(ctx context.Context) error {
	cs, err := c.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: clusterFilter(c.cfg.Name)})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	ns, err := c.cli.NetworkList(ctx, client.NetworkListOptions{Filters: clusterFilter(c.cfg.Name)})
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	if len(cs.Items) > 0 || len(ns.Items) > 0 {
		return fmt.Errorf("%w: %s (seven cluster delete %s)", ErrExists, c.cfg.Name, c.cfg.Name)
	}
	c.owned = true
	return nil
}

func clusterFilter(name string) client.Filters {
	return make(client.Filters).Add("label", LabelCluster+"="+name)
}

func (c *Cluster) labels(role string, extra ...string) map[string]string {
	l := map[string]string{LabelCluster: c.cfg.Name, LabelRole: role, LabelTimings: c.cfg.TimingsPreset, LabelPartition: string(c.cfg.Partition)}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// createNetwork creates the cluster's bridge network on a free /24, stepping
// to the next candidate when another process takes one at the same time.
func (c *Cluster) createNetwork(ctx context.Context) error {
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		nets, err := c.cli.NetworkList(ctx, client.NetworkListOptions{})
		if err != nil {
			return fmt.Errorf("list networks: %w", err)
		}
		var used []netip.Prefix
		for _, n := range nets.Items {
			for _, cfg := range n.IPAM.Config {
				if cfg.Subnet.IsValid() {
					used = append(used, cfg.Subnet)
				}
			}
		}
		subnet, err := pickSubnet(used, attempt)
		if err != nil {
			return err
		}
		l, err := planLayout(subnet, c.cfg.Nodes)
		if err != nil {
			return err
		}
		res, err := c.cli.NetworkCreate(ctx, networkName(c.cfg.Name), client.NetworkCreateOptions{
			Driver: "bridge",
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet, Gateway: l.Gateway}}},
			Labels: c.labels("network"),
		})
		if err == nil {
			c.mu.Lock()
			c.network, c.layout = res.ID, l
			c.mu.Unlock()
			return nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "overlap") {
			break
		}
	}
	return fmt.Errorf("create network: %w", lastErr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tcLogger sends testcontainers' chatter to the debug level.
type tcLogger struct{ log *slog.Logger }

func (l tcLogger) Printf(format string, args ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)), "from", "testcontainers")
}

// containerOptions are the options every container of the cluster shares.
func (c *Cluster) containerOptions(name, role string, ip netip.Addr, aliases []string, labels ...string) []testcontainers.ContainerCustomizer {
	netName := networkName(c.cfg.Name)
	return []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(tcLogger{c.log}),
		testcontainers.WithName(name),
		testcontainers.WithLabels(c.labels(role, append([]string{LabelIP, ip.String()}, labels...)...)),
		tcnetwork.WithNetworkName(aliases, netName),
		testcontainers.WithEndpointSettingsModifier(func(m map[string]*network.EndpointSettings) {
			if es := m[netName]; es != nil {
				es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ip}
			}
		}),
		testcontainers.WithConfigModifier(func(cfg *container.Config) { cfg.Hostname = name }),
	}
}

// withCommand sets a container's command: arguments to the image's
// entrypoint (seven), or a whole command line (a flavour's).
func withCommand(argv bool, cmd []string) testcontainers.CustomizeRequestOption {
	if !argv {
		return testcontainers.WithCmd(cmd...)
	}
	return func(req *testcontainers.GenericContainerRequest) error {
		req.Entrypoint, req.Cmd = cmd[:1], cmd[1:]
		return nil
	}
}

// controlPlaneCommand is Seven's control plane, or the flavour's.
func (c *Cluster) controlPlaneCommand() []string {
	if f := c.cfg.Flavour; f != nil {
		return f.ControlPlane(controlPlaneSpec(c.layout, c.cfg.Name, c.cfg.TimingsPreset))
	}
	return controlPlaneCommand(c.layout, c.cfg.Name, c.cfg.TimingsPreset)
}

func (c *Cluster) runControlPlane(ctx context.Context) error {
	name := controlPlaneName(c.cfg.Name)
	port := strconv.Itoa(c.apiPort)
	apiPortProto := fmt.Sprintf("%d/tcp", apiPort)
	opts := append(c.containerOptions(name, RoleControlPlane, c.layout.ControlPlane, []string{controlPlaneHost, name}, LabelAPIPort, port),
		withCommand(c.cfg.Flavour != nil, c.controlPlaneCommand()),
		testcontainers.WithExposedPorts(apiPortProto),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{}
			p, _ := network.ParsePort(apiPortProto)
			hc.PortBindings[p] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: port}}
			// Like a static pod under the kubelet: the control plane exits
			// when a component fails (e.g. loses its leader lease under
			// load) and Docker starts it again, data and port unchanged.
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyOnFailure}
		}),
	)
	if _, err := testcontainers.Run(ctx, c.image, opts...); err != nil {
		return fmt.Errorf("run control plane: %w", err)
	}
	return nil
}

// awaitControlPlane waits for the control plane's kubeconfig, builds the
// host's from it, waits for /readyz through the mapped port, and returns the
// kubeconfig nodes use (the control plane's fixed IP).
func (c *Cluster) awaitControlPlane(ctx context.Context) ([]byte, error) {
	name := controlPlaneName(c.cfg.Name)
	var raw []byte
	err := poll(ctx, 100*time.Millisecond, func() (bool, error) {
		data, err := c.copyFile(ctx, name, cpKubeconfig)
		if err == nil {
			raw = data
			return true, nil
		}
		return false, c.checkRunning(ctx, name)
	})
	if err != nil {
		return nil, fmt.Errorf("control plane kubeconfig: %w", err)
	}
	if err := c.setHostKubeconfig(raw); err != nil {
		return nil, err
	}
	if err := c.awaitReadyz(ctx); err != nil {
		return nil, err
	}
	return rewriteKubeconfig(raw, fmt.Sprintf("https://%s", net.JoinHostPort(c.layout.ControlPlane.String(), strconv.Itoa(apiPort))), "")
}

func (c *Cluster) setHostKubeconfig(raw []byte) error {
	host, err := rewriteKubeconfig(raw, c.APIServer(), c.cfg.Name)
	if err != nil {
		return err
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(host)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	c.mu.Lock()
	c.kubeconfig, c.rest = host, rc
	c.mu.Unlock()
	return nil
}

// awaitReadyz polls /readyz through the mapped port until it answers ok.
func (c *Cluster) awaitReadyz(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	var last string
	err = poll(ctx, 100*time.Millisecond, func() (bool, error) {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
		if err == nil {
			return true, nil
		}
		last = strings.TrimSpace(string(body) + " " + err.Error())
		return false, c.checkRunning(ctx, controlPlaneName(c.cfg.Name))
	})
	if err != nil {
		return fmt.Errorf("/readyz at %s (last: %s): %w", c.APIServer(), last, err)
	}
	return nil
}

func (c *Cluster) runNodes(ctx context.Context, kubeconfig []byte) error {
	var ca *apiserver.PKI // issues the kubelets' serving certificates (certs.go)
	if c.cfg.NodeMode != NodeHollow {
		var err error
		if ca, err = c.clusterCA(ctx); err != nil {
			return err
		}
	}
	nodes := make([]Node, c.cfg.Nodes)
	errs := make([]error, c.cfg.Nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		spec := nodeSpec{
			Index: i + 1, Name: nodeName(c.cfg.NodeMode, i+1), IP: c.layout.Nodes[i],
			Timings: c.cfg.TimingsPreset, Mode: c.cfg.NodeMode, Runtime: c.cfg.Runtime, Hostname: nodeContainerName(c.cfg.Name, i+1), Cluster: c.cfg.Name,
		}
		nodes[i] = Node{Name: spec.Name, Container: spec.Hostname, IP: spec.IP}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.runNode(ctx, spec, kubeconfig, ca)
		}()
	}
	wg.Wait()
	c.mu.Lock()
	c.nodes = nodes
	c.mu.Unlock()
	return errors.Join(errs...)
}

func (c *Cluster) runNode(ctx context.Context, s nodeSpec, kubeconfig []byte, ca *apiserver.PKI) error {
	cmd := nodeCommand(s)
	files := []testcontainers.ContainerFile{{Reader: bytes.NewReader(kubeconfig), ContainerFilePath: nodeKubeconfig, FileMode: 0o600}}
	if f := c.cfg.Flavour; f != nil {
		fcmd, ffiles, err := f.Node(NodeSpec{Index: s.Index, Name: s.Name, IP: s.IP, Hostname: s.Hostname, Timings: s.Timings, ControlPlane: c.layout.ControlPlane}, ca)
		if err != nil {
			return fmt.Errorf("node %s: %w", s.Name, err)
		}
		cmd, files = fcmd, append(files, ffiles...)
	} else if ca != nil {
		certs, flags, err := kubeletCertificates(ca, s)
		if err != nil {
			return fmt.Errorf("node %s certificates: %w", s.Name, err)
		}
		files, cmd = append(files, certs...), append(cmd, flags...)
	}
	opts := append(c.containerOptions(s.Hostname, RoleNode, s.IP, []string{s.Name, s.Hostname}, LabelNode, s.Name),
		withCommand(c.cfg.Flavour != nil, cmd),
		testcontainers.WithFiles(files...),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			nodeSecurity(s, hc)
			if f := c.cfg.Flavour; f != nil && f.NodeHostConfig != nil {
				f.NodeHostConfig(hc)
			}
		}),
	)
	if _, err := testcontainers.Run(ctx, c.image, opts...); err != nil {
		return fmt.Errorf("run node %s: %w", s.Name, err)
	}
	return nil
}

// awaitNodesReady waits until every node of the cluster is registered and Ready.
func (c *Cluster) awaitNodesReady(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	want := c.Nodes()
	var saw string
	err = poll(ctx, 200*time.Millisecond, func() (bool, error) {
		list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			saw = err.Error()
			return false, nil
		}
		ready := map[string]bool{}
		for _, n := range list.Items {
			ready[n.Name] = NodeReady(&n)
		}
		var missing []string
		for _, n := range want {
			if !ready[n.Name] {
				missing = append(missing, n.Name)
				if err := c.checkRunning(ctx, n.Container); err != nil {
					return false, err
				}
			}
		}
		saw = "not Ready: " + strings.Join(missing, ", ")
		return len(missing) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("nodes Ready (%s): %w", saw, err)
	}
	return nil
}

// NodeReady reports whether the node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// checkRunning fails when the container has exited, with the end of its logs.
func (c *Cluster) checkRunning(ctx context.Context, name string) error {
	res, err := c.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	st := res.Container.State
	if st != nil && (st.Status == container.StateExited || st.Status == container.StateDead) {
		return fmt.Errorf("container %s exited with code %d: %s", name, st.ExitCode, c.tail(ctx, name, 20))
	}
	// The control plane restarts on failure; one restart under load is
	// tolerated, a crash loop is not.
	if res.Container.RestartCount >= 3 {
		return fmt.Errorf("container %s restarted %d times: %s", name, res.Container.RestartCount, c.tail(ctx, name, 20))
	}
	return nil
}

// poll calls check every interval until it reports done or an error, or ctx ends.
func poll(ctx context.Context, interval time.Duration, check func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// copyFile reads one regular file out of a container.
func (c *Cluster) copyFile(ctx context.Context, ctr, path string) ([]byte, error) {
	res, err := c.cli.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		return nil, err
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("copy %s:%s: %w", ctr, path, err)
		}
		if h.Typeflag == tar.TypeReg {
			return io.ReadAll(tr)
		}
	}
}

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.cfg.Name }

// Image is the node image the cluster runs.
func (c *Cluster) Image() string { c.mu.Lock(); defer c.mu.Unlock(); return c.image }

// APIServer is the API server's URL from the host.
func (c *Cluster) APIServer() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("https://127.0.0.1:%d", c.apiPort)
}

// Kubeconfig is an admin kubeconfig for the host (the mapped port); nil
// before the control plane is up.
func (c *Cluster) Kubeconfig() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.kubeconfig)
}

// WriteKubeconfig writes Kubeconfig to path (mode 0600).
func (c *Cluster) WriteKubeconfig(path string) error {
	kc := c.Kubeconfig()
	if kc == nil {
		return errors.New("no kubeconfig: the control plane is not up")
	}
	return os.WriteFile(path, kc, 0o600)
}

// RESTConfig is an admin client configuration for the host; nil before the
// control plane is up. Each call returns a copy.
func (c *Cluster) RESTConfig() *rest.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rest == nil {
		return nil
	}
	return rest.CopyConfig(c.rest)
}

// Nodes lists the node containers, in order.
func (c *Cluster) Nodes() []Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Node(nil), c.nodes...)
}

// Timings is the timings preset the cluster runs with.
func (c *Cluster) Timings() string { return c.cfg.TimingsPreset }

// NodeMode is what the node containers run.
func (c *Cluster) NodeMode() NodeMode { return c.cfg.NodeMode }

// Terminate removes every container and network with the cluster's label,
// paused or stopped ones included, and the containers' anonymous volumes. It
// is safe after a failed boot and when called twice; it removes nothing when
// the name belonged to another cluster.
func (c *Cluster) Terminate(ctx context.Context) error {
	if c == nil || c.cli == nil || !c.owned {
		return nil
	}
	return removeCluster(ctx, c.cli, c.cfg.Name)
}

// removeCluster removes everything labelled with the cluster name.
func removeCluster(ctx context.Context, cli *client.Client, name string) error {
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: clusterFilter(name)})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, ctr := range cs.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ctr.State == container.StatePaused {
				_, _ = cli.ContainerUnpause(ctx, ctr.ID, client.ContainerUnpauseOptions{})
			}
			_, err := cli.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("remove container %s: %w", strings.Join(ctr.Names, ","), err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: clusterFilter(name)})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range ns.Items {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Attach returns a handle on an existing cluster, found by its label (for
// `seven cluster` commands and faults from another process).
func Attach(ctx context.Context, name string, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cli, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: Config{Name: name, Logger: log}, log: log.With("cluster", name), cli: cli, start: time.Now()}
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: clusterFilter(name)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	if len(cs.Items) == 0 {
		return nil, fmt.Errorf("cluster %s: %w", name, ErrNotFound)
	}
	c.owned = true
	var cp string
	for _, ctr := range cs.Items {
		l := ctr.Labels
		ip, _ := netip.ParseAddr(l[LabelIP])
		c.cfg.TimingsPreset = l[LabelTimings]
		c.cfg.Partition = PartitionMethod(l[LabelPartition])
		if c.cfg.Partition == "" {
			c.cfg.Partition = PartitionDisconnect
		}
		c.image = ctr.Image
		switch l[LabelRole] {
		case RoleControlPlane:
			cp = strings.TrimPrefix(firstName(ctr.Names), "/")
			c.apiPort, _ = strconv.Atoi(l[LabelAPIPort])
		case RoleNode:
			c.nodes = append(c.nodes, Node{Name: l[LabelNode], Container: strings.TrimPrefix(firstName(ctr.Names), "/"), IP: ip})
		}
	}
	sort.Slice(c.nodes, func(i, j int) bool { return lessNatural(c.nodes[i].Container, c.nodes[j].Container) })
	c.cfg.Nodes = len(c.nodes)
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: clusterFilter(name)})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	if len(ns.Items) > 0 {
		c.network = ns.Items[0].ID
	}
	if cp != "" {
		if raw, err := c.copyFile(ctx, cp, cpKubeconfig); err == nil {
			if err := c.setHostKubeconfig(raw); err != nil {
				return nil, err
			}
		} else {
			c.log.Warn("no kubeconfig from the control plane", "err", err)
		}
	}
	return c, nil
}

func firstName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// lessNatural orders "x-node-2" before "x-node-10".
func lessNatural(a, b string) bool {
	ai, bi := strings.LastIndexByte(a, '-'), strings.LastIndexByte(b, '-')
	if ai >= 0 && bi >= 0 && a[:ai] == b[:bi] {
		an, aerr := strconv.Atoi(a[ai+1:])
		bn, berr := strconv.Atoi(b[bi+1:])
		if aerr == nil && berr == nil {
			return an < bn
		}
	}
	return a < b
}

// Leftovers lists the containers, networks and volumes that carry the
// cluster's label ("container NAME", "network NAME", "volume NAME"); empty
// after Terminate.
func Leftovers(ctx context.Context, name string) ([]string, error) {
	cli, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	var out []string
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: clusterFilter(name)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		out = append(out, "container "+strings.TrimPrefix(firstName(c.Names), "/"))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: clusterFilter(name)})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns.Items {
		out = append(out, "network "+n.Name)
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: clusterFilter(name)})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vs.Items {
		out = append(out, "volume "+v.Name)
	}
	return out, nil
}
