package docker

import (
	"bytes"
	"context"
	"fmt"
	"path"

	"github.com/testcontainers/testcontainers-go"

	"github.com/project-seven/seven/cluster/apiserver"
)

// Kubelet certificates, provisioned as kubeadm does: the host reads the
// cluster CA from the control plane, issues each node's serving
// certificate for its name and IP, and puts it into the node container
// with the CA, which the kubelet requires client certificates to chain to.
const (
	cpCACert   = dataDir + "/control-plane/pki/ca.crt"
	cpCAKey    = dataDir + "/control-plane/pki/ca.key"
	nodePKIDir = "/etc/seven/pki"
)

// clusterCA reads the control plane's CA.
func (c *Cluster) clusterCA(ctx context.Context) (*apiserver.PKI, error) {
	name := controlPlaneName(c.cfg.Name)
	certPEM, err := c.copyFile(ctx, name, cpCACert)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	keyPEM, err := c.copyFile(ctx, name, cpCAKey)
	if err != nil {
		return nil, fmt.Errorf("cluster CA key: %w", err)
	}
	return apiserver.CAFromPEM(certPEM, keyPEM)
}

// kubeletCertificates are node s's certificate files and the kubelet flags
// that name them.
func kubeletCertificates(ca *apiserver.PKI, s nodeSpec) ([]testcontainers.ContainerFile, []string, error) {
	certPEM, keyPEM, err := ca.Issue("system:node:"+s.Name, []string{"system:nodes"}, []string{s.Name, s.Hostname, s.IP.String()}, true)
	if err != nil {
		return nil, nil, err
	}
	certFile, keyFile, caFile := path.Join(nodePKIDir, "kubelet.crt"), path.Join(nodePKIDir, "kubelet.key"), path.Join(nodePKIDir, "ca.crt")
	files := []testcontainers.ContainerFile{
		{Reader: bytes.NewReader(certPEM), ContainerFilePath: certFile, FileMode: 0o644},
		{Reader: bytes.NewReader(keyPEM), ContainerFilePath: keyFile, FileMode: 0o600},
		{Reader: bytes.NewReader(ca.CAPEM), ContainerFilePath: caFile, FileMode: 0o644},
	}
	flags := []string{"--tls-cert-file", certFile, "--tls-private-key-file", keyFile, "--client-ca-file", caFile}
	return files, flags, nil
}
