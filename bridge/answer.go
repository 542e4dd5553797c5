package bridge

import (
	"encoding/json"
	"net/http"
)

// Webhook results: the result label of coc_bridge_notifications_total, and
// through webhookStatus the HTTP status the webhook answers with.
const (
	resultAccepted             = "accepted"
	resultBadRequest           = "bad_request"
	resultUnauthorized         = "unauthorized"
	resultTooLarge             = "too_large"
	resultUnsupportedMediaType = "unsupported_media_type"
	resultMethodNotAllowed     = "method_not_allowed"
	resultStoreUnavailable     = "store_unavailable"
	resultIncompleteBody       = "incomplete_body"
)

var notificationResults = []string{resultAccepted, resultBadRequest, resultUnauthorized,
	resultTooLarge, resultUnsupportedMediaType, resultMethodNotAllowed, resultStoreUnavailable,
	resultIncompleteBody}

// webhookStatus is the one mapping of webhook results to HTTP statuses
// (DESIGN.md fixes them): 4xx for input Alertmanager must not send again,
// 503 only when the store cannot accept (Alertmanager retries it), never
// 429. An incomplete body gets no answer at all: the receiver hangs up so
// the sender sees a transport error and retries.
var webhookStatus = map[string]int{
	resultAccepted:             http.StatusOK,
	resultBadRequest:           http.StatusBadRequest,
	resultUnauthorized:         http.StatusUnauthorized,
	resultTooLarge:             http.StatusRequestEntityTooLarge,
	resultUnsupportedMediaType: http.StatusUnsupportedMediaType,
	resultMethodNotAllowed:     http.StatusMethodNotAllowed,
	resultStoreUnavailable:     http.StatusServiceUnavailable,
}

// statusOf returns the HTTP status of a webhook result.
func statusOf(result string) int {
	if s, ok := webhookStatus[result]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is every error answer's JSON body.
type errorBody struct {
	Status string `json:"status"`
	Error  string `json:"error"`
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
