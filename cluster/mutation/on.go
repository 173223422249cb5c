//go:build seven_mutants

package mutation

import "os"

// Available reports whether this binary can carry defects (the seven_mutants tag).
const Available = true

var active = os.Getenv(EnvVar)

// Enabled reports whether the named defect is switched on for this process.
func Enabled(name string) bool { return name == active }
