package image

import (
	"reflect"
	"testing"
)

func TestParseDockerConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    string
		want    map[string]Credentials
		wantErr bool
	}{
		{name: "ConfigJSON", data: `{"auths":{"registry.example.com":{"username":"u","password":"p"},
			"https://index.docker.io/v1/":{"auth":"dXNlcjpzZWNyZXQ="},
			"tokens.example.com":{"identitytoken":"refresh","registrytoken":"bearer"}}}`,
			want: map[string]Credentials{
				"registry.example.com":        {Username: "u", Password: "p"},
				"https://index.docker.io/v1/": {Username: "user", Password: "secret"},
				"tokens.example.com":          {IdentityToken: "refresh", RegistryToken: "bearer"},
			}},
		{name: "LegacyDockercfg", data: `{"registry.example.com":{"auth":"dXNlcjpzZWNyZXQ=","email":"a@b.c"}}`,
			want: map[string]Credentials{"registry.example.com": {Username: "user", Password: "secret"}}},
		{name: "AuthWithPasswordColons", data: `{"auths":{"r":{"auth":"dTpwOmE6Yg=="}}}`, // u:p:a:b
			want: map[string]Credentials{"r": {Username: "u", Password: "p:a:b"}}},
		{name: "Empty", data: `{"auths":{}}`, want: map[string]Credentials{}},
		{name: "BadAuth", data: `{"auths":{"r":{"auth":"not base64!"}}}`, wantErr: true},
		{name: "AuthWithoutColon", data: `{"auths":{"r":{"auth":"dXNlcg=="}}}`, wantErr: true},
		{name: "NotJSON", data: `auths`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDockerConfig([]byte(tc.data))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestKeyringLookup(t *testing.T) {
	cred := func(user string) Credentials { return Credentials{Username: user, Password: "p"} }
	var k Keyring
	k.Add(map[string]Credentials{
		"registry.example.com":        cred("host"),
		"registry.example.com/team":   cred("team"),
		"https://other.example.com/":  cred("scheme"),
		"*.example.org":               cred("glob"),
		"https://index.docker.io/v1/": cred("hub"),
		"docker.io/someone":           cred("someone"),
		"localhost:5000":              cred("local"),
		"http://ports.example.com:81": cred("port"),
		"%zz":                         cred("invalid"),
	})
	users := func(cs []Credentials) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Username)
		}
		return out
	}
	for _, tc := range []struct {
		ref  string
		want []string
	}{
		{"registry.example.com/team/app:v1", []string{"team", "host"}},
		{"registry.example.com/other/app", []string{"host"}},
		{"registry.example.com:5000/app", nil},
		{"other.example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", []string{"scheme"}},
		{"eu.example.org/app", []string{"glob"}},
		{"a.eu.example.org/app", nil},
		{"busybox", []string{"hub"}},
		{"docker.io/library/busybox:1.36", []string{"hub"}},
		{"someone/app", []string{"someone"}},
		{"localhost:5000/app", []string{"local"}},
		{"localhost/app", nil},
		{"ports.example.com:81/app", []string{"port"}},
		{"quay.io/app", nil},
		{"Bad:Ref", nil},
	} {
		if got := users(k.Lookup(tc.ref)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Lookup(%q) = %v, want %v", tc.ref, got, tc.want)
		}
	}
}

func TestKeyringOrderOfEqualKeys(t *testing.T) {
	var k Keyring
	k.Add(map[string]Credentials{"registry.example.com": {Username: "first"}})
	k.Add(map[string]Credentials{"https://registry.example.com/v2/": {Username: "second"}})
	got := k.Lookup("registry.example.com/app")
	if len(got) != 2 || got[0].Username != "first" || got[1].Username != "second" {
		t.Errorf("Lookup = %+v, want first then second", got)
	}
}
