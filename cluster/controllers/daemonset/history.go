package daemonset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/controllers/deployment"
)

// Hash names a template revision as Kubernetes does for Deployments and
// DaemonSets (FNV-32a of the template and the collision count).
func Hash(t *corev1.PodTemplateSpec, collisionCount *int32) string {
	return deployment.PodTemplateHash(t, collisionCount)
}

// RevisionData is what a ControllerRevision of ds stores (see
// controllers.TemplateRevisionData).
func RevisionData(ds *appsv1.DaemonSet) ([]byte, error) {
	return controllers.TemplateRevisionData(&ds.Spec.Template)
}

// NewRevision returns the ControllerRevision of ds's current template.
func NewRevision(ds *appsv1.DaemonSet, hash string, revision int64, data []byte) *appsv1.ControllerRevision {
	labels := map[string]string{}
	for k, v := range ds.Spec.Template.Labels {
		labels[k] = v
	}
	labels[HashLabel] = hash
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            RevisionName(ds.Name, hash),
			Namespace:       ds.Namespace,
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: revision,
	}
}

// RevisionName is "<ds>-<hash>", cut to fit a name.
func RevisionName(ds, hash string) string {
	prefix := ds
	if room := 253 - 1 - len(hash); len(prefix) > room {
		prefix = prefix[:room]
	}
	return prefix + "-" + hash
}
