package docker

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// containerdPrograms are the host programs a node image carries for the
// containerd runtime. They come from the host (the Docker Engine's machine
// has them: containerd and runc ship with it) with the shared libraries
// they need, so the image is still built without a registry.
var containerdPrograms = []string{"containerd", "containerd-shim-runc-v2", "runc"}

// programDir is where node images keep the host programs (in PATH).
const programDir = "/usr/local/bin"

// ImageFile is a file of the node image: Path inside it, Src on the host,
// Mode its permission bits.
type ImageFile struct {
	Path, Src string
	Mode      int64
}

// HostPrograms resolves names in PATH and returns them (under /usr/local/bin)
// with their ELF interpreter and every shared library they need,
// transitively, each at the path the dynamic loader looks for it. A
// missing program or library is an error that says how to get it.
func HostPrograms(names []string) ([]ImageFile, error) {
	var files []ImageFile
	seen := map[string]bool{}
	var addLibs func(bin string) error
	addLibs = func(bin string) error {
		f, err := elf.Open(bin)
		if err != nil {
			return fmt.Errorf("%s: %w", bin, err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type != elf.PT_INTERP {
				continue
			}
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return fmt.Errorf("%s: interpreter: %w", bin, err)
			}
			interp := strings.TrimRight(string(b), "\x00")
			if !seen[interp] {
				seen[interp] = true
				src, err := filepath.EvalSymlinks(interp)
				if err != nil {
					return fmt.Errorf("%s: interpreter %s: %w", bin, interp, err)
				}
				files = append(files, ImageFile{Path: interp, Src: src, Mode: 0o755})
			}
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("%s: %w", bin, err)
		}
		runpath, _ := f.DynString(elf.DT_RUNPATH)
		for _, lib := range needed {
			path, err := findLibrary(lib, runpath)
			if err != nil {
				return fmt.Errorf("%s needs %s: %w", bin, lib, err)
			}
			if seen[path] {
				continue
			}
			seen[path] = true
			src, err := filepath.EvalSymlinks(path)
			if err != nil {
				return err
			}
			files = append(files, ImageFile{Path: path, Src: src, Mode: 0o755})
			if err := addLibs(src); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range names {
		path, err := exec.LookPath(name)
		if err != nil {
			return nil, fmt.Errorf("%w: node images carry containerd, containerd-shim-runc-v2 and runc from this host (apt-get install containerd runc), or create the cluster with the process runtime", err)
		}
		src, err := filepath.EvalSymlinks(path)
		if err != nil {
			return nil, err
		}
		files = append(files, ImageFile{Path: programDir + "/" + name, Src: src, Mode: 0o755})
		if err := addLibs(src); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(files, func(a, b ImageFile) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// libraryDirs are where the dynamic loader finds libraries on Debian-like
// hosts (multiarch first), after an ELF's own RUNPATH.
func libraryDirs() []string {
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	return []string{"/lib/" + triplet, "/usr/lib/" + triplet, "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"}
}

var errNoLibrary = errors.New("not found in the library directories")

func findLibrary(lib string, runpath []string) (string, error) {
	dirs := slices.Concat(strings.Split(strings.Join(runpath, ":"), ":"), libraryDirs())
	for _, d := range dirs {
		if d == "" || strings.Contains(d, "$") {
			continue
		}
		p := filepath.Join(d, lib)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", errNoLibrary
}
