package target

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/deviations"
)

// ResolveDeviations reads the deviations the cluster declares, from
// ConfigMap kube-system/seven-deviations (the reference's API server
// publishes it from its configuration). A cluster without it, or that does
// not let the suite read it, declares none: the result is then empty, never
// nil, so that a report says "none" rather than nothing.
func ResolveDeviations(ctx context.Context, client kubernetes.Interface) ([]deviations.Deviation, error) {
	cm, err := client.CoreV1().ConfigMaps(deviations.ConfigMapNamespace).Get(ctx, deviations.ConfigMapName, metav1.GetOptions{})
	switch {
	case err == nil:
		return deviations.FromData(cm.Data), nil
	case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
		return []deviations.Deviation{}, nil
	}
	return nil, fmt.Errorf("read deviations configmap: %w", err)
}
