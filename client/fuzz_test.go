package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkEscaped fails unless s holds only unreserved bytes and %XX with
// upper-case hex digits.
func checkEscaped(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			continue
		}
		if c != '%' || i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
			t.Fatalf("escaped %q has a bad byte at %d", s, i)
		}
		i += 2
	}
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", "+", "/", "~", "ü", "中文", "%2F", "a=b&c", "\x00\xff", ".-_~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := escape(s)
		checkEscaped(t, out)
		back, err := url.PathUnescape(out)
		if err != nil || back != s {
			t.Fatalf("PathUnescape(escape(%q)) = %q, %v", s, back, err)
		}
		if escape(s) != out {
			t.Fatal("escape is not deterministic")
		}
	})
}

func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{
		"", "a=1", "b=2&a=1", "tag=zeta&tag=%C3%BC%2Fx&tag=alpha%20beta", "empty", "v=%2Fb&v=.a&v=-c&v=~d&v=_e",
		"a=x%2Fy&a=~tilde&b=two%20words&c=%E4%B8%AD%E6%96%87&empty", "k=a+b", "=v", "a=&a=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got := canonicalQuery(q)
		if len(q) == 0 {
			if got != "" {
				t.Fatalf("empty query gave %q", got)
			}
			return
		}
		var keys []string
		var prevKey, prevVal string
		n := 0
		for pair := range strings.SplitSeq(got, "&") {
			k, v, ok := strings.Cut(pair, "=")
			if !ok || strings.Contains(v, "=") {
				t.Fatalf("pair %q of %q is not key=value", pair, got)
			}
			checkEscaped(t, k)
			checkEscaped(t, v)
			rk, err1 := url.PathUnescape(k)
			rv, err2 := url.PathUnescape(v)
			if err1 != nil || err2 != nil {
				t.Fatalf("pair %q does not unescape", pair)
			}
			if n > 0 && (rk < prevKey || rk == prevKey && rv < prevVal) {
				t.Fatalf("%q is not sorted by raw bytes", got)
			}
			if n == 0 || rk != prevKey {
				keys = append(keys, rk)
			}
			if !slices.Contains(q[rk], rv) {
				t.Fatalf("pair %q is not in the query", pair)
			}
			prevKey, prevVal = rk, rv
			n++
		}
		total := 0
		for _, vs := range q {
			total += max(1, len(vs))
		}
		if n != total || len(keys) != len(q) {
			t.Fatalf("%q has %d pairs and %d keys, query has %d values and %d keys", got, n, len(keys), total, len(q))
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	seeds := []string{
		`{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":{"ticket_id":"ISU1","id":"x","is_start_process":true}}`,
		`{"error_code":"GOM.00000000","error_msg":null,"provider_code":"049","data":{"tickets":[{"ticket_id":"ISU1","source_id":"k","enum_data_list":[{"prop_id":"work_flow_status"}]}],"total":1}}`,
		`{"error_code":"GOM.00007256","error_msg":"Invalid parameter","provider_code":4,"data":null}`,
		`{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached","request_id":"abc"}`,
		`{"error":{"code":"APIG.0301","message":"Incorrect IAM authentication information"}}`,
		`<html><body><h1>502 Bad Gateway</h1></body></html>`,
		`{"error_code":"GOM.000`, ``, `null`, `[]`, `{"data":"str"}`, `{"data":{"fount_time":"12","is_deleted":"true","enum_data_list":"x"}}`,
		`{"error_code":123,"error_msg":{"a":1}}`,
	}
	for i, s := range seeds {
		f.Add(200+i%3*100+i%2*29, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = 100 + abs(status)%500
		for _, op := range []string{OpCreateTicket, OpGetTicket, OpListTickets} {
			resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {string(body[:min(len(body), 8)])}}}
			data, e := interpret(op, resp, body, nil, time.Unix(0, 0))
			if e != nil {
				if e.Class < ClassRetryable || e.Class > ClassAmbiguous || e.Error() == "" || e.Operation != op {
					t.Fatalf("bad error %#v", e)
				}
				if status >= 200 && status < 300 && op == OpCreateTicket && e.Class == ClassRetryable && !isThrottle(status, e.Code) {
					t.Fatalf("2xx create error classified retryable: %v", e)
				}
				continue
			}
			if status < 200 || status >= 300 {
				t.Fatalf("status %d gave no error", status)
			}
			var w wireTicket
			_ = decodeObject(data, &w)
			_ = w.ticket().StatusName()
			var l struct {
				Tickets flexList[wireTicket] `json:"tickets"`
			}
			_ = decodeObject(data, &l)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // math.MinInt
			return 0
		}
		return -n
	}
	return n
}

// fuzzAnswer is the answer the fuzzed COC server gives next.
type fuzzAnswer struct {
	mu         sync.Mutex
	status     int
	retryAfter string
	body       []byte
}

func (a *fuzzAnswer) set(status int, retryAfter string, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.retryAfter, a.body = status, retryAfter, body
}

func (a *fuzzAnswer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// The three calls, end to end over HTTP, turn any answer into a result or
// an *Error of the call's operation and a known class: a create never
// succeeds without a ticket id, a lookup returns only tickets of the
// source_id asked for, and an answer outside 2xx is never a success.
func FuzzTicketAnswers(f *testing.F) {
	seeds := []string{
		`{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":{"ticket_id":"ISU1","id":"x","is_start_process":true}}`,
		`{"error_code":"GOM.00000000","data":{"tickets":[{"ticket_id":"ISU1","source_id":"key-1","work_flow_status":"issues_work_flow_status_12000","enum_data_list":[{"prop_id":"work_flow_status","name_en":"Completed"}]},{"ticket_id":"ISU2","source_id":"other"}],"total":2}}`,
		`{"error_code":"GOM.00000000","data":{"ticket_id":"ISU1","source_id":"key-1","fount_time":"1700000000000","is_deleted":"false","regions":["x"]}}`,
		`{"error_code":"GOM.00007256","error_msg":"Invalid parameter","provider_code":4,"data":null}`,
		`{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached","request_id":"abc"}`,
		`{"error":{"code":"APIG.0301","message":"Incorrect IAM authentication information"}}`,
		`<html><body><h1>502 Bad Gateway</h1></body></html>`,
		`{"data":{"tickets":"none"}}`, `{"data":{"tickets":[1,null,{"source_id":"key-1"}]}}`, `{"data":[]}`,
		`{"error_code":"GOM.00000000","data":{"ticket_id":{"nested":true}}}`, `{"data":{"ticket_id":"ISU1"},"data":null}`,
		`{"error_code":"GOM.00000000","data":{"ticket_id":"ISU\ud800"}}`, "\xff\xfe{}", ``,
	}
	for i, s := range seeds {
		f.Add(200+i%4*100+i%3*29, strconv.Itoa(i%3), []byte(s))
	}
	f.Add(200, "Wed, 21 Oct 2015 07:28:00 GMT", []byte(strings.Repeat("[", 100000)))
	answer := &fuzzAnswer{}
	srv := httptest.NewServer(answer)
	f.Cleanup(srv.Close)
	c, err := New(Options{
		Endpoint:    srv.URL,
		Credentials: StaticCredentials{AccessKey: "HWCFUZZAK0000000001", SecretKey: Secret("fuzz-secret")},
		QPS:         1e6, Burst: 1000,
		Retry: RetryPolicy{MaxAttempts: 1, AttemptTimeout: 5 * time.Second},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		status = 200 + abs(status)%400 // 1xx answers are not final answers
		if !isToken(retryAfter) {
			retryAfter = ""
		}
		answer.set(status, retryAfter, body)
		ok := status >= 200 && status < 300
		checkErr := func(op string, err error) {
			t.Helper()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: error %T is not an *Error: %v", op, err, err)
			}
			if e.Operation != op || e.Class < ClassRetryable || e.Class > ClassAmbiguous || e.Error() == "" {
				t.Fatalf("%s: bad error %#v", op, e)
			}
			if e.RetryAfter < 0 || e.RetryAfter > 24*time.Hour {
				t.Fatalf("%s: Retry-After %q gave %v", op, retryAfter, e.RetryAfter)
			}
		}
		ctx := context.Background()
		res, err := c.CreateIssueTicket(ctx, CreateTicketRequest{Title: "t", Description: "d", SourceID: "key-1"})
		switch {
		case err != nil:
			checkErr(OpCreateTicket, err)
		case !ok || res.TicketID == "":
			t.Fatalf("create succeeded with status %d and ticket %q", status, res.TicketID)
		}
		if _, err := c.GetTicket(ctx, "ISU1"); err != nil {
			checkErr(OpGetTicket, err)
		} else if !ok {
			t.Fatalf("get succeeded with status %d", status)
		}
		found, err := c.FindTicketsBySourceID(ctx, "key-1")
		if err != nil {
			checkErr(OpListTickets, err)
			return
		}
		if !ok {
			t.Fatalf("list succeeded with status %d", status)
		}
		for _, tk := range found {
			if tk.SourceID != "key-1" {
				t.Fatalf("lookup returned a ticket of source_id %q", tk.SourceID)
			}
		}
	})
}

// isToken reports whether s can be sent as a header value.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}
