package target

import (
	"context"
	"fmt"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/project-seven/seven/cluster/timings"
)

// Where resolved timings came from.
const (
	SourceFile      = "file"      // an explicit file or flags
	SourceConfigMap = "configmap" // the cluster's kube-system/seven-timings
	SourceTarget    = "target"    // the target booted the cluster with them
	SourceDefault   = "default"   // nothing published: the kubernetes preset
)

// ResolvedTimings are the bounds a run checks, and where they came from.
type ResolvedTimings struct {
	Timings timings.Timings
	// Preset names the preset they match, if any ("fast", "kubernetes").
	Preset string
	// Source is one of the Source constants.
	Source string
	// Detail says exactly where (a file path, the ConfigMap's name).
	Detail string
}

// TimingsOptions choose how timings are resolved.
type TimingsOptions struct {
	// File is a YAML or JSON map in the ConfigMap's format (keys like
	// nodeMonitorGracePeriod, Go durations, an optional preset); missing
	// keys take the preset's (or kubernetes') values.
	File string
	// Preset forces a preset when no file is given.
	Preset string
}

// ResolveTimings picks the bounds to check, in order: an explicit file, an
// explicit preset, the cluster's published ConfigMap, what the target said it
// booted with, and finally the kubernetes preset.
func ResolveTimings(ctx context.Context, client kubernetes.Interface, fromTarget *ResolvedTimings, opts TimingsOptions) (ResolvedTimings, error) {
	if opts.File != "" {
		raw, err := os.ReadFile(opts.File)
		if err != nil {
			return ResolvedTimings{}, fmt.Errorf("timings file: %w", err)
		}
		data := map[string]string{}
		if err := yaml.Unmarshal(raw, &data); err != nil {
			return ResolvedTimings{}, fmt.Errorf("timings file %s: %w", opts.File, err)
		}
		base := timings.Kubernetes()
		if p := data["preset"]; p != "" {
			if base, err = timings.Preset(p); err != nil {
				return ResolvedTimings{}, fmt.Errorf("timings file %s: %w", opts.File, err)
			}
		}
		t, preset, err := timings.FromData(base, data)
		if err != nil {
			return ResolvedTimings{}, fmt.Errorf("timings file %s: %w", opts.File, err)
		}
		return ResolvedTimings{Timings: t, Preset: preset, Source: SourceFile, Detail: opts.File}, nil
	}
	if opts.Preset != "" {
		t, err := timings.Preset(opts.Preset)
		if err != nil {
			return ResolvedTimings{}, err
		}
		return ResolvedTimings{Timings: t, Preset: opts.Preset, Source: SourceFile, Detail: "--timings-preset " + opts.Preset}, nil
	}
	cm, err := client.CoreV1().ConfigMaps(timings.ConfigMapNamespace).Get(ctx, timings.ConfigMapName, metav1.GetOptions{})
	switch {
	case err == nil:
		base := timings.Kubernetes()
		if p := cm.Data["preset"]; p != "" {
			if pt, perr := timings.Preset(p); perr == nil {
				base = pt
			}
		}
		t, preset, err := timings.FromData(base, cm.Data)
		if err != nil {
			return ResolvedTimings{}, fmt.Errorf("configmap %s/%s: %w", timings.ConfigMapNamespace, timings.ConfigMapName, err)
		}
		return ResolvedTimings{Timings: t, Preset: preset, Source: SourceConfigMap, Detail: timings.ConfigMapNamespace + "/" + timings.ConfigMapName}, nil
	case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
	default:
		return ResolvedTimings{}, fmt.Errorf("read timings configmap: %w", err)
	}
	if fromTarget != nil {
		return *fromTarget, nil
	}
	return ResolvedTimings{Timings: timings.Kubernetes(), Preset: timings.PresetKubernetes, Source: SourceDefault,
		Detail: "the cluster publishes no " + timings.ConfigMapNamespace + "/" + timings.ConfigMapName}, nil
}
