package conformance

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/target"
)

// Options configure a run.
type Options struct {
	// Profile is "core" (default), "extended" or "all". With Focus set and no
	// Profile, every profile is eligible.
	Profile string
	// Focus selects guarantees by ID ("SC-4") or area prefix ("SC").
	Focus []string
	// LabelFilter is an extra Ginkgo label filter, ANDed with the above.
	LabelFilter string
	// ReportDir, if set, receives conformance-report.yaml, junit.xml and
	// ginkgo-report.json.
	ReportDir string
	// Timings choose the bounds (default: what the target publishes).
	Timings target.TimingsOptions
	// Images are the fixture images (default seven.local/fixture:*).
	Images framework.Images
	// Limits are the harness's allowances (defaults in framework.Limits).
	Limits framework.Limits
	// Output receives progress and the summary table (default os.Stdout).
	Output io.Writer
	// Timeout bounds the whole run; default 1h.
	Timeout time.Duration
	// FailFast stops at the first failure.
	FailFast bool
	// Verbose streams every spec's log as it runs.
	Verbose bool
}

var focusPattern = regexp.MustCompile(`^[A-Za-z]+(-[0-9]+)?$`)

// labelFilter turns the profile and focus into a Ginkgo label filter.
func (o Options) labelFilter() (string, error) {
	var parts []string
	profile := o.Profile
	if profile == "" && len(o.Focus) == 0 {
		profile = string(framework.Core)
	}
	switch profile {
	case "", "all":
	case string(framework.Core), string(framework.Extended):
		parts = append(parts, profile)
	default:
		return "", fmt.Errorf("unknown profile %q (want core, extended or all)", profile)
	}
	var focus []string
	for _, f := range o.Focus {
		for _, item := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == ' ' }) {
			item = strings.ToUpper(item)
			if !focusPattern.MatchString(item) {
				return "", fmt.Errorf("bad focus %q: want a guarantee ID (SC-4) or an area (SC)", item)
			}
			if !knownFocus(item) {
				return "", fmt.Errorf("focus %q matches no guarantee", item)
			}
			focus = append(focus, item)
		}
	}
	if len(focus) > 0 {
		parts = append(parts, "("+strings.Join(focus, " || ")+")")
	}
	if o.LabelFilter != "" {
		parts = append(parts, "("+o.LabelFilter+")")
	}
	return strings.Join(parts, " && "), nil
}

func knownFocus(item string) bool {
	for _, d := range framework.Declared() {
		if d.ID == item || d.Area() == item {
			return true
		}
	}
	return false
}

func (o Options) profileName() string {
	switch {
	case o.Profile != "":
		return o.Profile
	case len(o.Focus) > 0:
		return "all"
	}
	return string(framework.Core)
}

// OptionsFromEnv are the options the suite's test entries (go test ./e2e/…,
// ./conformance) take from the environment: SEVEN_CONFORMANCE_PROFILE
// (default profile), SEVEN_CONFORMANCE_FOCUS (one ID or area) and
// SEVEN_CONFORMANCE_REPORT_DIR.
func OptionsFromEnv(profile string) Options {
	o := Options{Profile: profile, ReportDir: os.Getenv("SEVEN_CONFORMANCE_REPORT_DIR")}
	if p := os.Getenv("SEVEN_CONFORMANCE_PROFILE"); p != "" {
		o.Profile = p
	}
	if f := os.Getenv("SEVEN_CONFORMANCE_FOCUS"); f != "" {
		o.Focus = []string{f}
	}
	return o
}
