// Package expect is the spec DSL: waits that read like the guarantee
// ("expect.DeploymentAvailable(ctx, f, "web", 3)") and that, when they time
// out, say what they saw last — never a bare "timed out". Every wait polls
// the API through framework.F.Await, so what it observed lands in the spec's
// timeline.
package expect
