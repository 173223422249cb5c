package upstream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/storage"
	"github.com/project-seven/seven/cluster/timings"
)

// ControlPlaneConfig configures an upstream control plane run as processes
// on this host, flagged as kubeadm flags its static pods.
type ControlPlaneConfig struct {
	// Binaries hold kube-apiserver, kube-controller-manager and kube-scheduler.
	Binaries Binaries
	// Dir keeps etcd, the PKI, the kubeconfigs and one log per process.
	Dir string
	// ServiceCIDR is --service-cluster-ip-range; ClusterCIDR, when set,
	// turns on the node IPAM (--allocate-node-cidrs --cluster-cidr, /24 per
	// node). They may be set after NewControlPlane (SetRanges), when the
	// nodes that decide them need the control plane's client configuration.
	ServiceCIDR, ClusterCIDR string
	// AdvertiseAddress is the API server's address in the kubernetes
	// Service's endpoints; it must not be loopback, which upstream refuses
	// there. Default: the source address of the default route.
	AdvertiseAddress string
	// Timings set the intervals upstream lets one configure (node monitor
	// grace and period, the default NoExecute tolerations); default the fast preset.
	Timings *timings.Timings
	// Port is the API server's port; default a free one.
	Port int
	// Hosts are more names and addresses for the API server's serving
	// certificate (a container's name and address).
	Hosts []string
	// Without lists components not to run ("kube-scheduler",
	// "kube-controller-manager"), for cells that put Seven's in their place.
	Without []string
	Logger  *slog.Logger
}

// ControlPlane is etcd (Seven's embedded one), kube-apiserver,
// kube-controller-manager and kube-scheduler.
type ControlPlane struct {
	cfg   ControlPlaneConfig
	pki   *apiserver.PKI
	port  int
	host  string
	ready chan struct{}
	etcd  *storage.Etcd // set before ready is closed
	// restartAPI asks Start to restart kube-apiserver; it answers on the
	// channel sent.
	restartAPI chan chan error
	// BootTime is how long Start took until every component was healthy.
	BootTime time.Duration
}

// NewControlPlane mints the PKI and picks the API server's port, so that
// client configurations exist before the control plane runs.
func NewControlPlane(cfg ControlPlaneConfig) (*ControlPlane, error) {
	if cfg.Dir == "" {
		return nil, errors.New("upstream control plane: Dir is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timings == nil {
		t := timings.Fast()
		cfg.Timings = &t
	}
	if cfg.AdvertiseAddress == "" {
		ip, err := defaultRouteAddress()
		if err != nil {
			return nil, err
		}
		cfg.AdvertiseAddress = ip
	}
	port := cfg.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	pki, err := apiserver.LoadOrCreatePKI(filepath.Join(cfg.Dir, "pki"), []string{"127.0.0.1"})
	if err != nil {
		return nil, fmt.Errorf("upstream control plane: %w", err)
	}
	return &ControlPlane{cfg: cfg, pki: pki, port: port, host: "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		ready: make(chan struct{}), restartAPI: make(chan chan error)}, nil
}

// SetRanges sets ServiceCIDR and ClusterCIDR; call it before Start.
func (cp *ControlPlane) SetRanges(services, pods string) {
	cp.cfg.ServiceCIDR, cp.cfg.ClusterCIDR = services, pods
}

// PKI is the cluster CA, which also signs the kubelets' serving certificates.
func (cp *ControlPlane) PKI() *apiserver.PKI { return cp.pki }

// Host is the API server's URL.
func (cp *ControlPlane) Host() string { return cp.host }

// ClientConfig is a client configuration for user cn in groups.
func (cp *ControlPlane) ClientConfig(cn string, groups ...string) (*rest.Config, error) {
	return cp.pki.ClientConfig(cp.host, cn, groups)
}

// Ready is closed once every component is healthy.
func (cp *ControlPlane) Ready() <-chan struct{} { return cp.ready }

func (cp *ControlPlane) runs(name string) bool {
	for _, w := range cp.cfg.Without {
		if w == name {
			return false
		}
	}
	return true
}

// Start runs the control plane until ctx ends, then stops the processes
// (SIGTERM, then SIGKILL after 10 s) and etcd. A process that exits before
// is an error naming it, with its log's tail.
func (cp *ControlPlane) Start(ctx context.Context) error {
	start := time.Now()
	files, err := cp.writeFiles()
	if err != nil {
		return err
	}
	etcd, err := storage.StartEmbedded(ctx, storage.EmbeddedConfig{DataDir: filepath.Join(cp.cfg.Dir, "etcd")})
	if err != nil {
		return fmt.Errorf("upstream control plane: %w", err)
	}
	defer etcd.Close()
	cp.etcd = etcd

	exited := make(chan error, 3)
	var procs []*process
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()
	run := func(name string, args []string) error {
		p, err := cp.start(name, args, exited)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		return nil
	}
	if err := run(KubeAPIServer, cp.apiServerArgs(files, etcd.Endpoints)); err != nil {
		return err
	}
	admin, err := cp.ClientConfig("upstream-admin", "system:masters")
	if err != nil {
		return err
	}
	if err := waitHealthy(ctx, exited, admin, cp.host+"/readyz"); err != nil {
		return fmt.Errorf("%s: %w", KubeAPIServer, err)
	}
	var checks []string
	if cp.runs(KubeControllerManager) {
		port, err := freePort()
		if err != nil {
			return err
		}
		if err := run(KubeControllerManager, cp.controllerManagerArgs(files, port)); err != nil {
			return err
		}
		checks = append(checks, fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
	}
	if cp.runs(KubeScheduler) {
		port, err := freePort()
		if err != nil {
			return err
		}
		if err := run(KubeScheduler, cp.schedulerArgs(files, port)); err != nil {
			return err
		}
		checks = append(checks, fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
	}
	for _, url := range checks {
		// Their serving certificates are self-signed; /healthz is open to
		// anyone (--authorization-always-allow-paths).
		if err := waitHealthy(ctx, exited, &rest.Config{TLSClientConfig: rest.TLSClientConfig{Insecure: true}}, url); err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
	}
	cp.BootTime = time.Since(start)
	cp.cfg.Logger.Info("upstream control plane ready", "host", cp.host, "took", cp.BootTime.Round(time.Millisecond))
	close(cp.ready)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-exited:
			return err
		case reply := <-cp.restartAPI:
			procs[0].stop() // kube-apiserver, started first
			p, err := cp.start(KubeAPIServer, cp.apiServerArgs(files, etcd.Endpoints), exited)
			if err != nil {
				reply <- err
				return err
			}
			procs[0] = p
			reply <- waitHealthy(ctx, exited, admin, cp.host+"/readyz")
		}
	}
}

// EtcdEndpoints are etcd's client URLs; valid once Ready.
func (cp *ControlPlane) EtcdEndpoints() []string { return cp.etcd.Endpoints }

// Compact discards etcd's history up to now, as the API server's own
// periodic compaction would, then restarts kube-apiserver: its watch cache
// does not learn of a compaction, and starts again at the current
// revision. Watches and lists from older resourceVersions then get 410
// Gone (target.Compactor). Valid once Ready.
func (cp *ControlPlane) Compact(ctx context.Context) error {
	resp, err := cp.etcd.Client.Get(ctx, "compact", clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if _, err := cp.etcd.Client.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	reply := make(chan error, 1)
	select {
	case cp.restartAPI <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := <-reply; err != nil {
		return fmt.Errorf("compact: restart %s: %w", KubeAPIServer, err)
	}
	return nil
}

// files are the paths the components' flags name.
type files struct {
	ca, caKey, serving, servingKey, kubeletClient, kubeletClientKey, saKey, saPub string
	controllerManager, scheduler                                                  string
}

func (cp *ControlPlane) writeFiles() (files, error) {
	pki := filepath.Join(cp.cfg.Dir, "pki")
	f := files{
		ca: filepath.Join(pki, "ca.crt"), caKey: filepath.Join(pki, "ca.key"),
		serving: filepath.Join(pki, "apiserver-serving.crt"), servingKey: filepath.Join(pki, "apiserver-serving.key"),
		kubeletClient: filepath.Join(pki, "apiserver-kubelet-client.crt"), kubeletClientKey: filepath.Join(pki, "apiserver-kubelet-client.key"),
		saKey: filepath.Join(pki, "sa.key"), saPub: filepath.Join(pki, "sa.pub"),
		controllerManager: filepath.Join(cp.cfg.Dir, "controller-manager.conf"),
		scheduler:         filepath.Join(cp.cfg.Dir, "scheduler.conf"),
	}
	svc, err := netip.ParsePrefix(cp.cfg.ServiceCIDR)
	if err != nil {
		return files{}, fmt.Errorf("service range: %w", err)
	}
	// Names pods and nodes reach the API server by: the kubernetes
	// Service's ClusterIP (the range's first address) among them.
	hosts := append([]string{"127.0.0.1", "localhost", cp.cfg.AdvertiseAddress, svc.Masked().Addr().Next().String(),
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, cp.cfg.Hosts...)
	cert, key, err := cp.pki.Issue("kube-apiserver", nil, hosts, true)
	if err != nil {
		return files{}, err
	}
	if err := writeFile(f.serving, cert); err != nil {
		return files{}, err
	}
	if err := writeFile(f.servingKey, key); err != nil {
		return files{}, err
	}
	// The API server's identity towards kubelets, as kubeadm issues it.
	cert, key, err = cp.pki.Issue(apiserver.KubeletClientUser, []string{apiserver.KubeletClientGroup}, nil, false)
	if err != nil {
		return files{}, err
	}
	if err := writeFile(f.kubeletClient, cert); err != nil {
		return files{}, err
	}
	if err := writeFile(f.kubeletClientKey, key); err != nil {
		return files{}, err
	}
	if err := writeServiceAccountKey(f.saKey, f.saPub); err != nil {
		return files{}, err
	}
	// The users the bootstrap RBAC policy binds to these components' roles.
	for path, cn := range map[string]string{f.controllerManager: "system:kube-controller-manager", f.scheduler: "system:kube-scheduler"} {
		cfg, err := cp.ClientConfig(cn)
		if err != nil {
			return files{}, err
		}
		if err := apiserver.WriteKubeconfig(path, cfg); err != nil {
			return files{}, err
		}
	}
	return f, nil
}

func (cp *ControlPlane) apiServerArgs(f files, etcd []string) []string {
	t := cp.cfg.Timings
	return []string{
		"--advertise-address=" + cp.cfg.AdvertiseAddress,
		"--bind-address=0.0.0.0",
		"--secure-port=" + strconv.Itoa(cp.port),
		"--etcd-servers=" + strings.Join(etcd, ","),
		"--client-ca-file=" + f.ca,
		"--tls-cert-file=" + f.serving,
		"--tls-private-key-file=" + f.servingKey,
		"--kubelet-client-certificate=" + f.kubeletClient,
		"--kubelet-client-key=" + f.kubeletClientKey,
		"--kubelet-certificate-authority=" + f.ca,
		"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + f.saPub,
		"--service-account-signing-key-file=" + f.saKey,
		"--service-cluster-ip-range=" + cp.cfg.ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--enable-bootstrap-token-auth=true",
		"--default-not-ready-toleration-seconds=" + seconds(t.DefaultTolerationSeconds),
		"--default-unreachable-toleration-seconds=" + seconds(t.DefaultTolerationSeconds),
		"--cert-dir=" + filepath.Join(cp.cfg.Dir, "apiserver-certs"),
	}
}

func (cp *ControlPlane) controllerManagerArgs(f files, port int) []string {
	t := cp.cfg.Timings
	args := []string{
		"--kubeconfig=" + f.controllerManager,
		"--authentication-kubeconfig=" + f.controllerManager,
		"--authorization-kubeconfig=" + f.controllerManager,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--controllers=*,bootstrapsigner,tokencleaner",
		"--root-ca-file=" + f.ca,
		"--service-account-private-key-file=" + f.saKey,
		"--cluster-signing-cert-file=" + f.ca,
		"--cluster-signing-key-file=" + f.caKey,
		"--service-cluster-ip-range=" + cp.cfg.ServiceCIDR,
		"--node-monitor-grace-period=" + t.NodeMonitorGracePeriod.String(),
		"--node-monitor-period=" + t.NodeMonitorPeriod.String(),
		"--cert-dir=" + filepath.Join(cp.cfg.Dir, "controller-manager-certs"),
	}
	if cp.cfg.ClusterCIDR != "" {
		args = append(args, "--allocate-node-cidrs=true", "--cluster-cidr="+cp.cfg.ClusterCIDR, "--node-cidr-mask-size=24")
	}
	return args
}

func (cp *ControlPlane) schedulerArgs(f files, port int) []string {
	return []string{
		"--kubeconfig=" + f.scheduler,
		"--authentication-kubeconfig=" + f.scheduler,
		"--authorization-kubeconfig=" + f.scheduler,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--leader-elect=false",
	}
}

// process is one running component.
type process struct {
	name     string
	cmd      *exec.Cmd
	done     chan struct{}
	stopping atomic.Bool // an exit after stop is no failure
}

func (cp *ControlPlane) start(name string, args []string, exited chan<- error) (*process, error) {
	logPath := filepath.Join(cp.cfg.Dir, name+".log")
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644) // a restart appends
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cmd := exec.Command(cp.cfg.Binaries.Path(name), args...)
	cmd.Stdout, cmd.Stderr = log, log
	// No Pdeathsig: it fires when the forking OS thread exits, and the
	// kubelet's network-namespace work ends locked threads, which killed
	// the API server mid-test. stop (or the test's cleanup) ends them.
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		log.Close()
		close(p.done)
		if p.stopping.Load() {
			return
		}
		select {
		case exited <- fmt.Errorf("%s exited: %v\n%s", name, err, tail(logPath, 30)):
		default:
		}
	}()
	return p, nil
}

func (p *process) stop() {
	p.stopping.Store(true)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitHealthy polls url with cfg's credentials until it answers 200.
func waitHealthy(ctx context.Context, exited <-chan error, cfg *rest.Config, url string) error {
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	last := "no answer yet"
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case err := <-exited:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("not healthy in 2m: %s", last)
}

func writeServiceAccountKey(keyPath, pubPath string) error {
	// A restarted control plane keeps its key: tokens issued stay valid.
	if _, err := os.Stat(pubPath); err == nil {
		if _, err := os.Stat(keyPath); err == nil {
			return nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})); err != nil {
		return err
	}
	return writeFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d.Round(time.Second) / time.Second)) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// defaultRouteAddress is the address this host reaches the world from.
func defaultRouteAddress() (string, error) {
	// A UDP "connection" sends nothing; it only asks the kernel for a route.
	c, err := net.Dial("udp4", "203.0.113.1:9")
	if err != nil {
		return "", fmt.Errorf("advertise address: no default route: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// tail is the last n lines of a log, for errors.
func tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
