package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/project-seven/seven/cluster/image"
)

// runImage is `seven image`: the nodes' image stores.
func runImage(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return errors.New("usage: seven image import [--root DIR | --store DIR | --data-dir DIR --node NAME] FILE... (- reads standard input)")
	}
	return runImageImport(os.Stdin, os.Stdout, args[1:])
}

// nodeStore is the image store of one node.
type nodeStore struct {
	name  string
	store *image.Store
}

// runImageImport imports tarballs into one image store (--root, --store) or
// those of the nodes of a `seven up` cluster (--data-dir, every node unless
// --node). A tarball named "-" is read from stdin (seven cluster load-image
// streams one into a node container that way).
// Each tarball is imported whole or not at all: a bad one is found by the
// first store, before any other is touched.
func runImageImport(stdin io.Reader, stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("seven image import", flag.ContinueOnError)
	root := fs.String("root", "", "a node's root directory (seven kubelet --root-dir): import into <root>/images")
	storeDir := fs.String("store", "", "an image store directory itself (what the kubelet's ErrImagePull message names)")
	dataDir := fs.String("data-dir", ".seven", "the data dir of seven up: import into every node's store, <data-dir>/nodes/node-<i>/images")
	node := fs.String("node", "", "with --data-dir, import into this node only (node-0, …)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return errors.New("no tarball to import: seven image import [--root DIR | --store DIR | --data-dir DIR --node NAME] FILE... (- reads standard input)")
	}
	if i := slices.Index(files, "-"); i >= 0 && slices.Contains(files[i+1:], "-") {
		return errors.New("- given more than once: standard input holds one tarball")
	}
	dataDirSet := false
	fs.Visit(func(f *flag.Flag) { dataDirSet = dataDirSet || f.Name == "data-dir" || f.Name == "node" })
	if (*root != "" && (dataDirSet || *storeDir != "")) || (*storeDir != "" && dataDirSet) {
		return errors.New("--root, --store and --data-dir/--node exclude each other")
	}
	if *storeDir == "" && *root != "" {
		*storeDir = filepath.Join(*root, "images")
	}
	for _, f := range files {
		if f == "-" {
			continue
		}
		fi, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("%s: %w", f, errors.Unwrap(err))
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file", f)
		}
	}
	stores, err := openStores(*storeDir, *dataDir, *node)
	if err != nil {
		return err
	}
	names := make([]string, len(stores))
	for i, s := range stores {
		names[i] = s.name
	}
	for _, f := range files {
		src, err := openSource(f, stdin, len(stores))
		if err != nil {
			return err
		}
		var imported map[string]string // ref → manifest digest
		for _, s := range stores {
			got, err := importSource(s.store, src)
			if err != nil {
				src.Close()
				return err
			}
			imported = got
		}
		src.Close()
		refs := make([]string, 0, len(imported))
		for ref := range imported {
			refs = append(refs, ref)
		}
		slices.Sort(refs)
		for _, ref := range refs {
			fmt.Fprintf(stdout, "imported %s (%s) into %s\n", ref, shortDigest(imported[ref]), strings.Join(names, ", "))
		}
	}
	return nil
}

// openStores opens the stores an import goes to: the one in storeDir, or
// those of the nodes under dataDir.
func openStores(storeDir, dataDir, node string) ([]nodeStore, error) {
	if storeDir != "" {
		s, err := image.Open(storeDir)
		if err != nil {
			return nil, err
		}
		return []nodeStore{{name: storeDir, store: s}}, nil
	}
	nodesDir := filepath.Join(dataDir, "nodes")
	var names []string
	if node != "" {
		if fi, err := os.Stat(filepath.Join(nodesDir, node)); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("no node %s under %s", node, nodesDir)
		}
		names = []string{node}
	} else {
		entries, err := os.ReadDir(nodesDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, e := range entries {
			if _, ok := nodeIndex(e.Name()); ok && e.IsDir() {
				names = append(names, e.Name())
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no nodes under %s (run seven up with --data-dir %s first, or pass --root or --store)", nodesDir, dataDir)
		}
		slices.SortFunc(names, func(a, b string) int {
			i, _ := nodeIndex(a)
			j, _ := nodeIndex(b)
			return i - j
		})
	}
	stores := make([]nodeStore, len(names))
	for i, name := range names {
		s, err := image.Open(filepath.Join(nodesDir, name, "images"))
		if err != nil {
			return nil, err
		}
		stores[i] = nodeStore{name: name, store: s}
	}
	return stores, nil
}

// nodeIndex is i of a node directory node-<i>.
func nodeIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "node-")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}

// stdinLabel is what messages call a tarball read from standard input.
const stdinLabel = "standard input"

// source is one tarball to import: a file, or standard input ("-").
type source struct {
	label string    // what messages call it: the file, or standard input
	file  *os.File  // the file, or standard input spooled into a temporary file
	spool bool      // file is a temporary file, removed on Close
	stdin io.Reader // standard input read directly, by one store
}

// openSource opens a tarball for stores stores. Standard input can be read
// only once, so when more than one store takes it, it is spooled into a
// temporary file first; for one store (a node's own import, which
// seven cluster load-image runs) it is streamed.
func openSource(name string, stdin io.Reader, stores int) (*source, error) {
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, errors.Unwrap(err))
		}
		return &source{label: name, file: f}, nil
	}
	if stores <= 1 {
		return &source{label: stdinLabel, stdin: stdin}, nil
	}
	f, err := os.CreateTemp("", "seven-image-import-*.tar")
	if err != nil {
		return nil, fmt.Errorf("%s: spool: %w", stdinLabel, err)
	}
	src := &source{label: stdinLabel, file: f, spool: true}
	if _, err := io.Copy(f, stdin); err != nil {
		src.Close()
		return nil, fmt.Errorf("%s: read: %w", stdinLabel, err)
	}
	return src, nil
}

// reader is the tarball from its start.
func (s *source) reader() (io.Reader, error) {
	if s.file == nil {
		return s.stdin, nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: %w", s.label, err)
	}
	return s.file, nil
}

// Close closes the file and removes a spooled copy of standard input.
func (s *source) Close() {
	if s.file == nil {
		return
	}
	s.file.Close()
	if s.spool {
		os.Remove(s.file.Name())
	}
}

// importSource imports one tarball into one store and returns the
// references it added with their manifest digests.
func importSource(s *image.Store, src *source) (map[string]string, error) {
	r, err := src.reader()
	if err != nil {
		return nil, err
	}
	refs, err := s.Import(r)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: truncated or corrupt tarball, nothing imported (%w)", src.label, err)
		}
		return nil, fmt.Errorf("%s: not an importable image tarball, nothing imported (%w)", src.label, err)
	}
	list, err := s.List()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, ref := range refs {
		for _, sum := range list {
			if sum.Ref == ref {
				out[ref] = sum.Digest
			}
		}
	}
	return out, nil
}

// shortDigest is sha256: and the first 12 hex digits.
func shortDigest(d string) string {
	dg := digest.Digest(d)
	if dg.Validate() != nil || len(dg.Encoded()) < 12 {
		return d
	}
	return dg.Algorithm().String() + ":" + dg.Encoded()[:12]
}

// runFixtureImages is `seven fixture-images`: the fixture images as tarballs
// that `docker load` and `seven image import` read.
func runFixtureImages(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("seven fixture-images", flag.ContinueOnError)
	output := fs.String("output", "", "directory to write fixture-<tag>.tar into (created if missing)")
	binary := fs.String("fixture-binary", "", "the fixture workload binary (default: fixture next to seven)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *output == "" || fs.NArg() > 0 {
		return errors.New("usage: seven fixture-images --output DIR [--fixture-binary PATH]")
	}
	if *binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		*binary = filepath.Join(filepath.Dir(exe), "fixture")
	}
	if _, err := os.Stat(*binary); err != nil {
		return fmt.Errorf("fixture binary %s: %w (run make build, or pass --fixture-binary)", *binary, errors.Unwrap(err))
	}
	if err := os.MkdirAll(*output, 0o755); err != nil {
		return err
	}
	for _, ref := range image.FixtureRefs() {
		tag := ref[strings.LastIndex(ref, ":")+1:]
		name := filepath.Join(*output, "fixture-"+tag+".tar")
		if err := writeFixtureArchive(name, *binary, tag); err != nil {
			return err
		}
		fmt.Printf("wrote %s (%s)\n", name, ref)
	}
	return nil
}

// writeFixtureArchive writes one fixture tarball through a temporary file, so
// name is whole or absent.
func writeFixtureArchive(name, binary, tag string) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".fixture-*.tar")
	if err != nil {
		return err
	}
	err = image.WriteFixtureArchive(f, binary, tag)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
