package report

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
	"sigs.k8s.io/yaml"
)

// File names in the report directory.
const (
	YAMLFile  = "conformance-report.yaml"
	JUnitFile = "junit.xml"
	JSONFile  = "ginkgo-report.json"
)

// WriteYAML writes the ConformanceReport.
func WriteYAML(path string, r ConformanceReport) error {
	raw, err := yaml.Marshal(r)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// ReadYAML reads a ConformanceReport.
func ReadYAML(path string) (ConformanceReport, error) {
	var r ConformanceReport
	raw, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("report: %w", err)
	}
	if err := yaml.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("report %s: %w", path, err)
	}
	return r, nil
}

// WriteAll writes the three reports into dir.
func WriteAll(dir string, g types.Report, r ConformanceReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report dir: %w", err)
	}
	if err := WriteYAML(filepath.Join(dir, YAMLFile), r); err != nil {
		return err
	}
	if err := reporters.GenerateJUnitReportWithConfig(g, filepath.Join(dir, JUnitFile), reporters.JunitReportConfig{
		OmitTimelinesForSpecState: types.SpecStatePassed | types.SpecStateSkipped,
		OmitLeafNodeType:          true,
		OmitSuiteSetupNodes:       false,
	}); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	if err := reporters.GenerateJSONReport(g, filepath.Join(dir, JSONFile)); err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	return nil
}
