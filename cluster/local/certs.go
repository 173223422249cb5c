package local

import (
	"path/filepath"

	"github.com/project-seven/seven/cluster/kubelet"
)

// kubeletServing provisions node i the way kubeadm would: a serving
// certificate for its name and IP issued by the cluster's PKI, written into
// the node's directory with the CA that the kubelet requires client
// certificates to chain to (the API server's kubelet client among them).
func (c *Cluster) kubeletServing(i int) (kubelet.ServingConfig, error) {
	if c.api == nil {
		return kubelet.ServingConfig{}, nil // no PKI here: the kubelet falls back to a self-signed certificate, and says so
	}
	dir := filepath.Join(c.cfg.DataDir, "nodes", nodeName(i), "pki")
	files, err := c.api.PKI().WriteKubeletCertificates(dir, nodeName(i), c.slot.nodeIP(i))
	if err != nil {
		return kubelet.ServingConfig{}, err
	}
	return kubelet.ServingConfig{TLSCertFile: files.CertFile, TLSPrivateKeyFile: files.KeyFile, ClientCAFile: files.ClientCAFile}, nil
}
