package containerd

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// Container labels: who the container is, and its history, kept in
// containerd so that a new runtime can rebuild every status.
const (
	labelPodUID       = "seven.dev/pod-uid"
	labelPodNamespace = "seven.dev/pod-namespace"
	labelPodName      = "seven.dev/pod-name"
	labelContainer    = "seven.dev/container"
	labelAttempt      = "seven.dev/attempt"
	labelLogPath      = "seven.dev/log-path"
	labelCreatedAt    = "seven.dev/created-at"
	labelStartedAt    = "seven.dev/started-at"
	labelFinishedAt   = "seven.dev/finished-at"
	labelExitCode     = "seven.dev/exit-code"
	labelReason       = "seven.dev/reason"
	labelMessage      = "seven.dev/message"

	// extSpec is the container extension holding the ContainerSpec (JSON):
	// too large for labels, which containerd caps at 4 KiB.
	extSpec     = "seven.dev/spec"
	specTypeURL = "seven.dev/runtime.ContainerSpec"
	// maxMessage keeps a start error within a label.
	maxMessage = 3 << 10
)

// createLabels are the labels a container is created with.
func createLabels(spec krt.ContainerSpec, logPath string, created time.Time) map[string]string {
	return map[string]string{
		labelPodUID:       spec.PodUID,
		labelPodNamespace: spec.PodNamespace,
		labelPodName:      spec.PodName,
		labelContainer:    spec.Name,
		labelAttempt:      strconv.Itoa(spec.Attempt),
		labelLogPath:      logPath,
		labelCreatedAt:    created.UTC().Format(time.RFC3339Nano),
	}
}

// exitLabels record an exit.
func exitLabels(st krt.Status) map[string]string {
	msg := st.Message
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	return map[string]string{
		labelFinishedAt: st.FinishedAt.UTC().Format(time.RFC3339Nano),
		labelExitCode:   strconv.Itoa(st.ExitCode),
		labelReason:     st.Reason,
		labelMessage:    msg,
	}
}

func specExtension(spec krt.ContainerSpec) (*anypb.Any, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	return &anypb.Any{TypeUrl: specTypeURL, Value: b}, nil
}

// statusFromLabels rebuilds a status from what containerd holds; exited
// says whether the labels record an exit. A running container's pid comes
// from its task.
func statusFromLabels(id string, labels map[string]string, specJSON []byte) (st krt.Status, exited bool, err error) {
	st = krt.Status{ID: id, LogPath: labels[labelLogPath], State: krt.StateRunning}
	if err := json.Unmarshal(specJSON, &st.Spec); err != nil {
		return st, false, fmt.Errorf("container %s: spec: %w", id, err)
	}
	st.CreatedAt = parseTime(labels[labelCreatedAt])
	st.StartedAt = parseTime(labels[labelStartedAt])
	code, ok := labels[labelExitCode]
	if !ok {
		return st, false, nil
	}
	st.State = krt.StateExited
	st.ExitCode, _ = strconv.Atoi(code)
	st.FinishedAt = parseTime(labels[labelFinishedAt])
	st.Reason = labels[labelReason]
	st.Message = labels[labelMessage]
	return st, true, nil
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
