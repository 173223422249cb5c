package docker

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// rewriteKubeconfig points every cluster entry of a kubeconfig at server and,
// when name is set, renames its single cluster, user and context to name so
// that kubeconfigs of several clusters do not clash.
func rewriteKubeconfig(data []byte, server, name string) ([]byte, error) {
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("parse kubeconfig: %w", err)
	}
	if len(cfg.Clusters) == 0 {
		return nil, fmt.Errorf("kubeconfig has no cluster")
	}
	for _, c := range cfg.Clusters {
		c.Server = server
	}
	if name != "" && len(cfg.Clusters) == 1 && len(cfg.AuthInfos) == 1 {
		out := clientcmdapi.NewConfig()
		for _, c := range cfg.Clusters {
			out.Clusters[name] = c
		}
		for _, a := range cfg.AuthInfos {
			out.AuthInfos[name] = a
		}
		ns := ""
		for _, c := range cfg.Contexts {
			ns = c.Namespace
		}
		out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: ns}
		out.CurrentContext = name
		cfg = out
	}
	return clientcmd.Write(*cfg)
}
