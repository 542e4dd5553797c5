package bridge

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Paths of the endpoints authentication decides about.
const (
	webhookPath = "/api/v1/alerts"
	healthyPath = "/-/healthy"
	readyPath   = "/-/ready"
)

// WebhookAuth is the webhook's own authentication: a bearer token, as
// Alertmanager's http_config.authorization sends it. Every other credential
// (TLS client certificates, HTTP basic auth with bcrypt hashes) comes from
// the web configuration file (ServerOptions.WebConfigFile), which protects
// every endpoint but the probes, and the webhook too unless it has a bearer
// token.
//
// BearerToken, when not nil, returns the current token (it may re-read a
// file); nil means the webhook has no token of its own. A token that is
// currently empty accepts nothing: a secret that goes missing never turns
// authentication off.
type WebhookAuth struct {
	BearerToken func() string
}

// check reports whether r may post to the webhook. The token is compared as
// SHA-256 digests with subtle.ConstantTimeCompare, so the time taken depends
// neither on its content nor on its length.
func (a WebhookAuth) check(r *http.Request) bool {
	if a.BearerToken == nil {
		return true // the web configuration's basic auth, if any, has been applied
	}
	return a.bearerOK(r)
}

func (a WebhookAuth) bearerOK(r *http.Request) bool {
	const prefix = "Bearer "
	token := a.BearerToken()
	h := r.Header.Get("Authorization")
	return token != "" && len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) && secureEqual(h[len(prefix):], token)
}

func (a WebhookAuth) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="coc-bridge"`)
}

// Public reports whether r is served without the web configuration's basic
// auth: the probes /-/healthy and /-/ready (a kubelet sends no credentials),
// and the webhook when it has a bearer token of its own (Alertmanager sends
// one kind of credentials, and the webhook checks the token itself). Pass it
// as ServerOptions.Public.
func (a WebhookAuth) Public(r *http.Request) bool {
	switch r.URL.Path {
	case healthyPath, readyPath:
		return true
	case webhookPath:
		return a.BearerToken != nil
	}
	return false
}

// secureEqual compares got and want in constant time: their SHA-256
// digests, of equal length whatever theirs, with subtle.ConstantTimeCompare.
func secureEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// Guard protects h, an endpoint that changes state (POST /-/reload), so that
// it needs credentials whenever any are configured. The server has already
// applied the web configuration's basic auth; when the web configuration has
// no users but the webhook has a bearer token, the token is required here.
// webConfigFile is ServerOptions.WebConfigFile ("" for none); it is read at
// each request, as the server reads it.
func (a WebhookAuth) Guard(webConfigFile string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.BearerToken != nil && !a.bearerOK(r) && !webConfigHasUsers(webConfigFile) {
			a.challenge(w)
			writeError(w, http.StatusUnauthorized, "missing or wrong credentials")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// webConfigHasUsers reports whether the web configuration file lists
// basic_auth_users. A file that cannot be read or parsed counts as none (the
// server refuses requests then anyway).
func webConfigHasUsers(path string) bool {
	if path == "" {
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var c struct {
		Users map[string]string `yaml:"basic_auth_users"`
	}
	return yaml.Unmarshal(b, &c) == nil && len(c.Users) > 0
}
