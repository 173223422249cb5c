package kubelet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/kubelet/podsync"
)

// Waiting reasons of a container without its image besides podsync's
// ErrImagePull and ImagePullBackOff, as upstream's image manager names them.
const (
	reasonErrImageNeverPull = "ErrImageNeverPull"
	reasonInvalidImageName  = "InvalidImageName"
)

// imageAction is what a container start does about its image.
type imageAction int

const (
	imageUse        imageAction = iota // run the stored image
	imagePullFirst                     // pull it, then run it
	imageNeverPull                     // missing, and the policy forbids a pull: ErrImageNeverPull
	imageImportOnly                    // missing, and no registry serves it: ErrImagePull naming `seven image import`
)

// decideImage applies a container's imagePullPolicy, as upstream's image
// manager does: Never runs only a stored image; IfNotPresent pulls a missing
// one; Always pulls at every start (a pull resolves the reference's digest
// and fetches only the blobs the store lacks), and fails the start when the
// registry cannot be reached. References no registry serves
// (image.LocalDomain: the fixtures, imported images) are never pulled.
func decideImage(policy corev1.PullPolicy, present, pullable bool) imageAction {
	switch {
	case policy == corev1.PullAlways && pullable:
		return imagePullFirst
	case present:
		return imageUse
	case policy == corev1.PullNever:
		return imageNeverPull
	case !pullable:
		return imageImportOnly
	}
	return imagePullFirst
}

// pullPolicy is the container's imagePullPolicy; a pod the API did not
// default gets the API's default for its normalised reference: Always for
// the tag latest, IfNotPresent otherwise.
func pullPolicy(c *corev1.Container, ref string) corev1.PullPolicy {
	switch {
	case c.ImagePullPolicy != "":
		return c.ImagePullPolicy
	case strings.HasSuffix(ref, ":latest"):
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// imageError is a container start that failed for its image; reason is
// the container's waiting reason (ErrImagePull, ErrImageNeverPull,
// InvalidImageName).
type imageError struct {
	reason  string
	message string
	// err is the cause; pulled says it is a failed pull.
	err    error
	pulled bool
}

func (e *imageError) Error() string { return e.message }
func (e *imageError) Unwrap() error { return e.err }

// pendingPull is a pod worker's pull of one container's image.
type pendingPull struct {
	ref       string
	pull      *imagePull
	requested time.Time
}

// ensureImage returns the image a container is to run. pulling means a pull
// has started, or goes on, that wakes the worker when it is done; the start
// waits for it. A failure is an *imageError.
func (k *Kubelet) ensureImage(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container) (img *image.Image, pulling bool, err error) {
	ref, err := image.Normalize(c.Image)
	if err != nil {
		return nil, false, &imageError{reason: reasonInvalidImageName, err: err,
			message: fmt.Sprintf("Failed to apply default image tag %q: %v", c.Image, err)}
	}
	if p := w.pulls[c.Name]; p != nil && p.ref == ref {
		select {
		case <-p.pull.done:
			delete(w.pulls, c.Name)
			return k.pulled(pod, c, ref, p)
		default:
			return nil, true, nil
		}
	}
	delete(w.pulls, c.Name) // the spec's image changed: drop the old pull's result

	img, getErr := k.cfg.Images.Get(ref)
	switch decideImage(pullPolicy(c, ref), getErr == nil, image.Pullable(ref)) {
	case imageUse:
		k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
		return img, false, nil
	case imageNeverPull:
		return nil, false, &imageError{reason: reasonErrImageNeverPull, err: getErr,
			message: fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)}
	case imageImportOnly:
		msg := getErr.Error()
		if errors.Is(getErr, image.ErrNotFound) {
			msg = fmt.Sprintf("image %q not found in the node's image store (add it with `%s`)", c.Image, importHint(k.cfg.ImageImportHint, k.cfg.Images.Dir()))
		}
		return nil, false, &imageError{reason: podsync.ReasonErrImagePull, message: msg, err: getErr}
	}
	creds := k.pullCredentials(ctx, pod, ref)
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
	uid := pod.UID
	w.pulls[c.Name] = &pendingPull{ref: ref, requested: k.clock.Now(),
		pull: k.puller.pull(k.ctx, ref, creds, func() { k.wake(uid) })}
	return nil, true, nil
}

// pulled takes the result of a container's finished pull.
func (k *Kubelet) pulled(pod *corev1.Pod, c *corev1.Container, ref string, p *pendingPull) (*image.Image, bool, error) {
	ip := p.pull
	if ip.err != nil {
		k.log.Warn("image pull failed", "pod", klogRef(pod), "container", c.Name, "image", ref, "err", ip.err)
		return nil, false, &imageError{reason: podsync.ReasonErrImagePull, message: ip.err.Error(), err: ip.err, pulled: true}
	}
	waited := k.clock.Now().Sub(p.requested)
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.",
		c.Image, ip.took.Truncate(time.Millisecond), waited.Truncate(time.Millisecond), ip.pulled.Size)
	k.log.Info("image pulled", "image", ref, "digest", ip.pulled.Digest, "took", ip.took, "fetched", ip.pulled.Fetched)
	img, err := k.cfg.Images.Get(ref)
	if err != nil {
		return nil, false, &imageError{reason: podsync.ReasonErrImagePull, message: err.Error(), err: err}
	}
	return img, false, nil
}

// imageFailed records the events of a start that failed for its image,
// as upstream's image manager and container start do; f is the failure as
// recorded, count included.
func (k *Kubelet) imageFailed(pod *corev1.Pod, c *corev1.Container, e *imageError, f *podsync.StartFailure) {
	warn := func(reason, format string, args ...any) {
		k.recorder.Eventf(pod, corev1.EventTypeWarning, reason, format, args...)
	}
	switch e.reason {
	case reasonErrImageNeverPull:
		warn(reasonErrImageNeverPull, "%s", e.message)
		warn("Failed", "Error: %s", reasonErrImageNeverPull)
	case reasonInvalidImageName:
		warn("InspectFailed", "%s", e.message)
		warn("Failed", "Error: %s", reasonInvalidImageName)
	default:
		if e.pulled || f.Count == 1 {
			warn("Failed", "Failed to pull image %q: %s", c.Image, e.message)
		}
		if f.Count == 1 {
			warn("Failed", "Error: %s", podsync.ReasonErrImagePull)
			return
		}
		k.recorder.Eventf(pod, corev1.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.Image)
		warn("Failed", "Error: %s", podsync.ReasonImagePullBackOff)
		f.Message = fmt.Sprintf("Back-off pulling image %q: %s: %s", c.Image, podsync.ReasonErrImagePull, e.message)
	}
}

// pullCredentials are the credentials of the pod's imagePullSecrets for ref
// (normalised), the most specific registry key first, as upstream's
// credential keyring finds them. Secrets that cannot be read are reported
// in an event and skipped, as upstream does.
func (k *Kubelet) pullCredentials(ctx context.Context, pod *corev1.Pod, ref string) []image.Credentials {
	if len(pod.Spec.ImagePullSecrets) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var keyring image.Keyring
	var missing []string
	for _, s := range pod.Spec.ImagePullSecrets {
		secret, err := k.cfg.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			missing = append(missing, pod.Namespace+"/"+s.Name)
			continue
		}
		creds, err := secretCredentials(secret)
		if err != nil {
			k.log.Warn("unreadable image pull secret", "pod", klogRef(pod), "secret", s.Name, "err", err)
			continue
		}
		keyring.Add(creds)
	}
	if len(missing) > 0 {
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedToRetrieveImagePullSecret",
			"Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", strings.Join(missing, ", "))
	}
	return keyring.Lookup(ref)
}

// secretCredentials reads a docker config Secret (kubernetes.io/dockerconfigjson
// or kubernetes.io/dockercfg); other types hold none.
func secretCredentials(s *corev1.Secret) (map[string]image.Credentials, error) {
	var data []byte
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		data = s.Data[corev1.DockerConfigJsonKey]
	case corev1.SecretTypeDockercfg:
		data = s.Data[corev1.DockerConfigKey]
	default:
		return nil, nil
	}
	return image.ParseDockerConfig(data)
}
