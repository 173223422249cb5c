package local

import (
	"path/filepath"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/kubelet"
)

// kubeletServing provisions node i the way kubeadm would: a serving
// certificate for its name and IP issued by the cluster's PKI, written into
// the node's directory with the CA that the kubelet requires client
// certificates to chain to (the API server's kubelet client among them).
func (c *Cluster) kubeletServing(i int) (kubelet.ServingConfig, error) {
	var pki *apiserver.PKI
	switch {
	case c.api != nil:
		pki = c.api.PKI()
	case c.cfg.ControlPlane != nil:
		pki = c.cfg.ControlPlane.CA
	default:
		return kubelet.ServingConfig{}, nil // no PKI here: the kubelet falls back to a self-signed certificate, and says so
	}
	dir := filepath.Join(c.cfg.DataDir, "nodes", nodeName(i), "pki")
	files, err := pki.WriteKubeletCertificates(dir, nodeName(i), c.slot.nodeIP(i))
	if err != nil {
		return kubelet.ServingConfig{}, err
	}
	return kubelet.ServingConfig{TLSCertFile: files.CertFile, TLSPrivateKeyFile: files.KeyFile, ClientCAFile: files.ClientCAFile}, nil
}
