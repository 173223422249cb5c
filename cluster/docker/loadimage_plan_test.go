package docker

import (
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestSavedName(t *testing.T) {
	tests := []struct {
		img      string
		repoTags []string
		want     string // "" means an error
	}{
		{"fixture:dev", []string{"fixture:dev"}, "fixture:dev"},
		{"fixture", []string{"fixture:latest", "fixture:dev"}, "fixture:latest"},
		{"docker.io/library/fixture:dev", []string{"fixture:dev"}, "fixture:dev"},
		{"seven.test/app:v1", []string{"seven.test/app:v1"}, "seven.test/app:v1"},
		{"localhost:5000/app:v1", []string{"localhost:5000/app:v1"}, "localhost:5000/app:v1"},
		// An ID (or its prefix) parses as a name that is not a tag of the image.
		{"0123456789ab", []string{"fixture:dev"}, ""},
		{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", []string{"fixture:dev"}, ""},
		{"fixture@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", []string{"fixture:dev"}, ""},
		// An untagged image.
		{"fixture", nil, ""},
	}
	for _, tt := range tests {
		got, err := savedName(tt.img, tt.repoTags)
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), "docker tag "+tt.img+" NAME:TAG") {
				t.Errorf("savedName(%q, %q) = %q, %v; want an error saying to tag it", tt.img, tt.repoTags, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("savedName(%q, %q) = %q, %v; want %q", tt.img, tt.repoTags, got, err, tt.want)
		}
	}
}

func TestPlanLoad(t *testing.T) {
	cmd := nodeCommand(nodeSpec{Name: "node-1", Mode: NodeCNI, Timings: "fast"})
	node := func(i int, state container.ContainerState) nodeState {
		name := nodeName(NodeCNI, i)
		return nodeState{Node: Node{Name: name, Container: nodeContainerName("x", i)}, State: state, Cmd: cmd}
	}
	running := container.StateRunning
	hollow := nodeState{Node: Node{Name: "node-3-0", Container: "x-node-3"}, State: running,
		Cmd: nodeCommand(nodeSpec{Index: 3, Mode: NodeHollow})}
	otherRoot := node(2, running)
	otherRoot.Cmd = append(append([]string(nil), cmd...), "--root-dir=/data/kubelet")

	tests := []struct {
		name  string
		nodes []nodeState
		only  []string
		want  string // targets as "node=root ...", or the error's fragments joined by |
		isErr bool
	}{
		{"every node", []nodeState{node(1, running), node(2, running)}, nil,
			"node-1=/var/lib/seven/kubelet node-2=/var/lib/seven/kubelet", false},
		{"root dir from the command", []nodeState{node(1, running), otherRoot}, nil,
			"node-1=/var/lib/seven/kubelet node-2=/data/kubelet", false},
		{"by node or container name, once each", []nodeState{node(1, running), node(2, running), node(3, running)},
			[]string{"x-node-3", "node-1", "node-3"}, "node-3=/var/lib/seven/kubelet node-1=/var/lib/seven/kubelet", false},
		{"a stopped node left out", []nodeState{node(1, running), node(2, container.StateExited)}, []string{"node-1"},
			"node-1=/var/lib/seven/kubelet", false},
		{"no nodes", nil, nil, "cluster x has no node containers", true},
		{"unknown node", []nodeState{node(1, running)}, []string{"node-1", "node-9"},
			"cluster x has no node node-9 (its nodes: node-1)", true},
		{"stopped", []nodeState{node(1, running), node(2, container.StateExited)}, nil,
			"node node-2 (container x-node-2) is exited, not running: seven cluster fault --name x start-node node-2, or leave it out with --nodes|nothing loaded", true},
		{"paused", []nodeState{node(1, container.StatePaused)}, nil,
			"node node-1 (container x-node-1) is paused: seven cluster fault --name x unpause-node node-1", true},
		{"restarting", []nodeState{node(1, container.StateRestarting)}, nil,
			"is restarting, not running: wait for it", true},
		{"every problem at once", []nodeState{node(1, container.StatePaused), node(2, container.StateExited)}, nil,
			"unpause-node node-1|start-node node-2", true},
		{"hollow", []nodeState{hollow}, nil, "node node-3-0 (container x-node-3) is a hollow node: it runs no pods", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planLoad("x", tt.nodes, tt.only)
			if tt.isErr {
				if err == nil {
					t.Fatalf("planLoad = %v, want an error", got)
				}
				for _, frag := range strings.Split(tt.want, "|") {
					if !strings.Contains(err.Error(), frag) {
						t.Errorf("error %q lacks %q", err, frag)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, tg := range got {
				s = append(s, tg.Node.Name+"="+tg.Root)
			}
			if strings.Join(s, " ") != tt.want {
				t.Errorf("planLoad = %s, want %s", strings.Join(s, " "), tt.want)
			}
		})
	}
	if _, err := planLoad("x", []nodeState{node(1, running)}, []string{"nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown node: %v, want ErrNotFound", err)
	}
}

func TestFlagValue(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"node", "--root-dir", "/a"}, "/a"},
		{[]string{"node", "--root-dir=/b"}, "/b"},
		{[]string{"node", "-root-dir", "/c"}, "/c"},
		{[]string{"node", "--root-dir"}, "def"},
		{[]string{"node", "--root-directory", "/d"}, "def"},
		{nil, "def"},
	}
	for _, tt := range tests {
		if got := flagValue(tt.args, "root-dir", "def"); got != tt.want {
			t.Errorf("flagValue(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 12_345_678: "12.3 MB", 3_000_000_000: "3.0 GB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
