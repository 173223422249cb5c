package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
)

// TestNetworkFiles: resolv.conf comes from dns.ResolvConf, once per pod,
// with its warnings as events.
func TestNetworkFiles(t *testing.T) {
	if _, err := os.Stat(nodeResolvConf); err != nil {
		t.Skipf("no %s on this machine", nodeResolvConf)
	}
	events := record.NewFakeRecorder(10)
	k := &Kubelet{cfg: Config{RootDir: t.TempDir(), ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local"}, recorder: events}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web", UID: "u1"},
		Spec: corev1.PodSpec{DNSPolicy: corev1.DNSClusterFirst, DNSConfig: &corev1.PodDNSConfig{
			Nameservers: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9"}, // four with the cluster's: one too many
		}},
	}
	if err := k.writeNetworkFiles(pod, "10.244.1.5"); err != nil {
		t.Fatal(err)
	}
	resolv := filepath.Join(k.podDir(pod.UID), "resolv.conf")
	got, err := os.ReadFile(resolv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "search team.svc.cluster.local svc.cluster.local cluster.local") ||
		!strings.Contains(string(got), "nameserver 10.96.0.10\nnameserver 1.1.1.1\nnameserver 8.8.8.8\noptions ndots:5\n") {
		t.Errorf("resolv.conf:\n%s", got)
	}
	select {
	case e := <-events.Events:
		if !strings.HasPrefix(e, "Warning DNSConfigForming Nameserver limits were exceeded") {
			t.Errorf("event %q", e)
		}
	default:
		t.Error("no event for the omitted nameserver")
	}

	// A refresh keeps the file (and says nothing again).
	pod.Spec.DNSConfig = nil
	if err := k.writeNetworkFiles(pod, "10.244.1.5"); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(resolv); string(again) != string(got) {
		t.Errorf("resolv.conf rewritten:\n%s", again)
	}
	if len(events.Events) != 0 {
		t.Errorf("events again: %q", <-events.Events)
	}
	hosts, _ := os.ReadFile(filepath.Join(k.podDir(pod.UID), "etc-hosts"))
	if !strings.Contains(string(hosts), "10.244.1.5\tweb\n") {
		t.Errorf("hosts:\n%s", hosts)
	}
}
