package manager

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
)

func TestNew(t *testing.T) {
	client := fake.NewClientset()
	if _, err := New(Config{Client: client}); err == nil {
		t.Error("missing RESTConfig accepted")
	}
	if _, err := New(Config{Client: client, RESTConfig: &rest.Config{Host: "https://127.0.0.1:1"}, Disabled: []string{"nope"}}); err == nil {
		t.Error("unknown disabled controller accepted")
	}
	m, err := New(Config{Client: client, RESTConfig: &rest.Config{Host: "https://127.0.0.1:1"}, Disabled: []string{"namespace"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Enabled(); slices.Contains(got, "namespace") || !slices.Contains(got, "deployment") {
		t.Errorf("enabled %v", got)
	}
}

// TestRootCADefault: without a RootCA, the root CA publisher gets the CA the
// manager's client trusts, as upstream's does without --root-ca-file.
func TestRootCADefault(t *testing.T) {
	client := fake.NewClientset()
	pemCert := func(host string) []byte {
		cert, _, err := certutil.GenerateSelfSignedCertKey(host, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	given, data, file := pemCert("given"), pemCert("data"), pemCert("file")
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, file, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []byte
	}{
		{"given", Config{RootCA: given, RESTConfig: &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: data}}}, given},
		{"CAData", Config{RESTConfig: &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: data}}}, data},
		{"CAFile", Config{RESTConfig: &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}}}, file},
		{"none", Config{RESTConfig: &rest.Config{}}, nil},
	} {
		tc.cfg.Client, tc.cfg.RESTConfig.Host = client, "https://127.0.0.1:1"
		m, err := New(tc.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(m.cfg.RootCA, tc.want) {
			t.Errorf("%s: root CA %q, want %q", tc.name, m.cfg.RootCA, tc.want)
		}
	}
	_, err := New(Config{Client: client, RESTConfig: &rest.Config{Host: "https://127.0.0.1:1", TLSClientConfig: rest.TLSClientConfig{CAFile: caFile + ".missing"}}})
	if err == nil {
		t.Error("an unreadable CA file accepted")
	}
}
