package proxy

import (
	"testing"
	"time"
)

func TestPick(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	abc := []string{"a:1", "b:1", "c:1"}
	tests := []struct {
		name   string
		state  State
		req    Request
		want   Decision
		wantOK bool
	}{
		{name: "no endpoints", req: Request{Now: t0}},
		{
			name:   "round-robin starts at the cursor",
			state:  State{Cursor: 1},
			req:    Request{Endpoints: abc, Now: t0},
			want:   Decision{Endpoint: "b:1", Cursor: 2},
			wantOK: true,
		},
		{
			name:   "cursor wraps",
			state:  State{Cursor: 2},
			req:    Request{Endpoints: abc, Now: t0},
			want:   Decision{Endpoint: "c:1", Cursor: 0},
			wantOK: true,
		},
		{
			name:   "cursor beyond a shrunk list is taken modulo",
			state:  State{Cursor: 7},
			req:    Request{Endpoints: abc, Now: t0},
			want:   Decision{Endpoint: "b:1", Cursor: 2},
			wantOK: true,
		},
		{
			name:   "tried endpoints are skipped",
			state:  State{Cursor: 0},
			req:    Request{Endpoints: abc, Now: t0, Tried: []string{"a:1", "b:1"}},
			want:   Decision{Endpoint: "c:1", Cursor: 0},
			wantOK: true,
		},
		{
			name:   "all tried",
			state:  State{Cursor: 1},
			req:    Request{Endpoints: abc, Now: t0, Tried: abc},
			want:   Decision{Cursor: 1},
			wantOK: false,
		},
		{
			name:   "affinity: a new client is placed round-robin and stuck",
			state:  State{Cursor: 0},
			req:    Request{Endpoints: abc, Client: "10.0.0.1", Affinity: time.Minute, Now: t0},
			want:   Decision{Endpoint: "a:1", Cursor: 1, Stick: &Stick{Endpoint: "a:1", Last: t0}},
			wantOK: true,
		},
		{
			name:   "affinity: a known client returns to its endpoint, cursor unchanged",
			state:  State{Cursor: 0, Sticky: map[string]Stick{"10.0.0.1": {Endpoint: "c:1", Last: t0}}},
			req:    Request{Endpoints: abc, Client: "10.0.0.1", Affinity: time.Minute, Now: t0.Add(time.Minute)},
			want:   Decision{Endpoint: "c:1", Cursor: 0, Stick: &Stick{Endpoint: "c:1", Last: t0.Add(time.Minute)}},
			wantOK: true,
		},
		{
			name:   "affinity: an expired record is ignored",
			state:  State{Cursor: 0, Sticky: map[string]Stick{"10.0.0.1": {Endpoint: "c:1", Last: t0}}},
			req:    Request{Endpoints: abc, Client: "10.0.0.1", Affinity: time.Minute, Now: t0.Add(time.Minute + 1)},
			want:   Decision{Endpoint: "a:1", Cursor: 1, Stick: &Stick{Endpoint: "a:1", Last: t0.Add(time.Minute + 1)}},
			wantOK: true,
		},
		{
			name:   "affinity: an endpoint no longer eligible is left",
			state:  State{Cursor: 1, Sticky: map[string]Stick{"10.0.0.1": {Endpoint: "z:1", Last: t0}}},
			req:    Request{Endpoints: abc, Client: "10.0.0.1", Affinity: time.Minute, Now: t0},
			want:   Decision{Endpoint: "b:1", Cursor: 2, Stick: &Stick{Endpoint: "b:1", Last: t0}},
			wantOK: true,
		},
		{
			name:   "affinity: a refusing endpoint is left for the next",
			state:  State{Cursor: 2, Sticky: map[string]Stick{"10.0.0.1": {Endpoint: "a:1", Last: t0}}},
			req:    Request{Endpoints: abc, Client: "10.0.0.1", Affinity: time.Minute, Now: t0, Tried: []string{"a:1"}},
			want:   Decision{Endpoint: "c:1", Cursor: 0, Stick: &Stick{Endpoint: "c:1", Last: t0}},
			wantOK: true,
		},
		{
			name:   "no affinity: records are not consulted",
			state:  State{Cursor: 0, Sticky: map[string]Stick{"10.0.0.1": {Endpoint: "c:1", Last: t0}}},
			req:    Request{Endpoints: abc, Client: "10.0.0.1", Now: t0},
			want:   Decision{Endpoint: "a:1", Cursor: 1},
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Pick(tt.state, tt.req)
			if ok != tt.wantOK || got.Endpoint != tt.want.Endpoint || got.Cursor != tt.want.Cursor ||
				(got.Stick == nil) != (tt.want.Stick == nil) || (got.Stick != nil && *got.Stick != *tt.want.Stick) {
				t.Errorf("Pick = %+v (stick %v), %v; want %+v (stick %v), %v", got, got.Stick, ok, tt.want, tt.want.Stick, tt.wantOK)
			}
		})
	}
}

// TestPickSpreads checks that repeated picks, applied, cycle through all
// endpoints evenly, and that a sticky client keeps its endpoint.
func TestPickSpreads(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	eps := []string{"a:1", "b:1", "c:1"}
	var s State
	counts := map[string]int{}
	for i := range 99 {
		d, ok := Pick(s, Request{Endpoints: eps, Client: "x", Now: t0.Add(time.Duration(i))})
		if !ok {
			t.Fatal("no pick")
		}
		s.Apply("x", d)
		counts[d.Endpoint]++
	}
	for _, e := range eps {
		if counts[e] != 33 {
			t.Errorf("counts = %v, want 33 each", counts)
		}
	}
	s = State{}
	first := ""
	for i := range 10 {
		d, _ := Pick(s, Request{Endpoints: eps, Client: "y", Affinity: time.Hour, Now: t0.Add(time.Duration(i) * time.Second)})
		s.Apply("y", d)
		if first == "" {
			first = d.Endpoint
		}
		if d.Endpoint != first {
			t.Fatalf("pick %d went to %s, want %s", i, d.Endpoint, first)
		}
	}
	s.Expire(time.Hour, t0.Add(2*time.Hour))
	if len(s.Sticky) != 0 {
		t.Errorf("expired records kept: %v", s.Sticky)
	}
}
