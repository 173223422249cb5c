package docker

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestPickSubnet(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name string
		used []netip.Prefix
		skip int
		want string
	}{
		{"nothing used", nil, 0, "172.30.0.0/24"},
		{"default bridge elsewhere", []netip.Prefix{p("172.17.0.0/16")}, 0, "172.30.0.0/24"},
		{"first two taken", []netip.Prefix{p("172.30.0.0/24"), p("172.30.1.0/24")}, 0, "172.30.2.0/24"},
		{"skip one free", []netip.Prefix{p("172.30.0.0/24")}, 1, "172.30.2.0/24"},
		{"a wide network covers many", []netip.Prefix{p("172.30.0.0/20")}, 0, "172.30.16.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pickSubnet(tt.used, tt.skip)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if _, err := pickSubnet([]netip.Prefix{p("172.30.0.0/16")}, 0); err == nil {
		t.Error("want an error when the whole range is used")
	}
}

func TestPlanLayout(t *testing.T) {
	l, err := planLayout(netip.MustParsePrefix("172.30.7.0/24"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if l.Gateway.String() != "172.30.7.1" || l.ControlPlane.String() != "172.30.7.2" {
		t.Errorf("gateway %s control plane %s", l.Gateway, l.ControlPlane)
	}
	var nodes []string
	for _, a := range l.Nodes {
		nodes = append(nodes, a.String())
	}
	if want := []string{"172.30.7.10", "172.30.7.11", "172.30.7.12"}; !slices.Equal(nodes, want) {
		t.Errorf("nodes %v, want %v", nodes, want)
	}
	for _, bad := range []struct {
		subnet string
		nodes  int
	}{{"172.30.7.0/16", 1}, {"172.30.7.5/24", 1}, {"172.30.7.0/24", maxNodes + 1}, {"fd00::/64", 1}} {
		if _, err := planLayout(netip.MustParsePrefix(bad.subnet), bad.nodes); err == nil {
			t.Errorf("planLayout(%s, %d): want an error", bad.subnet, bad.nodes)
		}
	}
}

func TestNodeCommand(t *testing.T) {
	ip := netip.MustParseAddr("172.30.0.10")
	tests := []struct {
		mode     NodeMode
		wantName string
		wantArgs string
	}{
		{NodeHollow, "node-1-0", "hollow-nodes --kubeconfig /etc/seven/kubeconfig --count 1 --name-prefix node-1- --timings fast"},
		{NodeCNI, "node-1", "node --kubeconfig /etc/seven/kubeconfig --node-name node-1 --node-ip 172.30.0.10 --mode cni --fixture-binary /usr/local/bin/fixture --timings fast --writable-cgroups --image-import-hint seven cluster load-image --name demo IMAGE --runtime containerd --containerd-binary /usr/local/bin/containerd --containerd-root /var/lib/containerd"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			name := nodeName(tt.mode, 1)
			if name != tt.wantName {
				t.Errorf("name %q, want %q", name, tt.wantName)
			}
			got := strings.Join(nodeCommand(nodeSpec{Index: 1, Name: name, IP: ip, Timings: "fast", Mode: tt.mode, Runtime: RuntimeContainerd, Cluster: "demo"}), " ")
			if got != tt.wantArgs {
				t.Errorf("command\n got %s\nwant %s", got, tt.wantArgs)
			}
		})
	}
}

func TestControlPlaneCommandCoversDialedNames(t *testing.T) {
	l, _ := planLayout(netip.MustParsePrefix("172.30.3.0/24"), 1)
	args := strings.Join(controlPlaneCommand(l, "demo", "fast"), " ")
	for _, want := range []string{"control-plane,demo-control-plane,172.30.3.2,localhost,127.0.0.1", "--address 0.0.0.0:6443", "--timings fast"} {
		if !strings.Contains(args, want) {
			t.Errorf("%q lacks %q", args, want)
		}
	}
}

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: seven
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: Y2E=}
users:
- name: seven-admin
  user: {client-certificate-data: Y2VydA==, client-key-data: a2V5}
contexts:
- name: seven
  context: {cluster: seven, user: seven-admin, namespace: default}
current-context: seven
`

func TestRewriteKubeconfig(t *testing.T) {
	out, err := rewriteKubeconfig([]byte(testKubeconfig), "https://127.0.0.1:40001", "demo")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "demo" || cfg.Contexts["demo"] == nil || cfg.Contexts["demo"].Namespace != "default" {
		t.Fatalf("context not renamed: %+v", cfg.Contexts)
	}
	if got := cfg.Clusters["demo"].Server; got != "https://127.0.0.1:40001" {
		t.Errorf("server %s", got)
	}
	if string(cfg.AuthInfos["demo"].ClientKeyData) != "key" || string(cfg.Clusters["demo"].CertificateAuthorityData) != "ca" {
		t.Error("credentials lost")
	}
	// Without a name only the server changes.
	out, err = rewriteKubeconfig([]byte(testKubeconfig), "https://172.30.0.2:6443", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ = clientcmd.Load(out)
	if cfg.CurrentContext != "seven" || cfg.Clusters["seven"].Server != "https://172.30.0.2:6443" {
		t.Errorf("got %+v", cfg)
	}
	if _, err := rewriteKubeconfig([]byte("kind: Config\napiVersion: v1\n"), "https://x", ""); err == nil {
		t.Error("want an error for a kubeconfig without clusters")
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	if err := good.validate(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(good.Name, "seven-") || good.Logger == nil {
		t.Errorf("defaults not filled: %+v", good)
	}
	for name, edit := range map[string]func(*Config){
		"bad name":        func(c *Config) { c.Name = "Bad_Name" },
		"two members":     func(c *Config) { c.ControlPlanes = 2 },
		"negative nodes":  func(c *Config) { c.Nodes = -1 },
		"too many nodes":  func(c *Config) { c.Nodes = maxNodes + 1 },
		"unknown timings": func(c *Config) { c.TimingsPreset = "slow" },
		"unknown mode":    func(c *Config) { c.NodeMode = "virtual" },
	} {
		c := DefaultConfig()
		edit(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestLessNatural(t *testing.T) {
	names := []string{"x-node-10", "x-node-2", "x-node-1"}
	slices.SortFunc(names, func(a, b string) int {
		if lessNatural(a, b) {
			return -1
		}
		return 1
	})
	if want := []string{"x-node-1", "x-node-2", "x-node-10"}; !slices.Equal(names, want) {
		t.Errorf("got %v", names)
	}
}
