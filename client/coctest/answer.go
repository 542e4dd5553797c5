package coctest

import (
	"encoding/json"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
)

// answer is a status and a JSON body (or raw bytes).
type answer struct {
	status     int
	body       any
	raw        []byte // written as is when set
	rawType    string
	retryAfter string
	truncate   bool // send half the body, then drop the connection
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, op string, a answer) {
	if a.status == http.StatusTooManyRequests {
		s.mu.Lock()
		s.throttled++
		s.mu.Unlock()
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	// The gateway's clock, which a client can compare with its own.
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	b := a.raw
	ct := a.rawType
	if b == nil {
		b, _ = json.Marshal(a.body)
		ct = "application/json;charset=UTF-8"
	}
	w.Header().Set("Content-Type", ct)
	if a.truncate {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(a.status)
		_, _ = w.Write(b[:len(b)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		s.log.Debug("answer cut halfway", zap.String("operation", op), zap.Int("status", a.status))
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(b)
	s.log.Debug("answered", zap.String("operation", op), zap.String("method", r.Method),
		zap.String("path", r.URL.Path), zap.Int("status", a.status),
		zap.String("request_id", w.Header().Get("X-Request-Id")))
}

// gatewayError is an API gateway refusal.
func gatewayError(rid string, status int, code, msg string) answer {
	return answer{status: status, body: struct {
		ErrorCode string `json:"error_code"`
		ErrorMsg  string `json:"error_msg"`
		RequestID string `json:"request_id"`
	}{code, msg, rid}}
}

// cocEnvelope is COC's answer envelope; ErrorMsg is null on success.
type cocEnvelope struct {
	ErrorCode    string  `json:"error_code"`
	ErrorMsg     *string `json:"error_msg"`
	ProviderCode int     `json:"provider_code"`
	Data         any     `json:"data"`
}

func cocError(status int, code, msg string) answer {
	return answer{status: status, body: cocEnvelope{ErrorCode: code, ErrorMsg: &msg, ProviderCode: 4}}
}

func cocSuccess(data any) answer {
	return answer{status: http.StatusOK, body: cocEnvelope{ErrorCode: client.CodeSuccess, ProviderCode: 4, Data: data}}
}
