package bridge

import (
	"encoding/json"
	"net"
	"net/http"

	"go.uber.org/zap"
)

// errorBody is every error answer's JSON body.
type errorBody struct {
	Status string `json:"status"`
	Error  string `json:"error"`
}

// reject answers a webhook request that is not accepted, counts it by
// result and logs it at info, at most once a minute per client address and
// result (internal failures are logged where they happen). Nothing has been
// stored when reject is called.
func (b *Bridge) reject(w http.ResponseWriter, r *http.Request, status int, result, msg string) {
	b.metrics.notifications.WithLabelValues("", result).Inc()
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	what := "notification rejected; Alertmanager does not retry a 4xx answer: these alerts are not ticketed"
	if status >= 500 {
		what = "notification refused for now; Alertmanager retries it"
	}
	b.rejects.Info(host, result, what, zap.Int("code", status), zap.String("reason", msg), zap.String("remote", r.RemoteAddr))
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
