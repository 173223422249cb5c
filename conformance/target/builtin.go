package target

// The built-in targets; "docker" registers itself from cluster/docker.
func init() {
	Register("local", func(o FactoryOptions) (Target, error) {
		return NewLocal(LocalConfig{DataDir: o.DataDir})
	})
	Register("kubeconfig", func(o FactoryOptions) (Target, error) {
		var caps Capabilities
		if len(o.Capabilities) > 0 {
			c, err := ParseCapabilities(o.Capabilities)
			if err != nil {
				return nil, err
			}
			caps = c
		}
		return NewKubeconfig(KubeconfigConfig{Path: o.Kubeconfig, FaultHook: o.FaultHook, Capabilities: caps})
	})
}
