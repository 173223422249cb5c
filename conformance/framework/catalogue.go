package framework

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
	"sigs.k8s.io/yaml"

	"github.com/project-seven/seven/conformance/target"
)

// Catalogue versioning.
const (
	CatalogueAPIVersion = "conformance.seven.dev/v1alpha1"
	CatalogueKind       = "GuaranteeCatalogue"
)

// Catalogue is every guarantee with the specs that check it.
type Catalogue struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Guarantees []CatalogueEntry `json:"guarantees"`
}

// CatalogueEntry is a guarantee and its specs.
type CatalogueEntry struct {
	Definition `json:",inline"`
	Area       string     `json:"area"`
	Specs      []SpecInfo `json:"specs"`
}

// SpecInfo describes one spec of a guarantee.
type SpecInfo struct {
	Case         string              `json:"case,omitempty"`
	Serial       bool                `json:"serial,omitempty"`
	Capabilities []target.Capability `json:"capabilities,omitempty"`
	File         string              `json:"file"`
}

// CatalogueFromPreview builds the catalogue from a Ginkgo preview (or run)
// report of the spec tree and the declared definitions. Every declared
// guarantee must have a spec and every spec a declared guarantee.
func CatalogueFromPreview(r types.Report, defs []Definition) (Catalogue, error) {
	byID := map[string]*CatalogueEntry{}
	var ids []string
	for _, d := range defs {
		e := &CatalogueEntry{Definition: d, Area: AreaTitle(d.Area())}
		byID[d.ID] = e
		ids = append(ids, d.ID)
	}
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		id := IDFromLabels(s.Labels())
		e, ok := byID[id]
		if !ok {
			return Catalogue{}, fmt.Errorf("spec %q declares no known guarantee", s.FullText())
		}
		info := SpecInfo{Case: CaseFromText(e.Definition, s.LeafNodeText), Serial: s.IsSerial, File: relFile(s.LeafNodeLocation.FileName)}
		for _, l := range s.Labels() {
			if c, ok := strings.CutPrefix(l, CapabilityLabelPrefix); ok {
				info.Capabilities = append(info.Capabilities, target.Capability(c))
			}
		}
		sort.Slice(info.Capabilities, func(i, j int) bool { return info.Capabilities[i] < info.Capabilities[j] })
		e.Specs = append(e.Specs, info)
	}
	c := Catalogue{APIVersion: CatalogueAPIVersion, Kind: CatalogueKind}
	sort.Slice(ids, func(i, j int) bool { return LessID(ids[i], ids[j]) })
	for _, id := range ids {
		e := byID[id]
		if len(e.Specs) == 0 {
			return Catalogue{}, fmt.Errorf("guarantee %s has no spec", id)
		}
		sort.SliceStable(e.Specs, func(i, j int) bool { return e.Specs[i].Case < e.Specs[j].Case })
		c.Guarantees = append(c.Guarantees, *e)
	}
	return c, nil
}

// CaseFromText recovers the case name from a spec's text.
func CaseFromText(d Definition, text string) string {
	rest, ok := strings.CutPrefix(text, d.ID+" "+d.Statement)
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
		return rest[1 : len(rest)-1]
	}
	return ""
}

func relFile(path string) string {
	path = filepath.ToSlash(path)
	if i := strings.LastIndex(path, "/conformance/"); i >= 0 {
		return path[i+1:]
	}
	return filepath.Base(path)
}

// YAML renders the catalogue (conformance/guarantees.yaml).
func (c Catalogue) YAML() ([]byte, error) {
	raw, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	return append([]byte("# Generated from the conformance specs; do not edit.\n# Regenerate: go test ./conformance/specs -run TestCatalogue -update\n"), raw...), nil
}

// Markdown renders the catalogue (docs/GUARANTEES.md).
func (c Catalogue) Markdown() []byte {
	var b strings.Builder
	core, specs := 0, 0
	for _, g := range c.Guarantees {
		if g.Profile == Core {
			core++
		}
		specs += len(g.Specs)
	}
	b.WriteString("# Guarantees\n\n")
	b.WriteString("<!-- Generated from the conformance specs; do not edit. Regenerate: go test ./conformance/specs -run TestCatalogue -update -->\n\n")
	fmt.Fprintf(&b, "Seven's conformance suite checks %d guarantees (%d core, %d extended), with %d specs. ", len(c.Guarantees), core, len(c.Guarantees)-core, specs)
	b.WriteString("Each guarantee is a MUST that an orchestrator serving the Kubernetes API either keeps or breaks; ")
	b.WriteString("`seven conformance` reports, per guarantee, pass, fail, skip (the target lacks a capability the spec needs) or error (the harness broke).\n\n")
	b.WriteString("- **core**: every conforming implementation must pass these. **extended**: optional features.\n")
	b.WriteString("- **Needs** lists the capabilities a target must declare for the specs to run; otherwise they are skipped, never passed.\n")
	b.WriteString("- **serial** specs inject faults or change cluster-wide state and run alone; the others run in parallel.\n")
	b.WriteString("- Bounds (\"within the bound\") come from the target's published timings (`kube-system/seven-timings`), a timings file, or the `kubernetes` preset; the report says which.\n\n")
	b.WriteString("Run a subset with `seven conformance --focus SC` (an area) or `--focus SC-4` (one guarantee).\n\n")
	for _, a := range Areas {
		var rows []CatalogueEntry
		for _, g := range c.Guarantees {
			if g.Definition.Area() == a.Prefix {
				rows = append(rows, g)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s (%s)\n\n", a.Title, a.Prefix)
		b.WriteString("| ID | Profile | MUST | Needs | Specs |\n|---|---|---|---|---|\n")
		for _, g := range rows {
			needs := "—"
			if len(g.Capabilities) > 0 {
				var cs []string
				for _, c := range g.Capabilities {
					cs = append(cs, "`"+string(c)+"`")
				}
				needs = strings.Join(cs, ", ")
			}
			var ss []string
			for _, s := range g.Specs {
				name := s.Case
				if name == "" {
					name = "main"
				}
				if s.Serial {
					name += " (serial)"
				}
				ss = append(ss, name)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", g.ID, g.Profile, escapeCell(g.Statement), needs, escapeCell(strings.Join(ss, "; ")))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Capabilities\n\n| capability | meaning |\n|---|---|\n")
	for _, c := range target.AllCapabilities() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", c, c.Describe())
	}
	return []byte(b.String())
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
