package statefulset

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/project-seven/seven/cluster/controllers"
)

// RevisionHashLabel is the label of a set's revisions holding the hash in
// their names.
const RevisionHashLabel = "controller.kubernetes.io/hash"

// RevisionData is what a ControllerRevision of set stores: a patch that
// puts its template back (controllers.TemplateRevisionData).
func RevisionData(set *appsv1.StatefulSet) ([]byte, error) {
	return controllers.TemplateRevisionData(&set.Spec.Template)
}

// RevisionHash names a revision as Kubernetes does for StatefulSets: FNV-1
// of the revision's data and the set's collision count, encoded to avoid
// words.
func RevisionHash(data []byte, collisionCount *int32) string {
	h := fnv.New32()
	h.Write(data)
	if collisionCount != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// NewRevision is the ControllerRevision of set's template: named
// <set>-<hash>, labeled with the template's labels and the hash, annotated
// as set is, controlled by set.
func NewRevision(set *appsv1.StatefulSet, data []byte, revision int64) *appsv1.ControllerRevision {
	hash := RevisionHash(data, set.Status.CollisionCount)
	labels := map[string]string{}
	for k, v := range set.Spec.Template.Labels {
		labels[k] = v
	}
	labels[RevisionHashLabel] = hash
	var annotations map[string]string
	if len(set.Annotations) > 0 {
		annotations = map[string]string{}
		for k, v := range set.Annotations {
			annotations[k] = v
		}
	}
	prefix := set.Name
	if len(prefix) > 223 {
		prefix = prefix[:223]
	}
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            prefix + "-" + hash,
			Namespace:       set.Namespace,
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, Kind)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: revision,
	}
}

// TemplateOf reads the template a revision holds.
func TemplateOf(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var patch struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &patch); err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev.Name, err)
	}
	return &patch.Spec.Template, nil
}
