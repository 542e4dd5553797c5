package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// TestFiveHundredsAfterCreateAreAmbiguous: each 5xx the fake gives after
// it stored the ticket makes the create ambiguous and is not repeated, so
// exactly one ticket exists; a lookup finds it.
func TestFiveHundredsAfterCreateAreAmbiguous(t *testing.T) {
	t.Parallel()
	for _, f := range []coctest.Fault{
		{Status: 500, Code: "COC.00060001", Message: "internal error", Apply: true},
		{Status: 500, Body: "<html>Internal Server Error</html>", Apply: true},
		{Status: 502, Code: client.CodeBackendDown, Apply: true},
		{Status: 504, Code: client.CodeBackendTimeout, Apply: true},
		{Status: 200, Code: client.CodeBackendTimeout, Apply: true},
	} {
		h := newHarness(t, nil, nil)
		h.fake.FailNext(client.OpCreateTicket, 1, f)
		_, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("k"))
		if client.Classify(err) != client.ClassAmbiguous || h.fake.Calls(client.OpCreateTicket) != 1 {
			t.Fatalf("%+v: err %v (class %v), %d creates", f, err, client.Classify(err), h.fake.Calls(client.OpCreateTicket))
		}
		if found, err := h.c.FindTicketsBySourceID(t.Context(), "k"); err != nil || len(found) != 1 {
			t.Fatalf("%+v: lookup %v, %v", f, found, err)
		}
	}
}

// TestNotAmbiguousCreateRefusals: answers that prove nothing was created.
func TestNotAmbiguousCreateRefusals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		f    coctest.Fault
		want client.Class
	}{
		{coctest.Fault{Status: 429, Code: client.CodeThrottled}, client.ClassRetryable},
		{coctest.Fault{Status: 401, Code: client.CodeAuthFailed}, client.ClassPermanent},
		{coctest.Fault{Status: 403, Code: client.CodeForbidden}, client.ClassPermanent},
		{coctest.Fault{Status: 400, Code: client.CodeInvalidParameter}, client.ClassPermanent},
	} {
		h := newHarness(t, nil, func(o *client.Options) { o.Retry.MaxAttempts = 1 })
		h.fake.FailNext(client.OpCreateTicket, 1, tt.f)
		_, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("k"))
		if got := client.Classify(err); got != tt.want {
			t.Errorf("%+v: class %v, want %v", tt.f, got, tt.want)
		}
	}
}

// TestHTMLNotFoundOnShowIsNotTicketGone: only COC.00067003 says gone.
func TestHTMLNotFoundOnShowIsNotTicketGone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(o *client.Options) { o.Retry.MaxAttempts = 1 })
	for _, f := range []coctest.Fault{
		{Status: 404, Body: "<html><body>404 Not Found</body></html>"},
		{Status: 404, Body: "not found", ContentType: "text/plain"},
		{Status: 404, Code: client.CodeAPINotFound},
	} {
		h.fake.FailNext(client.OpGetTicket, 1, f)
		if _, err := h.c.GetTicket(t.Context(), "ISU1"); err == nil || client.IsTicketNotFound(err) {
			t.Errorf("%+v: err %v, not found %v", f, err, client.IsTicketNotFound(err))
		}
	}
	if _, err := h.c.GetTicket(t.Context(), "ISU1"); !client.IsTicketNotFound(err) {
		t.Errorf("COC.00067003: err %v is not not-found", err)
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&client.Error{StatusCode: 0, Err: errors.New("dial tcp: refused")}, true},
		{&client.Error{StatusCode: 502}, true},
		{&client.Error{StatusCode: 503, Code: client.CodeBackendDown}, true},
		{&client.Error{StatusCode: 504}, true},
		{&client.Error{StatusCode: 200, Code: "APIGW.0203"}, true},
		{&client.Error{StatusCode: 500, Code: "APIG.0105"}, true},
		{&client.Error{StatusCode: 500, Code: "COC.00060001"}, false},
		{&client.Error{StatusCode: 429, Code: client.CodeThrottled}, false},
		{&client.Error{StatusCode: 400, Code: client.CodeTicketNotFound}, false},
		{errors.New("not a client error"), false},
	} {
		if got := client.Unavailable(tt.err); got != tt.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	id := func(d time.Duration) time.Duration { return d }
	for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		if got := client.Backoff(i+1, 100*time.Millisecond, time.Second, id); got != want*time.Millisecond {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, want*time.Millisecond)
		}
	}
	if got := client.Backoff(3, time.Second, time.Minute, func(time.Duration) time.Duration { return time.Hour }); got != 4*time.Second {
		t.Errorf("jitter beyond the ceiling gave %v, want the ceiling 4s", got)
	}
	for i := 1; i < 40; i++ {
		if d := client.Backoff(i, time.Second, time.Minute, nil); d < 0 || d > time.Minute {
			t.Fatalf("Backoff(%d) = %v outside [0, 1m]", i, d)
		}
	}
}
