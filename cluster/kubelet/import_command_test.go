package kubelet

import "testing"

func TestImportCommand(t *testing.T) {
	for dir, want := range map[string]string{
		"/d/.seven/nodes/node-1/images": "seven image import --root /d/.seven/nodes/node-1 FILE",
		"/var/lib/seven/kubelet/images": "seven image import --root /var/lib/seven/kubelet FILE",
		"/tmp/store":                    "seven image import --store /tmp/store FILE",
	} {
		if got := importCommand(dir); got != want {
			t.Errorf("importCommand(%q) = %q, want %q", dir, got, want)
		}
	}
}
