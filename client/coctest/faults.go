package coctest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Fault is a scripted error answer.
type Fault struct {
	// Status is the HTTP status (default 500).
	Status int
	// Code and Message fill the envelope: the API gateway's {error_code,
	// error_msg, request_id} for APIG./APIGW. codes, else COC's {error_code,
	// error_msg, provider_code, data}.
	Code    string
	Message string
	// RetryAfter, when set, is sent as the Retry-After header as is.
	RetryAfter string
	// Body, when set, is sent as is instead of an envelope (an HTML error
	// page, truncated JSON, ...).
	Body string
	// Apply runs the operation before answering with the fault: a create
	// then stores its ticket (a gateway 504 after the backend did the work).
	Apply bool
	// ContentType, when set, replaces the answer's Content-Type header.
	ContentType string
	// EmptyBody sends the status with no body at all.
	EmptyBody bool
	// Truncate announces the whole body's length, sends half of it and
	// closes the connection (a proxy reset in the middle of an answer).
	Truncate bool
}

// scriptedFault is a Fault still to be given n times.
type scriptedFault struct {
	op string // "" matches every operation
	n  int
	f  Fault
}

// FailNext answers the next n requests for operation (create_ticket,
// get_ticket, list_tickets, OpAction; "" for any) with f, after the
// signature check.
// Faults queue up in the order they were scripted.
func (s *Server) FailNext(operation string, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &scriptedFault{op: operation, n: n, f: f})
}

// DropAfterCreate makes the next n successful creates store their ticket
// and then close the connection without answering: the client cannot know
// whether the ticket exists.
func (s *Server) DropAfterCreate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drops += n
}

// SetDown starts (true) or ends (false) an outage: while down, every
// request is answered 503 APIG.0202 before its signature is checked.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetLatency delays every authenticated answer by d; a request whose
// client gives up meanwhile is not processed.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// takeFault returns the first scripted fault for op, counting it down.
func (s *Server) takeFault(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sf := range s.faults {
		if sf.op != "" && sf.op != op {
			continue
		}
		f := sf.f
		if sf.n--; sf.n == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return &f
	}
	return nil
}

// takeDrop reports whether this create's connection is to be dropped.
func (s *Server) takeDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drops > 0 {
		s.drops--
		return true
	}
	return false
}

// delay waits the configured latency; false when the client went away.
func (s *Server) delay(r *http.Request) bool {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// answer renders the fault for the request with id rid.
func (f Fault) answer(rid string) answer {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	var a answer
	switch {
	case f.Body != "":
		a = answer{status: status, raw: []byte(f.Body), rawType: "application/json;charset=UTF-8"}
		if strings.HasPrefix(strings.TrimSpace(f.Body), "<") {
			a.rawType = "text/html; charset=utf-8"
		}
	case strings.HasPrefix(f.Code, "APIG"):
		a = gatewayError(rid, status, f.Code, msg)
	default:
		a = cocError(status, f.Code, msg)
	}
	if f.EmptyBody {
		a.body, a.raw = nil, []byte{}
	}
	if f.ContentType != "" {
		if a.raw == nil {
			a.raw, _ = json.Marshal(a.body)
		}
		a.rawType = f.ContentType
	}
	a.retryAfter = f.RetryAfter
	a.truncate = f.Truncate
	return a
}

// dropConnection closes the connection without writing an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2: abort the stream
}
