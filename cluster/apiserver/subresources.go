package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// --- scale ---

func (s *Server) scaleOf(req request, obj runtime.Object) *autoscalingv1.Scale {
	spec, status, selector := req.res.Scale.Get(obj)
	m := obj.(metav1.Object)
	sc := &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{
			Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp(),
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: spec},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: selector},
	}
	return sc
}

func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, req request) {
	out, err := s.codecs.negotiate(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	gvk := autoscalingv1.SchemeGroupVersion.WithKind("Scale")
	var change func(old runtime.Object) (runtime.Object, error)
	switch r.Method {
	case http.MethodGet:
		obj := req.res.New()
		if err := s.objects(req.res).Get(r.Context(), key(req.res, req.namespace, req.name), obj); err != nil {
			s.codecs.writeError(w, r, storageError(req.res, req.name, err))
			return
		}
		s.codecs.writeObject(w, out, http.StatusOK, s.scaleOf(req, obj))
		return
	case http.MethodPut, http.MethodPatch:
		data, err := body(r)
		if err != nil {
			s.codecs.writeError(w, r, err)
			return
		}
		change = func(old runtime.Object) (runtime.Object, error) {
			var scale *autoscalingv1.Scale
			if r.Method == http.MethodPut {
				dec, err := s.codecs.decode(r, data, gvk, &autoscalingv1.Scale{})
				if err != nil {
					return nil, err
				}
				scale = dec.obj.(*autoscalingv1.Scale)
			} else {
				cur, _ := json.Marshal(s.scaleOf(req, old))
				patched, err := applyPatch(r.Header.Get("Content-Type"), cur, data, &autoscalingv1.Scale{})
				if err != nil {
					return nil, err
				}
				scale = &autoscalingv1.Scale{}
				if err := json.Unmarshal(patched, scale); err != nil {
					return nil, apierrors.NewBadRequest(err.Error())
				}
			}
			if scale.Spec.Replicas < 0 {
				return nil, apierrors.NewInvalid(gvk.GroupKind(), req.name, field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0")})
			}
			req.res.Scale.Set(old, scale.Spec.Replicas)
			m := old.(metav1.Object)
			if scale.ResourceVersion != "" {
				m.SetResourceVersion(scale.ResourceVersion)
			} else {
				m.SetResourceVersion("")
			}
			return old, nil
		}
	default:
		s.codecs.writeError(w, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), r.Method))
		return
	}
	obj, err := s.update(r.Context(), req, "", isDryRun(r), change)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	s.codecs.writeObject(w, out, http.StatusOK, s.scaleOf(req, obj))
}

// --- pods/binding and pods/eviction ---

func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, req request) {
	if r.Method != http.MethodPost {
		s.codecs.writeError(w, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), r.Method))
		return
	}
	data, err := body(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	dec, err := s.codecs.decode(r, data, corev1.SchemeGroupVersion.WithKind("Binding"), &corev1.Binding{})
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	binding := dec.obj.(*corev1.Binding)
	if binding.Name != "" && binding.Name != req.name {
		s.codecs.writeError(w, r, apierrors.NewBadRequest("the name of the binding does not match the pod"))
		return
	}
	if binding.Target.Name == "" || (binding.Target.Kind != "" && binding.Target.Kind != "Node") {
		s.codecs.writeError(w, r, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), req.name, field.ErrorList{
			field.Required(field.NewPath("target", "name"), "a node name is required")}))
		return
	}
	_, err = s.update(r.Context(), req, "binding", false, func(old runtime.Object) (runtime.Object, error) {
		pod := old.(*corev1.Pod)
		if binding.UID != "" && binding.UID != pod.UID {
			return nil, apierrors.NewConflict(req.res.GroupResource(), req.name, fmt.Errorf("the binding's UID %s does not match the pod's %s", binding.UID, pod.UID))
		}
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(req.res.GroupResource(), req.name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", req.name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(req.res.GroupResource(), req.name, fmt.Errorf("pod %s is already assigned to node %q", req.name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = binding.Target.Name
		setCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
		pod.ResourceVersion = ""
		return pod, nil
	})
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	writeStatus(w, http.StatusCreated)
}

func setCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			if pod.Status.Conditions[i].Status == c.Status {
				c.LastTransitionTime = pod.Status.Conditions[i].LastTransitionTime
			}
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

func writeStatus(w http.ResponseWriter, code int) {
	writeJSON(w, code, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: int32(code)})
}

func (s *Server) serveEviction(w http.ResponseWriter, r *http.Request, req request) {
	if r.Method != http.MethodPost {
		s.codecs.writeError(w, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), r.Method))
		return
	}
	data, err := body(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	dec, err := s.codecs.decode(r, data, policyv1.SchemeGroupVersion.WithKind("Eviction"), &policyv1.Eviction{})
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	ev := dec.obj.(*policyv1.Eviction)
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	// PodDisruptionBudgets are not enforced yet: an eviction is a delete.
	if _, err := s.delete(r.Context(), req, opts); err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	writeStatus(w, http.StatusCreated)
}

// --- pods/log, exec, attach, portforward: proxied to the pod's kubelet ---

// newKubeletTransport is the API server's client towards kubelets, as
// upstream's --kubelet-client-certificate and --kubelet-certificate-authority:
// it presents the kubelet client identity and accepts only kubelets whose
// serving certificate the cluster CA issued for the address it dials.
func (s *Server) newKubeletTransport() http.RoundTripper {
	roots := x509.NewCertPool()
	roots.AddCert(s.pki.CACert)
	tlsCfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	cert, key, err := s.pki.Issue(KubeletClientUser, []string{KubeletClientGroup}, nil, false)
	if err == nil {
		if pair, err := tls.X509KeyPair(cert, key); err == nil {
			tlsCfg.Certificates = []tls.Certificate{pair}
		}
	}
	if err != nil {
		s.log.Error("no client certificate for kubelets: they will refuse every request", "err", err)
	}
	return &http.Transport{
		TLSClientConfig:     tlsCfg,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// kubeletTLS is the TLS configuration of the kubelet transport (for the
// upgrades, which dial themselves).
func (s *Server) kubeletTLS() *tls.Config {
	if t, ok := s.kubeletTransport.(*http.Transport); ok {
		return t.TLSClientConfig.Clone()
	}
	return &tls.Config{MinVersion: tls.VersionTLS12}
}

// kubeletURL locates the kubelet endpoint for a pod's container.
func (s *Server) kubeletURL(r *http.Request, req request, path string) (*url.URL, *corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := s.store.Get(r.Context(), key(req.res, req.namespace, req.name), pod); err != nil {
		return nil, nil, storageError(req.res, req.name, err)
	}
	if pod.Spec.NodeName == "" {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	nodeRes := s.resources.lookup(corev1.SchemeGroupVersion.WithResource("nodes"))
	node := &corev1.Node{}
	if err := s.store.Get(r.Context(), key(nodeRes, "", pod.Spec.NodeName), node); err != nil {
		return nil, nil, storageError(nodeRes, pod.Spec.NodeName, err)
	}
	host := ""
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP || (host == "" && a.Type == corev1.NodeHostName) {
			host = a.Address
		}
	}
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if host == "" || port == 0 {
		return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %s does not publish a kubelet endpoint", node.Name))
	}
	u := &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(int(port))), Path: path}
	return u, pod, nil
}

func containerName(r *http.Request, pod *corev1.Pod) (string, error) {
	c := r.URL.Query().Get("container")
	if c != "" {
		for _, all := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
			for _, ct := range all {
				if ct.Name == c {
					return c, nil
				}
			}
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", c, pod.Name))
	}
	if len(pod.Spec.Containers) == 1 {
		return pod.Spec.Containers[0].Name, nil
	}
	var names []string
	for _, ct := range pod.Spec.Containers {
		names = append(names, ct.Name)
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, names))
}

func (s *Server) servePodLog(w http.ResponseWriter, r *http.Request, req request) {
	if r.Method != http.MethodGet {
		s.codecs.writeError(w, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), r.Method))
		return
	}
	s.proxyToKubelet(w, r, req, "log")
}

func (s *Server) servePodStream(w http.ResponseWriter, r *http.Request, req request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.codecs.writeError(w, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), r.Method))
		return
	}
	s.proxyToKubelet(w, r, req, req.subresource)
}

// kubeletEndpoints are the kubelet API's paths of the pod subresources.
var kubeletEndpoints = map[string]string{
	"log": "containerLogs", "exec": "exec", "attach": "attach", "portforward": "portForward",
}

// kubeletQuery turns the options of a pod subresource request into the
// kubelet's query, as upstream's API server does: stdin, stdout, stderr
// and tty become input, output, error and tty ("1"); ports become port.
func kubeletQuery(subresource string, in url.Values) url.Values {
	out := url.Values{}
	switch subresource {
	case "exec", "attach":
		for from, to := range map[string]string{"stdin": corev1.ExecStdinParam, "stdout": corev1.ExecStdoutParam, "stderr": corev1.ExecStderrParam, "tty": corev1.ExecTTYParam} {
			if b, _ := strconv.ParseBool(in.Get(from)); b {
				out.Set(to, "1")
			}
		}
		if subresource == "exec" {
			out[corev1.ExecCommandParam] = in["command"]
		}
	case "portforward":
		for _, p := range in["ports"] {
			out.Add(corev1.PortHeader, p)
		}
	default:
		for k, v := range in {
			if k != "container" {
				out[k] = v
			}
		}
	}
	return out
}

func (s *Server) proxyToKubelet(w http.ResponseWriter, r *http.Request, req request, subresource string) {
	pod := &corev1.Pod{}
	if err := s.store.Get(r.Context(), key(req.res, req.namespace, req.name), pod); err != nil {
		s.codecs.writeError(w, r, storageError(req.res, req.name, err))
		return
	}
	path := "/" + kubeletEndpoints[subresource] + "/" + req.namespace + "/" + req.name
	if subresource != "portforward" {
		c, err := containerName(r, pod)
		if err != nil {
			s.codecs.writeError(w, r, err)
			return
		}
		path += "/" + c
	}
	target, _, err := s.kubeletURL(r, req, path)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	target.RawQuery = kubeletQuery(subresource, r.URL.Query()).Encode()
	kubeletDown := func(err error) {
		s.codecs.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("kubelet of node %s: %v", pod.Spec.NodeName, err)))
	}
	switch {
	case (subresource == "exec" || subresource == "attach") && wsstream.IsWebSocketRequestWithStreamCloseProtocol(r):
		// kubectl's default: a v5 WebSocket, translated into the SPDY
		// that every kubelet speaks (see subresources_stream.go).
		s.translateRemoteCommand(w, r, target)
		return
	case subresource == "portforward" && wsstream.IsWebSocketRequestWithTunnelingProtocol(r):
		s.tunnelPortForward(w, r, target, kubeletDown)
		return
	}
	// Everything else goes through as it is: plain requests (logs),
	// SPDY upgrades and WebSockets of the older protocols.
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
		},
		Transport:     s.kubeletTransport,
		FlushInterval: -1, // stream logs as they come
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			kubeletDown(err)
		},
	}
	proxy.ServeHTTP(w, r)
}

// --- patch ---

func applyPatch(contentType string, current, patch []byte, schema runtime.Object) ([]byte, error) {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	switch types.PatchType(mt) {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err := p.Apply(current)
		if err != nil {
			return nil, apierrors.NewInvalid(schema.GetObjectKind().GroupVersionKind().GroupKind(), "", field.ErrorList{field.Invalid(field.NewPath(""), string(patch), err.Error())})
		}
		return out, nil
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(current, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	case types.StrategicMergePatchType:
		return strategicMerge(current, patch, schema)
	case types.ApplyYAMLPatchType, types.ApplyCBORPatchType:
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType,
			Message: "server-side apply is not implemented by Seven yet; use client-side kubectl apply",
		}}
	}
	return nil, unsupportedMediaType(contentType)
}
