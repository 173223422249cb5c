package timings

import (
	"testing"
	"time"
)

func TestDataRoundTrip(t *testing.T) {
	for _, name := range []string{PresetFast, PresetKubernetes} {
		want, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		got, preset, err := FromData(Timings{}, want.Data(name))
		if err != nil {
			t.Fatal(err)
		}
		if got != want || preset != name {
			t.Errorf("%s: round trip gave %+v %q", name, got, preset)
		}
	}
}

func TestFromDataErrors(t *testing.T) {
	if _, _, err := FromData(Fast(), map[string]string{"nope": "1s"}); err == nil {
		t.Error("unknown key accepted")
	}
	if _, _, err := FromData(Fast(), map[string]string{"nodeMonitorGracePeriod": "soon"}); err == nil {
		t.Error("bad duration accepted")
	}
	got, _, err := FromData(Fast(), map[string]string{"nodeMonitorGracePeriod": "7s"})
	if err != nil || got.NodeMonitorGracePeriod != 7*time.Second || got.CrashBackOffMax != Fast().CrashBackOffMax {
		t.Errorf("partial override: %+v, %v", got, err)
	}
	if _, err := Preset("slow"); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestFastIsFaster(t *testing.T) {
	if Fast().NodeMonitorGracePeriod >= Kubernetes().NodeMonitorGracePeriod {
		t.Error("fast preset is not faster")
	}
}
