package rootca

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const bundle = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func namespace(phase corev1.NamespacePhase, deleting bool) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}, Status: corev1.NamespaceStatus{Phase: phase}}
	if deleting {
		ns.DeletionTimestamp = &metav1.Time{}
	}
	return ns
}

type cmOpt func(*corev1.ConfigMap)

func withData(d map[string]string) cmOpt { return func(cm *corev1.ConfigMap) { cm.Data = d } }

func withAnnotations(a map[string]string) cmOpt {
	return func(cm *corev1.ConfigMap) { cm.Annotations = a }
}

func withBinary(b map[string][]byte) cmOpt { return func(cm *corev1.ConfigMap) { cm.BinaryData = b } }

// published is the ConfigMap as the publisher writes it, changed by opts.
func published(opts ...cmOpt) *corev1.ConfigMap {
	cm := NewConfigMap("team", bundle)
	cm.UID, cm.ResourceVersion, cm.Labels = "cm-uid", "7", map[string]string{"keep": "me"}
	for _, o := range opts {
		o(cm)
	}
	return cm
}

func TestDecide(t *testing.T) {
	active := namespace(corev1.NamespaceActive, false)
	tests := []struct {
		name string
		ns   *corev1.Namespace
		cm   *corev1.ConfigMap
		want Action
		// wantCM is the object written for Create and Update.
		wantCM *corev1.ConfigMap
	}{
		{name: "new namespace: create", ns: active, want: Create,
			wantCM: &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: "team", Annotations: map[string]string{"kubernetes.io/description": Description}},
				Data:       map[string]string{"ca.crt": bundle},
			}},
		{name: "namespace with no phase yet: create", ns: namespace("", false), want: Create, wantCM: NewConfigMap("team", bundle)},
		{name: "up to date: nothing", ns: active, cm: published(), want: None},
		{name: "another description is kept", ns: active,
			cm: published(withAnnotations(map[string]string{DescriptionAnnotation: "ours"})), want: None},
		{name: "binaryData added by someone is left", ns: active,
			cm: published(withBinary(map[string][]byte{"x": {1}})), want: None},
		{name: "changed bundle: reset", ns: active, cm: published(withData(map[string]string{"ca.crt": "tampered"})), want: Update,
			wantCM: published()},
		{name: "extra key: reset", ns: active, cm: published(withData(map[string]string{"ca.crt": bundle, "more": "x"})), want: Update,
			wantCM: published()},
		{name: "data emptied: reset", ns: active, cm: published(withData(nil)), want: Update, wantCM: published()},
		{name: "description removed: set, other annotations kept", ns: active,
			cm: published(withAnnotations(map[string]string{"other": "a"})), want: Update,
			wantCM: published(withAnnotations(map[string]string{"other": "a", DescriptionAnnotation: Description}))},
		{name: "no annotations at all: set", ns: active, cm: published(withAnnotations(nil)), want: Update, wantCM: published()},
		{name: "reset keeps binaryData", ns: active,
			cm: published(withData(map[string]string{"ca.crt": "x"}), withBinary(map[string][]byte{"b": {2}})), want: Update,
			wantCM: published(withBinary(map[string][]byte{"b": {2}}))},
		{name: "terminating namespace: not created", ns: namespace(corev1.NamespaceTerminating, true), want: None},
		{name: "deletion timestamp without the phase yet: not created", ns: namespace(corev1.NamespaceActive, true), want: None},
		{name: "terminating phase alone: not created", ns: namespace(corev1.NamespaceTerminating, false), want: None},
		{name: "terminating namespace: up to date, nothing", ns: namespace(corev1.NamespaceTerminating, true), cm: published(), want: None},
		{name: "terminating namespace: a changed one is reset, as upstream", ns: namespace(corev1.NamespaceTerminating, true),
			cm: published(withData(map[string]string{"ca.crt": "x"})), want: Update, wantCM: published()},
		{name: "namespace gone: nothing", want: None},
		{name: "namespace gone, ConfigMap still cached: nothing", cm: published(withData(nil)), want: None},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before *corev1.ConfigMap
			if tc.cm != nil {
				before = tc.cm.DeepCopy()
			}
			d := Decide(State{Namespace: tc.ns, ConfigMap: tc.cm, Bundle: bundle})
			if d.Action != tc.want {
				t.Fatalf("action %s, want %s", d.Action, tc.want)
			}
			if !equality.Semantic.DeepEqual(d.ConfigMap, tc.wantCM) {
				t.Errorf("writes\n%+v\nwant\n%+v", d.ConfigMap, tc.wantCM)
			}
			if tc.cm != nil && !equality.Semantic.DeepEqual(tc.cm, before) {
				t.Errorf("Decide changed its input (the informer's cache): %+v", tc.cm)
			}
		})
	}
}

func TestEmptyBundle(t *testing.T) {
	// As upstream: no CA publishes an empty ca.crt, and keeps it so.
	ns := namespace(corev1.NamespaceActive, false)
	d := Decide(State{Namespace: ns})
	if d.Action != Create || d.ConfigMap.Data["ca.crt"] != "" || len(d.ConfigMap.Data) != 1 {
		t.Fatalf("%s %+v", d.Action, d.ConfigMap)
	}
	if d := Decide(State{Namespace: ns, ConfigMap: d.ConfigMap}); d.Action != None {
		t.Errorf("empty bundle published: %s", d.Action)
	}
}
