package specs_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL

	"github.com/project-seven/seven/conformance/framework"
	_ "github.com/project-seven/seven/conformance/specs"
)

var update = flag.Bool("update", false, "rewrite conformance/guarantees.yaml and docs/GUARANTEES.md from the specs")

//go:generate go test . -run TestCatalogue -update

// The catalogue's generated files, relative to this package.
var (
	yamlPath     = filepath.Join("..", "guarantees.yaml")
	markdownPath = filepath.Join("..", "..", "docs", "GUARANTEES.md")
)

// DESIGN.md's initial guarantees: every one must have a spec.
var designIDs = []string{
	"API-1", "API-2", "API-3", "API-4", "API-5", "API-6",
	"SH-1", "SH-2", "SH-3", "SH-4", "SH-5", "SH-6",
	"RO-1", "RO-2", "RO-3", "RO-4", "RO-5", "RO-6",
	"SD-1", "SD-2", "SD-3", "SD-4", "SD-5",
	"SC-1", "SC-2", "SC-3", "SC-4", "SC-5", "SC-6", "SC-7", "SC-8",
	"CF-1",
	"PA-1", "PA-2", "PA-3", "PA-4", "PA-5",
}

// TestCatalogue fails when the generated catalogue drifts from the specs;
// -update rewrites it.
func TestCatalogue(t *testing.T) {
	report := PreviewSpecs("Seven conformance")
	cat, err := framework.CatalogueFromPreview(report, framework.Declared())
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, g := range cat.Guarantees {
		have[g.ID] = true
	}
	for _, id := range designIDs {
		if !have[id] {
			t.Errorf("guarantee %s of DESIGN.md has no spec", id)
		}
	}
	y, err := cat.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]byte{yamlPath: y, markdownPath: cat.Markdown()} {
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is out of date with the specs (%v); run: go test ./conformance/specs -run TestCatalogue -update", path, err)
		}
	}
}
