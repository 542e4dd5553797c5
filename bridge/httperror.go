package bridge

import (
	"encoding/json"
	"net/http"

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
