package kubelet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// mountError is a volume that cannot be set up: the pod waits in
// ContainerCreating with a FailedMount event.
type mountError struct{ msg string }

func (e *mountError) Error() string { return e.msg }

// file is one file of a configMap, secret, downwardAPI or projected volume.
type file struct {
	data []byte
	mode os.FileMode
}

// volumeDir is where a pod's volume lives on the node.
func (k *Kubelet) volumeDir(pod *corev1.Pod, name string) string {
	return filepath.Join(k.podDir(pod.UID), "volumes", name)
}

// setupVolumes creates or refreshes every volume of pod and returns the host
// path of each, by volume name.
func (k *Kubelet) setupVolumes(ctx context.Context, pod *corev1.Pod, podIP string) (map[string]string, error) {
	paths := map[string]string{}
	lk := k.lookups(ctx, pod.Namespace)
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		dir := k.volumeDir(pod, v.Name)
		var files map[string]file
		var err error
		switch {
		case v.EmptyDir != nil:
			err = os.MkdirAll(dir, 0o777)
			_ = os.Chmod(dir, 0o777)
		case v.HostPath != nil:
			dir = v.HostPath.Path
			switch ptr.Deref(v.HostPath.Type, corev1.HostPathUnset) {
			case corev1.HostPathDirectoryOrCreate:
				err = os.MkdirAll(dir, 0o755)
			case corev1.HostPathFileOrCreate:
				if err = os.MkdirAll(filepath.Dir(dir), 0o755); err == nil {
					var f *os.File
					if f, err = os.OpenFile(dir, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
						f.Close()
					}
				}
			case corev1.HostPathUnset:
			default:
				if _, serr := os.Stat(dir); serr != nil {
					err = &mountError{fmt.Sprintf("hostPath type check failed: %s does not exist", dir)}
				}
			}
		case v.ConfigMap != nil:
			files, err = configMapFiles(lk, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.DefaultMode, v.ConfigMap.Optional)
		case v.Secret != nil:
			files, err = secretFiles(lk, v.Secret.SecretName, v.Secret.Items, v.Secret.DefaultMode, v.Secret.Optional)
		case v.DownwardAPI != nil:
			files, err = downwardFiles(pod, v.DownwardAPI.Items, v.DownwardAPI.DefaultMode, podIP, k.hostIP(), k.allocatable())
		case v.Projected != nil:
			files, err = k.projectedFiles(ctx, pod, lk, v.Projected, podIP)
		default:
			err = &mountError{fmt.Sprintf("volume %q: unsupported volume type", v.Name)}
		}
		if err == nil && files != nil {
			err = writeAtomic(dir, files)
		}
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		paths[v.Name] = dir
	}
	return paths, nil
}

func defaultMode(m *int32) os.FileMode {
	if m == nil {
		return 0o644
	}
	return os.FileMode(*m)
}

func itemMode(m *int32, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return os.FileMode(*m)
}

func configMapFiles(lk lookups, name string, items []corev1.KeyToPath, mode *int32, opt *bool) (map[string]file, error) {
	cm, err := lk.configMap(name)
	if err != nil {
		return nil, err
	}
	if cm == nil {
		if optional(opt) {
			return map[string]file{}, nil
		}
		return nil, &mountError{fmt.Sprintf("configmap %q not found", name)}
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyFiles("configmap", name, data, items, defaultMode(mode), opt)
}

func secretFiles(lk lookups, name string, items []corev1.KeyToPath, mode *int32, opt *bool) (map[string]file, error) {
	s, err := lk.secret(name)
	if err != nil {
		return nil, err
	}
	if s == nil {
		if optional(opt) {
			return map[string]file{}, nil
		}
		return nil, &mountError{fmt.Sprintf("secret %q not found", name)}
	}
	return keyFiles("secret", name, s.Data, items, defaultMode(mode), opt)
}

func keyFiles(kind, name string, data map[string][]byte, items []corev1.KeyToPath, mode os.FileMode, opt *bool) (map[string]file, error) {
	files := map[string]file{}
	if len(items) == 0 {
		for k, v := range data {
			files[k] = file{v, mode}
		}
		return files, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional(opt) {
				continue
			}
			return nil, &mountError{fmt.Sprintf("%s %q has no key %q", kind, name, it.Key)}
		}
		files[it.Path] = file{v, itemMode(it.Mode, mode)}
	}
	return files, nil
}

func downwardFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode *int32, podIP, hostIP string, node corev1.ResourceList) (map[string]file, error) {
	files := map[string]file{}
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = fieldValue(pod, it.FieldRef.FieldPath, podIP, hostIP)
		case it.ResourceFieldRef != nil:
			c := findContainer(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				err = fmt.Errorf("container %q not found", it.ResourceFieldRef.ContainerName)
			} else {
				v, err = resourceValue(c, it.ResourceFieldRef, node)
			}
		}
		if err != nil {
			return nil, &mountError{err.Error()}
		}
		files[it.Path] = file{[]byte(v), itemMode(it.Mode, defaultMode(mode))}
	}
	return files, nil
}

// projectedFiles merges the sources of a projected volume. A service
// account token is requested through the TokenRequest API; when the API
// server does not serve it the token file is left out (logged).
func (k *Kubelet) projectedFiles(ctx context.Context, pod *corev1.Pod, lk lookups, p *corev1.ProjectedVolumeSource, podIP string) (map[string]file, error) {
	files := map[string]file{}
	merge := func(fs map[string]file) {
		for path, f := range fs {
			files[path] = f
		}
	}
	for _, src := range p.Sources {
		switch {
		case src.ConfigMap != nil:
			fs, err := configMapFiles(lk, src.ConfigMap.Name, src.ConfigMap.Items, p.DefaultMode, src.ConfigMap.Optional)
			if err != nil {
				return nil, err
			}
			merge(fs)
		case src.Secret != nil:
			fs, err := secretFiles(lk, src.Secret.Name, src.Secret.Items, p.DefaultMode, src.Secret.Optional)
			if err != nil {
				return nil, err
			}
			merge(fs)
		case src.DownwardAPI != nil:
			fs, err := downwardFiles(pod, src.DownwardAPI.Items, p.DefaultMode, podIP, k.hostIP(), k.allocatable())
			if err != nil {
				return nil, err
			}
			merge(fs)
		case src.ServiceAccountToken != nil:
			tok, err := k.serviceAccountToken(ctx, pod, src.ServiceAccountToken)
			if err != nil {
				k.log.Debug("service account token not projected", "pod", klogRef(pod), "err", err)
				continue
			}
			files[src.ServiceAccountToken.Path] = file{[]byte(tok), defaultMode(p.DefaultMode)}
		}
	}
	return files, nil
}

func (k *Kubelet) serviceAccountToken(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) (string, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		tr.Spec.Audiences = []string{src.Audience}
	}
	out, err := k.cfg.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return out.Status.Token, nil
}

// lookups fetches ConfigMaps and Secrets from the API (not found → nil) and
// the services for service links from the informer.
func (k *Kubelet) lookups(ctx context.Context, namespace string) lookups {
	return lookups{
		configMap: func(name string) (*corev1.ConfigMap, error) {
			cm, err := k.cfg.Client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("get configmap %s: %w", name, err)
			}
			return cm, nil
		},
		secret: func(name string) (*corev1.Secret, error) {
			s, err := k.cfg.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("get secret %s: %w", name, err)
			}
			return s, nil
		},
		services: k.services(namespace),
	}
}

// writeAtomic makes dir hold exactly files, switching all of them at once the
// way Kubernetes does: the files live in a timestamped directory that the
// symlink ..data points to, and each top-level name is a symlink through
// ..data. Readers see either the old or the new set, never a mix. Nothing is
// written when the content is unchanged.
func writeAtomic(dir string, files map[string]file) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dataLink := filepath.Join(dir, "..data")
	if cur, err := os.Readlink(dataLink); err == nil && sameFiles(filepath.Join(dir, cur), files) {
		return nil
	}
	stamp := "..." + strconv.FormatInt(time.Now().UnixNano(), 10)
	tsDir := filepath.Join(dir, stamp)
	for path, f := range files {
		clean := filepath.Clean("/" + path)[1:]
		if clean == "" || strings.HasPrefix(clean, "..") {
			return &mountError{fmt.Sprintf("invalid file path %q", path)}
		}
		p := filepath.Join(tsDir, clean)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, f.mode.Perm()); err != nil {
			return err
		}
		_ = os.Chmod(p, f.mode.Perm())
	}
	if err := os.MkdirAll(tsDir, 0o755); err != nil {
		return err
	}
	old, _ := os.Readlink(dataLink)
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(stamp, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dataLink); err != nil {
		return err
	}
	// Top-level links for the new names; stale ones go.
	top := map[string]bool{}
	for path := range files {
		top[strings.SplitN(filepath.Clean("/" + path)[1:], "/", 2)[0]] = true
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		if !top[e.Name()] {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	names := make([]string, 0, len(top))
	for n := range top {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		link := filepath.Join(dir, n)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join("..data", n) {
			continue
		}
		_ = os.RemoveAll(link)
		if err := os.Symlink(filepath.Join("..data", n), link); err != nil {
			return err
		}
	}
	if old != "" && old != stamp {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// sameFiles reports whether dir holds exactly files.
func sameFiles(dir string, files map[string]file) bool {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(dir, p)
		f, ok := files[rel]
		if !ok {
			return fmt.Errorf("extra file")
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, f.data) {
			return fmt.Errorf("changed")
		}
		if st, err := d.Info(); err != nil || st.Mode().Perm() != f.mode.Perm() {
			return fmt.Errorf("mode changed")
		}
		return nil
	})
	return err == nil && n == len(files)
}
