package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// TestRetriesOnServiceUnavailable: a read is repeated after 503s with
// backoff; a create is not (a 5xx after the body was sent is ambiguous).
func TestRetriesOnServiceUnavailable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	res, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("retry-503"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	h.fake.FailNext(client.OpGetTicket, 2, coctest.Fault{Status: 503, Code: client.CodeBackendDown, Message: "backend unavailable"})
	if _, err := h.c.GetTicket(t.Context(), res.TicketID); err != nil {
		t.Fatalf("show: %v", err)
	}
	if got := h.fake.Calls(client.OpGetTicket); got != 3 {
		t.Fatalf("fake saw %d shows, want 3", got)
	}
	if w := h.waits(); !slices.Equal(w, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}) {
		t.Fatalf("backoff waits %v, want 100ms then 200ms", w)
	}
	if got := metric(t, h.reg, "coc_bridge_coc_retries_total", "operation", "get_ticket"); got != 2 {
		t.Errorf("retries_total = %v, want 2", got)
	}
	if got := metric(t, h.reg, "coc_bridge_coc_requests_total", "operation", "get_ticket", "status", "503"); got != 2 {
		t.Errorf("requests_total{status=503} = %v, want 2", got)
	}
	if got := metric(t, h.reg, "coc_bridge_coc_errors_total", "operation", "get_ticket", "class", "retryable"); got != 0 {
		t.Errorf("errors_total = %v for a call that succeeded", got)
	}
	h.fake.FailNext(client.OpCreateTicket, 1, coctest.Fault{Status: 503, Code: client.CodeBackendDown, Apply: true})
	_, err = h.c.CreateIssueTicket(t.Context(), alarmTicket("create-503"))
	if client.Classify(err) != client.ClassAmbiguous || h.fake.Calls(client.OpCreateTicket) != 2 ||
		len(h.fake.TicketsBySourceID("create-503")) != 1 || !client.Unavailable(err) {
		t.Fatalf("create answered 503 after it committed: err %v (class %v), %d creates, %d tickets",
			err, client.Classify(err), h.fake.Calls(client.OpCreateTicket), len(h.fake.TicketsBySourceID("create-503")))
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 15, 30, 0, time.UTC)
	for _, tt := range []struct {
		name, retryAfter string
		want             time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"http date", now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(o *coctest.Options) { o.NowFunc = func() time.Time { return now } },
				func(o *client.Options) {
					o.NowFunc = func() time.Time { return now }
					o.Retry.JitterFunc = func(time.Duration) time.Duration { return 0 }
				})
			h.fake.FailNext("", 1, coctest.Fault{Status: 429, Code: client.CodeThrottled,
				Message:    "The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 minute",
				RetryAfter: tt.retryAfter})
			if _, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("throttled")); err != nil {
				t.Fatalf("create: %v", err)
			}
			if w := h.waits(); !slices.Equal(w, []time.Duration{tt.want}) {
				t.Fatalf("waited %v, want exactly Retry-After %v", w, tt.want)
			}
			if h.fake.Calls(client.OpCreateTicket) != 2 || h.fake.Throttled() != 1 {
				t.Fatalf("calls %d, throttled %d", h.fake.Calls(client.OpCreateTicket), h.fake.Throttled())
			}
			if got := metric(t, h.reg, "coc_bridge_coc_throttled_total", "operation", "create_ticket"); got != 1 {
				t.Errorf("throttled_total = %v, want 1", got)
			}
			if got := metric(t, h.reg, "coc_bridge_coc_retries_total", "operation", "create_ticket"); got != 1 {
				t.Errorf("retries_total = %v, want 1", got)
			}
		})
	}
}

func TestRetryAfterBeyondMaxElapsedGivesUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	h.fake.FailNext("", 1, coctest.Fault{Status: 429, Code: client.CodeThrottled, RetryAfter: "60"})
	_, err := h.c.GetTicket(t.Context(), "ISU1")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Class != client.ClassRetryable || ce.RetryAfter != time.Minute || ce.Attempts != 1 {
		t.Fatalf("err = %#v", err)
	}
	if len(h.waits()) != 0 || h.fake.Calls(client.OpGetTicket) != 1 {
		t.Fatalf("waited %v, %d calls; want no wait beyond MaxElapsed", h.waits(), h.fake.Calls(client.OpGetTicket))
	}
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	h.fake.SetDown(true)
	_, err := h.c.FindTicketsBySourceID(t.Context(), "k")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != 503 || ce.Code != client.CodeBackendDown || ce.Attempts != 4 {
		t.Fatalf("err = %#v", err)
	}
	if h.fake.Calls(client.OpListTickets) != 4 || len(h.waits()) != 3 {
		t.Fatalf("%d calls, waits %v", h.fake.Calls(client.OpListTickets), h.waits())
	}
	if got := metric(t, h.reg, "coc_bridge_coc_errors_total", "operation", "list_tickets", "class", "retryable"); got != 1 {
		t.Errorf("errors_total{retryable} = %v, want 1", got)
	}
}

func TestNoRetryOnPermanentErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		fault    coctest.Fault
		wantStr  string
		notFound bool
		auth     bool
	}{
		{coctest.Fault{Status: 400, Code: client.CodeInvalidParameter, Message: "Invalid parameter"},
			"coc create_ticket: http 400 GOM.00007256: Invalid parameter (request id ", false, false},
		{coctest.Fault{Status: 401, Code: client.CodeAuthFailed, Message: "Incorrect IAM authentication information"},
			"coc create_ticket: http 401 APIG.0301: Incorrect IAM authentication information (request id ", false, true},
		{coctest.Fault{Status: 403, Code: client.CodeForbidden, Message: "denied"}, "http 403 APIG.0302", false, true},
		{coctest.Fault{Status: 404, Code: client.CodeAPINotFound, Message: "API not found"}, "http 404 APIG.0101", false, false},
		{coctest.Fault{Status: 400, Code: client.CodeTicketNotFound, Message: "The service ticket does not exist."},
			"http 400 COC.00067003", true, false},
	} {
		t.Run(tt.fault.Code, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, nil)
			h.fake.FailNext(client.OpCreateTicket, 1, tt.fault)
			_, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("perm"))
			if client.Classify(err) != client.ClassPermanent || !strings.Contains(err.Error(), tt.wantStr) {
				t.Fatalf("err = %v (class %v)", err, client.Classify(err))
			}
			if client.IsTicketNotFound(err) != tt.notFound || authRefused(err) != tt.auth {
				t.Fatalf("IsTicketNotFound %v, IsAuthError %v", client.IsTicketNotFound(err), authRefused(err))
			}
			if h.fake.Calls(client.OpCreateTicket) != 1 || len(h.fake.Tickets()) != 0 || len(h.waits()) != 0 {
				t.Fatalf("retried: %d calls, %d tickets", h.fake.Calls(client.OpCreateTicket), len(h.fake.Tickets()))
			}
			if got := metric(t, h.reg, "coc_bridge_coc_errors_total", "operation", "create_ticket", "class", "permanent"); got != 1 {
				t.Errorf("errors_total{permanent} = %v", got)
			}
		})
	}
}

func TestWrongSecretIsAuthErrorNotRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(o *client.Options) {
		o.Credentials = client.StaticCredentials{AccessKey: testAK, SecretKey: "not-the-secret"}
	})
	_, err := h.c.GetTicket(t.Context(), "ISU1")
	if !authRefused(err) || client.Classify(err) != client.ClassPermanent || h.fake.Calls(client.OpGetTicket) != 1 {
		t.Fatalf("err = %v, calls %d", err, h.fake.Calls(client.OpGetTicket))
	}
}

func TestDroppedCreateIsAmbiguous(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	h.fake.DropAfterCreate(1)
	_, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("dropped"))
	if client.Classify(err) != client.ClassAmbiguous {
		t.Fatalf("err = %v, class %v; want ambiguous", err, client.Classify(err))
	}
	if h.fake.Calls(client.OpCreateTicket) != 1 || len(h.waits()) != 0 {
		t.Fatalf("an ambiguous create was retried: %d calls", h.fake.Calls(client.OpCreateTicket))
	}
	stored := h.fake.TicketsBySourceID("dropped")
	if len(stored) != 1 {
		t.Fatalf("fake holds %d tickets for the key, want 1", len(stored))
	}
	found, err := h.c.FindTicketsBySourceID(t.Context(), "dropped")
	if err != nil || len(found) != 1 || found[0].TicketID != stored[0].TicketID {
		t.Fatalf("lookup after the ambiguous create: %+v, %v", found, err)
	}
	if got := metric(t, h.reg, "coc_bridge_coc_errors_total", "operation", "create_ticket", "class", "ambiguous"); got != 1 {
		t.Errorf("errors_total{ambiguous} = %v", got)
	}
	if got := metric(t, h.reg, "coc_bridge_coc_requests_total", "operation", "create_ticket", "status", "error"); got != 1 {
		t.Errorf("requests_total{status=error} = %v", got)
	}
}

func TestGatewayTimeoutOnCreateIsAmbiguous(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	h.fake.FailNext(client.OpCreateTicket, 1, coctest.Fault{Status: 504, Code: client.CodeBackendTimeout, Apply: true})
	_, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("gw-timeout"))
	if client.Classify(err) != client.ClassAmbiguous || len(h.fake.TicketsBySourceID("gw-timeout")) != 1 {
		t.Fatalf("err = %v; tickets %d", err, len(h.fake.TicketsBySourceID("gw-timeout")))
	}
	h.fake.FailNext(client.OpGetTicket, 1, coctest.Fault{Status: 504, Code: client.CodeBackendTimeout})
	if _, err := h.c.GetTicket(t.Context(), h.fake.Tickets()[0].TicketID); err != nil {
		t.Fatalf("a read is retried after a 504: %v", err)
	}
}

// TestTimeoutAfterSend: an attempt timing out while waiting for the answer
// is ambiguous for a create (not retried) and retryable for a read.
// Attempts are counted on the client side: the fake may count a request
// only after the client gave up on it.
func TestTimeoutAfterSend(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *coctest.Options) { o.Latency = time.Hour }, func(o *client.Options) {
		o.Retry.AttemptTimeout = 300 * time.Millisecond
		o.Retry.MaxAttempts = 3
	})
	_, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("slow"))
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Class != client.ClassAmbiguous || !errors.Is(err, context.DeadlineExceeded) || ce.Attempts != 1 {
		t.Fatalf("create timing out after the body was sent: %#v, want one ambiguous attempt", err)
	}
	if got := metric(t, h.reg, "coc_bridge_coc_requests_total", "operation", "create_ticket", "status", "error"); got != 1 {
		t.Fatalf("create attempts %v, want 1", got)
	}
	_, err = h.c.GetTicket(t.Context(), "ISU1")
	if !errors.As(err, &ce) || ce.Class != client.ClassRetryable || ce.Attempts != 3 {
		t.Fatalf("read timing out: %#v, want 3 retryable attempts", err)
	}
	if got := metric(t, h.reg, "coc_bridge_coc_requests_total", "operation", "get_ticket", "status", "error"); got != 3 {
		t.Fatalf("read attempts %v, want 3", got)
	}
	if got := h.fake.Calls(client.OpCreateTicket); got > 1 {
		t.Fatalf("the fake saw %d creates", got)
	}
}

func TestConnectionRefusedIsRetryableEvenForCreate(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	h := newHarness(t, nil, func(o *client.Options) { o.Endpoint = "http://" + addr })
	_, err = h.c.CreateIssueTicket(t.Context(), alarmTicket("refused"))
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Class != client.ClassRetryable || ce.StatusCode != 0 || ce.Attempts != 4 {
		t.Fatalf("err = %#v", err)
	}
	if got := metric(t, h.reg, "coc_bridge_coc_requests_total", "operation", "create_ticket", "status", "error"); got != 4 {
		t.Errorf("requests_total{status=error} = %v, want 4", got)
	}
}

func TestCallerCancelStopsRetrying(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	h := newHarness(t, nil, func(o *client.Options) {
		o.Retry.SleepFunc = func(c context.Context, d time.Duration) error {
			cancel() // the caller gives up while the client backs off
			<-c.Done()
			return c.Err()
		}
	})
	h.fake.SetDown(true)
	_, err := h.c.GetTicket(ctx, "ISU1")
	if !errors.Is(err, context.Canceled) || client.Classify(err) != client.ClassRetryable {
		t.Fatalf("err = %v", err)
	}
	if got := h.fake.Calls(client.OpGetTicket); got != 1 {
		t.Fatalf("%d attempts after cancel", got)
	}
	_, err = h.c.GetTicket(ctx, "ISU1")
	if !errors.Is(err, context.Canceled) || h.fake.Calls(client.OpGetTicket) != 1 {
		t.Fatalf("call with a cancelled context: %v", err)
	}
}

// TestRateLimitSpacesRequests checks the lower bound only: with QPS 20 and
// burst 1, six calls cannot finish in less than 5/20 s.
func TestRateLimitSpacesRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(o *client.Options) { o.QPS, o.Burst = 20, 1 })
	start := time.Now() // before the first token is taken
	res, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("rl"))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := h.c.GetTicket(t.Context(), res.TicketID); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 245*time.Millisecond {
		t.Fatalf("6 calls took %v; one token per 50ms after the first allows no less than 250ms", el)
	}
	if n := metric(t, h.reg, "coc_bridge_coc_ratelimit_wait_seconds"); n != 6 {
		t.Fatalf("rate-limit waits observed %v, want 6", n)
	}
}
