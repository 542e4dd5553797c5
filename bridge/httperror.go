package bridge

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"go.uber.org/zap"
)

// errorBody is every error answer's JSON body.
type errorBody struct {
	Status string `json:"status"`
	Error  string `json:"error"`
}

// reject answers a webhook request that is not accepted, counts it by
// result and logs it at debug (internal failures are logged where they
// happen). Nothing has been stored when reject is called.
func (b *Bridge) reject(w http.ResponseWriter, r *http.Request, status int, result, msg string) {
	b.metrics.notifications.WithLabelValues("", result).Inc()
	b.log.Debug("notification rejected",
		zap.Int("code", status), zap.String("result", result), zap.String("reason", msg),
		zap.String("remote", r.RemoteAddr))
	writeError(w, status, msg)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Status: "error", Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing left to do
}

// WebhookAuth protects the webhook with a bearer token or HTTP basic auth.
// The functions return the current secret (they may re-read a file); an
// empty value disables that method. With both disabled, no authentication
// is required.
type WebhookAuth struct {
	BearerToken   func() string
	BasicUser     string
	BasicPassword func() string
}

func (a WebhookAuth) bearer() string   { return call(a.BearerToken) }
func (a WebhookAuth) password() string { return call(a.BasicPassword) }

func call(f func() string) string {
	if f == nil {
		return ""
	}
	return f()
}

// check reports whether r carries valid credentials. Comparisons are
// constant-time over fixed-length digests, so neither content nor length
// leaks through timing.
func (a WebhookAuth) check(r *http.Request) bool {
	token, user, pass := a.bearer(), a.BasicUser, a.password()
	if token == "" && user == "" {
		return true
	}
	if token != "" {
		const prefix = "Bearer "
		h := r.Header.Get("Authorization")
		if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) && secureEqual(h[len(prefix):], token) {
			return true
		}
	}
	if user != "" {
		u, p, ok := r.BasicAuth()
		if ok && secureEqual(u, user) && secureEqual(p, pass) {
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

func secureEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
