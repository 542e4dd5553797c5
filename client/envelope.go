package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// envelope is a decoded COC answer ({error_code, error_msg, provider_code,
// data}) or API gateway answer ({error_code, error_msg, request_id}; some
// gateways write {code, message}, possibly nested one or two levels down).
type envelope struct {
	Code         string
	Message      string
	RequestID    string
	ProviderCode string
	Data         json.RawMessage
}

// errNotObject is returned for a JSON body that is not an object.
var errNotObject = errors.New("answer is not a JSON object")

// decodeEnvelope decodes body leniently: provider_code as a number or a
// string, error_msg as null or a string, unknown fields ignored. It fails
// only when body is not a JSON object.
func decodeEnvelope(body []byte) (envelope, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return envelope{}, err
	}
	if m == nil {
		return envelope{}, errNotObject
	}
	env := envelope{
		RequestID:    rawString(m["request_id"]),
		ProviderCode: rawString(m["provider_code"]),
		Data:         m["data"],
	}
	env.Code, env.Message = findCode(m, 2)
	return env, nil
}

// findCode returns error_code/error_msg (or code/message) of m, else of the
// first nested object, in key order, that has one, down to depth levels.
func findCode(m map[string]json.RawMessage, depth int) (code, msg string) {
	for _, k := range [][2]string{{"error_code", "error_msg"}, {"code", "message"}} {
		if c := rawString(m[k[0]]); c != "" {
			return c, rawString(m[k[1]])
		}
	}
	if depth == 0 {
		return "", ""
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if k != "data" && len(v) > 0 && v[0] == '{' {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		var sub map[string]json.RawMessage
		if json.Unmarshal(m[k], &sub) != nil {
			continue
		}
		if c, msg := findCode(sub, depth-1); c != "" {
			return c, msg
		}
	}
	return "", ""
}

// rawString renders a JSON value as text: a string unquoted, null or
// absent as "", anything else (number, bool, object) as its JSON text.
func rawString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return snippet(raw)
}

// maxSnippet bounds how much of an unparsable body goes into an error.
const maxSnippet = 200

// snippet returns the start of b as single-line valid UTF-8.
func snippet(b []byte) string {
	cut := len(b) > maxSnippet
	if cut {
		b = b[:maxSnippet]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if cut {
		s += "..."
	}
	return s
}

// interpret turns one HTTP answer into its data, or an *Error classified
// for op. readErr is the error of reading the body, if any.
func interpret(op string, resp *http.Response, body []byte, readErr error, now time.Time) (json.RawMessage, *Error) {
	e := &Error{
		Operation:  op,
		StatusCode: resp.StatusCode,
		RequestID:  resp.Header.Get("X-Request-Id"),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	success := resp.StatusCode >= 200 && resp.StatusCode < 300
	// A success answer that cannot be read or parsed: a read can be retried,
	// but a create may have produced a ticket whose id we did not get.
	garbage := ClassRetryable
	if op == OpCreateTicket {
		garbage = ClassAmbiguous
	}
	if readErr != nil {
		e.Err = fmt.Errorf("read answer: %w", readErr)
		e.Class = classifyAnswer(op, resp.StatusCode, "")
		if success {
			e.Class = garbage
		}
		return nil, e
	}
	env, err := decodeEnvelope(body)
	if err != nil {
		e.Message = "unparsable answer: " + snippet(body)
		if len(bytes.TrimSpace(body)) == 0 {
			e.Message = "empty answer"
		}
		e.Class = classifyAnswer(op, resp.StatusCode, "")
		if success {
			e.Class = garbage
		}
		e.explainAuthRefusal(resp)
		return nil, e
	}
	if e.RequestID == "" {
		e.RequestID = env.RequestID
	}
	if success && (env.Code == "" || env.Code == CodeSuccess) {
		return env.Data, nil
	}
	e.Code, e.Message = env.Code, env.Message
	e.Class = classifyAnswer(op, resp.StatusCode, env.Code)
	e.explainAuthRefusal(resp)
	return nil, e
}

// maxRetryAfter caps what a Retry-After header can ask for; the retry
// policy's own elapsed-time limit decides whether waiting that long is worth it.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// Absent, invalid or past values give 0; values beyond a day give a day.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		// t.Sub saturates at the largest Duration for dates centuries away.
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}
