//go:build !seven_mutants

package mutation

// Available reports whether this binary can carry defects (the seven_mutants tag).
const Available = false

// Enabled reports whether the named defect is switched on: never, here.
func Enabled(string) bool { return false }
