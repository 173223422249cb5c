package deployment

import (
	"math/rand/v2"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestRollingTable(t *testing.T) {
	ready := func(n int32) Counts { return Counts{Replicas: n, Pods: n, Available: n} }
	tests := []struct {
		name string
		in   RollingInput
		want RollingStep
	}{
		{"start: surge one new", RollingInput{6, 1, 1, Counts{}, []Counts{ready(6)}}, RollingStep{1, []int32{6}}},
		{"at max surge: scale old down by available spare", RollingInput{6, 1, 1, Counts{Replicas: 1, Pods: 1}, []Counts{ready(6)}}, RollingStep{1, []int32{5}}},
		{"old pods not deleted yet: no surge", RollingInput{6, 1, 1, Counts{Replicas: 1, Pods: 1}, []Counts{{Replicas: 5, Pods: 6, Available: 6}}}, RollingStep{1, []int32{5}}},
		{"old gone: surge again", RollingInput{6, 1, 1, Counts{Replicas: 1, Pods: 1}, []Counts{ready(5)}}, RollingStep{2, []int32{5}}},
		{"new not ready: stall", RollingInput{6, 1, 1, Counts{Replicas: 2, Pods: 2}, []Counts{ready(5)}}, RollingStep{2, []int32{5}}},
		{"new ready: more old down", RollingInput{6, 1, 1, ready(2), []Counts{ready(5)}}, RollingStep{2, []int32{3}}},
		{"old pods still there count once", RollingInput{6, 1, 1, ready(2), []Counts{{Replicas: 4, Pods: 5, Available: 5}}}, RollingStep{2, []int32{3}}},
		{"finish", RollingInput{6, 1, 1, ready(6), []Counts{ready(0)}}, RollingStep{6, []int32{0}}},
		{"new too big", RollingInput{3, 1, 0, ready(5), nil}, RollingStep{3, nil}},
		{"unhealthy old pods go first, within budget", RollingInput{4, 1, 1, Counts{Replicas: 1, Pods: 1}, []Counts{{Replicas: 4, Pods: 4, Available: 2}}}, RollingStep{1, []int32{3}}},
		{"unhealthy old in older RS, available in newer", RollingInput{4, 0, 1, Counts{}, []Counts{{Replicas: 2, Pods: 2, Available: 0}, ready(2)}}, RollingStep{0, []int32{1, 2}}},
		{"maxUnavailable only", RollingInput{4, 0, 2, Counts{}, []Counts{ready(4)}}, RollingStep{0, []int32{2}}},
		{"then surge into the freed room", RollingInput{4, 0, 2, Counts{}, []Counts{ready(2)}}, RollingStep{2, []int32{2}}},
		{"oldest RS first", RollingInput{4, 0, 1, Counts{}, []Counts{ready(2), ready(2)}}, RollingStep{0, []int32{1, 2}}},
		{"zero replicas", RollingInput{0, 1, 0, Counts{}, []Counts{ready(3)}}, RollingStep{0, []int32{0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Rolling(tc.in)
			if got.New != tc.want.New || !slices.Equal(got.Old, tc.want.Old) && !(len(got.Old) == 0 && len(tc.want.Old) == 0) {
				t.Errorf("Rolling(%+v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// sim is a rollout with pods: each ReplicaSet's pods, available or not.
type sim struct {
	rs   []Counts // [0] is new, the rest old (oldest first)
	rng  *rand.Rand
	in   RollingInput
	fail bool // new pods never become available
}

func (s *sim) pods() (total, available int32) {
	for _, c := range s.rs {
		total += c.Pods
		available += c.Available
	}
	return
}

// step performs one random event: the deployment controller's step, one
// ReplicaSet controller's reconcile (one pod), or a new pod turning available.
func (s *sim) step() {
	switch s.rng.IntN(3) {
	case 0:
		in := s.in
		in.New = s.rs[0]
		in.Old = append([]Counts(nil), s.rs[1:]...)
		out := Rolling(in)
		s.rs[0].Replicas = out.New
		for i, r := range out.Old {
			s.rs[i+1].Replicas = r
		}
	case 1:
		i := s.rng.IntN(len(s.rs))
		c := &s.rs[i]
		switch {
		case c.Pods < c.Replicas:
			c.Pods++
		case c.Pods > c.Replicas && c.Pods > c.Available:
			c.Pods-- // unavailable first
		case c.Pods > c.Replicas:
			c.Pods--
			c.Available--
		}
	case 2:
		if c := &s.rs[0]; !s.fail && c.Available < c.Pods {
			c.Available++
		}
	}
}

func TestRollingInvariants(t *testing.T) {
	cases := []struct {
		replicas, surge, unavailable int32
		olds                         int
	}{
		{6, 1, 1, 1}, {6, 0, 1, 1}, {6, 2, 0, 1}, {10, 3, 2, 2}, {1, 1, 0, 1}, {1, 0, 1, 1}, {5, 5, 5, 3}, {100, 25, 25, 2},
	}
	for _, tc := range cases {
		for _, fail := range []bool{false, true} {
			for seed := range uint64(40) {
				s := &sim{rng: rand.New(rand.NewPCG(seed, 7)), fail: fail,
					in: RollingInput{Replicas: tc.replicas, MaxSurge: tc.surge, MaxUnavailable: tc.unavailable}}
				s.rs = make([]Counts, tc.olds+1)
				left := tc.replicas
				for i := 1; i <= tc.olds; i++ { // old pods spread over old ReplicaSets
					n := left / int32(tc.olds-i+1)
					s.rs[i] = Counts{Replicas: n, Pods: n, Available: n}
					left -= n
				}
				maxTotal, minAvail := tc.replicas+tc.surge, tc.replicas-tc.unavailable
				for i := range 20000 {
					s.step()
					total, avail := s.pods()
					if total > maxTotal || avail < minAvail {
						t.Fatalf("%+v fail=%v seed %d step %d: total %d (max %d) available %d (min %d): %+v", tc, fail, seed, i, total, maxTotal, avail, minAvail, s.rs)
					}
				}
				total, avail := s.pods()
				done := s.rs[0].Available == tc.replicas && total == tc.replicas
				if !fail && !done {
					t.Errorf("%+v seed %d: did not finish: %+v", tc, seed, s.rs)
				}
				if fail && avail < minAvail {
					t.Errorf("%+v seed %d: stalled below availability: %+v", tc, seed, s.rs)
				}
			}
		}
	}
}

func TestFenceposts(t *testing.T) {
	d := func(replicas int32, surge, unavail *intstr.IntOrString) *appsv1.Deployment {
		return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Strategy: appsv1.DeploymentStrategy{
			Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavail}}}}
	}
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	num := func(n int) *intstr.IntOrString { v := intstr.FromInt(n); return &v }
	tests := []struct {
		d                 *appsv1.Deployment
		surge, unavailble int32
	}{
		{d(10, pct("25%"), pct("25%")), 3, 2},
		{d(4, nil, nil), 1, 1},
		{d(3, pct("10%"), pct("10%")), 1, 0},
		{d(3, num(0), pct("10%")), 0, 1},
		{d(6, num(1), num(1)), 1, 1},
		{d(2, num(0), num(5)), 0, 2},
		{&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(3)), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}, 0, 0},
	}
	for i, tc := range tests {
		s, u, err := Fenceposts(tc.d)
		if err != nil || s != tc.surge || u != tc.unavailble {
			t.Errorf("%d: got %d/%d %v, want %d/%d", i, s, u, err, tc.surge, tc.unavailble)
		}
	}
	if _, _, err := Fenceposts(d(3, pct("x%"), nil)); err == nil {
		t.Error("bad percentage accepted")
	}
}

func TestProportion(t *testing.T) {
	tests := []struct {
		size, annotated, newMax, toAdd, added, want int32
	}{
		{5, 10, 20, 10, 0, 5},  // doubles
		{5, 10, 20, 10, 8, 2},  // capped by what is left
		{5, 10, 5, -5, 0, -2},  // halves: round(2.5) = 3 kept
		{4, 10, 0, -4, 0, -4},  // to zero
		{0, 10, 20, 10, 0, 0},  // never from zero
		{3, 0, 20, 10, 0, 0},   // unknown size: no share
		{5, 10, 20, 10, 10, 0}, // all handed out
		{6, 12, 4, -8, 0, -4},  // 6*4/12 = 2 → -4
		{6, 12, 4, -8, -6, -2}, // max(-4, -2)
	}
	for i, tc := range tests {
		if got := proportion(tc.size, tc.annotated, tc.newMax, tc.toAdd, tc.added); got != tc.want {
			t.Errorf("%d: proportion%+v = %d", i, tc, got)
		}
	}
}
