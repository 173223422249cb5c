package target

import (
	"context"
	"reflect"
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/deviations"
)

// TestResolveDeviations reads what the reference's API server publishes.
func TestResolveDeviations(t *testing.T) {
	if testing.Short() {
		t.Skip("boots API servers")
	}
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		loopback bool
		want     []deviations.Deviation
	}{
		{"as Kubernetes: none, as an empty list", false, []deviations.Deviation{}},
		{"loopback endpoints", true, []deviations.Deviation{deviations.LoopbackEndpoints}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, rc := apiservertest.StartServer(t, apiservertest.Options{Configure: func(cfg *apiserver.Config) {
				cfg.AllowLoopbackEndpoints = c.loopback
			}})
			got, err := ResolveDeviations(ctx, kubernetes.NewForConfigOrDie(rc))
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, %v; want %#v", got, err, c.want)
			}
		})
	}
}
