// Command upstream-cluster runs one container of the upstream target: its
// control plane (upstream-cluster control-plane) or a node
// (upstream-cluster node). It is built statically and put into the node
// image with the upstream binaries (package upstream, DockerFlavour).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/e2e/upstream"
)

// The control-plane contract of cluster/docker (docker.Flavour).
const (
	dataDir         = "/var/lib/seven"
	controlPlaneDir = dataDir + "/control-plane"
	adminKubeconfig = dataDir + "/kubeconfig"
	apiPort         = 6443
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: upstream-cluster control-plane|node [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "control-plane":
		err = controlPlane(ctx, os.Args[2:], log)
	case "node":
		err = node(ctx, os.Args[2:], log)
	default:
		err = fmt.Errorf("unknown command %q: want control-plane or node", os.Args[1])
	}
	if err != nil {
		log.Error("upstream-cluster failed", "err", err)
		os.Exit(1)
	}
}

func preset(name string) (timings.Timings, error) {
	return timings.Preset(name)
}

func controlPlane(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("control-plane", flag.ContinueOnError)
	advertise := fs.String("advertise-address", "", "the API server's address on the cluster network")
	hosts := fs.String("tls-hosts", "", "comma-separated names and addresses for the serving certificate")
	tname := fs.String("timings", timings.PresetFast, "timings preset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := preset(*tname)
	if err != nil {
		return err
	}
	cp, err := upstream.NewControlPlane(upstream.ControlPlaneConfig{
		Binaries: upstream.Binaries{Dir: upstream.NodeBinDir}, Dir: controlPlaneDir,
		ServiceCIDR: upstream.ServiceCIDR, ClusterCIDR: upstream.ClusterCIDR,
		AdvertiseAddress: *advertise, Port: apiPort, Hosts: strings.Split(*hosts, ","),
		Timings: &t, Logger: log,
	})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cp.Start(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			err = errors.New("control plane stopped before it was ready")
		}
		return err
	case <-cp.Ready():
	}
	// What the harness waits for: the admin kubeconfig, then /readyz.
	admin, err := cp.ClientConfig("kubernetes-admin", "system:masters")
	if err != nil {
		return err
	}
	tmp := adminKubeconfig + ".tmp"
	if err := apiserver.WriteKubeconfig(tmp, admin); err != nil {
		return err
	}
	if err := os.Rename(tmp, adminKubeconfig); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(controlPlaneDir, apiserver.EtcdEndpointsFile), []byte(strings.Join(cp.EtcdEndpoints(), "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return <-done
}

func node(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	name := fs.String("name", "", "the Node's name")
	ip := fs.String("ip", "", "the node's address")
	kubeconfig := fs.String("kubeconfig", "/etc/seven/kubeconfig", "an admin kubeconfig (the pod network agent, DNS)")
	tname := fs.String("timings", timings.PresetFast, "timings preset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := preset(*tname)
	if err != nil {
		return err
	}
	n, err := upstream.NewNode(upstream.NodeConfig{Name: *name, IP: *ip, Kubeconfig: *kubeconfig,
		FixtureBinary: upstream.NodeBinDir + "/fixture", Timings: t, Logger: log})
	if err != nil {
		return err
	}
	return n.Start(ctx)
}
