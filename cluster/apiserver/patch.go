package apiserver

import (
	"encoding/json"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

func strategicMerge(current, patch []byte, schema runtime.Object) ([]byte, error) {
	out, err := strategicpatch.StrategicMergePatch(current, patch, schema)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return out, nil
}

func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, req request, sub string) {
	out, err := s.codecs.negotiate(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	data, err := body(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	var warnings []string
	obj, err := s.update(r.Context(), req, sub, isDryRun(r), func(old runtime.Object) (runtime.Object, error) {
		if err := s.codecs.setKind(old); err != nil {
			return nil, err
		}
		cur, err := json.Marshal(old)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		patched, err := applyPatch(r.Header.Get("Content-Type"), cur, data, req.res.New())
		if err != nil {
			return nil, err
		}
		jr := r.Clone(r.Context())
		jr.Header.Set("Content-Type", "application/json")
		dec, err := s.codecs.decode(jr, patched, req.res.GroupVersionKind(), req.res.New())
		if err != nil {
			return nil, err
		}
		warnings = dec.warnings
		m, _ := meta.Accessor(dec.obj)
		om, _ := meta.Accessor(old)
		if m.GetName() != om.GetName() || m.GetNamespace() != om.GetNamespace() {
			return nil, apierrors.NewBadRequest("a patch cannot change the object's name or namespace")
		}
		if m.GetResourceVersion() == om.GetResourceVersion() {
			// The patch named no resourceVersion: it applies to whatever is stored now.
			m.SetResourceVersion("")
		}
		return dec.obj, nil
	})
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	warn(w, warnings)
	s.respond(w, r, out, req.res, http.StatusOK, obj)
}
