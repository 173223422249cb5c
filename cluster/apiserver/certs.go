package apiserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// PKI is the cluster's certificate authority and the API server's serving
// certificate, generated into the data dir on first start and reused after.
type PKI struct {
	CACert  *x509.Certificate
	CAKey   *ecdsa.PrivateKey
	CAPEM   []byte
	Serving tls.Certificate
}

const (
	caCertFile      = "ca.crt"
	caKeyFile       = "ca.key"
	servingCertFile = "apiserver.crt"
	servingKeyFile  = "apiserver.key"
)

// LoadOrCreatePKI reads the PKI from dir, creating what is missing. hosts are
// the serving certificate's extra names and IPs.
func LoadOrCreatePKI(dir string, hosts []string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki dir: %w", err)
	}
	p := &PKI{}
	caCertPath, caKeyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	if _, err := os.Stat(caCertPath); errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: "seven-ca"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().AddDate(10, 0, 0),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, fmt.Errorf("create ca: %w", err)
		}
		if err := writePair(caCertPath, caKeyPath, der, key); err != nil {
			return nil, err
		}
	}
	caCert, caKey, caPEM, err := readPair(caCertPath, caKeyPath)
	if err != nil {
		return nil, fmt.Errorf("read ca: %w", err)
	}
	p.CACert, p.CAKey, p.CAPEM = caCert, caKey, caPEM

	sCert, sKey := filepath.Join(dir, servingCertFile), filepath.Join(dir, servingKeyFile)
	if !coversHosts(sCert, hosts) {
		certPEM, keyPEM, err := p.Issue("kube-apiserver", nil, hosts, true)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(sCert, certPEM, 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(sKey, keyPEM, 0o600); err != nil {
			return nil, err
		}
	}
	p.Serving, err = tls.LoadX509KeyPair(sCert, sKey)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	return p, nil
}

// Issue signs a certificate for a client (user cn in groups) or a server
// (hosts as DNS names and IPs). It returns PEM certificate and key.
func (p *PKI) Issue(cn string, groups, hosts []string, server bool) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: groups},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CACert, &key.PublicKey, p.CAKey)
	if err != nil {
		return nil, nil, fmt.Errorf("issue %s: %w", cn, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// ClientConfig returns a rest.Config for host authenticating as user cn.
func (p *PKI) ClientConfig(host, cn string, groups []string) (*rest.Config, error) {
	certPEM, keyPEM, err := p.Issue(cn, groups, nil, false)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:            host,
		TLSClientConfig: rest.TLSClientConfig{CAData: p.CAPEM, CertData: certPEM, KeyData: keyPEM},
		QPS:             -1, // no client-side throttling: the reference serves its own components
	}, nil
}

// WriteKubeconfig writes cfg as a kubeconfig file with one context "seven".
func WriteKubeconfig(path string, cfg *rest.Config) error {
	if err := clientcmd.WriteToFile(*kubeconfig(cfg), path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// Kubeconfig is cfg as a kubeconfig file with one context "seven".
func Kubeconfig(cfg *rest.Config) ([]byte, error) {
	b, err := clientcmd.Write(*kubeconfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return b, nil
}

func kubeconfig(cfg *rest.Config) *clientcmdapi.Config {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["seven"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["seven-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["seven"] = &clientcmdapi.Context{Cluster: "seven", AuthInfo: "seven-admin", Namespace: "default"}
	kc.CurrentContext = "seven"
	return kc
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func readPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, nil, errors.New("bad PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	return cert, key, certPEM, nil
}

// coversHosts reports whether the certificate at path names every host.
func coversHosts(path string, hosts []string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return false
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return false
	}
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// The API server's identity towards kubelets, as kubeadm issues it
// (apiserver-kubelet-client.crt): kubelets allow this user, and admins.
const (
	KubeletClientUser  = "kube-apiserver-kubelet-client"
	KubeletClientGroup = "kubeadm:cluster-admins"
)

// KubeletCertificates are the files a kubelet serves its API with
// (--tls-cert-file, --tls-private-key-file, --client-ca-file).
type KubeletCertificates struct {
	CertFile, KeyFile, ClientCAFile string
}

// WriteKubeletCertificates issues node's serving certificate, valid for its
// name and ips (user system:node:<node> in system:nodes, as a kubelet's
// serving CSR asks), and writes it into dir with the cluster CA, which
// client certificates must chain to: kubelet.crt, kubelet.key, ca.crt.
func (p *PKI) WriteKubeletCertificates(dir, node string, ips ...string) (KubeletCertificates, error) {
	certPEM, keyPEM, err := p.Issue("system:node:"+node, []string{"system:nodes"}, append([]string{node}, ips...), true)
	if err != nil {
		return KubeletCertificates{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return KubeletCertificates{}, fmt.Errorf("kubelet certificates: %w", err)
	}
	c := KubeletCertificates{
		CertFile:     filepath.Join(dir, "kubelet.crt"),
		KeyFile:      filepath.Join(dir, "kubelet.key"),
		ClientCAFile: filepath.Join(dir, "ca.crt"),
	}
	for path, data := range map[string][]byte{c.CertFile: certPEM, c.KeyFile: keyPEM, c.ClientCAFile: p.CAPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return KubeletCertificates{}, fmt.Errorf("kubelet certificates: %w", err)
		}
	}
	return c, nil
}

// CAFromPEM is a PKI holding only the cluster CA, to issue certificates
// away from the API server (a node's, when it is provisioned).
func CAFromPEM(certPEM, keyPEM []byte) (*PKI, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("cluster CA: bad PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cluster CA key: %w", err)
	}
	return &PKI{CACert: cert, CAKey: key, CAPEM: certPEM}, nil
}
