package main_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/project-seven/seven/cluster/image"
)

// runSevenStdin runs the seven binary with stdin and TMPDIR=tmp, and returns
// its stdout, stderr and exit code.
func runSevenStdin(t *testing.T, stdin io.Reader, tmp string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(sevenBinary(t), args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errOut
	err := cmd.Run()
	if exitErr := (*exec.ExitError)(nil); err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("seven %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// openTarball opens a fixture tarball for a command's stdin.
func openTarball(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestImageImportStdin: `seven image import -` reads the tarball from
// standard input, streamed into one store or spooled (and removed again)
// for the nodes of a data dir; a bad tarball on stdin changes nothing.
func TestImageImportStdin(t *testing.T) {
	tarballs := fixtureTarballs(t)
	tmp := t.TempDir()

	t.Run("one store", func(t *testing.T) {
		root := t.TempDir()
		out, errOut, code := runSevenStdin(t, openTarball(t, filepath.Join(tarballs, "fixture-v1.tar")), tmp, "image", "import", "--root", root, "-")
		if code != 0 {
			t.Fatalf("image import -: exit %d: %s", code, errOut)
		}
		want := regexp.MustCompile(`^imported seven\.local/fixture:v1 \(sha256:[0-9a-f]{12}\) into ` + regexp.QuoteMeta(filepath.Join(root, "images")) + `\n$`)
		if !want.MatchString(out) {
			t.Errorf("image import - printed %q", out)
		}
		s, err := image.Open(filepath.Join(root, "images"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get("seven.local/fixture:v1"); err != nil {
			t.Error(err)
		}
	})

	t.Run("every node, with a file", func(t *testing.T) {
		dataDir := t.TempDir()
		for _, n := range []string{"node-0", "node-1"} {
			if err := os.MkdirAll(filepath.Join(dataDir, "nodes", n), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		out, errOut, code := runSevenStdin(t, openTarball(t, filepath.Join(tarballs, "fixture-v2.tar")), tmp,
			"image", "import", "--data-dir", dataDir, filepath.Join(tarballs, "fixture-v3.tar"), "-")
		if code != 0 {
			t.Fatalf("image import FILE -: exit %d: %s", code, errOut)
		}
		want := regexp.MustCompile(`^imported seven\.local/fixture:v3 \(sha256:[0-9a-f]{12}\) into node-0, node-1\n` +
			`imported seven\.local/fixture:v2 \(sha256:[0-9a-f]{12}\) into node-0, node-1\n$`)
		if !want.MatchString(out) {
			t.Errorf("image import printed %q", out)
		}
		for _, n := range []string{"node-0", "node-1"} {
			s, err := image.Open(filepath.Join(dataDir, "nodes", n, "images"))
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range []string{"seven.local/fixture:v2", "seven.local/fixture:v3"} {
				if _, err := s.Get(ref); err != nil {
					t.Errorf("%s: %v", n, err)
				}
			}
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("the spooled copy of stdin was left in TMPDIR: %v", left)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		full, err := os.ReadFile(filepath.Join(tarballs, "fixture-v2.tar"))
		if err != nil {
			t.Fatal(err)
		}
		root := t.TempDir()
		if _, errOut, code := runSevenStdin(t, openTarball(t, filepath.Join(tarballs, "fixture-v1.tar")), tmp, "image", "import", "--root", root, "-"); code != 0 {
			t.Fatalf("image import -: exit %d: %s", code, errOut)
		}
		before := storeFiles(t, root)
		for _, tc := range []struct {
			name  string
			stdin []byte
			args  []string
			want  string
		}{
			{"truncated", full[:len(full)-2000], []string{"-"}, "standard input: truncated or corrupt tarball, nothing imported"},
			{"empty", nil, []string{"-"}, "standard input: "},
			{"twice", full, []string{"-", "-"}, "- given more than once"},
		} {
			out, errOut, code := runSevenStdin(t, bytes.NewReader(tc.stdin), tmp, append([]string{"image", "import", "--root", root}, tc.args...)...)
			if code == 0 {
				t.Errorf("%s: exit 0, printed %q", tc.name, out)
			}
			if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("%s: stderr %q, want one line with %q", tc.name, errOut, tc.want)
			}
			if after := storeFiles(t, root); len(after) != len(before) {
				t.Errorf("%s: the store went from %d files to %d", tc.name, len(before), len(after))
			}
		}
	})
}
