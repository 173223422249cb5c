package apiserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// get sends a GET with an Accept header and returns status, content type and body.
func get(t *testing.T, cfg *rest.Config, path, accept string) (int, string, []byte) {
	t.Helper()
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, cfg.Host+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func TestAggregatedDiscovery(t *testing.T) {
	_, cfg, _ := client(t)
	code, ct, body := get(t, cfg, "/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	if code != 200 || !strings.Contains(ct, "as=APIGroupDiscoveryList") {
		t.Fatalf("aggregated /apis: %d %s", code, ct)
	}
	var list apidiscoveryv2.APIGroupDiscoveryList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range list.Items {
		if g.Name != "apps" {
			continue
		}
		for _, r := range g.Versions[0].Resources {
			if r.Resource == "deployments" && r.Scope == apidiscoveryv2.ScopeNamespace && len(r.ShortNames) > 0 && r.ShortNames[0] == "deploy" {
				for _, s := range r.Subresources {
					if s.Subresource == "scale" && s.ResponseKind.Kind == "Scale" {
						found = true
					}
				}
			}
		}
	}
	if !found {
		t.Fatalf("apps/v1 deployments with short name and scale subresource not in %s", body)
	}
	code, _, body = get(t, cfg, "/api/v1", "")
	if code != 200 || !strings.Contains(string(body), `"pods/log"`) {
		t.Fatalf("legacy /api/v1: %d %s", code, body)
	}
}

func TestTableResponses(t *testing.T) {
	cs, cfg, ns := client(t)
	ctx := ctxT(t)
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment("tbl", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, ct, body := get(t, cfg, "/apis/apps/v1/namespaces/"+ns+"/deployments", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	if code != 200 || !strings.Contains(ct, "as=Table") {
		t.Fatalf("table: %d %s %s", code, ct, body)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if got := strings.Join(names[:5], ","); got != "Name,Ready,Up-to-date,Available,Age" {
		t.Fatalf("columns %v", names)
	}
	if len(table.Rows) != 1 || table.Rows[0].Cells[0] != "tbl" || table.Rows[0].Cells[1] != "0/2" {
		t.Fatalf("rows %+v", table.Rows)
	}
	var meta metav1.PartialObjectMetadata
	if err := json.Unmarshal(table.Rows[0].Object.Raw, &meta); err != nil || meta.Name != "tbl" || meta.Kind != "PartialObjectMetadata" {
		t.Fatalf("row object: %v %s", err, table.Rows[0].Object.Raw)
	}
	code, _, body = get(t, cfg, "/apis/apps/v1/namespaces/"+ns+"/deployments", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")
	var pl metav1.PartialObjectMetadataList
	if code != 200 || json.Unmarshal(body, &pl) != nil || len(pl.Items) != 1 || pl.Items[0].Name != "tbl" {
		t.Fatalf("metadata list: %d %s", code, body)
	}
	if code, _, _ = get(t, cfg, "/api/v1/namespaces", "text/html"); code != http.StatusNotAcceptable {
		t.Fatalf("unservable Accept: want 406, got %d", code)
	}
}

func TestYAMLAndProtobufBodies(t *testing.T) {
	_, cfg, ns := client(t)
	yaml := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n"
	code, body := raw(t, cfg, "POST", "/api/v1/namespaces/"+ns+"/configmaps", "application/yaml", []byte(yaml))
	if code != http.StatusCreated || !strings.Contains(body, `"from-yaml"`) {
		t.Fatalf("yaml create: %d %s", code, body)
	}
	// A watch with timeoutSeconds ends by itself.
	cs := kubernetes.NewForConfigOrDie(cfg)
	start := time.Now()
	w, err := cs.CoreV1().ConfigMaps(ns).Watch(context.Background(), metav1.ListOptions{TimeoutSeconds: ptr.To(int64(1))})
	if err != nil {
		t.Fatal(err)
	}
	for range w.ResultChan() {
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("watch with timeoutSeconds=1 lasted %s", d)
	}
}
