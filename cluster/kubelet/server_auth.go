package kubelet

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
)

// The kubelet API's access control, as upstream's with a kubeadm
// configuration: every request, /healthz included, must carry a client
// certificate of the cluster CA (none, or a foreign one: 401 Unauthorized),
// and its user must be allowed the request's verb on the node's
// subresource (else 403 Forbidden). Upstream asks the API server with a
// SubjectAccessReview; Seven has no RBAC yet and decides with a static
// Authorizer, which a SubjectAccessReview one can replace.

// User is an authenticated client: a certificate's common name and
// organizations.
type User struct {
	Name   string
	Groups []string
}

// Attributes describe a kubelet API request as upstream's kubelet puts it
// to its authorizer: verb on nodes/<Subresource> named after the node.
type Attributes struct {
	User User
	// Verb is the HTTP method's: get, create, update, patch, delete.
	Verb string
	// Subresource is stats, metrics, log, pods, healthz, configz or,
	// for everything else (exec, attach, portForward, containerLogs),
	// proxy.
	Subresource string
	// Node is the node's name.
	Node string
	Path string
}

// Authorizer decides whether a request is allowed; reason explains a
// denial.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (allowed bool, reason string, err error)
}

// Identities the StaticAuthorizer allows.
const (
	// APIServerKubeletClient is the user of the API server's client
	// certificate towards kubelets (kubeadm's apiserver-kubelet-client).
	APIServerKubeletClient = "kube-apiserver-kubelet-client"
	// GroupMasters is the group of cluster administrators that no
	// authorizer restricts.
	GroupMasters = "system:masters"
	// GroupClusterAdmins is kubeadm's group bound to cluster-admin (its
	// admin.conf and apiserver-kubelet-client certificates carry it).
	GroupClusterAdmins = "kubeadm:cluster-admins"
)

// StaticAuthorizer allows the API server's kubelet client and cluster
// admins everything, and nobody else anything: what kubeadm's RBAC grants
// on nodes/proxy and friends, until Seven has RBAC.
type StaticAuthorizer struct{}

// Authorize implements Authorizer.
func (StaticAuthorizer) Authorize(_ context.Context, a Attributes) (bool, string, error) {
	if a.User.Name == APIServerKubeletClient || slices.Contains(a.User.Groups, GroupMasters) || slices.Contains(a.User.Groups, GroupClusterAdmins) {
		return true, "", nil
	}
	return false, "only the API server's kubelet client and cluster admins may use the kubelet API", nil
}

// alwaysAllow is the authorizer of a kubelet without a client CA.
type alwaysAllow struct{}

func (alwaysAllow) Authorize(context.Context, Attributes) (bool, string, error) { return true, "", nil }

// authenticator turns a request's client certificate into a User.
type authenticator struct {
	// roots are the client CAs; nil: anonymous requests are allowed.
	roots *x509.CertPool
}

func (k *Kubelet) newAuthenticator() (*authenticator, error) {
	if k.cfg.ClientCAFile == "" {
		k.log.Warn("kubelet API open to anyone: no --client-ca-file given, so requests are neither authenticated nor authorized")
		return &authenticator{}, nil
	}
	pem, err := os.ReadFile(k.cfg.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("client CA %s: no certificate in it", k.cfg.ClientCAFile)
	}
	return &authenticator{roots: roots}, nil
}

// authenticate returns the request's user; ok is false for a request
// without a valid client certificate.
func (a *authenticator) authenticate(r *http.Request) (User, bool) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return User{}, false
	}
	leaf := r.TLS.PeerCertificates[0]
	opts := x509.VerifyOptions{
		Roots:         a.roots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range r.TLS.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(opts); err != nil {
		return User{}, false
	}
	return User{Name: leaf.Subject.CommonName, Groups: leaf.Subject.Organization}, true
}

// secure puts next behind authentication and authorization, and counts the
// requests for /metrics.
func (k *Kubelet) secure(auth *authenticator, next http.Handler) http.Handler {
	authz := k.cfg.Authorizer
	if authz == nil {
		authz = StaticAuthorizer{}
	}
	if auth.roots == nil {
		authz = alwaysAllow{}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.metrics.countRequest(r)
		attrs := Attributes{Verb: verbOf(r.Method), Subresource: subresourceOf(r.URL.Path), Node: k.cfg.NodeName, Path: r.URL.Path}
		if auth.roots != nil {
			u, ok := auth.authenticate(r)
			if !ok {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			attrs.User = u
		}
		allowed, reason, err := authz.Authorize(r.Context(), attrs)
		if err != nil {
			k.log.Error("kubelet API authorization failed", "err", err, "user", attrs.User.Name, "path", attrs.Path)
			http.Error(w, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=nodes, subresource=%s)", attrs.User.Name, attrs.Verb, attrs.Subresource), http.StatusInternalServerError)
			return
		}
		if !allowed {
			k.log.Debug("kubelet API request forbidden", "user", attrs.User.Name, "verb", attrs.Verb, "subresource", attrs.Subresource, "reason", reason)
			http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)", attrs.User.Name, attrs.Verb, attrs.Subresource), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// verbOf maps an HTTP method to an API verb, as upstream's kubelet does.
func verbOf(method string) string {
	switch method {
	case http.MethodPost:
		return "create"
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(method)
}

// subresourceOf names the node subresource a path belongs to.
func subresourceOf(path string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch first {
	case "stats", "metrics", "pods", "healthz", "configz":
		return first
	case "logs":
		return "log"
	}
	return "proxy"
}
