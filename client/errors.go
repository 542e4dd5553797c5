package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes the client knows (API.md 4, 5 and 8).
const (
	CodeSuccess          = "GOM.00000000"
	CodeInvalidParameter = "GOM.00007256"
	CodeTicketNotFound   = "COC.00067003"
	CodeThrottled        = "APIG.0308"
	CodeAuthFailed       = "APIG.0301"
	CodeForbidden        = "APIG.0302"
	CodeAPINotFound      = "APIG.0101"
	CodeBackendDown      = "APIG.0202"
	CodeBackendTimeout   = "APIG.0203"
)

// Class says what the caller may do after an error.
type Class int

const (
	// ClassRetryable: COC did not act on the request, or the request is
	// safe to repeat (a read, an action); trying again later is safe.
	ClassRetryable Class = iota
	// ClassPermanent: COC refused the request; retrying the same request
	// gives the same answer (fix the configuration or the data).
	ClassPermanent
	// ClassAmbiguous: a create may or may not have produced a ticket (the
	// request was sent and no clear answer came back). Look the ticket up by
	// source_id before creating again.
	ClassAmbiguous
)

// String returns "retryable", "permanent" or "ambiguous", the class label
// of coc_bridge_coc_errors_total.
func (c Class) String() string {
	switch c {
	case ClassRetryable:
		return "retryable"
	case ClassPermanent:
		return "permanent"
	case ClassAmbiguous:
		return "ambiguous"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Error is a failed COC call: an error answer, an unreadable answer, or no
// answer at all (then StatusCode is 0 and Err holds the transport error).
// It never holds credentials or signatures.
type Error struct {
	Operation  string        // an Op* name: create_ticket, get_ticket, change_level, ...
	StatusCode int           // HTTP status; 0 when no answer arrived
	Code       string        // COC or API gateway error code, e.g. GOM.00007256
	Message    string        // error_msg, or the start of an unparsable body
	RequestID  string        // X-Request-Id (or the envelope's request_id)
	RetryAfter time.Duration // from a Retry-After header; 0 when absent
	Attempts   int           // HTTP attempts the call made
	Class      Class
	Err        error // underlying cause, if any
}

// Error formats as "coc create_ticket: http 400 GOM.00007256: Invalid
// parameter (request id X)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("coc")
	if e.Operation != "" {
		b.WriteString(" ")
		b.WriteString(e.Operation)
	}
	b.WriteString(": ")
	if e.StatusCode != 0 {
		b.WriteString("http ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		if e.Code != "" {
			b.WriteString(" ")
			b.WriteString(e.Code)
		}
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
		if e.Err != nil {
			b.WriteString(": ")
			b.WriteString(e.Err.Error())
		}
	} else {
		switch {
		case e.Err != nil:
			b.WriteString(e.Err.Error())
		case e.Message != "":
			b.WriteString(e.Message)
		default:
			b.WriteString(e.Class.String() + " error")
		}
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Classify returns the class of err: the Class of an *Error in its chain;
// otherwise (a context error of the caller included) ClassRetryable.
func Classify(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ClassRetryable
}

// IsTicketNotFound reports whether err says the ticket does not exist. Only
// COC's own code COC.00067003 in a COC envelope says so (COC answers it with
// HTTP 400). A plain 404, an HTML page or a gateway 404 (APIG.0101, "API not
// found") is an egress proxy or gateway speaking, never a missing ticket:
// those are retryable read errors.
func IsTicketNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeTicketNotFound
}

// Unavailable reports whether err says COC could not be reached or did not
// serve the request: no answer at all (transport error, timeout), a 502,
// 503 or 504, or an API gateway code of a backend or gateway outage. These
// are the failures of an outage; a 500 from COC itself or throttling mean
// COC is up (busy, or failing this one request).
func Unavailable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.StatusCode {
	case 0, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return outageGatewayCode(normalizeCode(e.Code))
}

// normalizeCode maps the "APIGW." spelling of gateway codes to "APIG.".
func normalizeCode(code string) string {
	if rest, ok := strings.CutPrefix(code, "APIGW."); ok {
		return "APIG." + rest
	}
	return code
}

// Causes of an authentication refusal (HTTP 401, APIG.0301) that are not a
// wrong key: the *Error wraps one of them (test with errors.Is). Both are
// ClassRetryable: the request never reached COC, and it succeeds unchanged
// once the cause is gone (the clock resynchronised, the lock expired). The
// client does not repeat them within a call, where they cannot go away and
// would only count toward the gateway's lock.
var (
	// ErrRequestTimeRejected: the gateway refused the request's X-Sdk-Date
	// (more than 15 minutes away from its clock). The error names the date
	// sent and, when the answer carried a Date header, how far this host's
	// clock is from COC's.
	ErrRequestTimeRejected = errors.New("COC rejected the request time")
	// ErrAccessKeyLocked: the gateway locked the access key for 5 minutes
	// after repeated authentication failures ("AK access failed to reach
	// the limit,forbidden").
	ErrAccessKeyLocked = errors.New("COC locked the access key after repeated authentication failures")
)

// maxClockSkew is how far X-Sdk-Date may be from the gateway's clock (API.md 2).
const maxClockSkew = 15 * time.Minute

// explainAuthRefusal recognises, in an authentication refusal, a request
// time outside the gateway's window or a locked access key, and makes e say
// so and retryable. The time is judged by the answer's Date header (the
// gateway's clock) against the X-Sdk-Date that was sent, since the gateway's
// message ("verify aksk signature fail") is the same as for a wrong key;
// without a Date header, by the message.
func (e *Error) explainAuthRefusal(resp *http.Response) {
	if e.StatusCode != http.StatusUnauthorized && normalizeCode(e.Code) != CodeAuthFailed {
		return
	}
	msg := strings.ToLower(e.Message)
	if strings.Contains(msg, "reach the limit") {
		e.Class = ClassRetryable
		e.Err = fmt.Errorf("%w: retried after the lock ends", ErrAccessKeyLocked)
		return
	}
	var sent string
	if resp.Request != nil {
		sent = resp.Request.Header.Get(HeaderDate)
	}
	signedAt, err := time.Parse(DateLayout, sent)
	if err != nil {
		return
	}
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		off := signedAt.Sub(date)
		if off.Abs() <= maxClockSkew {
			return // the time was fine: some other refusal
		}
		dir := "ahead of"
		if off < 0 {
			dir = "behind"
		}
		e.Class = ClassRetryable
		e.Err = fmt.Errorf("%w: X-Sdk-Date %s is %s %s COC's clock (Date: %s); check this host's clock (NTP)",
			ErrRequestTimeRejected, sent, off.Abs().Round(time.Second), dir, date.UTC().Format(http.TimeFormat))
		return
	}
	if timeRefusal(msg) {
		e.Class = ClassRetryable
		e.Err = fmt.Errorf("%w: X-Sdk-Date %s; check this host's clock (NTP)", ErrRequestTimeRejected, sent)
	}
}

// timeRefusal reports a lower-cased gateway message about the request time.
func timeRefusal(msg string) bool {
	for _, m := range []string{"request expired", "request has expired", "request is expired"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return strings.Contains(msg, "x-sdk-date") &&
		(strings.Contains(msg, "too far") || strings.Contains(msg, "expire") || strings.Contains(msg, "skew"))
}

// repeatable reports whether the client may repeat e within the call.
func (e *Error) repeatable() bool {
	return e.Class == ClassRetryable && !errors.Is(e.Err, ErrRequestTimeRejected) && !errors.Is(e.Err, ErrAccessKeyLocked)
}

// isThrottle reports a throttling answer.
func isThrottle(status int, code string) bool {
	return status == http.StatusTooManyRequests || normalizeCode(code) == CodeThrottled
}

// classifyAnswer classifies an error answer that arrived with a status.
// It is the one table of the client's error classes. For a create (whose
// body was sent, since an answer arrived) only an answer that proves nothing
// was created is not ambiguous:
//
//	answer                                        create      read / action
//	429 or APIG.0308 (throttled)                  retryable   retryable
//	2xx carrying an error code                    ambiguous   by the rows below
//	any 5xx (500, 502 APIG.0202, 504 APIG.0203)   ambiguous   retryable
//	gateway outage code with another status       ambiguous   retryable
//	401/403, APIG.0301/0302 (gateway refusal)     permanent   permanent
//	400 GOM.00007256 and every other answer       permanent   permanent
//
// Errors outside this table: a transport error after the body was sent and
// a 2xx without a readable ticket id are ambiguous for a create, retryable
// for a read (call.go, envelope.go); errors before the body was sent are
// retryable; COC.00067003 is permanent and IsTicketNotFound.
func classifyAnswer(op string, status int, code string) Class {
	code = normalizeCode(code)
	create := op == OpCreateTicket
	switch {
	case isThrottle(status, code):
		return ClassRetryable
	case create && status >= 200 && status < 300:
		return ClassAmbiguous
	case create && (status >= 500 || outageGatewayCode(code)):
		return ClassAmbiguous
	case status >= 500 || outageGatewayCode(code):
		// The code, not the status, is what counts when a gateway error
		// comes with a 2xx or 4xx status.
		return ClassRetryable
	}
	return ClassPermanent
}

// outageGatewayCode reports the gateway codes of a backend or gateway
// outage (API.md 8): APIG.0202 (backend unavailable), APIG.0203 (backend
// timeout) and the 500-class APIG.0103/0104/0105/0107. code is normalised.
func outageGatewayCode(code string) bool {
	switch code {
	case CodeBackendDown, CodeBackendTimeout, "APIG.0103", "APIG.0104", "APIG.0105", "APIG.0107":
		return true
	}
	return false
}
