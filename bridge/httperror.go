package bridge

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// WebhookAuth protects the webhook with a bearer token or HTTP basic auth.
// BearerToken, when not nil, enables the bearer method; BasicUser, when not
// empty, enables basic auth. The functions return the current secret (they
// may re-read a file). With neither method enabled, no authentication is
// required; with both, either credential is accepted. An enabled method
// whose secret is currently empty accepts nothing: a secret that goes
// missing never turns authentication off.
type WebhookAuth struct {
	BearerToken   func() string
	BasicUser     string
	BasicPassword func() string
}

func (a WebhookAuth) password() string {
	if a.BasicPassword == nil {
		return ""
	}
	return a.BasicPassword()
}

// check reports whether r carries valid credentials. Secrets are compared
// as SHA-256 digests with subtle.ConstantTimeCompare, so the time taken
// depends neither on their content nor on their length; basic auth
// compares the user and the password both, whatever the first gives.
func (a WebhookAuth) check(r *http.Request) bool {
	if a.BearerToken == nil && a.BasicUser == "" {
		return true
	}
	if a.BearerToken != nil {
		const prefix = "Bearer "
		token := a.BearerToken()
		h := r.Header.Get("Authorization")
		if token != "" && len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) && secureEqual(h[len(prefix):], token) {
			return true
		}
	}
	if a.BasicUser != "" {
		pass := a.password()
		u, p, ok := r.BasicAuth()
		userOK, passOK := secureEqual(u, a.BasicUser), secureEqual(p, pass)
		if ok && pass != "" && userOK && passOK {
			return true
		}
	}
	return false
}

func (a WebhookAuth) challenge(w http.ResponseWriter) {
	if a.BasicUser != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="coc-bridge"`)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="coc-bridge"`)
}

// secureEqual compares got and want in constant time: their SHA-256
// digests, of equal length whatever theirs, with subtle.ConstantTimeCompare.
func secureEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
