package kubelet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/project-seven/seven/cluster/dns"
)

// nodeResolvConf is the node's resolver configuration, the base of the
// pods' (the upstream kubelet's --resolv-conf default).
const nodeResolvConf = "/etc/resolv.conf"

// writeNetworkFiles writes the pod's /etc/hosts and /etc/resolv.conf.
//
// resolv.conf is written once per pod, as the upstream kubelet fixes it when
// it creates the pod's sandbox: later changes to the node's resolv.conf do
// not reach running pods, and the warnings computing it gave (DNS limits,
// missing cluster DNS) become events once.
func (k *Kubelet) writeNetworkFiles(pod *corev1.Pod, ip string) error {
	dir := k.podDir(pod.UID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	host := pod.Spec.Hostname
	if host == "" {
		host = pod.Name
	}
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file (Seven).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if ip != "" {
		if pod.Spec.Subdomain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", ip, host, pod.Spec.Subdomain, pod.Namespace, k.cfg.ClusterDomain, host)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", ip, host)
		}
	}
	for _, a := range pod.Spec.HostAliases {
		fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
	if err := os.WriteFile(filepath.Join(dir, "etc-hosts"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	path := filepath.Join(dir, "resolv.conf")
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	nodeConf, err := os.ReadFile(nodeResolvConf)
	if err != nil {
		return fmt.Errorf("the node's resolv.conf: %w", err)
	}
	resolv, warnings := dns.ResolvConf(pod, dns.ResolvConfig{ClusterDNS: k.cfg.ClusterDNS, Domain: k.cfg.ClusterDomain, Host: nodeConf})
	for _, w := range warnings {
		k.recorder.Event(pod, corev1.EventTypeWarning, w.Reason, w.Message)
	}
	// Written aside and renamed, so that a crash never leaves a partial
	// file that would then be kept.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, resolv, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
