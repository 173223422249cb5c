package apiserver

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/cbor"
)

// maxBodyBytes is the largest request body accepted, as in Kubernetes (3 MiB).
const maxBodyBytes = 3 << 20

// codecs encode and decode every served media type: JSON, YAML, protobuf and CBOR.
type codecs struct {
	factory serializer.CodecFactory
	scheme  *runtime.Scheme
}

func newCodecs(scheme *runtime.Scheme) codecs {
	return codecs{
		factory: serializer.NewCodecFactory(scheme, serializer.WithSerializer(cbor.NewSerializerInfo)),
		scheme:  scheme,
	}
}

// info returns the serializer for a media type ("application/json"), or nil.
func (c codecs) info(mediaType string) *runtime.SerializerInfo {
	for _, i := range c.factory.SupportedMediaTypes() {
		if i.MediaType == mediaType {
			return &i
		}
	}
	return nil
}

// output is what a client asked for with its Accept header.
type output struct {
	info *runtime.SerializerInfo
	// as is "" for the object itself, or Table, PartialObjectMetadata, PartialObjectMetadataList.
	as string
	// mediaType to answer with in Content-Type.
	mediaType string
}

// negotiate chooses the response encoding from Accept, defaulting to JSON.
func (c codecs) negotiate(r *http.Request) (output, error) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return output{info: c.info("application/json"), mediaType: "application/json"}, nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*":
			mt = "application/json"
		case "application/vnd.kubernetes.protobuf;stream=watch":
			mt = "application/vnd.kubernetes.protobuf"
		}
		info := c.info(mt)
		if info == nil {
			continue
		}
		out := output{info: info, mediaType: mt}
		if as := params["as"]; as != "" {
			if params["g"] != metav1.GroupName || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			switch as {
			case "Table", "PartialObjectMetadata", "PartialObjectMetadataList":
				out.as = as
				out.mediaType = fmt.Sprintf("%s;as=%s;g=%s;v=v1", mt, as, metav1.GroupName)
			default:
				continue
			}
		}
		return out, nil
	}
	return output{}, notAcceptable("only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/cbor")
}

// writeObject encodes obj with status code to w.
func (c codecs) writeObject(w http.ResponseWriter, out output, code int, obj runtime.Object) {
	if err := c.setKind(obj); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", strings.Replace(out.mediaType, ";as=", ";as=", 1))
	w.WriteHeader(code)
	_ = out.info.Serializer.Encode(obj, w)
}

// setKind fills an object's apiVersion and kind from the scheme.
func (c codecs) setKind(obj runtime.Object) error {
	gvks, _, err := c.scheme.ObjectKinds(obj)
	if err != nil {
		return fmt.Errorf("kind of %T: %w", obj, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	return nil
}

// writeError answers with a metav1.Status for err.
func (c codecs) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	out, nerr := c.negotiate(r)
	if nerr != nil || out.as != "" {
		out = output{info: c.info("application/json"), mediaType: "application/json"}
	}
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", out.mediaType)
	w.WriteHeader(code)
	_ = out.info.Serializer.Encode(&st, w)
}

// body reads a request body up to maxBodyBytes.
func body(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d bytes", maxBodyBytes))
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read body: %v", err))
	}
	return data, nil
}

// decoded is a request body decoded into an object, with strict-mode findings.
type decoded struct {
	obj      runtime.Object
	warnings []string
}

// decode reads the request body into into, honouring fieldValidation
// (Strict: unknown or duplicate fields are a 400; Warn, the default: they are
// warnings; Ignore). The body's apiVersion/kind, when present, must be gvk.
func (c codecs) decode(r *http.Request, data []byte, gvk schema.GroupVersionKind, into runtime.Object) (*decoded, error) {
	ct := r.Header.Get("Content-Type")
	mt := "application/json"
	if ct != "" {
		var err error
		mt, _, err = mime.ParseMediaType(ct)
		if err != nil {
			return nil, unsupportedMediaType(ct)
		}
	}
	info := c.info(mt)
	if info == nil {
		return nil, unsupportedMediaType(ct)
	}
	if len(data) == 0 {
		return nil, apierrors.NewBadRequest("the request body is empty")
	}
	validation := r.URL.Query().Get("fieldValidation")
	dec := info.Serializer
	switch validation {
	case "", "Warn", "Strict":
		if info.StrictSerializer != nil {
			dec = info.StrictSerializer
		}
	case "Ignore":
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of Ignore, Warn, Strict, not %q", validation))
	}
	obj, got, err := dec.Decode(data, &gvk, into)
	var warnings []string
	if err != nil {
		if !runtime.IsStrictDecodingError(err) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("decode %s: %v", gvk.Kind, err))
		}
		if validation == "Strict" {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if strict, ok := runtime.AsStrictDecodingError(err); ok {
			for _, e := range strict.Errors() {
				warnings = append(warnings, e.Error())
			}
		}
		if obj == nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	}
	if got != nil && (got.Kind != gvk.Kind || got.GroupVersion() != gvk.GroupVersion()) {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the body is a %s, expected %s", got, gvk))
	}
	return &decoded{obj: obj, warnings: warnings}, nil
}

// warn adds Kubernetes-style Warning headers.
func warn(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", fmt.Sprintf("299 - %q", msg))
	}
}

func unsupportedMediaType(ct string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/cbor; got %q", ct),
	}}
}

func notAcceptable(msg string) error {
	return apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "", msg, 0, false)
}
