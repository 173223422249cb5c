package runtime

// init turns any binary that links this package into the shim when it was
// started as one, before main or TestMain runs. An explicit ReexecMain call
// is easy to forget in a test binary, and a forgotten one makes every
// container start re-run that package's whole test suite.
func init() { ReexecMain() }
