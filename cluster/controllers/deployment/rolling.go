package deployment

import (
	"fmt"
	"math"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/project-seven/seven/cluster/mutation"
)

// Counts describes one ReplicaSet for the rolling step.
type Counts struct {
	Replicas  int32 // spec.replicas
	Pods      int32 // its active pods (not terminating, not finished)
	Available int32 // of which available (ready for minReadySeconds)
}

// total is the most pods the ReplicaSet can have: pods it has not yet
// deleted count as much as pods it has yet to create.
func (c Counts) total() int32 { return max(c.Replicas, c.Pods) }

// available is the fewest available pods it will keep: a ReplicaSet asked
// for fewer pods deletes unavailable ones first, then available ones.
func (c Counts) available() int32 { return min(c.Replicas, c.Available) }

// RollingInput is the state a rolling step sees.
type RollingInput struct {
	Replicas       int32 // the Deployment's spec.replicas
	MaxSurge       int32 // resolved (see Fenceposts)
	MaxUnavailable int32 // resolved
	New            Counts
	Old            []Counts // oldest first
}

// RollingStep is the result: the spec.replicas each ReplicaSet should have.
type RollingStep struct {
	New int32
	Old []int32
}

// Rolling computes one step of a rolling update. It first scales the new
// ReplicaSet up as far as the surge allows (and returns); otherwise it scales
// old ReplicaSets down, unavailable pods first, as far as availability
// allows. It keeps, for any later readiness of pods:
//
//	sum(total) ≤ Replicas + MaxSurge and sum(available) ≥ Replicas − MaxUnavailable
//
// (the latter once it holds: a step never lowers availability below it).
func Rolling(in RollingInput) RollingStep {
	out := RollingStep{New: in.New.Replicas, Old: make([]int32, len(in.Old))}
	var allTotal, allAvailable, oldReplicas int32
	for i, o := range in.Old {
		out.Old[i] = o.Replicas
		allTotal += o.total()
		allAvailable += o.available()
		oldReplicas += o.Replicas
	}
	allTotal += in.New.total()
	allAvailable += in.New.available()

	switch {
	case in.New.Replicas > in.Replicas:
		out.New = in.Replicas
		return out
	case in.New.Replicas < in.Replicas:
		if room := in.Replicas + in.MaxSurge - allTotal; room > 0 {
			out.New += min(room, in.Replicas-in.New.Replicas)
			return out
		}
	}
	if oldReplicas == 0 {
		return out
	}
	minAvailable := in.Replicas - in.MaxUnavailable

	// First drop old pods that are not available anyway, as far as the
	// budget allows: they cost no availability, and leaving them would block
	// the rollout for good when they never become ready.
	newUnavailable := in.New.Replicas - in.New.available()
	budget := allTotal - minAvailable - newUnavailable
	for i, o := range in.Old {
		if budget <= 0 {
			break
		}
		if unhealthy := out.Old[i] - min(out.Old[i], o.Available); unhealthy > 0 {
			down := min(budget, unhealthy)
			out.Old[i] -= down
			budget -= down
		}
	}
	// Then available ones, oldest ReplicaSet first, down to minAvailable.
	spare := allAvailable - minAvailable
	for i, o := range in.Old {
		if spare <= 0 {
			break
		}
		avail := min(out.Old[i], o.Available)
		down := min(spare, avail)
		out.Old[i] -= down
		spare -= down
	}
	return out
}

// Fenceposts resolves maxSurge (rounded up) and maxUnavailable (rounded down)
// against spec.replicas, as Kubernetes does: both zero means maxUnavailable 1;
// maxUnavailable is at most replicas. Recreate has neither.
func Fenceposts(d *appsv1.Deployment) (surge, unavailable int32, err error) {
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return 0, 0, nil
	}
	want := replicas(d)
	s, u := intstr.FromString("25%"), intstr.FromString("25%")
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			s = *ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			u = *ru.MaxUnavailable
		}
	}
	ns, err := intstr.GetScaledValueFromIntOrPercent(&s, int(want), true)
	if err != nil {
		return 0, 0, fmt.Errorf("maxSurge: %w", err)
	}
	nu, err := intstr.GetScaledValueFromIntOrPercent(&u, int(want), false)
	if err != nil {
		return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if ns == 0 && nu == 0 {
		nu = 1
	}
	if mutation.Enabled(mutation.DeploymentIgnoresMaxUnavailable) {
		nu = int(want)
	}
	return int32(ns), min(int32(nu), want), nil
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// proportion is how many replicas a ReplicaSet of size replicas, last sized
// for a Deployment of annotated (its max-replicas annotation), gets of toAdd
// when the Deployment's new maximum is newMax, given added already handed
// out: its share rounded, within what is left.
func proportion(size, annotated, newMax, toAdd, added int32) int32 {
	if size == 0 || toAdd == added {
		return 0
	}
	var share int32
	switch {
	case newMax == 0:
		share = -size
	case annotated > 0:
		share = int32(math.Round(float64(size)*float64(newMax)/float64(annotated))) - size
	}
	left := toAdd - added
	if toAdd > 0 {
		return min(share, left)
	}
	return max(share, left)
}
