package runtime

import (
	"context"
	"errors"
	"io"
	"testing"
)

// TestStdin: a stdin container reads what attach sessions write; between
// sessions its stdin stays open, and with StdinOnce the end of the first
// session is its EOF.
func TestStdin(t *testing.T) {
	modes(t, func(t *testing.T, isolation string) {
		p := newRuntime(t, isolation)
		root := rootfs(t)
		ctx := context.Background()

		once := spec(root, "stdin")
		once.Stdin, once.StdinOnce = true, true
		st, err := p.Start(ctx, once)
		if err != nil {
			t.Fatal(err)
		}
		in, err := p.OpenStdin(st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(in, "hello\n"); err != nil {
			t.Fatal(err)
		}
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
		st = waitExited(t, p, st.ID)
		if st.ExitCode != 0 || logOf(t, st) != "hello\n" {
			t.Errorf("stdinOnce container: exit %d, log %q", st.ExitCode, logOf(t, st))
		}
		if _, err := p.OpenStdin(st.ID); err == nil {
			t.Errorf("opened the stdin of an exited container")
		}

		// Without StdinOnce, a session's end is not the container's EOF:
		// the next session finds it still reading.
		open := spec(root, "stdin")
		open.Name, open.Stdin = "open", true
		st, err = p.Start(ctx, open)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{"one\n", "two\n"} {
			in, err := p.OpenStdin(st.ID)
			if err != nil {
				t.Fatalf("session %q: %v", line, err)
			}
			if _, err := io.WriteString(in, line); err != nil {
				t.Fatal(err)
			}
			in.Close()
		}
		if st, err = p.Status(st.ID); err != nil || !st.Running() {
			t.Errorf("stdin container ended after a session: %+v %v", st, err)
		}

		plain := spec(root, "sleep", "60s")
		plain.Name = "plain"
		st, err = p.Start(ctx, plain)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.OpenStdin(st.ID); !errors.Is(err, ErrNoStdin) {
			t.Errorf("stdin of a container without: %v, want ErrNoStdin", err)
		}
	})
}
