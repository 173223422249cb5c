package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/project-seven/seven/cluster/registry"
)

// Version is what /version reports: the Kubernetes API version Seven serves.
var Version = version.Info{
	Major:      "1",
	Minor:      "37",
	GitVersion: "v1.37.2-seven",
	Platform:   "linux/amd64",
}

// resources indexes the served resources by group/version/name.
type resources struct {
	all    []*registry.Resource
	byGVR  map[schema.GroupVersionResource]*registry.Resource
	groups []string // API groups in serving order; "" is the core group
}

func newResources(all []*registry.Resource) *resources {
	rs := &resources{all: all, byGVR: map[schema.GroupVersionResource]*registry.Resource{}}
	seen := map[string]bool{}
	for _, r := range all {
		rs.byGVR[r.GroupVersionResource()] = r
		if g := r.GroupVersion.Group; !seen[g] {
			seen[g] = true
			rs.groups = append(rs.groups, g)
		}
	}
	return rs
}

func (rs *resources) lookup(gvr schema.GroupVersionResource) *registry.Resource { return rs.byGVR[gvr] }

// request is one parsed resource request.
type request struct {
	res         *registry.Resource
	namespace   string
	name        string
	subresource string
	watch       bool
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	health := func(w http.ResponseWriter, r *http.Request) {
		if !s.isReady.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.URL.Query().Has("verbose") {
			fmt.Fprint(w, "[+]etcd ok\n[+]bootstrap ok\nreadyz check passed\n")
			return
		}
		fmt.Fprint(w, "ok")
	}
	mux.HandleFunc("/healthz", health)
	mux.HandleFunc("/livez", health)
	mux.HandleFunc("/readyz", health)
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Version)
	})
	mux.HandleFunc("/api", s.serveLegacyDiscovery)
	mux.HandleFunc("/apis", s.serveGroupsDiscovery)
	mux.HandleFunc("/openapi/v3", s.serveOpenAPIRoot)
	mux.HandleFunc("/openapi/v3/", s.serveOpenAPIGroupVersion)
	mux.HandleFunc("/openapi/v2", s.serveNotFound)
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/apis/", s.serveAPI)
	mux.HandleFunc("/", s.serveNotFound)
	return s.authenticate(mux)
}

// authenticate lets through requests with a client certificate signed by the
// cluster CA (Go's TLS stack verified it) and, as Kubernetes does for
// anonymous users, the health and version endpoints. Everything else is 401.
func (s *Server) authenticate(next http.Handler) http.Handler {
	public := map[string]bool{"/healthz": true, "/livez": true, "/readyz": true, "/version": true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				s.codecs.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("%v", p)))
			}
		}()
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			if !public[r.URL.Path] {
				s.codecs.writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
				return
			}
		}
		next.ServeHTTP(w, r)
		if d := time.Since(start); d > time.Second && r.URL.Query().Get("watch") == "" {
			s.log.Debug("slow request", "method", r.Method, "path", r.URL.Path, "duration", d)
		}
	})
}

func (s *Server) serveNotFound(w http.ResponseWriter, r *http.Request) {
	s.codecs.writeError(w, r, apierrors.NewGenericServerResponse(http.StatusNotFound, "", schema.GroupResource{}, "", "the server could not find the requested resource", 0, false))
}

// serveAPI routes /api/v1/... and /apis/{group}/{version}/... .
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(r.URL.Path)
	var gv schema.GroupVersion
	switch {
	case parts[0] == "api" && len(parts) == 1:
		s.serveLegacyDiscovery(w, r)
		return
	case parts[0] == "api":
		gv = schema.GroupVersion{Version: parts[1]}
		parts = parts[2:]
	case len(parts) == 2:
		s.serveGroupDiscovery(w, r, parts[1])
		return
	case len(parts) >= 3:
		gv = schema.GroupVersion{Group: parts[1], Version: parts[2]}
		parts = parts[3:]
	default:
		s.serveNotFound(w, r)
		return
	}
	if len(parts) == 0 {
		s.serveResourceList(w, r, gv)
		return
	}
	req := request{}
	if parts[0] == "watch" {
		req.watch = true
		parts = parts[1:]
	}
	// namespaces/{ns}/{resource}/... unless it is the namespace itself or its subresource.
	resource := ""
	namespaceItself := len(parts) == 2 || (len(parts) == 3 && (parts[2] == "status" || parts[2] == "finalize"))
	if len(parts) >= 2 && parts[0] == "namespaces" && !namespaceItself {
		req.namespace = parts[1]
		parts = parts[2:]
	}
	if len(parts) == 0 {
		s.serveNotFound(w, r)
		return
	}
	resource = parts[0]
	if len(parts) > 1 {
		req.name = parts[1]
	}
	if len(parts) > 2 {
		req.subresource = parts[2]
	}
	if len(parts) > 3 {
		s.serveNotFound(w, r)
		return
	}
	req.res = s.resources.lookup(gv.WithResource(resource))
	if req.res == nil {
		s.serveNotFound(w, r)
		return
	}
	allNamespaces := req.res.Namespaced && req.namespace == "" && req.name == "" && r.Method == http.MethodGet
	if req.res.Namespaced != (req.namespace != "") && !allNamespaces {
		if req.res.Namespaced && req.name == "" && (r.Method == http.MethodPost || r.Method == http.MethodDelete) {
			s.codecs.writeError(w, r, apierrors.NewBadRequest("a namespace is required"))
			return
		}
		s.serveNotFound(w, r)
		return
	}
	if q := r.URL.Query().Get("watch"); q == "true" || q == "1" {
		req.watch = true
	}
	s.dispatch(w, r, req)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, req request) {
	if req.subresource != "" {
		s.serveSubresource(w, r, req)
		return
	}
	switch {
	case r.Method == http.MethodGet && req.watch:
		s.serveWatch(w, r, req)
	case r.Method == http.MethodGet && req.name == "":
		s.serveList(w, r, req)
	case r.Method == http.MethodGet:
		s.serveGet(w, r, req)
	case r.Method == http.MethodPost && req.name == "":
		s.serveCreate(w, r, req)
	case r.Method == http.MethodPut && req.name != "":
		s.serveUpdate(w, r, req, "")
	case r.Method == http.MethodPatch && req.name != "":
		s.servePatch(w, r, req, "")
	case r.Method == http.MethodDelete && req.name != "":
		s.serveDelete(w, r, req)
	case r.Method == http.MethodDelete:
		s.serveDeleteCollection(w, r, req)
	default:
		s.codecs.writeError(w, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), strings.ToLower(r.Method)))
	}
}

func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, req request) {
	res := req.res
	sub := req.subresource
	switch {
	case sub == "status" && res.Status:
		switch r.Method {
		case http.MethodGet:
			s.serveGet(w, r, req)
		case http.MethodPut:
			s.serveUpdate(w, r, req, "status")
		case http.MethodPatch:
			s.servePatch(w, r, req, "status")
		default:
			s.codecs.writeError(w, r, apierrors.NewMethodNotSupported(res.GroupResource(), strings.ToLower(r.Method)))
		}
		return
	case res.Subresource(sub) != nil:
		switch r.Method {
		case http.MethodGet:
			s.serveGet(w, r, req)
		case http.MethodPut:
			s.serveUpdate(w, r, req, sub)
		case http.MethodPatch:
			s.servePatch(w, r, req, sub)
		default:
			s.codecs.writeError(w, r, apierrors.NewMethodNotSupported(res.GroupResource(), strings.ToLower(r.Method)))
		}
		return
	case sub == "scale" && res.Scale != nil:
		s.serveScale(w, r, req)
		return
	case sub == "finalize" && res.Name == "namespaces" && r.Method == http.MethodPut:
		s.serveUpdate(w, r, req, "finalize")
		return
	case res.Name == "pods" && res.GroupVersion.Group == "":
		switch sub {
		case "binding":
			s.serveBinding(w, r, req)
			return
		case "eviction":
			s.serveEviction(w, r, req)
			return
		case "log":
			s.servePodLog(w, r, req)
			return
		case "exec", "attach", "portforward":
			s.servePodStream(w, r, req)
			return
		}
	}
	s.serveNotFound(w, r)
}

func splitPath(p string) []string {
	var parts []string
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return []string{""}
	}
	return parts
}
