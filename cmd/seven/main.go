// Command seven is the reference orchestrator and conformance kit: one binary
// with a subcommand per component. Run `seven help` for the list.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/project-seven/seven/cluster/docker"
	_ "github.com/project-seven/seven/cluster/docker/dockertarget" // the docker conformance target
	"github.com/project-seven/seven/cluster/docker/netfault"
	kruntime "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/conformance"
)

type command struct {
	name, usage string
	run         func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"conformance", "run the conformance suite against a target (local, docker, kubeconfig) and write the reports", runConformance},
		{"up", "run a whole cluster in this process (API server on embedded etcd, control plane, local nodes)", runUp},
		{"control-plane", "run the control plane (API server, scheduler, controllers): the grouping inside a control-plane container", runControlPlane},
		{"apiserver", "run the API server (embedded etcd by default, or --etcd-servers)", runAPIServer},
		{"scheduler", "run the scheduler (leader-elected)", runScheduler},
		{"controller-manager", "run the controllers (leader-elected)", runControllerManager},
		{"node", "run a node: kubelet, service proxy and node-local DNS (the grouping inside a node container)", runNode},
		{"cluster", "clusters in Docker containers: create, delete, list, kubeconfig, fault", runCluster},
		{"netfault", "drop packets to or from IPv4 ranges in this network namespace (fault injection)", runNetfault},
		{"kubelet", "run a node agent: registers the Node and runs its pods as real processes", runKubelet},
		{"hollow-nodes", "register API-only nodes that report their pods running, for scale work", runHollowNodes},
		{"image", "node image stores: `seven image import FILE...` adds docker-save or OCI tarballs to the nodes of seven up (or --root)", runImage},
		{"fixture-images", "write the seven.local/fixture images as tarballs for docker load or seven image import", runFixtureImages},
		{"etcd-compact", "compact the API server's etcd history up to now (old resourceVersions become 410 Expired)", runEtcdCompact},
		{"version", "print the version", runVersion},
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: seven <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-20s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'seven <command> -h' for a command's flags.")
}

func main() {
	// The kubelet starts each container through a shim: this same binary.
	kruntime.ReexecMain()
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands() {
		if c.name == os.Args[1] {
			if err := c.run(ctx, os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "seven %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "seven: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}

func runConformance(ctx context.Context, args []string) error {
	return conformance.Main(ctx, args, os.Stdout, os.Stderr)
}

func runCluster(ctx context.Context, args []string) error {
	err := docker.Main(ctx, args, os.Stdout, os.Stderr)
	var unsupported docker.UnsupportedError
	if errors.As(err, &unsupported) {
		fmt.Fprintf(os.Stderr, "seven cluster: %v\n", err)
		os.Exit(3) // the fault-hook convention for "unsupported"
	}
	return err
}

func runNetfault(ctx context.Context, args []string) error {
	return netfault.Main(ctx, args, os.Stdout, os.Stderr)
}
