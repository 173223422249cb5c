package registry

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// certificates.k8s.io/v1 CertificateSigningRequests (+status, +approval),
// ClusterTrustBundles and PodCertificateRequests (+status): served as API
// objects only. Seven signs nothing (its components get certificates from
// the cluster CA directly); upstream's signing and approving controllers
// do their work through these subresources. The requester fields of a CSR
// (spec.username, uid, groups, extra) are taken as sent: Seven's strategies
// do not see the authenticated user, and every user is an admin anyway.

var csrUsages = sets.New(certificatesv1.UsageSigning, certificatesv1.UsageDigitalSignature, certificatesv1.UsageContentCommitment,
	certificatesv1.UsageKeyEncipherment, certificatesv1.UsageKeyAgreement, certificatesv1.UsageDataEncipherment, certificatesv1.UsageCertSign,
	certificatesv1.UsageCRLSign, certificatesv1.UsageEncipherOnly, certificatesv1.UsageDecipherOnly, certificatesv1.UsageAny,
	certificatesv1.UsageServerAuth, certificatesv1.UsageClientAuth, certificatesv1.UsageCodeSigning, certificatesv1.UsageEmailProtection,
	certificatesv1.UsageSMIME, certificatesv1.UsageIPsecEndSystem, certificatesv1.UsageIPsecTunnel, certificatesv1.UsageIPsecUser,
	certificatesv1.UsageTimestamping, certificatesv1.UsageOCSPSigning, certificatesv1.UsageMicrosoftSGC, certificatesv1.UsageNetscapeSGC)

const legacyUnknownSigner = "kubernetes.io/legacy-unknown"

func certificateSigningRequests() *Resource {
	return &Resource{
		GroupVersion: certificatesv1.SchemeGroupVersion,
		Name:         "certificatesigningrequests",
		Singular:     "certificatesigningrequest",
		Kind:         "CertificateSigningRequest",
		ListKind:     "CertificateSigningRequestList",
		ShortNames:   []string{"csr"},
		New:          func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} },
		NewList:      func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
		Status:       true,
		Subresources: []Subresource{{
			// approval changes the conditions only; Approved and Denied are
			// set here and nowhere else.
			Name: "approval",
			Merge: func(newObj, oldObj runtime.Object) runtime.Object {
				n, o := newObj.(*certificatesv1.CertificateSigningRequest), oldObj.(*certificatesv1.CertificateSigningRequest)
				o.Status.Conditions = n.Status.Conditions
				stampConditions(o, nil)
				return o
			},
		}},
		PrepareForCreate: func(obj runtime.Object) {
			csr := obj.(*certificatesv1.CertificateSigningRequest)
			csr.Status = certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{}}
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			// The main resource changes metadata only.
			n, o := newObj.(*certificatesv1.CertificateSigningRequest), oldObj.(*certificatesv1.CertificateSigningRequest)
			n.Spec, n.Status = o.Spec, o.Status
		},
		PrepareForStatusUpdate: func(newObj, oldObj runtime.Object) {
			// Status writes (the signer) keep the approval as it is.
			n, o := newObj.(*certificatesv1.CertificateSigningRequest), oldObj.(*certificatesv1.CertificateSigningRequest)
			keepConditions(n, o, certificatesv1.CertificateApproved)
			keepConditions(n, o, certificatesv1.CertificateDenied)
			stampConditions(n, o)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			csr := obj.(*certificatesv1.CertificateSigningRequest)
			return validateCSR(csr, csr.Spec.SignerName == legacyUnknownSigner)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			return validateCSRUpdate(newObj.(*certificatesv1.CertificateSigningRequest), oldObj.(*certificatesv1.CertificateSigningRequest))
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.signerName": obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			ageColumn(),
			column("SignerName", "string", certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()["signerName"]),
			column("Requestor", "string", certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()["request"]),
			column("RequestedDuration", "string", certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()["expirationSeconds"]),
			column("Condition", "string", certificatesv1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]),
		},
		Row: func(obj runtime.Object) []any {
			csr := obj.(*certificatesv1.CertificateSigningRequest)
			requested := "<none>"
			if csr.Spec.ExpirationSeconds != nil {
				requested = duration.HumanDuration(time.Duration(*csr.Spec.ExpirationSeconds) * time.Second)
			}
			return []any{csr.Name, since(csr.CreationTimestamp), csr.Spec.SignerName, csr.Spec.Username, requested, csrCondition(csr)}
		},
	}
}

// validateCSR checks a request on create, and stored objects on update
// (legacy tolerates the legacy-unknown signer of old objects).
func validateCSR(csr *certificatesv1.CertificateSigningRequest, legacy bool) field.ErrorList {
	errs := validateMeta(&csr.ObjectMeta, false, func(string, bool) []string { return nil })
	sp := field.NewPath("spec")
	if err := checkCertificateRequest(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(sp.Child("request"), csr.Spec.Request, err.Error()))
	}
	if len(csr.Spec.Usages) == 0 {
		errs = append(errs, field.Required(sp.Child("usages"), ""))
	}
	seen := sets.New[certificatesv1.KeyUsage]()
	for i, u := range csr.Spec.Usages {
		if !csrUsages.Has(u) {
			errs = append(errs, field.NotSupported(sp.Child("usages").Index(i), u, sets.List(csrUsages)))
		}
		if seen.Has(u) {
			errs = append(errs, field.Duplicate(sp.Child("usages").Index(i), u))
		}
		seen.Insert(u)
	}
	if csr.Spec.SignerName == legacyUnknownSigner && !legacy {
		errs = append(errs, field.Invalid(sp.Child("signerName"), csr.Spec.SignerName, "the legacy signerName is not allowed via this API version"))
	} else {
		errs = append(errs, validateSignerName(csr.Spec.SignerName, sp.Child("signerName"))...)
	}
	if e := csr.Spec.ExpirationSeconds; e != nil && *e < 600 {
		errs = append(errs, field.Invalid(sp.Child("expirationSeconds"), *e, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	cp := field.NewPath("status", "conditions")
	types := sets.New[certificatesv1.RequestConditionType]()
	approved, denied := false, false
	for i, c := range csr.Status.Conditions {
		if c.Type == "" {
			errs = append(errs, field.Required(cp.Index(i).Child("type"), ""))
		}
		allowed := []corev1.ConditionStatus{corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown}
		if c.Type == certificatesv1.CertificateApproved || c.Type == certificatesv1.CertificateDenied || c.Type == certificatesv1.CertificateFailed {
			allowed = []corev1.ConditionStatus{corev1.ConditionTrue}
		}
		errs = append(errs, validateEnum(c.Status, allowed, cp.Index(i).Child("status"))...)
		approved = approved || c.Type == certificatesv1.CertificateApproved
		denied = denied || c.Type == certificatesv1.CertificateDenied
		if (c.Type == certificatesv1.CertificateApproved && denied) || (c.Type == certificatesv1.CertificateDenied && approved) {
			errs = append(errs, field.Invalid(cp, c.Type, "Approved and Denied conditions are mutually exclusive"))
		}
		if types.Has(c.Type) {
			errs = append(errs, field.Duplicate(cp.Index(i).Child("type"), c.Type))
		}
		types.Insert(c.Type)
	}
	if err := checkCertificates(csr.Status.Certificate); err != nil {
		errs = append(errs, field.Invalid(field.NewPath("status", "certificate"), "<certificate data>", err.Error()))
	}
	return errs
}

// validateCSRUpdate checks a write of the main resource, status or
// approval. The strategies have already restricted what each may change
// (the main resource nothing but metadata, status not the approval,
// approval nothing but conditions), so only what holds for all is left.
func validateCSRUpdate(n, o *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
	errs = append(errs, validateCSR(n, o.Spec.SignerName == legacyUnknownSigner)...)
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed} {
		if len(conditionsOf(n, t)) < len(conditionsOf(o, t)) {
			errs = append(errs, field.Forbidden(field.NewPath("status", "conditions"), fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	if !bytes.Equal(n.Status.Certificate, o.Status.Certificate) && len(o.Status.Certificate) > 0 {
		errs = append(errs, field.Forbidden(field.NewPath("status", "certificate"), "updates may not modify existing certificate content"))
	}
	return errs
}

func conditionsOf(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

// keepConditions puts o's conditions of type t back into n, in place of n's.
func keepConditions(n, o *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range n.Status.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	n.Status.Conditions = append(out, conditionsOf(o, t)...)
}

// stampConditions sets the update and transition times a writer left
// unset, as Kubernetes does; a condition whose status did not change keeps
// its transition time.
func stampConditions(n, o *certificatesv1.CertificateSigningRequest) {
	t := metav1.NewTime(now().Truncate(1e9))
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = t
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = t
		if o == nil {
			continue
		}
		for _, oc := range conditionsOf(o, c.Type) {
			if oc.Status == c.Status && !oc.LastTransitionTime.IsZero() {
				c.LastTransitionTime = oc.LastTransitionTime
			}
		}
	}
}

func checkCertificateRequest(data []byte) error {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err
	}
	return req.CheckSignature()
}

// checkCertificates accepts nothing or CERTIFICATE blocks that parse.
func checkCertificates(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	blocks := 0
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if len(block.Headers) != 0 {
			return errors.New("no PEM block headers are permitted")
		}
		certs, err := x509.ParseCertificates(block.Bytes)
		if err != nil {
			return err
		}
		if len(certs) == 0 {
			return errors.New("found CERTIFICATE PEM block containing 0 certificates")
		}
		blocks++
		data = rest
	}
	if blocks == 0 {
		return errors.New("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}

// validateSignerName checks a signer name: "<domain with a dot>/<path>",
// the path made of DNS labels separated by dots.
func validateSignerName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	domain, path, ok := strings.Cut(name, "/")
	if !ok || strings.Contains(path, "/") {
		return field.ErrorList{field.Invalid(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	if len(domain) > validation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.TooLong(p, "", validation.DNS1123SubdomainMaxLength))
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if msgs := validation.IsDNS1123Label(l); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p, domain, fmt.Sprintf("validating label %q: %s", l, msgs[0])))
			break
		}
	}
	if len(labels) < 2 {
		errs = append(errs, field.Invalid(p, domain, "should be a domain with at least two segments separated by dots"))
	}
	for _, l := range strings.Split(path, ".") {
		if msgs := validation.IsDNS1123Label(l); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p, path, fmt.Sprintf("validating label %q: %s", l, msgs[0])))
			break
		}
	}
	return errs
}

func csrCondition(csr *certificatesv1.CertificateSigningRequest) string {
	var conds []string
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			conds = append(conds, string(c.Type))
		}
	}
	if len(csr.Status.Certificate) > 0 {
		conds = append(conds, "Issued")
	}
	if len(conds) == 0 {
		return "Pending"
	}
	return strings.Join(conds, ",")
}

// maxTrustBundleBytes bounds a ClusterTrustBundle, as Kubernetes does.
const maxTrustBundleBytes = 1 << 20

func clusterTrustBundles() *Resource {
	return &Resource{
		GroupVersion: certificatesv1.SchemeGroupVersion,
		Name:         "clustertrustbundles",
		Singular:     "clustertrustbundle",
		Kind:         "ClusterTrustBundle",
		ListKind:     "ClusterTrustBundleList",
		New:          func() runtime.Object { return &certificatesv1.ClusterTrustBundle{} },
		NewList:      func() runtime.Object { return &certificatesv1.ClusterTrustBundleList{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateTrustBundle(obj.(*certificatesv1.ClusterTrustBundle), true)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*certificatesv1.ClusterTrustBundle), oldObj.(*certificatesv1.ClusterTrustBundle)
			errs := validateTrustBundle(n, n.Spec.TrustBundle != o.Spec.TrustBundle)
			errs = append(errs, validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)...)
			return append(errs, apivalidation.ValidateImmutableField(n.Spec.SignerName, o.Spec.SignerName, field.NewPath("spec", "signerName"))...)
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.signerName": obj.(*certificatesv1.ClusterTrustBundle).Spec.SignerName}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("SignerName", "string", certificatesv1.ClusterTrustBundleSpec{}.SwaggerDoc()["signerName"]),
		},
		Row: func(obj runtime.Object) []any {
			b := obj.(*certificatesv1.ClusterTrustBundle)
			return []any{b.Name, b.Spec.SignerName}
		},
	}
}

// validateTrustBundle checks a bundle; parse is false on an update that
// leaves the PEM as stored.
func validateTrustBundle(b *certificatesv1.ClusterTrustBundle, parse bool) field.ErrorList {
	signer := b.Spec.SignerName
	// A bundle of a signer is named <signer with : for />:<name>.
	errs := validateMeta(&b.ObjectMeta, false, func(name string, prefix bool) []string {
		if signer == "" {
			if strings.Contains(name, ":") {
				return []string{`ClusterTrustBundle without signer name must not have ":" in its name`}
			}
			return apivalidation.NameIsDNSSubdomain(name, prefix)
		}
		want := strings.ReplaceAll(signer, "/", ":") + ":"
		if !strings.HasPrefix(name, want) {
			return []string{fmt.Sprintf("ClusterTrustBundle for signerName %s must be named with prefix %s", signer, want)}
		}
		return apivalidation.NameIsDNSSubdomain(strings.TrimPrefix(name, want), prefix)
	})
	if signer != "" {
		errs = append(errs, validateSignerName(signer, field.NewPath("spec", "signerName"))...)
	}
	if parse {
		errs = append(errs, validateTrustAnchors(b.Spec.TrustBundle, field.NewPath("spec", "trustBundle"))...)
	}
	return errs
}

func validateTrustAnchors(in string, p *field.Path) field.ErrorList {
	if len(in) > maxTrustBundleBytes {
		return field.ErrorList{field.TooLong(p, "", maxTrustBundleBytes)}
	}
	var errs field.ErrorList
	seen := map[string][]int{}
	rest := []byte(in)
	for i := 0; ; i++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		bad := func(msg string) {
			errs = append(errs, field.Invalid(p, "<value omitted>", fmt.Sprintf("entry %d %s", i, msg)))
		}
		if b.Type != "CERTIFICATE" {
			bad("has bad block type: " + b.Type)
			continue
		}
		if len(b.Headers) != 0 {
			bad("has PEM block headers")
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		switch {
		case err != nil:
			bad("does not parse as X.509")
		case !cert.IsCA:
			bad("does not have the CA bit set")
		case !cert.BasicConstraintsValid:
			bad("has invalid basic constraints")
		default:
			seen[string(b.Bytes)] = append(seen[string(b.Bytes)], i)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if len(seen) == 0 {
		errs = append(errs, field.Invalid(p, "<value omitted>", "at least one trust anchor must be provided"))
	}
	for _, idx := range seen {
		if len(idx) > 1 {
			errs = append(errs, field.Invalid(p, "<value omitted>", fmt.Sprintf("duplicate trust anchor (indices %v)", idx)))
		}
	}
	return errs
}

// Bounds of a pod certificate's lifetime, as Kubernetes has them.
const (
	minMaxExpirationSeconds           = 60 * 60
	maxMaxExpirationSeconds           = 91 * 24 * 60 * 60
	kubernetesMaxMaxExpirationSeconds = 24 * 60 * 60
)

func podCertificateRequests() *Resource {
	return &Resource{
		GroupVersion: certificatesv1.SchemeGroupVersion,
		Name:         "podcertificaterequests",
		Singular:     "podcertificaterequest",
		Kind:         "PodCertificateRequest",
		ListKind:     "PodCertificateRequestList",
		Namespaced:   true,
		ShortNames:   []string{"pcr"},
		New:          func() runtime.Object { return &certificatesv1.PodCertificateRequest{} },
		NewList:      func() runtime.Object { return &certificatesv1.PodCertificateRequestList{} },
		Status:       true,
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*certificatesv1.PodCertificateRequest).Status = certificatesv1.PodCertificateRequestStatus{}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			return validatePodCertificateRequest(obj.(*certificatesv1.PodCertificateRequest))
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*certificatesv1.PodCertificateRequest), oldObj.(*certificatesv1.PodCertificateRequest)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec, o.Spec, field.NewPath("spec"))...)
			errs = append(errs, metav1validation.ValidateConditions(n.Status.Conditions, field.NewPath("status", "conditions"))...)
			final := 0
			for i, c := range n.Status.Conditions {
				switch c.Type {
				case certificatesv1.PodCertificateRequestConditionTypeIssued, certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed:
					if final++; final > 1 {
						errs = append(errs, field.Invalid(field.NewPath("status", "conditions").Index(i).Child("type"), c.Type, `There may be at most one condition with type "Issued", "Denied", or "Failed"`))
					}
				}
			}
			if o.Status.CertificateChain != "" && !apiequality.Semantic.DeepEqual(n.Status, o.Status) {
				errs = append(errs, field.Forbidden(field.NewPath("status"), "immutable after PodCertificateRequest is issued, denied, or failed"))
			}
			return errs
		},
		Fields: func(obj runtime.Object) fields.Set {
			r := obj.(*certificatesv1.PodCertificateRequest)
			return fields.Set{"spec.signerName": r.Spec.SignerName, "spec.podName": r.Spec.PodName, "spec.nodeName": string(r.Spec.NodeName)}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("PodName", "string", certificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()["podName"]),
			column("ServiceAccountName", "string", certificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()["serviceAccountName"]),
			column("NodeName", "string", certificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()["nodeName"]),
			column("SignerName", "string", certificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()["signerName"]),
			column("State", "string", "Is the request Pending, Issued, Denied, or Failed?"),
		},
		Row: func(obj runtime.Object) []any {
			r := obj.(*certificatesv1.PodCertificateRequest)
			state := "Pending"
			for _, c := range r.Status.Conditions {
				if c.Status == metav1.ConditionTrue {
					state = c.Type
				}
			}
			return []any{r.Name, r.Spec.PodName, r.Spec.ServiceAccountName, string(r.Spec.NodeName), r.Spec.SignerName, state}
		},
	}
}

func validatePodCertificateRequest(r *certificatesv1.PodCertificateRequest) field.ErrorList {
	errs := validateMeta(&r.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	sp := field.NewPath("spec")
	errs = append(errs, validateSignerName(r.Spec.SignerName, sp.Child("signerName"))...)
	errs = append(errs, validateNameAt(r.Spec.PodName, apivalidation.NameIsDNSSubdomain, sp.Child("podName"))...)
	errs = append(errs, validateNameAt(r.Spec.ServiceAccountName, apivalidation.NameIsDNSSubdomain, sp.Child("serviceAccountName"))...)
	errs = append(errs, validateNameAt(string(r.Spec.NodeName), apivalidation.NameIsDNSSubdomain, sp.Child("nodeName"))...)
	for _, uid := range []struct {
		name, v string
	}{{"podUID", string(r.Spec.PodUID)}, {"serviceAccountUID", string(r.Spec.ServiceAccountUID)}, {"nodeUID", string(r.Spec.NodeUID)}} {
		if uid.v == "" {
			errs = append(errs, field.Invalid(sp.Child(uid.name), uid.v, "must not be empty"))
		}
		if len(uid.v) > 128 {
			errs = append(errs, field.TooLong(sp.Child(uid.name), uid.v, 128))
		}
	}
	mp := sp.Child("maxExpirationSeconds")
	if r.Spec.MaxExpirationSeconds == nil {
		return append(errs, field.Required(mp, "must be set"))
	}
	limit := int32(maxMaxExpirationSeconds)
	if strings.HasPrefix(r.Spec.SignerName, "kubernetes.io/") {
		limit = kubernetesMaxMaxExpirationSeconds
	}
	if v := *r.Spec.MaxExpirationSeconds; v < minMaxExpirationSeconds || v > limit {
		errs = append(errs, field.Invalid(mp, v, fmt.Sprintf("must be in the range [%d, %d]", minMaxExpirationSeconds, limit)))
	}
	if len(r.Spec.StubPKCS10Request) == 0 {
		errs = append(errs, field.Required(sp.Child("stubPKCS10Request"), ""))
	} else if _, err := x509.ParseCertificateRequest(r.Spec.StubPKCS10Request); err != nil {
		errs = append(errs, field.Invalid(sp.Child("stubPKCS10Request"), field.OmitValueType{}, fmt.Sprintf("must be a valid PKCS#10 request: %v", err)))
	}
	return errs
}
