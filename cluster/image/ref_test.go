package image

import "testing"

func TestNormalize(t *testing.T) {
	const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{in: "fixture", want: "docker.io/library/fixture:latest"},
		{in: "fixture:v1", want: "docker.io/library/fixture:v1"},
		{in: "someone/app", want: "docker.io/someone/app:latest"},
		{in: "seven.local/fixture:v1", want: "seven.local/fixture:v1"},
		{in: "seven.local/fixture", want: "seven.local/fixture:latest"},
		{in: "localhost:5000/app:1.0", want: "localhost:5000/app:1.0"},
		{in: "docker.io/library/fixture:v1", want: "docker.io/library/fixture:v1"},
		{in: "fixture@" + dgst, want: "docker.io/library/fixture@" + dgst},
		{in: "fixture:v1@" + dgst, want: "docker.io/library/fixture@" + dgst},
		{in: "Fixture", wantErr: true},
		{in: "", wantErr: true},
		{in: "fixture:", wantErr: true},
		{in: "fixture@sha256:abc", wantErr: true},
	} {
		got, err := Normalize(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
