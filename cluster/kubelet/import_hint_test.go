package kubelet

import "testing"

func TestImportHint(t *testing.T) {
	for _, tc := range []struct{ hint, dir, want string }{
		{"", "/var/lib/seven/kubelet/images", "seven image import --root /var/lib/seven/kubelet FILE"},
		{"", "/tmp/store", "seven image import --store /tmp/store FILE"},
		{"seven cluster load-image --name demo IMAGE", "/var/lib/seven/kubelet/images", "seven cluster load-image --name demo IMAGE"},
	} {
		if got := importHint(tc.hint, tc.dir); got != tc.want {
			t.Errorf("importHint(%q, %q) = %q, want %q", tc.hint, tc.dir, got, tc.want)
		}
	}
}
