package conformance

import "testing"

func TestLabelFilter(t *testing.T) {
	tests := []struct {
		opts    Options
		want    string
		wantErr bool
	}{
		{Options{}, "core", false},
		{Options{Profile: "all"}, "", false},
		{Options{Profile: "extended"}, "extended", false},
		{Options{Focus: []string{"SC"}}, "(SC)", false},
		{Options{Focus: []string{"sc-4,API-3"}}, "(SC-4 || API-3)", false},
		{Options{Profile: "core", Focus: []string{"SD"}}, "core && (SD)", false},
		{Options{Focus: []string{"ZZ"}}, "", true},
		{Options{Focus: []string{"SC-99"}}, "", true},
		{Options{Focus: []string{"SC;"}}, "", true},
		{Options{Profile: "gold"}, "", true},
		{Options{LabelFilter: "needs:pods"}, "core && (needs:pods)", false},
	}
	for _, tt := range tests {
		got, err := tt.opts.labelFilter()
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%+v: got %q, %v; want %q (error %v)", tt.opts, got, err, tt.want, tt.wantErr)
		}
	}
}
