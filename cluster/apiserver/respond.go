package apiserver

import (
	"encoding/json"
	"net/http"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/project-seven/seven/cluster/registry"
)

// respond writes obj (an object or a list) as the client asked: as itself, as
// a Table for kubectl, or as PartialObjectMetadata for metadata clients.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, out output, res *registry.Resource, code int, obj runtime.Object) {
	converted, err := s.convert(r, out, res, obj)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	s.codecs.writeObject(w, out, code, converted)
}

func (s *Server) convert(r *http.Request, out output, res *registry.Resource, obj runtime.Object) (runtime.Object, error) {
	isList := meta.IsListType(obj)
	switch out.as {
	case "":
		return obj, nil
	case "Table":
		return s.table(r, res, obj)
	case "PartialObjectMetadata":
		if isList {
			return nil, notAcceptable("as=PartialObjectMetadata is for single objects; use PartialObjectMetadataList")
		}
		return partialMetadata(obj), nil
	case "PartialObjectMetadataList":
		if !isList {
			return nil, notAcceptable("as=PartialObjectMetadataList is for lists")
		}
		items, _ := meta.ExtractList(obj)
		list := &metav1.PartialObjectMetadataList{}
		if lm, err := meta.ListAccessor(obj); err == nil {
			list.ResourceVersion, list.Continue = lm.GetResourceVersion(), lm.GetContinue()
		}
		for _, item := range items {
			list.Items = append(list.Items, *partialMetadata(item))
		}
		return list, nil
	}
	return obj, nil
}

func partialMetadata(obj runtime.Object) *metav1.PartialObjectMetadata {
	p := &metav1.PartialObjectMetadata{}
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			p.ObjectMeta = *om.DeepCopy()
		}
	}
	p.APIVersion, p.Kind = metav1.SchemeGroupVersion.String(), "PartialObjectMetadata"
	return p
}

// table renders obj (one object or a list) with the resource's columns.
func (s *Server) table(r *http.Request, res *registry.Resource, obj runtime.Object) (*metav1.Table, error) {
	include := metav1.IncludeMetadata
	if v := r.URL.Query().Get("includeObject"); v != "" {
		include = metav1.IncludeObjectPolicy(v)
	}
	t := &metav1.Table{}
	columns, row := res.Columns, res.Row
	if len(columns) == 0 || row == nil {
		columns = []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace."},
			{Name: "Created At", Type: "date", Description: "CreationTimestamp of the object."},
		}
		row = func(o runtime.Object) []any {
			m, _ := meta.Accessor(o)
			return []any{m.GetName(), m.GetCreationTimestamp().UTC().Format("2006-01-02T15:04:05Z")}
		}
	}
	if r.URL.Query().Get("noHeaders") == "" {
		t.ColumnDefinitions = columns
	}
	items := []runtime.Object{obj}
	if meta.IsListType(obj) {
		items, _ = meta.ExtractList(obj)
		if lm, err := meta.ListAccessor(obj); err == nil {
			t.ResourceVersion, t.Continue = lm.GetResourceVersion(), lm.GetContinue()
		}
	} else if m, err := meta.Accessor(obj); err == nil {
		t.ResourceVersion = m.GetResourceVersion()
	}
	t.Rows = make([]metav1.TableRow, 0, len(items))
	for _, item := range items {
		tr := metav1.TableRow{Cells: row(item)}
		var embedded runtime.Object
		switch include {
		case metav1.IncludeObject:
			if err := s.codecs.setKind(item); err == nil {
				embedded = item
			}
		case metav1.IncludeMetadata:
			embedded = partialMetadata(item)
		}
		if embedded != nil {
			raw, err := json.Marshal(embedded)
			if err != nil {
				return nil, err
			}
			tr.Object.Raw = raw
		}
		t.Rows = append(t.Rows, tr)
	}
	t.APIVersion, t.Kind = metav1.SchemeGroupVersion.String(), "Table"
	return t, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
