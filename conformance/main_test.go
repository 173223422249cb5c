package conformance

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestMainListAndBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if err := Main(context.Background(), []string{"--list"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "SC-4") || !strings.Contains(out.String(), "extended") {
		t.Errorf("--list:\n%s", out.String())
	}
	if err := Main(context.Background(), []string{"--target", "nowhere"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "unknown target") {
		t.Errorf("unknown target: %v", err)
	}
	if err := Main(context.Background(), []string{"--focus", "XX-1"}, &out, &errb); err == nil {
		t.Error("a focus matching nothing must be refused before booting anything")
	}
}
