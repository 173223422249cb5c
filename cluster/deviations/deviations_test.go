package deviations

import (
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := []Deviation{{ID: "z-last", Reason: "second"}, LoopbackEndpoints}
	got := FromData(Data(in))
	want := []Deviation{LoopbackEndpoints, {ID: "z-last", Reason: "second"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v (sorted by id)", got, want)
	}
	if got := FromData(nil); len(got) != 0 {
		t.Errorf("no data, no deviations: %+v", got)
	}
}
