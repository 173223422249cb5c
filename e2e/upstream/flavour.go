package upstream

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/testcontainers/testcontainers-go"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/docker"
)

// Supervisor is the program that runs an upstream control plane or node in
// a container of the upstream target (cmd/upstream-cluster).
const Supervisor = "upstream-cluster"

// BuildSupervisor builds cmd/upstream-cluster statically into dir.
func BuildSupervisor(ctx context.Context, dir string) (string, error) {
	root, err := findModuleDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, Supervisor)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./e2e/upstream/cmd/"+Supervisor)
	cmd.Dir = filepath.Join(root, "..", "..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", Supervisor, err, bytes.TrimSpace(msg))
	}
	return out, nil
}

// DockerFlavour runs upstream Kubernetes in a docker cluster's containers:
// the control-plane container runs etcd (Seven's embedded), kube-apiserver,
// kube-controller-manager and kube-scheduler as ControlPlane runs them on a
// host; each node container runs Node. The node image carries the upstream
// binaries, the supervisor and nft (kube-proxy's nftables mode runs it),
// the last with its libraries from this host.
func DockerFlavour(b Binaries, supervisor string) (*docker.Flavour, error) {
	files := []docker.ImageFile{{Path: NodeBinDir + "/" + Supervisor, Src: supervisor, Mode: 0o755}}
	for _, c := range Components {
		if _, err := os.Stat(b.Path(c)); err != nil {
			return nil, fmt.Errorf("upstream flavour: %w (make upstream-binaries)", err)
		}
		files = append(files, docker.ImageFile{Path: NodeBinDir + "/" + c, Src: b.Path(c), Mode: 0o755})
	}
	nft, err := docker.HostPrograms([]string{"nft", "mount", "umount"})
	if err != nil {
		return nil, fmt.Errorf("upstream flavour: kube-proxy runs nft, the kubelet mount and umount: %w", err)
	}
	files = append(files, nft...)
	return &docker.Flavour{
		Name:  "upstream-" + b.Version,
		Files: files,
		ControlPlane: func(s docker.ControlPlaneSpec) []string {
			return []string{NodeBinDir + "/" + Supervisor, "control-plane",
				"--advertise-address", s.IP.String(), "--tls-hosts", strings.Join(s.Hosts, ","), "--timings", s.Timings}
		},
		Node: nodeFiles,
		// The kubelet's OOM watcher reads the kernel log and will not start
		// without it; reading it needs CAP_SYSLOG where dmesg_restrict is
		// set (kind's nodes, privileged, have both).
		// The kubelet's root is a volume, as containerd's: cAdvisor must find
		// the file system it is on (a container's root on fuse-overlayfs,
		// say, it cannot, and the kubelet refuses to start).
		NodeHostConfig: func(hc *container.HostConfig) {
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Target: kubeletRootDir})
			hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: "/dev/kmsg", PathInContainer: "/dev/kmsg", CgroupPermissions: "r"})
			hc.CapAdd = append(hc.CapAdd, "SYSLOG")
		},
	}, nil
}

// nodeFiles are a node's command and credentials, as kubeadm would give
// them: the kubelet as system:node:<name> in system:nodes (the Node
// authorizer and NodeRestriction apply), kube-proxy as system:kube-proxy,
// and the kubelet's serving certificate from the cluster CA, which the API
// server verifies.
func nodeFiles(s docker.NodeSpec, ca *apiserver.PKI) ([]string, []testcontainers.ContainerFile, error) {
	server := "https://" + net.JoinHostPort(s.ControlPlane.String(), "6443")
	var files []testcontainers.ContainerFile
	for path, id := range map[string]struct {
		cn     string
		groups []string
	}{
		KubeletConfFile: {"system:node:" + s.Name, []string{"system:nodes"}},
		ProxyConfFile:   {"system:kube-proxy", nil},
	} {
		cfg, err := ca.ClientConfig(server, id.cn, id.groups)
		if err != nil {
			return nil, nil, err
		}
		raw, err := apiserver.Kubeconfig(cfg)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(raw), ContainerFilePath: path, FileMode: 0o600})
	}
	certPEM, keyPEM, err := ca.Issue("system:node:"+s.Name, []string{"system:nodes"}, []string{s.Name, s.Hostname, s.IP.String()}, true)
	if err != nil {
		return nil, nil, err
	}
	files = append(files,
		testcontainers.ContainerFile{Reader: bytes.NewReader(certPEM), ContainerFilePath: NodePKIDir + "/kubelet.crt", FileMode: 0o644},
		testcontainers.ContainerFile{Reader: bytes.NewReader(keyPEM), ContainerFilePath: NodePKIDir + "/kubelet.key", FileMode: 0o600},
		testcontainers.ContainerFile{Reader: bytes.NewReader(ca.CAPEM), ContainerFilePath: NodePKIDir + "/ca.crt", FileMode: 0o644},
	)
	cmd := []string{NodeBinDir + "/" + Supervisor, "node", "--name", s.Name, "--ip", s.IP.String(),
		"--kubeconfig", "/etc/seven/kubeconfig", "--timings", s.Timings}
	return cmd, files, nil
}
