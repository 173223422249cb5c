package kubelet

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func readVol(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestWriteAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	if err := writeAtomic(dir, map[string]file{"a": {[]byte("1"), 0o644}, "sub/b": {[]byte("2"), 0o600}}); err != nil {
		t.Fatal(err)
	}
	if readVol(t, dir, "a") != "1" || readVol(t, dir, "sub/b") != "2" {
		t.Fatalf("first write: a=%q sub/b=%q", readVol(t, dir, "a"), readVol(t, dir, "sub/b"))
	}
	if st, _ := os.Stat(filepath.Join(dir, "sub/b")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	first, _ := os.Readlink(filepath.Join(dir, "..data"))
	// Unchanged content: nothing rewritten.
	if err := writeAtomic(dir, map[string]file{"a": {[]byte("1"), 0o644}, "sub/b": {[]byte("2"), 0o600}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, "..data")); again != first {
		t.Errorf("unchanged content rewritten: %s → %s", first, again)
	}
	// An update switches every file; removed keys disappear; the old generation goes.
	if err := writeAtomic(dir, map[string]file{"a": {[]byte("changed"), 0o644}, "c": {[]byte("3"), 0o644}}); err != nil {
		t.Fatal(err)
	}
	if readVol(t, dir, "a") != "changed" || readVol(t, dir, "c") != "3" {
		t.Errorf("update: a=%q c=%q", readVol(t, dir, "a"), readVol(t, dir, "c"))
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("removed key still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("old generation %s kept", first)
	}
	// A path trying to leave the volume stays inside it.
	if err := writeAtomic(dir, map[string]file{"../escape": {[]byte("x"), 0o644}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); !os.IsNotExist(err) {
		t.Errorf("file written outside the volume")
	}
}

func TestIPAM(t *testing.T) {
	dir := t.TempDir()
	a, err := newIPAM(dir, "127.10.0.0/29")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, uid := range []string{"a", "b", "c", "d", "e"} {
		ip, err := a.allocate(uid)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip)
	}
	want := []string{"127.10.0.2", "127.10.0.3", "127.10.0.4", "127.10.0.5", "127.10.0.6"}
	if !equal(got, want) {
		t.Errorf("allocated %v, want %v", got, want)
	}
	if _, err := a.allocate("f"); err == nil {
		t.Errorf("allocated past the range")
	}
	if ip, _ := a.allocate("c"); ip != "127.10.0.4" {
		t.Errorf("second allocate for c gave %s", ip)
	}
	a.release("c")
	// A new allocator over the same directory (kubelet restart) keeps the rest.
	b, err := newIPAM(dir, "127.10.0.0/29")
	if err != nil {
		t.Fatal(err)
	}
	if b.lookup("a") != "127.10.0.2" || b.lookup("c") != "" {
		t.Errorf("after restart: a=%q c=%q", b.lookup("a"), b.lookup("c"))
	}
	if ip, _ := b.allocate("f"); ip != "127.10.0.4" {
		t.Errorf("freed IP not reused: %s", ip)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestIPAMPassesOverBusyIPs: in loopback mode an IP that some process on the
// host already has a socket on (another local cluster's pod) is not handed out.
func TestIPAMPassesOverBusyIPs(t *testing.T) {
	cidr := netip.MustParsePrefix(randomCIDR())
	taken := cidr.Addr().Next().Next() // the first the allocator would give
	l, err := net.Listen("tcp", net.JoinHostPort(taken.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !hostSocketIPs()[taken] {
		t.Fatalf("hostSocketIPs misses %s", taken)
	}
	a, err := newIPAM(t.TempDir(), cidr.String())
	if err != nil {
		t.Fatal(err)
	}
	a.busy = hostSocketIPs
	if ip, err := a.allocate("a"); err != nil || ip != taken.Next().String() {
		t.Errorf("allocated %s %v, want %s (the one after the busy %s)", ip, err, taken.Next(), taken)
	}
}

func TestParseProcNetAddr(t *testing.T) {
	for in, want := range map[string]string{"0100007F:1F90": "127.0.0.1", "00000000:0016": "0.0.0.0", "0202F47F:0050": "127.244.2.2"} {
		if got, ok := parseProcNetAddr(in); !ok || got.String() != want {
			t.Errorf("%s: %v %v, want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "zz", "0100007F", "00000000000000000000000001000000:0050"} {
		if _, ok := parseProcNetAddr(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
