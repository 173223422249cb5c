package registry

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// IP address checks, as Kubernetes applies them to its IP fields.
//
// Kubernetes has two levels. Every IP field is checked for its form
// (validateLegacyIP). Fields naming where traffic goes — Endpoints and
// EndpointSlice addresses, and Service externalIPs — are also checked for
// their kind (validateEndpointIP): unspecified, loopback and link-local
// addresses make no sense there. Pod IPs, host IPs, cluster IPs and DNS
// nameservers are checked for their form only, so a loopback pod IP is a
// valid pod IP but not a valid endpoint.

// validateLegacyIP checks the form of an IP field that predates strict
// parsing, the way Kubernetes does with StrictIPCIDRValidation on (its
// default since 1.36): no leading zeros, no IPv4-mapped IPv6. Values in
// validOld (the field's values before an update) are accepted as they are,
// so that objects stored under laxer rules can still be updated.
func validateLegacyIP(p *field.Path, ip string, validOld []string) field.ErrorList {
	return validation.IsValidIPForLegacyField(p, ip, true, validOld)
}

// endpointIPRules says which special addresses an endpoint may have.
type endpointIPRules struct {
	// allowLoopback accepts 127.0.0.0/8 and ::1: Seven's rootless nodes give
	// pods loopback IPs, a reported deviation (Config.AllowLoopbackEndpoints).
	allowLoopback bool
}

// validateEndpointIP rejects the addresses Kubernetes does not accept as a
// traffic destination: unspecified, loopback (unless the rules allow it),
// link-local unicast and link-local multicast. Like Kubernetes, it parses
// leniently and reports an unparsable value again, even when the form check
// already did.
func (r endpointIPRules) validateEndpointIP(ip string, p *field.Path) field.ErrorList {
	parsed := netutils.ParseIPSloppy(ip)
	if parsed == nil {
		return field.ErrorList{field.Invalid(p, ip, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if parsed.IsUnspecified() {
		errs = append(errs, field.Invalid(p, ip, fmt.Sprintf("may not be unspecified (%v)", ip)))
	}
	if parsed.IsLoopback() && !r.allowLoopback {
		errs = append(errs, field.Invalid(p, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if parsed.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(p, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if parsed.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(p, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}
