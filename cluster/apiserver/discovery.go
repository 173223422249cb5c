package apiserver

import (
	"encoding/json"
	"mime"
	"net/http"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/project-seven/seven/cluster/registry"
)

// Aggregated discovery (one document per /api and /apis) is what client-go
// and kubectl ask for first; the legacy per-group documents remain for older
// clients and for /apis/{group}/{version}.
const aggregatedMediaType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

func wantsAggregated(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		_, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList" {
			return true
		}
	}
	return false
}

var (
	verbsCollection = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	verbsGetUpdate  = []string{"get", "patch", "update"}
)

// subresources lists (name, response kind GVK, verbs) for a resource.
func subresources(res *registry.Resource) []apidiscoveryv2.APISubresourceDiscovery {
	gvk := res.GroupVersionKind()
	var subs []apidiscoveryv2.APISubresourceDiscovery
	add := func(name string, kind schema.GroupVersionKind, verbs []string) {
		subs = append(subs, apidiscoveryv2.APISubresourceDiscovery{
			Subresource:  name,
			ResponseKind: &metav1.GroupVersionKind{Group: kind.Group, Version: kind.Version, Kind: kind.Kind},
			Verbs:        verbs,
		})
	}
	if res.Status {
		add("status", gvk, verbsGetUpdate)
	}
	if res.Scale != nil {
		add("scale", schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, verbsGetUpdate)
	}
	for _, sr := range res.Subresources {
		add(sr.Name, gvk, verbsGetUpdate)
	}
	switch {
	case res.Name == "namespaces" && res.GroupVersion.Group == "":
		add("finalize", gvk, []string{"update"})
	case res.Name == "pods" && res.GroupVersion.Group == "":
		add("binding", schema.GroupVersionKind{Version: "v1", Kind: "Binding"}, []string{"create"})
		add("eviction", schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}, []string{"create"})
		add("log", schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, []string{"get"})
		add("exec", schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}, []string{"create", "get"})
	}
	return subs
}

func (s *Server) groupDiscovery(group string) apidiscoveryv2.APIGroupDiscovery {
	d := apidiscoveryv2.APIGroupDiscovery{}
	d.Name = group
	byVersion := map[string]*apidiscoveryv2.APIVersionDiscovery{}
	var versions []string
	for _, res := range s.resources.all {
		if res.GroupVersion.Group != group {
			continue
		}
		v := res.GroupVersion.Version
		if byVersion[v] == nil {
			byVersion[v] = &apidiscoveryv2.APIVersionDiscovery{Version: v, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
			versions = append(versions, v)
		}
		scope := apidiscoveryv2.ScopeCluster
		if res.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		gvk := res.GroupVersionKind()
		byVersion[v].Resources = append(byVersion[v].Resources, apidiscoveryv2.APIResourceDiscovery{
			Resource:         res.Name,
			ResponseKind:     &metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
			Scope:            scope,
			SingularResource: res.Singular,
			Verbs:            verbsCollection,
			ShortNames:       res.ShortNames,
			Categories:       res.Categories,
			Subresources:     subresources(res),
		})
	}
	for _, v := range versions {
		rs := byVersion[v].Resources
		sort.Slice(rs, func(i, j int) bool { return rs[i].Resource < rs[j].Resource })
		d.Versions = append(d.Versions, *byVersion[v])
	}
	return d
}

func (s *Server) writeAggregated(w http.ResponseWriter, groups []string) {
	list := apidiscoveryv2.APIGroupDiscoveryList{}
	list.APIVersion, list.Kind = "apidiscovery.k8s.io/v2", "APIGroupDiscoveryList"
	for _, g := range groups {
		list.Items = append(list.Items, s.groupDiscovery(g))
	}
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Content-Type", aggregatedMediaType)
	writeJSONNoType(w, http.StatusOK, list)
}

func (s *Server) namedGroups() []string {
	var gs []string
	for _, g := range s.resources.groups {
		if g != "" {
			gs = append(gs, g)
		}
	}
	return gs
}

func (s *Server) serveLegacyDiscovery(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.writeAggregated(w, []string{""})
		return
	}
	writeJSON(w, http.StatusOK, metav1.APIVersions{
		TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
		Versions: []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
			{ClientCIDR: "0.0.0.0/0", ServerAddress: strings.TrimPrefix(s.url, "https://")},
		},
	})
}

func (s *Server) apiGroup(group string) metav1.APIGroup {
	g := metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: group}
	for _, v := range s.groupDiscovery(group).Versions {
		gv := metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + v.Version, Version: v.Version}
		g.Versions = append(g.Versions, gv)
	}
	if len(g.Versions) > 0 {
		g.PreferredVersion = g.Versions[0]
	}
	return g
}

func (s *Server) serveGroupsDiscovery(w http.ResponseWriter, r *http.Request) {
	if wantsAggregated(r) {
		s.writeAggregated(w, s.namedGroups())
		return
	}
	list := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	for _, g := range s.namedGroups() {
		list.Groups = append(list.Groups, s.apiGroup(g))
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) serveGroupDiscovery(w http.ResponseWriter, r *http.Request, group string) {
	g := s.apiGroup(group)
	if len(g.Versions) == 0 {
		s.serveNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// serveResourceList answers /api/v1 and /apis/{group}/{version}.
func (s *Server) serveResourceList(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) {
	list := metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	for _, res := range s.resources.all {
		if res.GroupVersion != gv {
			continue
		}
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: res.Name, SingularName: res.Singular, Namespaced: res.Namespaced, Kind: res.Kind,
			Verbs: verbsCollection, ShortNames: res.ShortNames, Categories: res.Categories,
		})
		for _, sub := range subresources(res) {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.Name + "/" + sub.Subresource, Namespaced: res.Namespaced,
				Group: sub.ResponseKind.Group, Version: sub.ResponseKind.Version, Kind: sub.ResponseKind.Kind,
				Verbs: sub.Verbs,
			})
		}
	}
	if len(list.APIResources) == 0 {
		s.serveNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func writeJSONNoType(w http.ResponseWriter, code int, v any) {
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
