package containerd

import (
	"maps"
	"testing"
	"time"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// TestStatusFromLabels: what a new runtime rebuilds from the labels and
// the spec extension is what the first one knew.
func TestStatusFromLabels(t *testing.T) {
	spec := krt.ContainerSpec{PodUID: "u", PodNamespace: "ns", PodName: "p", Name: "c", Attempt: 2, Args: []string{"x"}}
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ext, err := specExtension(spec)
	if err != nil {
		t.Fatal(err)
	}
	labels := createLabels(spec, "/logs/c/2.log", created)
	st, exited, err := statusFromLabels("id", labels, ext.GetValue())
	if err != nil || exited || !st.Running() || st.Spec.Name != "c" || st.Spec.Attempt != 2 || !st.CreatedAt.Equal(created) || st.LogPath != "/logs/c/2.log" {
		t.Fatalf("running: %+v %v %v", st, exited, err)
	}
	done := krt.Status{ExitCode: 137, Reason: krt.ReasonOOMKilled, FinishedAt: created.Add(time.Minute), Message: string(make([]byte, 10000))}
	maps.Copy(labels, exitLabels(done))
	if len(labels[labelMessage]) > maxMessage {
		t.Errorf("message label of %d bytes", len(labels[labelMessage]))
	}
	st, exited, err = statusFromLabels("id", labels, ext.GetValue())
	if err != nil || !exited || st.Running() || st.ExitCode != 137 || st.Reason != krt.ReasonOOMKilled || !st.FinishedAt.Equal(done.FinishedAt) {
		t.Fatalf("exited: %+v %v %v", st, exited, err)
	}
	if _, _, err := statusFromLabels("id", labels, []byte("{")); err == nil {
		t.Error("a broken spec extension was accepted")
	}
}
