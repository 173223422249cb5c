package image

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/distribution/reference"
)

// dockerConfigEntry is one registry's entry of a docker config.
type dockerConfigEntry struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// ParseDockerConfig reads the credentials of a docker config, by registry
// key as written ("registry.example.com", "https://index.docker.io/v1/"):
// config.json's form, {"auths": {...}} (a kubernetes.io/dockerconfigjson
// Secret's .dockerconfigjson), or the legacy .dockercfg form, the map of
// registries alone (a kubernetes.io/dockercfg Secret). An entry's "auth",
// base64 of "user:password", gives its user name and password.
func ParseDockerConfig(data []byte) (map[string]Credentials, error) {
	var withAuths struct {
		Auths map[string]dockerConfigEntry `json:"auths"`
	}
	if err := json.Unmarshal(data, &withAuths); err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	entries := withAuths.Auths
	if entries == nil {
		if err := json.Unmarshal(data, &entries); err != nil {
			return nil, fmt.Errorf("docker config: %w", err)
		}
	}
	out := make(map[string]Credentials, len(entries))
	for key, e := range entries {
		c := Credentials{Username: e.Username, Password: e.Password, Auth: e.Auth,
			IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken}
		if e.Auth != "" && e.Username == "" && e.Password == "" {
			user, password, err := decodeAuth(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("docker config: %s: %w", key, err)
			}
			c.Username, c.Password, c.Auth = user, password, ""
		}
		out[key] = c
	}
	return out, nil
}

func decodeAuth(auth string) (string, string, error) {
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return "", "", fmt.Errorf("auth: %w", err)
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("auth: not base64 of user:password")
	}
	return user, password, nil
}

// Keyring finds the credentials for an image as the Kubernetes kubelet's
// credential keyring does: an entry's key is a registry host, optionally
// with a path ("registry.example.com/team"), a port, a scheme and a "/v1/"
// or "/v2/" suffix (ignored), and host labels may be globs
// ("*.example.com"). An entry matches an image whose host has as many labels,
// each matching, the same port, and whose path starts with the entry's. The
// keys Docker Hub's images match are "docker.io" and, failing any match,
// "index.docker.io".
//
// The zero Keyring is empty and ready to use. It is not safe for concurrent
// use while being added to.
type Keyring struct {
	entries []keyringEntry
}

type keyringEntry struct {
	key   string // host[:port][/path], as matched
	creds Credentials
}

// dockerHubKey is the key Docker Hub's credentials are found under when no
// other key matches a Docker Hub image.
const dockerHubKey = "index.docker.io"

// Add adds the credentials of a docker config (see ParseDockerConfig). A key
// that is not a URL is skipped.
func (k *Keyring) Add(creds map[string]Credentials) {
	for raw, c := range creds {
		key, ok := keyringKey(raw)
		if !ok {
			continue
		}
		k.entries = append(k.entries, keyringEntry{key: key, creds: c})
	}
	// The most specific keys first ("quay.io/team" before "quay.io"), and
	// among equal keys the order of addition.
	slices.SortStableFunc(k.entries, func(a, b keyringEntry) int { return strings.Compare(b.key, a.key) })
}

// keyringKey is an entry's key as matched: the scheme and a /v1/ or /v2/
// path dropped.
func keyringKey(raw string) (string, bool) {
	value := raw
	if !strings.HasPrefix(value, "https://") && !strings.HasPrefix(value, "http://") {
		value = "https://" + value
	}
	u, err := url.Parse(value)
	if err != nil || u.Host == "" {
		return "", false
	}
	p := u.Path
	if strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v2/") {
		p = p[3:]
	}
	if p == "" || p == "/" {
		return u.Host, true
	}
	return u.Host + strings.TrimSuffix(p, "/"), true
}

// Lookup returns the credentials whose keys match the image ref names, the
// most specific first; nil when none does (pull anonymously). An invalid
// reference matches nothing.
func (k *Keyring) Lookup(ref string) []Credentials {
	named, err := parseRef(ref)
	if err != nil {
		return nil
	}
	repo := named.Name() // host/path, no tag nor digest
	var out []Credentials
	for _, e := range k.entries {
		if keyMatches(e.key, repo) {
			out = append(out, e.creds)
		}
	}
	if len(out) == 0 && reference.Domain(named) == "docker.io" {
		for _, e := range k.entries {
			if e.key == dockerHubKey {
				out = append(out, e.creds)
			}
		}
	}
	return out
}

// keyMatches says whether a key (host[:port][/path], host labels may be
// globs) matches a repository (host[:port]/path).
func keyMatches(key, repo string) bool {
	keyHost, keyPath, _ := strings.Cut(key, "/")
	repoHost, repoPath, _ := strings.Cut(repo, "/")
	keyName, keyPort := splitPort(keyHost)
	repoName, repoPort := splitPort(repoHost)
	if keyPort != repoPort {
		return false
	}
	keyLabels, repoLabels := strings.Split(keyName, "."), strings.Split(repoName, ".")
	if len(keyLabels) != len(repoLabels) {
		return false
	}
	for i, pattern := range keyLabels {
		if ok, err := filepath.Match(pattern, repoLabels[i]); err != nil || !ok {
			return false
		}
	}
	return strings.HasPrefix("/"+repoPath, "/"+keyPath)
}

// splitPort splits host:port; IPv6 addresses in brackets keep them.
func splitPort(host string) (string, string) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.HasSuffix(host, "]") {
		return host, ""
	}
	return host[:i], host[i+1:]
}
