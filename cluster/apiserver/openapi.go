package apiserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// OpenAPI: Seven publishes an OpenAPI v3 document per group/version that
// lists every path, verb and query parameter with the
// x-kubernetes-group-version-kind extension. That is what kubectl reads to
// learn that the server validates fields itself (fieldValidation), so
// `kubectl apply` needs no --validate=false. Schemas are not published yet:
// kubectl then computes strategic merge patches from its built-in types, which
// are the same k8s.io/api types Seven serves.

type openAPIParam struct {
	Name   string            `json:"name"`
	In     string            `json:"in"`
	Schema map[string]string `json:"schema"`
}

type openAPIOperation struct {
	OperationID string                    `json:"operationId"`
	GVK         map[string]string         `json:"x-kubernetes-group-version-kind"`
	Action      string                    `json:"x-kubernetes-action"`
	Parameters  []openAPIParam            `json:"parameters,omitempty"`
	RequestBody *openAPIRequestBody       `json:"requestBody,omitempty"`
	Responses   map[string]map[string]any `json:"responses"`
}

type openAPIRequestBody struct {
	Content map[string]map[string]any `json:"content"`
}

func (s *Server) openAPIDoc(gv schema.GroupVersion) map[string]any {
	paths := map[string]map[string]*openAPIOperation{}
	query := func(names ...string) []openAPIParam {
		var ps []openAPIParam
		for _, n := range names {
			ps = append(ps, openAPIParam{Name: n, In: "query", Schema: map[string]string{"type": "string"}})
		}
		return ps
	}
	ok := map[string]map[string]any{"200": {"description": "OK"}}
	for _, res := range s.resources.all {
		if res.GroupVersion != gv {
			continue
		}
		gvk := map[string]string{"group": gv.Group, "version": gv.Version, "kind": res.Kind}
		base := "/api/v1"
		if gv.Group != "" {
			base = "/apis/" + gv.String()
		}
		collection := base + "/" + res.Name
		if res.Namespaced {
			collection = base + "/namespaces/{namespace}/" + res.Name
		}
		item := collection + "/{name}"
		op := func(id, action string, params []openAPIParam, body bool, patch bool) *openAPIOperation {
			o := &openAPIOperation{OperationID: id + res.Kind, GVK: gvk, Action: action, Parameters: params, Responses: ok}
			if body {
				o.RequestBody = &openAPIRequestBody{Content: map[string]map[string]any{"application/json": {}}}
			}
			if patch {
				// Strategic merge patch is served but, without schemas here,
				// not advertised: kubectl then uses its built-in types for it.
				o.RequestBody = &openAPIRequestBody{Content: map[string]map[string]any{
					"application/json-patch+json": {}, "application/merge-patch+json": {}}}
			}
			return o
		}
		write := query("dryRun", "fieldManager", "fieldValidation")
		paths[collection] = map[string]*openAPIOperation{
			"get":  op("list", "list", query("labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch", "watch", "allowWatchBookmarks", "sendInitialEvents", "timeoutSeconds"), false, false),
			"post": op("create", "post", write, true, false),
		}
		paths[item] = map[string]*openAPIOperation{
			"get":    op("read", "get", nil, false, false),
			"put":    op("replace", "put", write, true, false),
			"patch":  op("patch", "patch", append(write, query("force")...), false, true),
			"delete": op("delete", "delete", query("dryRun", "gracePeriodSeconds", "propagationPolicy"), true, false),
		}
		subs := []string{}
		if res.Status {
			subs = append(subs, "status")
		}
		for _, sr := range res.Subresources {
			subs = append(subs, sr.Name)
		}
		for _, sub := range subs {
			suffix := strings.ToUpper(sub[:1]) + sub[1:]
			paths[item+"/"+sub] = map[string]*openAPIOperation{
				"get":   op("read"+suffix, "get", nil, false, false),
				"put":   op("replace"+suffix, "put", write, true, false),
				"patch": op("patch"+suffix, "patch", write, false, true),
			}
		}
	}
	return map[string]any{
		"openapi":    "3.0.0",
		"info":       map[string]string{"title": "Kubernetes (Seven)", "version": Version.GitVersion},
		"paths":      paths,
		"components": map[string]any{"schemas": map[string]any{}},
	}
}

func (s *Server) serveOpenAPIRoot(w http.ResponseWriter, r *http.Request) {
	paths := map[string]map[string]string{}
	seen := map[schema.GroupVersion]bool{}
	for _, res := range s.resources.all {
		gv := res.GroupVersion
		if seen[gv] {
			continue
		}
		seen[gv] = true
		p := "api/v1"
		if gv.Group != "" {
			p = "apis/" + gv.String()
		}
		data, _ := json.Marshal(s.openAPIDoc(gv))
		sum := sha256.Sum256(data)
		paths[p] = map[string]string{"serverRelativeURL": "/openapi/v3/" + p + "?hash=" + strings.ToUpper(hex.EncodeToString(sum[:16]))}
	}
	writeJSON(w, http.StatusOK, map[string]any{"paths": paths})
}

func (s *Server) serveOpenAPIGroupVersion(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/openapi/v3/")
	var gv schema.GroupVersion
	switch parts := strings.Split(p, "/"); {
	case p == "api/v1":
		gv = schema.GroupVersion{Version: "v1"}
	case len(parts) == 3 && parts[0] == "apis":
		gv = schema.GroupVersion{Group: parts[1], Version: parts[2]}
	default:
		s.serveNotFound(w, r)
		return
	}
	doc := s.openAPIDoc(gv)
	if len(doc["paths"].(map[string]map[string]*openAPIOperation)) == 0 {
		s.serveNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}
