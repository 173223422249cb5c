package manager

import (
	"slices"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
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
