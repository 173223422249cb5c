package kubelet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/project-seven/seven/cluster/image"
)

// imagePuller runs image pulls outside the pod workers, so a worker waiting
// for an image still handles its pod's deletion. Pulls run one at a time
// (the upstream kubelet's default, serializeImagePulls), and a pull of a
// reference with the same credentials as one under way joins it instead of
// starting another.
type imagePuller struct {
	store    *image.Store
	insecure []string
	// wg counts the pulls under way (the kubelet's, waited for on stop).
	wg  *sync.WaitGroup
	now func() time.Time
	// turn is held by the pull running.
	turn chan struct{}

	mu       sync.Mutex
	inflight map[string]*imagePull // by pullKey
}

// imagePull is one pull. Its result is set before done is closed.
type imagePull struct {
	ref  string
	done chan struct{}
	// wakes are called once it is done (guarded by imagePuller.mu).
	wakes []func()

	pulled image.Pulled
	err    error
	// took is the pull itself, without the wait for its turn.
	took time.Duration
}

func newImagePuller(store *image.Store, insecure []string, wg *sync.WaitGroup, now func() time.Time) *imagePuller {
	return &imagePuller{store: store, insecure: insecure, wg: wg, now: now,
		turn: make(chan struct{}, 1), inflight: map[string]*imagePull{}}
}

// pull starts a pull of ref (normalised) with creds, or joins the one under
// way; wake is called when it is done. ctx bounds the pull (the kubelet's
// lifetime, not a pod's: other pods may join).
func (p *imagePuller) pull(ctx context.Context, ref string, creds []image.Credentials, wake func()) *imagePull {
	key := pullKey(ref, creds)
	p.mu.Lock()
	defer p.mu.Unlock()
	if ip, ok := p.inflight[key]; ok {
		ip.wakes = append(ip.wakes, wake)
		return ip
	}
	ip := &imagePull{ref: ref, done: make(chan struct{}), wakes: []func(){wake}}
	p.inflight[key] = ip
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.run(ctx, key, ip, creds)
	}()
	return ip
}

func (p *imagePuller) run(ctx context.Context, key string, ip *imagePull, creds []image.Credentials) {
	select {
	case p.turn <- struct{}{}:
		start := p.now()
		ip.pulled, ip.err = p.store.Pull(ctx, ip.ref, image.PullOptions{Credentials: creds, Insecure: p.insecure})
		ip.took = p.now().Sub(start)
		<-p.turn
	case <-ctx.Done():
		ip.err = ctx.Err()
	}
	p.mu.Lock()
	delete(p.inflight, key)
	wakes := ip.wakes
	close(ip.done)
	p.mu.Unlock()
	for _, wake := range wakes {
		wake()
	}
}

// pullKey identifies a pull: the reference and a digest of the credentials
// (pods with other secrets do not share a pull).
func pullKey(ref string, creds []image.Credentials) string {
	data, _ := json.Marshal(creds) // plain strings: cannot fail
	sum := sha256.Sum256(data)
	return ref + " " + hex.EncodeToString(sum[:])
}
