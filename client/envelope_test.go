package client

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestInterpret(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 15, 30, 0, time.UTC)
	tests := []struct {
		name      string
		op        string
		status    int
		header    http.Header
		body      string
		readErr   error
		wantData  string // success: the data
		wantClass Class
		wantCode  string
		wantMsg   string // substring
		wantRID   string
		wantAfter time.Duration
	}{
		{name: "success, provider_code number", op: OpCreateTicket, status: 200,
			body:     `{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":{"ticket_id":"ISU1"}}`,
			wantData: `{"ticket_id":"ISU1"}`},
		{name: "success, provider_code string, unknown fields", op: OpGetTicket, status: 200,
			body:     `{"error_code":"GOM.00000000","error_msg":"","provider_code":"049","extra":[1],"data":{}}`,
			wantData: `{}`},
		{name: "success without error_code", op: OpListTickets, status: 200, body: `{"data":{"tickets":[]}}`,
			wantData: `{"tickets":[]}`},
		{name: "invalid parameter", op: OpCreateTicket, status: 400, header: http.Header{"X-Request-Id": {"r1"}},
			body:      `{"error_code":"GOM.00007256","error_msg":"Invalid parameter","provider_code":4,"data":null}`,
			wantClass: ClassPermanent, wantCode: CodeInvalidParameter, wantMsg: "Invalid parameter", wantRID: "r1"},
		{name: "ticket not found", op: OpGetTicket, status: 400,
			body:      `{"error_code":"COC.00067003","error_msg":"The service ticket does not exist.","provider_code":4}`,
			wantClass: ClassPermanent, wantCode: CodeTicketNotFound},
		{name: "2xx with an error code", op: OpCreateTicket, status: 200,
			body:      `{"error_code":"GOM.00007256","error_msg":"Invalid parameter","provider_code":"049"}`,
			wantClass: ClassAmbiguous, wantCode: CodeInvalidParameter},
		{name: "gateway envelope with request id", op: OpGetTicket, status: 401,
			body:      `{"error_code":"APIG.0301","error_msg":"Incorrect IAM authentication information","request_id":"gw-1"}`,
			wantClass: ClassPermanent, wantCode: CodeAuthFailed, wantRID: "gw-1"},
		{name: "throttled, Retry-After seconds", op: OpCreateTicket, status: 429, header: http.Header{"Retry-After": {"3"}},
			body:      `{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached"}`,
			wantClass: ClassRetryable, wantCode: CodeThrottled, wantAfter: 3 * time.Second},
		{name: "throttled with APIGW spelling and a date", op: OpListTickets, status: 200,
			header:    http.Header{"Retry-After": {now.Add(9 * time.Second).Format(http.TimeFormat)}},
			body:      `{"error_code":"APIGW.0308","error_msg":"throttled"}`,
			wantClass: ClassRetryable, wantCode: "APIGW.0308", wantAfter: 9 * time.Second},
		{name: "throttled until a date centuries away", op: OpCreateTicket, status: 429,
			header:    http.Header{"Retry-After": {"Wed, 21 Oct 5012 07:28:00 GMT"}},
			body:      `{"error_code":"APIG.0308","error_msg":"throttled"}`,
			wantClass: ClassRetryable, wantCode: CodeThrottled, wantAfter: 24 * time.Hour},
		{name: "throttled for years in seconds", op: OpCreateTicket, status: 429,
			header:    http.Header{"Retry-After": {"99999999999999"}},
			body:      `{"error_code":"APIG.0308","error_msg":"throttled"}`,
			wantClass: ClassRetryable, wantCode: CodeThrottled, wantAfter: 24 * time.Hour},
		{name: "nested code/message", op: OpGetTicket, status: 500, body: `{"error":{"code":"APIG.0103","message":"internal"}}`,
			wantClass: ClassRetryable, wantCode: "APIG.0103", wantMsg: "internal"},
		{name: "code/message at the top", op: OpGetTicket, status: 403, body: `{"code":"APIG.0302","message":"denied"}`,
			wantClass: ClassPermanent, wantCode: "APIG.0302"},
		{name: "html 502", op: OpCreateTicket, status: 502, body: "<html>\n<body><h1>502 Bad Gateway</h1></body>\n</html>",
			wantClass: ClassAmbiguous, wantMsg: "unparsable answer: <html> <body><h1>502 Bad Gateway</h1></body> </html>"},
		{name: "truncated json 200 on create", op: OpCreateTicket, status: 200, body: `{"error_code":"GOM.00000000","data":{"ticket_`,
			wantClass: ClassAmbiguous, wantMsg: "unparsable answer"},
		{name: "truncated json 200 on show", op: OpGetTicket, status: 200, body: `{"error_code":"GOM.0000`,
			wantClass: ClassRetryable},
		{name: "empty 200 on list", op: OpListTickets, status: 200, body: ``, wantClass: ClassRetryable, wantMsg: "empty answer"},
		{name: "json array", op: OpGetTicket, status: 200, body: `[1,2]`, wantClass: ClassRetryable},
		{name: "json null", op: OpCreateTicket, status: 200, body: `null`, wantClass: ClassAmbiguous},
		{name: "504 on create", op: OpCreateTicket, status: 504, body: `{"error_code":"APIG.0203","error_msg":"Backend timeout"}`,
			wantClass: ClassAmbiguous, wantCode: CodeBackendTimeout},
		{name: "504 on show", op: OpGetTicket, status: 504, body: `{"error_code":"APIG.0203"}`, wantClass: ClassRetryable,
			wantCode: CodeBackendTimeout},
		{name: "503 on create", op: OpCreateTicket, status: 503, body: `{"error_code":"APIG.0202"}`, wantClass: ClassAmbiguous,
			wantCode: CodeBackendDown},
		{name: "redirect", op: OpGetTicket, status: 302, body: ``, wantClass: ClassPermanent},
		{name: "body cut on a 200 create", op: OpCreateTicket, status: 200, readErr: io.ErrUnexpectedEOF,
			wantClass: ClassAmbiguous},
		{name: "body cut on a 503", op: OpCreateTicket, status: 503, readErr: io.ErrUnexpectedEOF, wantClass: ClassAmbiguous},
		{name: "body cut on a 503 read", op: OpGetTicket, status: 503, readErr: io.ErrUnexpectedEOF, wantClass: ClassRetryable},
		{name: "long garbage is truncated", op: OpGetTicket, status: 500, body: strings.Repeat("é", 300),
			wantClass: ClassRetryable, wantMsg: strings.Repeat("é", 100) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			data, e := interpret(tt.op, &http.Response{StatusCode: tt.status, Header: h}, []byte(tt.body), tt.readErr, now)
			if tt.wantData != "" {
				if e != nil || string(data) != tt.wantData {
					t.Fatalf("got data %s, error %v; want data %s", data, e, tt.wantData)
				}
				return
			}
			if e == nil {
				t.Fatalf("no error, data %s", data)
			}
			if e.Class != tt.wantClass || e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) ||
				e.RequestID != tt.wantRID || e.RetryAfter != tt.wantAfter || e.StatusCode != tt.status {
				t.Fatalf("got %#v (%v)", e, e)
			}
			if tt.readErr != nil && !errors.Is(e, tt.readErr) {
				t.Fatalf("%v does not wrap %v", e, tt.readErr)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Operation: OpCreateTicket, StatusCode: 400, Code: CodeInvalidParameter, Message: "Invalid parameter", RequestID: "X"},
			"coc create_ticket: http 400 GOM.00007256: Invalid parameter (request id X)"},
		{&Error{Operation: OpGetTicket, StatusCode: 502, Message: "unparsable answer: <html>"},
			"coc get_ticket: http 502: unparsable answer: <html>"},
		{&Error{Operation: OpListTickets, Err: io.EOF}, "coc list_tickets: EOF"},
		{&Error{Class: ClassAmbiguous}, "coc: ambiguous error"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestRetryPolicyDelay(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second,
		JitterFunc: func(d time.Duration) time.Duration { return d }}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := p.Delay(i+1, 0); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := p.Delay(1, 5*time.Second); got != 5*time.Second {
		t.Errorf("Delay with Retry-After 5s = %v", got)
	}
	if got := p.Delay(1000, 0); got != time.Second {
		t.Errorf("Delay(1000) = %v, want the cap", got)
	}
	var def RetryPolicy
	for i := 1; i < 50; i++ {
		if d := def.Delay(i, 0); d < 0 || d > DefaultMaxDelay {
			t.Fatalf("default Delay(%d) = %v outside [0, %v]", i, d, DefaultMaxDelay)
		}
	}
}

// TestRateLimiterHoldsQPS drives the bucket with a fake clock: over 10
// seconds at QPS 10, burst 1, exactly 1 + 100 events pass.
func TestRateLimiterHoldsQPS(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		qps   float64
		burst int
		want  int
	}{{10, 1, 101}, {10, 5, 105}, {0, 0, DefaultBurst + 10*DefaultQPS}} {
		rl, err := newRateLimiter(tt.qps, tt.burst, 0, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x"}))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		allowed := 0
		for at := start; !at.After(start.Add(10 * time.Second)); at = at.Add(time.Millisecond) {
			if rl.allowAt(at) {
				allowed++
			}
		}
		if allowed != tt.want {
			t.Errorf("QPS %v burst %d: %d events in 10s, want %d", tt.qps, tt.burst, allowed, tt.want)
		}
	}
	if _, err := newRateLimiter(-1, 1, 0, nil); err == nil {
		t.Error("negative QPS accepted")
	}
}
