package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// TestSigningTimeComesFromTheClock checks X-Sdk-Date is the time of the
// attempt: the real clock by default, NowFunc when set.
func TestSigningTimeComesFromTheClock(t *testing.T) {
	t.Parallel()
	t.Run("real clock by default", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil, nil)
		before := time.Now().UTC().Truncate(time.Second)
		if _, err := h.c.FindTicketsBySourceID(t.Context(), "clock"); err != nil {
			t.Fatal(err)
		}
		after := time.Now().UTC()
		reqs := h.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		at, err := time.Parse(client.DateLayout, reqs[0].header.Get(client.HeaderDate))
		if err != nil || at.Before(before) || at.After(after) {
			t.Fatalf("X-Sdk-Date %q (%v) outside [%v, %v]", reqs[0].header.Get(client.HeaderDate), err, before, after)
		}
	})
	t.Run("NowFunc", func(t *testing.T) {
		t.Parallel()
		at := time.Date(2026, 11, 23, 10, 15, 30, 0, time.UTC)
		h := newHarness(t, func(o *coctest.Options) { o.NowFunc = func() time.Time { return at } },
			func(o *client.Options) { o.NowFunc = func() time.Time { return at } })
		if _, err := h.c.FindTicketsBySourceID(t.Context(), "clock"); err != nil {
			t.Fatal(err)
		}
		if got := h.requests()[0].header.Get(client.HeaderDate); got != "20261123T101530Z" {
			t.Fatalf("X-Sdk-Date = %q, want 20261123T101530Z", got)
		}
	})
}

// TestRequestTimeRejectedIsExplained puts this host's clock and COC's apart
// and checks the refusal names the cause and the date sent, is retryable
// (the request never reached COC and works once the clock is fixed) and is
// not repeated within the call. A refusal with the clocks in step stays a
// permanent authentication error.
func TestRequestTimeRejectedIsExplained(t *testing.T) {
	t.Parallel()
	coc := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	generic := coctest.Fault{Status: http.StatusUnauthorized, Code: client.CodeAuthFailed,
		Message: "Incorrect IAM authentication information: verify aksk signature fail"}
	for _, tt := range []struct {
		name      string
		host      time.Duration // this host's clock minus COC's
		wideSkew  bool          // the fake accepts any date (to script the gateway's own message)
		fault     *coctest.Fault
		secret    string
		wantErr   error
		wantClass client.Class
		wantText  string
	}{
		{name: "host clock 7h ahead", host: 7 * time.Hour, wantErr: client.ErrRequestTimeRejected, wantClass: client.ClassRetryable,
			wantText: "COC rejected the request time: X-Sdk-Date 20261123T170000Z is 7h0m0s ahead of COC's clock " +
				"(Date: Mon, 23 Nov 2026 10:00:00 GMT); check this host's clock (NTP)"},
		{name: "host clock 20m behind", host: -20 * time.Minute, wantErr: client.ErrRequestTimeRejected, wantClass: client.ClassRetryable,
			wantText: "X-Sdk-Date 20261123T094000Z is 20m0s behind COC's clock"},
		// The real gateway words a time refusal like a bad signature; the
		// Date header tells them apart.
		{name: "gateway's generic message", host: -3 * time.Hour, wideSkew: true, fault: &generic,
			wantErr: client.ErrRequestTimeRejected, wantClass: client.ClassRetryable,
			wantText: "verify aksk signature fail: COC rejected the request time: X-Sdk-Date 20261123T070000Z is 3h0m0s behind"},
		{name: "wrong secret, clocks in step", secret: "wrong", wantClass: client.ClassPermanent,
			wantText: "http 401 APIG.0301: Incorrect IAM authentication information: signature mismatch"},
		{name: "wrong secret, clock 10m off (inside the window)", host: 10 * time.Minute, secret: "wrong",
			wantClass: client.ClassPermanent, wantText: "signature mismatch"},
		{name: "access key locked", fault: &coctest.Fault{Status: http.StatusUnauthorized, Code: client.CodeAuthFailed,
			Message: "Incorrect IAM authentication information: AK access failed to reach the limit,forbidden."},
			wantErr: client.ErrAccessKeyLocked, wantClass: client.ClassRetryable, wantText: "retried after the lock ends"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(o *coctest.Options) {
				o.NowFunc = func() time.Time { return coc }
				if tt.wideSkew {
					o.MaxSkew = 24 * time.Hour
				}
			}, func(o *client.Options) {
				o.NowFunc = func() time.Time { return coc.Add(tt.host) }
				if tt.secret != "" {
					o.Credentials = client.StaticCredentials{AccessKey: testAK, SecretKey: client.Secret(tt.secret)}
				}
			})
			if tt.fault != nil {
				h.fake.FailNext("", 1, *tt.fault)
			}
			_, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("skew"))
			var ce *client.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *client.Error", err)
			}
			if client.Classify(err) != tt.wantClass || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %q, class %v; want class %v and %q", err, client.Classify(err), tt.wantClass, tt.wantText)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantErr == nil &&
				(errors.Is(err, client.ErrRequestTimeRejected) || errors.Is(err, client.ErrAccessKeyLocked)) {
				t.Errorf("errors.Is(%v, %v) does not hold as expected", err, tt.wantErr)
			}
			if !authRefused(err) {
				t.Errorf("IsAuthError(%v) = false", err)
			}
			if ce.Attempts != 1 || h.fake.Calls(client.OpCreateTicket) != 1 || len(h.waits()) != 0 {
				t.Errorf("attempts %d, creates %d, waits %v: a refusal must not be repeated within the call",
					ce.Attempts, h.fake.Calls(client.OpCreateTicket), h.waits())
			}
		})
	}
}

// TestRequestTimeRejectedWithoutDateHeader covers a gateway that sends no
// Date header: its message has to say the request expired.
func TestRequestTimeRejectedWithoutDateHeader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		msg      string
		explains bool
	}{
		{"Incorrect IAM authentication information: request expired", true},
		{"Incorrect IAM authentication information: X-Sdk-Date too far from the server clock", true},
		{"Incorrect IAM authentication information: verify aksk signature fail", false},
		{"Incorrect IAM authentication information: token expires, expires_at: 2026-11-23T10:00:00Z", false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Date"] = nil // net/http adds none
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error_code":"APIG.0301","error_msg":"` + tt.msg + `","request_id":"r1"}`))
		}))
		c, err := client.New(client.Options{Endpoint: srv.URL,
			Credentials: client.StaticCredentials{AccessKey: testAK, SecretKey: testSK},
			NowFunc:     func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) },
			Retry:       client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetTicket(t.Context(), "ISU1")
		srv.Close()
		if got := errors.Is(err, client.ErrRequestTimeRejected); got != tt.explains {
			t.Errorf("%q: explained as a time refusal = %v, want %v (err %v)", tt.msg, got, tt.explains, err)
		}
		if tt.explains && (client.Classify(err) != client.ClassRetryable ||
			!strings.Contains(err.Error(), "X-Sdk-Date 20261123T100000Z; check this host's clock (NTP)")) {
			t.Errorf("%q: err = %v, class %v", tt.msg, err, client.Classify(err))
		}
		if !tt.explains && client.Classify(err) != client.ClassPermanent {
			t.Errorf("%q: class %v, want permanent", tt.msg, client.Classify(err))
		}
	}
}
