package upstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Component names: the main packages k8s.io/kubernetes/cmd/<name>.
const (
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
	Kubelet               = "kubelet"
	KubeProxy             = "kube-proxy"
	Kubectl               = "kubectl"
)

// Components are every upstream binary the swap matrix and the upstream
// target run: the control plane's, the node's, and the kubectl the checks
// drive them with. One set, so one build serves every cell.
var Components = []string{KubeAPIServer, KubeControllerManager, KubeScheduler, Kubelet, KubeProxy, Kubectl}

// BuildOptions say which upstream binaries to build and where.
type BuildOptions struct {
	// ModuleDir is the module pinning k8s.io/kubernetes (the kubernetes
	// directory next to this file); default: found from the working
	// directory upwards.
	ModuleDir string
	// OutputDir is the cache root; binaries go to
	// <OutputDir>/<version>/bin. Default _output/upstream at the root of
	// the main module.
	OutputDir string
	// Components to build; default Components.
	Components []string
	// Log, if set, receives go build's output.
	Log *os.File
}

// Binaries are built upstream binaries.
type Binaries struct {
	// Version is k8s.io/kubernetes's, as the module pins it (v1.37.2).
	Version string
	// Dir holds one executable per component.
	Dir string
	// Cached is true when nothing had to be built.
	Cached bool
}

// Path is the executable of component name.
func (b Binaries) Path(name string) string { return filepath.Join(b.Dir, name) }

// stampFile records what the binaries in a directory were built from.
const stampFile = ".stamp"

// Build builds the upstream binaries once per version and pinned
// dependency set: the cache key is the module's go.sum, the Go toolchain and
// the components, so a second call answers from the directory in
// milliseconds, and a changed pin rebuilds (with go's build cache, in
// seconds when only the link is new). The binaries are static
// (CGO_ENABLED=0), as the release's are.
func Build(ctx context.Context, opts BuildOptions) (Binaries, error) {
	if opts.ModuleDir == "" {
		dir, err := findModuleDir()
		if err != nil {
			return Binaries{}, err
		}
		opts.ModuleDir = dir
	}
	if len(opts.Components) == 0 {
		opts.Components = Components
	}
	if opts.OutputDir == "" {
		opts.OutputDir = filepath.Join(opts.ModuleDir, "..", "..", "..", "_output", "upstream")
	}
	version, err := pinnedVersion(filepath.Join(opts.ModuleDir, "go.mod"))
	if err != nil {
		return Binaries{}, err
	}
	sum, err := os.ReadFile(filepath.Join(opts.ModuleDir, "go.sum"))
	if err != nil {
		return Binaries{}, fmt.Errorf("upstream module: %w", err)
	}
	comps := slices.Sorted(slices.Values(opts.Components))
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", runtime.Version(), strings.Join(comps, ","), version, ldflags(version))
	h.Write(sum)
	stamp := hex.EncodeToString(h.Sum(nil))

	b := Binaries{Version: version, Dir: filepath.Join(opts.OutputDir, version, "bin")}
	if b.fresh(stamp, comps) {
		b.Cached = true
		return b, nil
	}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("upstream binaries: %w", err)
	}
	args := []string{"build", "-trimpath", "-ldflags=" + ldflags(version), "-o", b.Dir + string(filepath.Separator)}
	for _, c := range comps {
		args = append(args, "k8s.io/kubernetes/cmd/"+c)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = opts.ModuleDir
	// GOWORK=off: a go.work elsewhere must not pull Seven's own
	// dependency versions into kubernetes' build list.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if opts.Log != nil {
		cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	}
	if err := cmd.Run(); err != nil {
		return Binaries{}, fmt.Errorf("go build %s: %w\n%s", strings.Join(comps, " "), err, out.String())
	}
	if err := os.WriteFile(filepath.Join(b.Dir, stampFile), []byte(stamp+"\n"+strings.Join(comps, "\n")+"\n"), 0o644); err != nil {
		return Binaries{}, fmt.Errorf("upstream binaries: %w", err)
	}
	return b, nil
}

// ldflags strip the binaries (-s -w, as the release's: a third of the
// size, a faster link) and stamp the version as kubernetes' own build does,
// so /version, kubectl version and nodeInfo.kubeletVersion say v1.37.x.
func ldflags(version string) string {
	major, minor, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	pkg := "k8s.io/component-base/version"
	flags := []string{"-s", "-w"}
	for _, kv := range [][2]string{{"gitVersion", version}, {"gitMajor", major}, {"gitMinor", minor}, {"gitTreeState", "clean"}} {
		flags = append(flags, "-X", pkg+"."+kv[0]+"="+kv[1], "-X", "k8s.io/client-go/pkg/version."+kv[0]+"="+kv[1])
	}
	return strings.Join(flags, " ")
}

// fresh reports whether b.Dir holds comps built with stamp. A stamp covering
// more components than asked for serves as well.
func (b Binaries) fresh(stamp string, comps []string) bool {
	data, err := os.ReadFile(filepath.Join(b.Dir, stampFile))
	if err != nil {
		return false
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) == 0 || lines[0] != stamp {
		return false
	}
	for _, c := range comps {
		if _, err := os.Stat(b.Path(c)); err != nil {
			return false
		}
	}
	return true
}

// pinnedVersion reads the k8s.io/kubernetes requirement from a go.mod.
func pinnedVersion(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", fmt.Errorf("upstream module: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(f) >= 2 && f[0] == "k8s.io/kubernetes" {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s requires no k8s.io/kubernetes", gomod)
}

// findModuleDir finds e2e/upstream/kubernetes from the working directory up.
func findModuleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		for _, rel := range []string{"kubernetes", filepath.Join("e2e", "upstream", "kubernetes")} {
			candidate := filepath.Join(dir, rel)
			if _, err := os.Stat(filepath.Join(candidate, "go.mod")); err == nil {
				if v, err := pinnedVersion(filepath.Join(candidate, "go.mod")); err == nil && v != "" {
					return candidate, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no e2e/upstream/kubernetes module above the working directory")
		}
		dir = parent
	}
}
