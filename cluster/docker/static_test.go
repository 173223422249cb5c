package docker

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestStaticELF tells a static executable (a node image can run it) from a
// dynamically linked one (make build's binaries are static; a plain go
// build with cgo on is not).
func TestStaticELF(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\nimport \"net\"\nfunc main() { _, _ = net.LookupHost(\"x\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cgo    string
		static bool
	}{{"0", true}, {"1", false}} {
		out := filepath.Join(dir, "bin-cgo"+tc.cgo)
		cmd := exec.Command("go", "build", "-o", out, src)
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+tc.cgo)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v %s", err, msg)
		}
		if got := staticELF(out); got != tc.static {
			t.Errorf("CGO_ENABLED=%s: staticELF = %v, want %v", tc.cgo, got, tc.static)
		}
	}
	if staticELF(src) {
		t.Error("a source file is no static executable")
	}
}
