package apiserver

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/project-seven/seven/cluster/deviations"
)

// deviations are the ways this server's configuration departs from
// Kubernetes, as the cluster declares them.
func (s *Server) deviations() []deviations.Deviation {
	var ds []deviations.Deviation
	if s.cfg.AllowLoopbackEndpoints {
		ds = append(ds, deviations.LoopbackEndpoints)
	}
	return ds
}

// publishDeviations makes ConfigMap kube-system/seven-deviations say what
// deviations() says: written when there are some, removed when there are
// none, so that a server restarted without a deviation stops declaring it.
func (s *Server) publishDeviations(ctx context.Context) error {
	req := request{res: s.resources.lookup(corev1.SchemeGroupVersion.WithResource("configmaps")),
		namespace: deviations.ConfigMapNamespace, name: deviations.ConfigMapName}
	ds := s.deviations()
	if len(ds) == 0 {
		_, err := s.delete(ctx, req, &metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deviations: %w", err)
		}
		return nil
	}
	data := deviations.Data(ds)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: deviations.ConfigMapName, Namespace: deviations.ConfigMapNamespace}, Data: data}
	_, err := s.create(ctx, req, cm, false)
	if apierrors.IsAlreadyExists(err) {
		_, err = s.update(ctx, req, "", false, func(old runtime.Object) (runtime.Object, error) {
			cur := old.(*corev1.ConfigMap)
			cur.Data = data
			return cur, nil
		})
	}
	if err != nil {
		return fmt.Errorf("deviations: %w", err)
	}
	for _, d := range ds {
		s.log.Warn("deviation from Kubernetes", "id", d.ID, "reason", d.Reason)
	}
	return nil
}
