// Command seven-shim is the container shim on its own: a small binary that
// holds nothing but package runtime's shim, so that each container's
// supervisor costs a fraction of the CPU to start and of the memory to keep
// that re-executing the whole seven binary does. Install it next to the
// seven binary; the runtime finds it there and falls back to re-executing
// itself when it is absent.
package main

import (
	"fmt"
	"os"

	"github.com/project-seven/seven/cluster/kubelet/runtime"
)

func main() {
	runtime.ReexecMain()
	fmt.Fprintln(os.Stderr, "seven-shim is started by the kubelet's runtime: seven-shim __seven-shim DIR")
	os.Exit(2)
}
