package containerd

import (
	"context"
	"os"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// defaultPath is the PATH of a container whose image and pod set none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// shimGroupAnnotation makes containerd-shim-runc-v2 serve the containers
// of one group from one shim process.
const shimGroupAnnotation = "io.containerd.runc.v2.group"

// cpuPeriod is the CFS period limits are expressed in, as upstream's.
const cpuPeriod = 100000

// withContainerSpec applies a ContainerSpec to a default OCI spec. mounts
// are the container's bind mounts with their sources already resolved
// (subPaths bound under the runtime's root). memsw says whether the
// memory+swap limit can be set (cgroup v1 with swap accounting).
func withContainerSpec(c krt.ContainerSpec, mounts []specs.Mount, memsw bool) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		p := s.Process
		p.Args = c.Args
		// Under the image's and the pod's variables, a default PATH, as
		// containerd's CRI plugin gives one.
		p.Env = mergeEnv([]string{"PATH=" + defaultPath}, c.Env)
		if c.WorkingDir != "" {
			p.Cwd = c.WorkingDir
		}

		// User: the kubelet resolved the image's user to ids already.
		p.User = specs.User{}
		if c.Security.UID != nil {
			p.User.UID = uint32(*c.Security.UID)
		}
		if c.Security.GID != nil {
			p.User.GID = uint32(*c.Security.GID)
		}
		for _, g := range c.Security.Groups {
			p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
		}
		caps := c.Security.Capabilities
		if caps == nil {
			caps = krt.DefaultCapabilities
		}
		caps = append([]string(nil), caps...)
		p.Capabilities = &specs.LinuxCapabilities{
			Bounding:  caps,
			Effective: caps,
			Permitted: caps,
		}
		p.NoNewPrivileges = c.Security.NoNewPrivileges
		s.Root.Readonly = c.Security.ReadOnlyRootFS

		// Mounts: the spec's own (proc, dev, sys, …) except those a
		// volume replaces, then the volumes in order.
		replaced := map[string]bool{}
		for _, m := range mounts {
			replaced[m.Destination] = true
		}
		kept := s.Mounts[:0]
		for _, m := range s.Mounts {
			if !replaced[m.Destination] {
				kept = append(kept, m)
			}
		}
		s.Mounts = append(kept, mounts...)

		// One shim per pod, as under containerd's CRI plugin (which groups
		// by sandbox): the runc shim serves every container whose spec
		// names the same group.
		if c.PodUID != "" {
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			s.Annotations[shimGroupAnnotation] = c.PodUID
		}

		// Namespaces.
		if c.NetNS != "" {
			setNamespace(s, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: c.NetNS})
			s.Hostname = c.Hostname
		} else {
			// hostNetwork: the node's network and UTS namespaces, as upstream.
			dropNamespace(s, specs.NetworkNamespace)
			dropNamespace(s, specs.UTSNamespace)
		}
		if c.HostPID {
			dropNamespace(s, specs.PIDNamespace)
		}

		// Resources.
		res := s.Linux.Resources
		if res == nil {
			res = &specs.LinuxResources{}
			s.Linux.Resources = res
		}
		if limit := c.Resources.MemoryLimit; limit > 0 {
			res.Memory = &specs.LinuxMemory{Limit: &limit}
			if memsw {
				res.Memory.Swap = &limit // no swap beyond the limit
			}
		}
		shares := milliCPUToShares(c.Resources.CPURequestMilli)
		res.CPU = &specs.LinuxCPU{Shares: &shares}
		if milli := c.Resources.CPULimitMilli; milli > 0 {
			quota, period := milliCPUToQuota(milli), uint64(cpuPeriod)
			res.CPU.Quota, res.CPU.Period = &quota, &period
		}
		return nil
	}
}

// milliCPUToShares is upstream's: 2 for no request (best effort).
func milliCPUToShares(milli int64) uint64 {
	const minShares, sharesPerCPU = 2, 1024
	shares := milli * sharesPerCPU / 1000
	if shares < minShares {
		return minShares
	}
	return uint64(shares)
}

// milliCPUToQuota is upstream's, with its 1 ms floor.
func milliCPUToQuota(milli int64) int64 {
	const minQuota = 1000
	q := milli * cpuPeriod / 1000
	if q < minQuota {
		return minQuota
	}
	return q
}

// mergeEnv overlays env (KEY=VALUE, later wins) on base.
func mergeEnv(base, env []string) []string {
	out := append([]string(nil), base...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func setNamespace(s *oci.Spec, ns specs.LinuxNamespace) {
	for i, n := range s.Linux.Namespaces {
		if n.Type == ns.Type {
			s.Linux.Namespaces[i] = ns
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, ns)
}

func dropNamespace(s *oci.Spec, t specs.LinuxNamespaceType) {
	kept := s.Linux.Namespaces[:0]
	for _, n := range s.Linux.Namespaces {
		if n.Type != t {
			kept = append(kept, n)
		}
	}
	s.Linux.Namespaces = kept
}

// bindMount is the OCI mount of a volume whose source is already resolved.
func bindMount(source, dest string, readOnly bool) specs.Mount {
	mode := "rw"
	if readOnly {
		mode = "ro"
	}
	return specs.Mount{Type: "bind", Source: source, Destination: dest, Options: []string{"rbind", "rprivate", mode}}
}

// swapAccounting says whether cgroup v1 memory+swap limits can be set.
func swapAccounting() bool {
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}
