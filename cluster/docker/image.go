package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/project-seven/seven/cluster/kubelet/podnet"
)

// ImageRepository is the repository of node images; the tag is a hash of the
// binaries inside.
const ImageRepository = "seven.local/node"

// modulePath is the module whose commands the image is built from.
const modulePath = "github.com/project-seven/seven"

// ImageSource says where the image's static binaries come from: the paths of
// both binaries, or a checkout of the module to build them from (CGO_ENABLED=0).
// The CNI plugins come with them: from cni/ next to Seven (where make build
// puts them), or built from the module.
type ImageSource struct {
	// Seven and Fixture are paths to static linux binaries; both or neither.
	Seven, Fixture string
	// ModuleDir is the module to build ./cmd/seven and ./cmd/fixture from
	// when no binaries are given; default: found by walking up from the
	// working directory.
	ModuleDir string
	// NoContainerd leaves containerd, its shim and runc out of the image
	// (for the process runtime on a host without them).
	NoContainerd bool
	// Extra files go into the image too (a Flavour's), and Kind names what
	// the image is for (default "seven").
	Extra []ImageFile
	Kind  string
}

// EnsureImage returns the tag of a node image holding src's binaries,
// building it (FROM scratch, the legacy builder, no pulls) only when no image
// with that content exists yet.
func EnsureImage(ctx context.Context, src ImageSource, log *slog.Logger) (string, error) {
	cli, err := newClient(ctx)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return ensureImage(ctx, cli, src, log)
}

// EnsureClusterImage builds (or finds) the node image a cluster made with
// opts would use and returns its tag: WithImage(tag) then boots without
// building or hashing anything, as a timed boot should.
func EnsureClusterImage(ctx context.Context, opts ...Option) (string, error) {
	cfg := DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return "", err
	}
	if cfg.Image != "" {
		return cfg.Image, nil
	}
	return EnsureImage(ctx, cfg.Binaries, cfg.Logger)
}

func ensureImage(ctx context.Context, cli *client.Client, src ImageSource, log *slog.Logger) (string, error) {
	seven, fixture := src.Seven, src.Fixture
	if (seven == "") != (fixture == "") {
		return "", errors.New("image: give both binaries or neither")
	}
	if seven == "" {
		dir, err := os.MkdirTemp("", "seven-image-")
		if err != nil {
			return "", fmt.Errorf("image: %w", err)
		}
		defer os.RemoveAll(dir)
		if seven, fixture, err = buildBinaries(ctx, src.ModuleDir, dir, log); err != nil {
			return "", err
		}
	}
	files := []ImageFile{{Path: sevenPath, Src: seven, Mode: 0o755}, {Path: fixturePath, Src: fixture, Mode: 0o755}}
	for _, p := range cniPluginPaths(filepath.Join(filepath.Dir(seven), "cni")) {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("image: CNI plugin %s: %w (make build puts the plugins in bin/cni)", filepath.Base(p), err)
		}
		files = append(files, ImageFile{Path: cniDir + "/" + filepath.Base(p), Src: p, Mode: 0o755})
	}
	if !src.NoContainerd {
		progs, err := HostPrograms(containerdPrograms)
		if err != nil {
			return "", fmt.Errorf("image: %w", err)
		}
		files = append(files, progs...)
	}
	files = append(files, src.Extra...)
	hash, err := hashFiles(files)
	if err != nil {
		return "", fmt.Errorf("image: %w", err)
	}
	tag := ImageRepository + ":" + hash[:16]
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		log.Debug("node image exists", "image", tag)
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspect image %s: %w", tag, err)
	}
	start := time.Now()
	kind := src.Kind
	if kind == "" {
		kind = "seven"
	}
	if err := buildImage(ctx, cli, tag, map[string]string{LabelImageHash: hash, LabelImageKind: kind}, files); err != nil {
		return "", err
	}
	log.Info("built node image", "image", tag, "took", time.Since(start).Round(time.Millisecond))
	pruneImages(ctx, cli, kind, keepImages, log)
	return tag, nil
}

// keepImages is how many node images the cache keeps (the newest ones).
const keepImages = 3

// pruneImages removes all but the newest keep node images of kind. An image that a
// container still uses is left alone (removal without force fails).
func pruneImages(ctx context.Context, cli *client.Client, kind string, keep int, log *slog.Logger) {
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", LabelImageKind+"="+kind)})
	if err != nil {
		log.Debug("list node images", "err", err)
		return
	}
	imgs := res.Items
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].Created > imgs[j].Created })
	for i := keep; i < len(imgs); i++ {
		if _, err := cli.ImageRemove(ctx, imgs[i].ID, client.ImageRemoveOptions{PruneChildren: true}); err != nil {
			log.Debug("remove old node image", "image", imgs[i].ID, "err", err)
		}
	}
}

// findModule walks up from dir to the go.mod of this module.
func findModule(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		dir = wd
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && moduleLine(data) == modulePath {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no checkout of %s above %s: give the binaries (WithBinaries) or an image (WithImage)", modulePath, dir)
		}
	}
}

func moduleLine(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// buildBinaries builds the two commands statically into out. The flags match
// `make build`, so the build cache is shared with it.
func buildBinaries(ctx context.Context, moduleDir, out string, log *slog.Logger) (seven, fixture string, err error) {
	root, err := findModule(moduleDir)
	if err != nil {
		return "", "", fmt.Errorf("image: %w", err)
	}
	start := time.Now()
	for _, b := range []struct {
		dir  string
		pkgs []string
	}{
		{out, []string{"./cmd/seven", "./cmd/fixture"}},
		{filepath.Join(out, "cni"), podnet.PluginPackages},
	} {
		cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", b.dir + string(filepath.Separator)}, b.pkgs...)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("image: go build: %w: %s", err, bytes.TrimSpace(msg))
		}
	}
	log.Debug("built binaries", "dir", root, "took", time.Since(start).Round(time.Millisecond))
	return filepath.Join(out, "seven"), filepath.Join(out, "fixture"), nil
}

// hashFiles hashes the image's files: where each goes, and its content.
func hashFiles(files []ImageFile) (string, error) {
	h := sha256.New()
	for _, file := range files {
		fmt.Fprintf(h, "%s %o\n", file.Path, file.Mode)
		f, err := os.Open(file.Src)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cniDir is where node images keep the CNI plugins (the kubelet's default).
const cniDir = "/opt/cni/bin"

func cniPluginPaths(dir string) []string {
	out := make([]string, 0, len(podnet.Plugins))
	for _, p := range podnet.Plugins {
		out = append(out, filepath.Join(dir, p))
	}
	return out
}

// dockerfile is the whole image: the files and the directories a scratch
// image lacks (a sticky /tmp, the data, run and kubeconfig directories).
const dockerfile = `FROM scratch
COPY rootfs/ /
ENTRYPOINT ["` + sevenPath + `"]
`

// imageDirs are the directories every node image has, with their modes.
var imageDirs = []struct {
	path string
	mode int64
}{{"/tmp", 0o1777}, {"/run", 0o755}, {"/etc/seven", 0o755}, {"/var/lib/seven", 0o700}, {cniDir, 0o755}, {programDir, 0o755}}

// buildContext writes the build context as a tar stream: the Dockerfile
// and rootfs/ with files at their paths, parents first.
func buildContext(w io.Writer, files []ImageFile) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	dirs := map[string]bool{}
	var mkdir func(path string, mode int64) error
	mkdir = func(path string, mode int64) error {
		if path == "/" || dirs[path] {
			return nil
		}
		if err := mkdir(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		dirs[path] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "rootfs" + path + "/", Mode: mode, ModTime: now})
	}
	copyFile := func(file ImageFile) error {
		if err := mkdir(filepath.Dir(file.Path), 0o755); err != nil {
			return err
		}
		f, err := os.Open(file.Src)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "rootfs" + file.Path, Mode: file.Mode, Size: st.Size(), ModTime: now}); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: now}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, dockerfile); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "rootfs/", Mode: 0o755, ModTime: now}); err != nil {
		return err
	}
	for _, d := range imageDirs {
		if err := mkdir(d.path, d.mode); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := copyFile(f); err != nil {
			return err
		}
	}
	return tw.Close()
}

func buildImage(ctx context.Context, cli *client.Client, tag string, labels map[string]string, files []ImageFile) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(buildContext(pw, files)) }()
	defer pr.Close()
	res, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		Labels:      labels,
		Version:     build.BuilderV1, // BuildKit is not always there (Docker 20.10); scratch needs no pulls either way
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	defer res.Body.Close()
	// The response is a JSON message stream; a failed step is an error message.
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("build image %s: read output: %w", tag, err)
		}
		if msg.Error != "" {
			return fmt.Errorf("build image %s: %s", tag, msg.Error)
		}
	}
	return nil
}
