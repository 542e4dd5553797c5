package bridge_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// simClock is the bridge's clock in fault tests: delivery schedules, leases
// and ages follow it, so hours of outage pass in milliseconds; HTTP, polling
// and the fake COC keep real time.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// newCOCServer serves fake over real HTTP for the test and returns its URL.
func newCOCServer(t *testing.T, fake *coctest.Server) string {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return srv.URL
}

// readyBody is the JSON of /-/ready.
type readyBody struct {
	Status         string `json:"status"`
	Reason         string `json:"reason"`
	Store          string `json:"store"`
	COCCredentials string `json:"coc_credentials"`
	Delivery       *struct {
		State            string     `json:"state"`
		OldestKey        string     `json:"oldest_key"`
		OldestAgeSeconds float64    `json:"oldest_age_seconds"`
		Attempts         int        `json:"attempts"`
		NextAttempt      *time.Time `json:"next_attempt"`
		LastError        string     `json:"last_error"`
	} `json:"delivery"`
}

// ready reads /-/ready.
func (e *env) ready() (int, readyBody) {
	e.t.Helper()
	resp, err := http.Get(e.webhook.URL + "/-/ready")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var rb readyBody
	if err := json.Unmarshal(raw, &rb); err != nil {
		e.t.Fatalf("/-/ready answered %d with %q: %v", resp.StatusCode, raw, err)
	}
	return resp.StatusCode, rb
}

// waitRescheduled waits until the only outbox item has failed attempt n and
// is waiting for its next attempt (lease released), and returns it.
func (e *env) waitRescheduled(n int) bridge.OutboxItem {
	e.t.Helper()
	var item bridge.OutboxItem
	waitFor(e.t, 10*time.Second, "attempt to be rescheduled", func() bool {
		items := e.outbox()
		if len(items) != 1 {
			return false
		}
		item = items[0]
		return item.Attempts == n && item.LeaseOwner == "" && item.LastError != ""
	})
	return item
}

// TestLongCOCOutage keeps COC down for hours of simulated time. The one
// notification is kept and retried with exponential backoff capped at
// RetryMaxDelay (gaps counted at the fake COC), repeats are suppressed, the
// outbox age gauge and /-/ready report the outage while the bridge stays
// ready, and the ticket is created once COC is back.
//
// Memory stays flat by construction, which is why it is not measured here:
// a failed attempt changes only the item's row (attempts, next_attempt,
// last_error are overwritten), the worker's last logged error (one string)
// and counters with fixed label sets; nothing in memory is appended per
// attempt or per waiting item.
func TestLongCOCOutage(t *testing.T) {
	t.Parallel()
	const base, maxDelay = time.Second, 5 * time.Minute
	clock := &simClock{now: t0}
	e := newEnv(t, envOptions{
		// One HTTP call per delivery attempt, so the fake counts attempts.
		clientOpts: func(o *client.Options) { o.Retry.MaxAttempts = 1 },
		mutate: func(o *bridge.Options) {
			o.NowFunc = clock.Now
			o.RetryBaseDelay, o.RetryMaxDelay = base, maxDelay
			o.JitterFunc = func(d time.Duration) time.Duration { return d } // the ceiling: exact gaps
			o.PollInterval = 5 * time.Millisecond
		},
	})
	e.fake.SetDown(true)
	body := firing("Outage")
	e.mustAccept(body)

	// A 503 to the create makes its outcome unclear: the first lookup of
	// the schedule is due at once (attempt 2, without a wait). From then on
	// the lookups fail too and back off: 2s, 4s ... 256s, then 300s (the
	// cap) from attempt 10 on.
	const capped = 14
	for n := 2; n <= capped; n++ {
		item := e.waitRescheduled(n)
		// A 503 to a create is ambiguous: every later attempt looks the key
		// up first, and the lookup meets the outage too. One call per attempt.
		creates, lookups := e.fake.Calls(client.OpCreateTicket), e.fake.Calls(client.OpListTickets)
		if creates != 1 || creates+lookups != n {
			t.Fatalf("after attempt %d the fake saw %d creates and %d lookups", n, creates, lookups)
		}
		want := min(base<<(n-1), maxDelay)
		if gap := item.NextAttempt.Sub(clock.Now()); gap != want {
			t.Errorf("attempt %d: next attempt in %v, want %v", n, gap, want)
		}
		if !strings.Contains(item.LastError, "503") || !strings.Contains(item.LastError, client.CodeBackendDown) {
			t.Errorf("attempt %d: last error %q does not say COC is unavailable", n, item.LastError)
		}
		if n == 3 {
			// Alertmanager repeats the notification meanwhile: nothing new is queued.
			e.mustAccept(body)
		}
		clock.Set(item.NextAttempt)
	}

	// Six hours pass at once; the gap stays at the cap.
	item := e.waitRescheduled(capped + 1)
	clock.Set(item.NextAttempt.Add(6 * time.Hour))
	item = e.waitRescheduled(capped + 2)
	if gap := item.NextAttempt.Sub(clock.Now()); gap != maxDelay {
		t.Errorf("after six hours down: next attempt in %v, want the cap %v", gap, maxDelay)
	}
	age := clock.Now().Sub(t0).Seconds()
	waitFor(t, 10*time.Second, "the outbox age gauge to show the outage", func() bool {
		return metricValue(t, e.reg, "coc_bridge_outbox_oldest_age_seconds") == age
	})
	code, rb := e.ready()
	if code != http.StatusOK || rb.Status != "ready" || rb.Delivery == nil {
		t.Fatalf("/-/ready during the outage = %d %+v, want 200: the bridge still accepts durably", code, rb)
	}
	if d := rb.Delivery; d.State != "failing" || d.OldestAgeSeconds != age || d.Attempts != capped+2 ||
		!strings.Contains(d.LastError, client.CodeBackendDown) || d.NextAttempt == nil || !d.NextAttempt.Equal(item.NextAttempt) {
		t.Errorf("/-/ready delivery = %+v, want failing, age %v, %d attempts, the COC error", *d, age, capped+2)
	}
	if got := metricValue(t, e.reg, "coc_bridge_ready"); got != 1 {
		t.Errorf("coc_bridge_ready = %v during a COC outage, want 1", got)
	}
	if got := counterValue(t, e.reg, "coc_bridge_decisions_total", "decision", "suppress_pending"); got != 1 {
		t.Errorf("suppress_pending = %v, want 1", got)
	}

	// COC is back: the next attempt creates the ticket.
	e.fake.SetDown(false)
	clock.Set(item.NextAttempt)
	e.waitSettled(1)
	e.assertOneTicketPerKey(1)
	// The first create met the outage; the one after it is back follows a
	// lookup that found nothing.
	if got := e.fake.Calls(client.OpCreateTicket); got != 2 {
		t.Errorf("the fake saw %d creates, want 2", got)
	}
	if got := e.fake.Calls(client.OpListTickets); got != capped+2 {
		t.Errorf("the fake saw %d lookups, want %d", got, capped+2)
	}
	if got := counterValue(t, e.reg, "coc_bridge_deliveries_total", "result", "retry"); got != capped+2 {
		t.Errorf("retries counted = %v, want %d", got, capped+2)
	}
	waitFor(t, 10*time.Second, "the outbox age gauge to drop", func() bool {
		return metricValue(t, e.reg, "coc_bridge_outbox_oldest_age_seconds") == 0
	})
	if code, rb := e.ready(); code != http.StatusOK || rb.Delivery == nil || rb.Delivery.State != "idle" {
		t.Errorf("/-/ready after the outage = %d %+v", code, rb)
	}
}

// TestGarbageAnswerToCreateIsLookedUpNotDuplicated answers creates with a
// 200 the client cannot read, with and without COC having created the
// ticket. The bridge looks the key up before creating again: one ticket
// per key either way, nothing dead-lettered.
func TestGarbageAnswerToCreateIsLookedUpNotDuplicated(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		fault   coctest.Fault
		adopted bool // the ticket was created by the garbage-answered call
	}{
		{"truncated JSON, ticket created", coctest.Fault{Status: 200, Apply: true,
			Body: `{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":{"ticket_id":"ISU2026`}, true},
		{"empty body, ticket created", coctest.Fault{Status: 200, Apply: true, EmptyBody: true}, true},
		{"answer cut halfway, ticket created", coctest.Fault{Status: 200, Apply: true, Truncate: true}, true},
		{"html page, no ticket", coctest.Fault{Status: 200,
			Body: "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>"}, false},
		{"success without a ticket id, no ticket", coctest.Fault{Status: 200,
			Body: `{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":null}`}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			e.fake.FailNext(client.OpCreateTicket, 1, tt.fault)
			e.mustAccept(firing("Garbage"))
			e.waitSettled(1)
			e.assertOneTicketPerKey(1)
			if e.fake.Calls(client.OpListTickets) == 0 {
				t.Error("no lookup by source_id after the unreadable answer")
			}
			wantCreates, wantAdopted := 2, 0.0
			if tt.adopted {
				wantCreates, wantAdopted = 1, 1
			}
			if got := e.fake.Calls(client.OpCreateTicket); got != wantCreates {
				t.Errorf("the fake saw %d creates, want %d", got, wantCreates)
			}
			// The counters follow the store write that settled the key.
			waitFor(t, 10*time.Second, "the ticket to be counted", func() bool {
				return counterValue(t, e.reg, "coc_bridge_tickets_adopted_total", "", "")+
					counterValue(t, e.reg, "coc_bridge_tickets_created_total", "", "") == 1
			})
			if got := counterValue(t, e.reg, "coc_bridge_tickets_adopted_total", "", ""); got != wantAdopted {
				t.Errorf("adopted = %v, want %v", got, wantAdopted)
			}
			if got := counterValue(t, e.reg, "coc_bridge_dead_letters_total", "", ""); got != 0 {
				t.Errorf("dead letters = %v", got)
			}
		})
	}
}

// TestClockSkewIsLoggedAndRetried runs COC's clock seven hours ahead of
// this host's: every attempt is refused, logged once with the cause, and
// kept pending (not dead-lettered); once the clocks agree the ticket is
// created without a replay.
func TestClockSkewIsLoggedAndRetried(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	skew := 7 * time.Hour
	fake := coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK, NowFunc: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(skew)
	}})
	srv := newCOCServer(t, fake)
	core, logs := observer.New(zapcore.DebugLevel)
	e := newEnv(t, envOptions{fake: fake, cocURL: srv,
		clientOpts: func(o *client.Options) { o.Retry.MaxAttempts = 4 },
		mutate:     func(o *bridge.Options) { o.Logger = zap.New(core) },
	})
	e.mustAccept(firing("Skew"))
	waitFor(t, 10*time.Second, "three refused attempts", func() bool {
		items := e.outbox()
		return len(items) == 1 && items[0].Attempts >= 3 && items[0].LeaseOwner == ""
	})
	items := e.outbox()
	if items[0].State != bridge.ItemPending || !strings.Contains(items[0].LastError, "check this host's clock (NTP)") {
		t.Fatalf("outbox item %+v: want pending with the clock named", items[0])
	}
	if code, rb := e.ready(); code != http.StatusOK || rb.Delivery == nil || !strings.Contains(rb.Delivery.LastError, "COC rejected the request time") {
		t.Errorf("/-/ready = %d %+v, want the refusal reported", code, rb)
	}
	mu.Lock()
	skew = 0
	mu.Unlock()
	e.waitSettled(1)
	e.assertOneTicketPerKey(1)

	attempts := 0
	for _, entry := range logs.All() {
		if !strings.HasPrefix(entry.Message, "ticket delivery failed") {
			continue
		}
		attempts++
		msg, _ := entry.ContextMap()["error"].(string)
		if !strings.Contains(msg, "COC rejected the request time: X-Sdk-Date ") || !strings.Contains(msg, "check this host's clock (NTP)") {
			t.Errorf("log %q has error %q, want the clock named", entry.Message, msg)
		}
		if entry.ContextMap()["class"] != "retryable" {
			t.Errorf("log %q class = %v, want retryable", entry.Message, entry.ContextMap()["class"])
		}
	}
	// One HTTP call per attempt (the client does not repeat a time refusal),
	// one log line per failed attempt; the last call succeeded.
	if creates := e.fake.Calls(client.OpCreateTicket); attempts != creates-1 || attempts < 3 {
		t.Errorf("%d failure logs for %d creates, want one per refused attempt", attempts, creates)
	}
	if got := counterValue(t, e.reg, "coc_bridge_dead_letters_total", "", ""); got != 0 {
		t.Errorf("dead letters = %v", got)
	}
}
