package crilog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixedClock(start time.Time) func() time.Time {
	t := start
	return func() time.Time { t = t.Add(time.Second); return t }
}

func writeLog(t *testing.T, stdout string, long int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f, fixedClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err := w.Copy(Stdout, strings.NewReader(stdout)); err != nil {
		t.Fatal(err)
	}
	if long > 0 {
		if err := w.Copy(Stderr, strings.NewReader(strings.Repeat("x", long)+"\n")); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestWriteFormat(t *testing.T) {
	path := writeLog(t, "a\nb\nunterminated", maxLine+10)
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	want := []string{
		"2024-01-01T00:00:01Z stdout F a",
		"2024-01-01T00:00:02Z stdout F b",
		"2024-01-01T00:00:03Z stdout F unterminated",
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}
	if len(lines) != 5 || !strings.HasPrefix(lines[3], "2024-01-01T00:00:04Z stderr P xxx") || !strings.HasPrefix(lines[4], "2024-01-01T00:00:05Z stderr F xxxxxxxxxx") {
		t.Errorf("long line not split into P+F: %d lines", len(lines))
	}
}

func ptr[T any](v T) *T { return &v }

func TestRead(t *testing.T) {
	path := writeLog(t, "one\ntwo\nthree\n", 0)
	long := writeLog(t, "", maxLine+3)
	for _, tc := range []struct {
		name string
		path string
		opts Options
		want string
	}{
		{"all", path, Options{}, "one\ntwo\nthree\n"},
		{"tail 2", path, Options{TailLines: ptr[int64](2)}, "two\nthree\n"},
		{"tail 0", path, Options{TailLines: ptr[int64](0)}, ""},
		{"tail more than exists", path, Options{TailLines: ptr[int64](10)}, "one\ntwo\nthree\n"},
		{"since", path, Options{Since: time.Date(2024, 1, 1, 0, 0, 2, 0, time.UTC)}, "two\nthree\n"},
		{"timestamps", path, Options{TailLines: ptr[int64](1), Timestamps: true}, "2024-01-01T00:00:03Z three\n"},
		{"limit", path, Options{LimitBytes: 5}, "one\nt"},
		{"partial joined", long, Options{TailLines: ptr[int64](1), Timestamps: true}, "2024-01-01T00:00:01Z " + strings.Repeat("x", maxLine+3) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Read(context.Background(), tc.path, tc.opts, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f, nil)
	done := make(chan struct{})
	isDone := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	if err := w.Copy(Stdout, strings.NewReader("first\n")); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- Read(context.Background(), path, Options{Follow: true, Done: isDone, Poll: 5 * time.Millisecond}, &out)
	}()
	waitFor(t, func() bool { return out.String() == "first\n" })
	_ = w.Copy(Stdout, strings.NewReader("second\n"))
	waitFor(t, func() bool { return out.String() == "first\nsecond\n" })
	close(done)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
