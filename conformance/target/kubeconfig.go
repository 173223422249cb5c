package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// KubeconfigConfig configures the kubeconfig target.
type KubeconfigConfig struct {
	// Path of the kubeconfig; empty uses the usual loading rules ($KUBECONFIG, ~/.kube/config).
	Path string
	// Context in the kubeconfig; empty uses the current one.
	Context string
	// FaultHook, if set, is a command run through `sh -c` as
	// `FaultHook stop-node|start-node|partition|heal NAME` (and `FaultHook
	// compact` when the Compaction capability is declared). Exit status 0
	// means the fault is in place; exit status 3 means the hook cannot do it
	// (ErrUnsupported); any other status is an error.
	FaultHook string
	// Capabilities, if set, replace the default ones: every controller,
	// service-proxy and dns (what any Kubernetes cluster has), pods and
	// multi-node as detected from Ready schedulable nodes. A fault hook adds
	// stop-node and partition.
	Capabilities Capabilities
	// Implementation overrides what the report says about the cluster;
	// default the server's version.
	Implementation Implementation
}

// Kubeconfig is any cluster reached through a kubeconfig.
type Kubeconfig struct{ cfg KubeconfigConfig }

// NewKubeconfig validates cfg.
func NewKubeconfig(cfg KubeconfigConfig) (*Kubeconfig, error) {
	return &Kubeconfig{cfg: cfg}, nil
}

// Name implements Target.
func (k *Kubeconfig) Name() string { return "kubeconfig" }

// Setup loads the kubeconfig, checks the cluster answers and works out its capabilities.
func (k *Kubeconfig) Setup(ctx context.Context) (*Environment, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if k.cfg.Path != "" {
		rules.ExplicitPath = k.cfg.Path
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.cfg.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ver, err := client.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	impl := k.cfg.Implementation
	if impl.Name == "" {
		impl.Name = "kubernetes-compatible cluster at " + rc.Host
	}
	if impl.Version == "" {
		impl.Version = ver.GitVersion
	}
	caps := k.cfg.Capabilities
	if caps == nil {
		caps = NewCapabilities(Controllers, ServiceProxy, DNS)
		n, err := schedulableNodes(ctx, client)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			caps[Pods] = true
		}
		if n > 1 {
			caps[MultiNode] = true
		}
	}
	env := &Environment{Config: rc, Capabilities: caps, Implementation: impl}
	if k.cfg.FaultHook != "" {
		caps[StopNode], caps[Partition] = true, true
		env.Faults = &HookFaults{Command: k.cfg.FaultHook}
	}
	return env, nil
}

// Teardown implements Target; nothing to undo.
func (k *Kubeconfig) Teardown(context.Context) error { return nil }

// schedulableNodes counts Ready nodes without NoSchedule taints or cordons.
func schedulableNodes(ctx context.Context, client kubernetes.Interface) (int, error) {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list nodes: %w", err)
	}
	n := 0
	for _, node := range nodes.Items {
		if node.Spec.Unschedulable || !nodeReady(&node) {
			continue
		}
		tainted := false
		for _, t := range node.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
				tainted = true
			}
		}
		if !tainted {
			n++
		}
	}
	return n, nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// HookFaults implements Faults (and Compactor) by running a command.
type HookFaults struct {
	// Command is run through `sh -c` with the action and node name appended.
	Command string
	// Timeout per call; default 2m.
	Timeout time.Duration
}

func (h *HookFaults) run(ctx context.Context, args ...string) error {
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", h.Command + ` "$@"`, "fault-hook"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			return fmt.Errorf("fault hook %s: %w: %s", strings.Join(args, " "), ErrUnsupported, msg)
		}
		return fmt.Errorf("fault hook %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return nil
}

// StopNode runs `hook stop-node NAME`.
func (h *HookFaults) StopNode(ctx context.Context, node string) error {
	return h.run(ctx, "stop-node", node)
}

// StartNode runs `hook start-node NAME`.
func (h *HookFaults) StartNode(ctx context.Context, node string) error {
	return h.run(ctx, "start-node", node)
}

// Partition runs `hook partition NAME`.
func (h *HookFaults) Partition(ctx context.Context, node string) error {
	return h.run(ctx, "partition", node)
}

// Heal runs `hook heal NAME`.
func (h *HookFaults) Heal(ctx context.Context, node string) error { return h.run(ctx, "heal", node) }

// Compact runs `hook compact`.
func (h *HookFaults) Compact(ctx context.Context) error { return h.run(ctx, "compact") }
