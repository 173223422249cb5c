package containerd

import (
	"context"
	"slices"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

func TestCPUConversions(t *testing.T) {
	for _, tc := range []struct {
		milli  int64
		shares uint64
		quota  int64
	}{{0, 2, 1000}, {1, 2, 1000}, {100, 102, 10000}, {500, 512, 50000}, {2000, 2048, 200000}} {
		if got := milliCPUToShares(tc.milli); got != tc.shares {
			t.Errorf("shares(%d) = %d, want %d", tc.milli, got, tc.shares)
		}
		if got := milliCPUToQuota(tc.milli); got != tc.quota {
			t.Errorf("quota(%d) = %d, want %d", tc.milli, got, tc.quota)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/usr/bin", "A=1"}, []string{"A=2", "B=3", "PATH=/"})
	if want := []string{"PATH=/", "A=2", "B=3"}; !slices.Equal(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
}

// TestSpec: what a ContainerSpec becomes in the OCI spec.
func TestSpec(t *testing.T) {
	uid := int64(7)
	c := krt.ContainerSpec{
		Args: []string{"/bin/app", "-v"}, Env: []string{"X=1"}, WorkingDir: "/work", Hostname: "web-0",
		NetNS: "/run/netns/pod", HostPID: true,
		Security:  krt.Security{UID: &uid, Groups: []int64{9}, Capabilities: []string{}, NoNewPrivileges: true},
		Resources: krt.Resources{MemoryLimit: 64 << 20, CPULimitMilli: 500, CPURequestMilli: 250},
	}
	mounts := []specs.Mount{bindMount("/vol", "/dev/shm", true)}
	s := generate(t, withContainerSpec(c, mounts, true))
	p := s.Process
	if !slices.Equal(p.Args, c.Args) || p.Cwd != "/work" || !slices.Contains(p.Env, "X=1") || !slices.ContainsFunc(p.Env, func(e string) bool { return len(e) > 5 && e[:5] == "PATH=" }) {
		t.Errorf("process: %+v", p)
	}
	if p.User.UID != 7 || p.User.GID != 0 || !slices.Equal(p.User.AdditionalGids, []uint32{9}) || !p.NoNewPrivileges || len(p.Capabilities.Bounding) != 0 || len(p.Capabilities.Effective) != 0 {
		t.Errorf("security: %+v %+v", p.User, p.Capabilities)
	}
	if s.Hostname != "web-0" {
		t.Errorf("hostname %q", s.Hostname)
	}
	ns := map[specs.LinuxNamespaceType]string{}
	for _, n := range s.Linux.Namespaces {
		ns[n.Type] = n.Path
	}
	if path, ok := ns[specs.NetworkNamespace]; !ok || path != "/run/netns/pod" {
		t.Errorf("network namespace %q", path)
	}
	if _, ok := ns[specs.PIDNamespace]; ok {
		t.Error("hostPID keeps a PID namespace")
	}
	if _, ok := ns[specs.UTSNamespace]; !ok {
		t.Error("no UTS namespace")
	}
	shm := 0
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" {
			shm++
			if m.Source != "/vol" || !slices.Contains(m.Options, "ro") {
				t.Errorf("volume over /dev/shm: %+v", m)
			}
		}
	}
	if shm != 1 {
		t.Errorf("%d mounts at /dev/shm, want the volume alone", shm)
	}
	r := s.Linux.Resources
	if *r.Memory.Limit != 64<<20 || *r.Memory.Swap != 64<<20 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 256 {
		t.Errorf("resources: %+v %+v", r.Memory, r.CPU)
	}

	// hostNetwork: the node's network and UTS namespaces, default capabilities.
	s = generate(t, withContainerSpec(krt.ContainerSpec{Args: []string{"x"}}, nil, false))
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace || n.Type == specs.UTSNamespace {
			t.Errorf("hostNetwork keeps namespace %s", n.Type)
		}
	}
	if !slices.Equal(s.Process.Capabilities.Bounding, krt.DefaultCapabilities) || s.Linux.Resources.Memory != nil || *s.Linux.Resources.CPU.Shares != 2 {
		t.Errorf("defaults: %+v %+v", s.Process.Capabilities, s.Linux.Resources)
	}
}

func generate(t *testing.T, opt oci.SpecOpts) *oci.Spec {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), "test")
	s, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: "c"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
