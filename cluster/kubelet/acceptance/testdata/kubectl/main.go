// Command kubectl is the real kubectl command code (k8s.io/kubectl), built
// by the acceptance test so that long-running commands such as
// port-forward run as a person runs them: as a process of their own.
package main

import (
	"os"

	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	if err := cmd.NewDefaultKubectlCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
