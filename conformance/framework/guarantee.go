package framework

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL

	"github.com/project-seven/seven/conformance/target"
)

// Profile groups guarantees: every conforming implementation must pass core;
// extended covers optional features.
type Profile string

// Profiles.
const (
	Core     Profile = "core"
	Extended Profile = "extended"
)

// Areas in catalogue order, with their titles.
var Areas = []struct{ Prefix, Title string }{
	{"API", "API semantics"},
	{"SH", "Self-healing"},
	{"RO", "Rollouts"},
	{"SD", "Service discovery"},
	{"SC", "Scheduling"},
	{"CF", "Configuration"},
	{"PA", "Partitions"},
}

// Definition is one guarantee of the catalogue.
type Definition struct {
	// ID is stable: an area prefix and a number, e.g. "SC-4".
	ID string `json:"id"`
	// Statement is one sentence saying what an implementation MUST do.
	Statement string  `json:"statement"`
	Profile   Profile `json:"profile"`
	// Capabilities is the union of what its specs need.
	Capabilities []target.Capability `json:"capabilities,omitempty"`
}

// Area is the ID's prefix.
func (g Definition) Area() string { return Area(g.ID) }

// Area returns the area prefix of a guarantee ID.
func Area(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

var idPattern = regexp.MustCompile(`^[A-Z]+-[0-9]+$`)

// Case names one of several specs of a guarantee; pass it to Guarantee among
// the decorators.
type Case string

// Label names used on every guarantee spec.
const (
	// CapabilityLabelPrefix prefixes a needed capability: "needs:pods".
	CapabilityLabelPrefix = "needs:"
)

// Body is a spec's body.
type Body func(ctx context.Context, f *F)

var (
	registryMu sync.Mutex
	registry   = map[string]*Definition{}
)

// Guarantee declares a spec for a guarantee: an It labelled with the ID, the
// area, the profile and "needs:<capability>" for each capability. Several
// specs may declare the same guarantee (with a Case each) as long as they
// agree on its statement and profile. Other args are Ginkgo decorators
// (Serial, SpecTimeout, …) or a Case. It must be called while the spec tree is
// built (package level: `var _ = framework.Guarantee(...)`).
func Guarantee(id, statement string, profile Profile, caps []target.Capability, body Body, args ...any) bool {
	if !idPattern.MatchString(id) {
		panic(fmt.Sprintf("guarantee ID %q is not AREA-N", id))
	}
	if profile != Core && profile != Extended {
		panic(fmt.Sprintf("guarantee %s: unknown profile %q", id, profile))
	}
	for _, c := range caps {
		if !c.Known() {
			panic(fmt.Sprintf("guarantee %s: unknown capability %q", id, c))
		}
	}
	register(Definition{ID: id, Statement: statement, Profile: profile, Capabilities: caps})

	text := id + " " + statement
	var caseName Case
	decorators := []any{Offset(1)}
	for _, a := range args {
		if c, ok := a.(Case); ok {
			caseName = c
			continue
		}
		decorators = append(decorators, a)
	}
	if caseName != "" {
		text += " [" + string(caseName) + "]"
	}
	labels := Label(id, Area(id), string(profile))
	for _, c := range caps {
		labels = append(labels, CapabilityLabelPrefix+string(c))
	}
	decorators = append(decorators, labels)
	g := Definition{ID: id, Statement: statement, Profile: profile, Capabilities: caps}
	return It(text, append(decorators, func(ctx SpecContext) {
		env := CurrentEnv()
		if env == nil {
			Fail(HarnessPrefix + "no target environment: run the suite through conformance.Run or conformance.Main")
		}
		if missing := env.Capabilities.Missing(caps); len(missing) > 0 {
			Skip(SkipReason(env.Target, missing))
		}
		f := newF(ctx, env, g, string(caseName))
		DeferCleanup(f.cleanup, NodeTimeout(2*time.Minute))
		body(ctx, f)
	})...)
}

// SkipPrefix starts the message of a spec skipped for a missing capability.
const SkipPrefix = "target lacks capability "

// SkipReason says why a spec is skipped.
func SkipReason(targetName string, missing []target.Capability) string {
	var parts []string
	for _, c := range missing {
		parts = append(parts, string(c))
	}
	return fmt.Sprintf("%s%s (target %s does not declare it)", SkipPrefix, strings.Join(parts, ", "), targetName)
}

func register(g Definition) {
	registryMu.Lock()
	defer registryMu.Unlock()
	old, ok := registry[g.ID]
	if !ok {
		c := g
		c.Capabilities = append([]target.Capability(nil), g.Capabilities...)
		registry[g.ID] = &c
		return
	}
	if old.Statement != g.Statement || old.Profile != g.Profile {
		panic(fmt.Sprintf("guarantee %s declared twice with different statements or profiles", g.ID))
	}
	for _, c := range g.Capabilities {
		if !containsCap(old.Capabilities, c) {
			old.Capabilities = append(old.Capabilities, c)
		}
	}
}

func containsCap(cs []target.Capability, c target.Capability) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// Declared returns every guarantee declared so far, in catalogue order.
func Declared() []Definition {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]Definition, 0, len(registry))
	for _, g := range registry {
		c := *g
		c.Capabilities = append([]target.Capability(nil), g.Capabilities...)
		sort.Slice(c.Capabilities, func(i, j int) bool { return c.Capabilities[i] < c.Capabilities[j] })
		out = append(out, c)
	}
	SortGuarantees(out)
	return out
}

// SortGuarantees orders by area (as in Areas) then number.
func SortGuarantees(gs []Definition) {
	sort.Slice(gs, func(i, j int) bool { return LessID(gs[i].ID, gs[j].ID) })
}

// LessID orders IDs by area then number.
func LessID(a, b string) bool {
	ai, bi := areaIndex(Area(a)), areaIndex(Area(b))
	if ai != bi {
		return ai < bi
	}
	var an, bn int
	fmt.Sscanf(a[len(Area(a))+1:], "%d", &an)
	fmt.Sscanf(b[len(Area(b))+1:], "%d", &bn)
	if an != bn {
		return an < bn
	}
	return a < b
}

func areaIndex(prefix string) int {
	for i, a := range Areas {
		if a.Prefix == prefix {
			return i
		}
	}
	return len(Areas)
}

// AreaTitle returns the title of an area prefix.
func AreaTitle(prefix string) string {
	for _, a := range Areas {
		if a.Prefix == prefix {
			return a.Title
		}
	}
	return prefix
}

// IDFromLabels finds the guarantee ID among a spec's labels.
func IDFromLabels(labels []string) string {
	for _, l := range labels {
		if idPattern.MatchString(l) {
			return l
		}
	}
	return ""
}
