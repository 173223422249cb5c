package image

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// fakeBinary writes size random bytes standing for the fixture binary.
func fakeBinary(tb testing.TB, size int) string {
	tb.Helper()
	data := make([]byte, size)
	rand.Read(data)
	name := filepath.Join(tb.TempDir(), "fixture")
	if err := os.WriteFile(name, data, 0o755); err != nil {
		tb.Fatal(err)
	}
	return name
}

func TestEnsureFixtures(t *testing.T) {
	bin := fakeBinary(t, 64<<10)
	s := openStore(t)
	if err := s.EnsureFixtures(bin); err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, sum := range list {
		refs = append(refs, sum.Ref)
	}
	want := FixtureRefs()
	slices.Sort(want)
	if !reflect.DeepEqual(refs, want) {
		t.Fatalf("refs %q, want %q", refs, want)
	}

	var rootfs string
	for _, tc := range []struct{ tag, env string }{
		{"v1", "FIXTURE_VERSION=v1"}, {"v2", "FIXTURE_VERSION=v2"}, {"v3", "FIXTURE_VERSION=v3"}, {"broken", "FIXTURE_BROKEN=1"},
	} {
		img, err := s.Get(FixtureRepository + ":" + tc.tag)
		if err != nil {
			t.Fatal(err)
		}
		c := img.Config
		if !reflect.DeepEqual(c.Entrypoint, []string{"/fixture"}) || !reflect.DeepEqual(c.Cmd, []string{"serve"}) || !slices.Contains(c.Env, tc.env) {
			t.Errorf("%s: config %+v", tc.tag, c)
		}
		if rootfs == "" {
			rootfs = img.RootFS
		} else if img.RootFS != rootfs {
			t.Errorf("%s: rootfs %s, want the shared %s", tc.tag, img.RootFS, rootfs)
		}
	}
	fi, err := os.Stat(filepath.Join(rootfs, "fixture"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("/fixture: %v, %v", fi, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "rootfs")); len(entries) != 1 {
		t.Errorf("%d rootfs directories, want 1", len(entries))
	}

	// Again with the same binary: nothing is rewritten.
	stamp := refsModTimes(t, s)
	if err := s.EnsureFixtures(bin); err != nil {
		t.Fatal(err)
	}
	if got := refsModTimes(t, s); !reflect.DeepEqual(got, stamp) {
		t.Errorf("records rewritten for the same binary:\n%v\n%v", stamp, got)
	}

	// A new binary replaces them.
	bin2 := fakeBinary(t, 1024)
	if err := s.EnsureFixtures(bin2); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(FixtureRepository + ":v2")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(img.RootFS, "fixture")); err != nil || fi.Size() != 1024 {
		t.Errorf("after a new binary, /fixture is %v, %v", fi, err)
	}
}

func TestEnsureFixturesMissingBinary(t *testing.T) {
	s := openStore(t)
	if err := s.EnsureFixtures(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("no error for a missing binary")
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("store lists %v", list)
	}
}

func refsModTimes(t *testing.T, s *Store) map[string]time.Time {
	t.Helper()
	entries, err := os.ReadDir(s.refsDir())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]time.Time{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = fi.ModTime()
	}
	return m
}

// BenchmarkEnsureFixtures measures putting the fixture images on a fresh
// node (first: build, import and unpack of a binary the fixture's size) and
// on a node that has them (cached).
func BenchmarkEnsureFixtures(b *testing.B) {
	bin := fakeBinary(b, 10<<20)
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := s.EnsureFixtures(bin); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Get(FixtureRepository + ":v1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if err := s.EnsureFixtures(bin); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := s.EnsureFixtures(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
}
