package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/sqlite"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// These tests build each part of the pipeline on its own, on a real SQLite
// file and the fake COC over real HTTP: no Bridge, no other part.

func partStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "parts.db"), sqlite.Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func partMapper(t *testing.T) *mapping.Mapper {
	t.Helper()
	cfg := mapping.DefaultConfig()
	cfg.Instance = "test"
	cfg.Fields.IssueContactPerson = testContact
	m, err := mapping.New(cfg)
	if err != nil {
		t.Fatalf("mapper: %v", err)
	}
	return m
}

func partCOC(t *testing.T) (*coctest.Server, *client.Client) {
	t.Helper()
	fake := coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := client.New(client.Options{
		Endpoint:    srv.URL,
		Credentials: client.StaticCredentials{AccessKey: testAK, SecretKey: client.Secret(testSK)},
		QPS:         1000, Burst: 100,
		Retry: client.RetryPolicy{MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
			MaxElapsed: time.Second, AttemptTimeout: 2 * time.Second},
		Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return fake, c
}

// accept stores a firing notification of group straight into the store.
func partAccept(t *testing.T, s bridge.Store, m *mapping.Mapper, group string) string {
	t.Helper()
	msg, err := mapping.Decode(firing(group))
	if err != nil {
		t.Fatal(err)
	}
	key := m.Key(msg)
	level, _ := m.Level(msg)
	if _, err := s.Accept(context.Background(), bridge.Notification{Key: key, Receiver: msg.Receiver,
		Firing: true, Level: level, Message: firing(group), ReceivedAt: time.Now()}); err != nil {
		t.Fatalf("accept: %v", err)
	}
	return key
}

func TestReceiverStandalone(t *testing.T) {
	t.Parallel()
	store, mapper := partStore(t), partMapper(t)
	m, _ := bridge.NewTestMetrics()
	var queued atomic.Int32
	rc := bridge.NewReceiver(bridge.ReceiverOptions{
		Store: store, Mapper: mapper, MaxBodyBytes: 1 << 20, Queued: func() { queued.Add(1) },
		NowFunc: time.Now, Logger: zaptest.NewLogger(t), Metrics: m,
	})
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	post := func(body string) int {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(string(firing("Standalone"))); code != http.StatusOK {
		t.Fatalf("first firing answered %d, want 200", code)
	}
	if code := post(string(firing("Standalone"))); code != http.StatusOK {
		t.Fatalf("repeat answered %d, want 200", code)
	}
	if code := post(`{"version":"3"}`); code != http.StatusBadRequest {
		t.Fatalf("bad body answered %d, want 400", code)
	}
	items, err := store.Outbox(context.Background(), bridge.OutboxFilter{})
	if err != nil || len(items) != 1 {
		t.Fatalf("outbox = %v, %v; want one item", items, err)
	}
	if queued.Load() != 1 {
		t.Errorf("Queued called %d times, want once (the repeat queues nothing)", queued.Load())
	}
	if got := testutil.ToFloat64(m.Decisions().WithLabelValues("suppress_pending")); got != 1 {
		t.Errorf("suppress_pending decisions = %v, want 1", got)
	}
}

func TestDelivererStandalone(t *testing.T) {
	t.Parallel()
	store, mapper := partStore(t), partMapper(t)
	fake, coc := partCOC(t)
	m, _ := bridge.NewTestMetrics()
	key := partAccept(t, store, mapper, "Deliver")
	dl := bridge.NewDeliverer(bridge.DelivererOptions{
		Store: store, COC: coc, Mapper: mapper, ReplicaID: "standalone", Workers: 2,
		Lease: 10 * time.Second, PollInterval: 10 * time.Millisecond,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 10 * time.Millisecond,
		NowFunc: time.Now, JitterFunc: func(d time.Duration) time.Duration { return d },
		Logger: zaptest.NewLogger(t), Metrics: m,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { dl.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, 10*time.Second, "the ticket to be recorded", func() bool {
		e, err := store.Ledger(context.Background(), bridge.LedgerFilter{Key: key})
		return err == nil && len(e) == 1 && e[0].State == bridge.StateOpen
	})
	if got := fake.TicketsBySourceID(key); len(got) != 1 {
		t.Fatalf("fake COC holds %d tickets for the key, want 1", len(got))
	}
	if got := testutil.ToFloat64(m.TicketsCreated()); got != 1 {
		t.Errorf("tickets created = %v, want 1", got)
	}
}

func TestRefresherStandalone(t *testing.T) {
	t.Parallel()
	store, mapper := partStore(t), partMapper(t)
	fake, coc := partCOC(t)
	m, _ := bridge.NewTestMetrics()
	ctx := context.Background()
	key := partAccept(t, store, mapper, "Refresh")
	// Open the ticket by hand: create it at the fake and record it.
	d, err := store.Claim(ctx, bridge.ClaimRequest{Owner: "test", Limit: 1, Lease: time.Minute, Now: time.Now()})
	if err != nil || len(d) != 1 {
		t.Fatalf("claim = %v, %v", d, err)
	}
	res, err := coc.CreateIssueTicket(ctx, client.CreateTicketRequest{Title: "t", Description: "d",
		EnterpriseProject: "0", TicketType: "issues_type_1000", VirtualScheduleType: "issues_mgmt_virtual_schedule_type_2000",
		IssueContactPerson: testContact, Level: "issues_level_2000", Source: "issues_mgmt_associated_type_1000",
		SourceID: key, Regions: "cn-north-4", FountTime: time.Now().UnixMilli()})
	if err != nil {
		t.Fatalf("create at the fake: %v", err)
	}
	if err := store.Complete(ctx, bridge.Completion{ID: d[0].ID, Owner: "test", TicketID: res.TicketID, Now: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := fake.Complete(res.TicketID); err != nil {
		t.Fatal(err)
	}
	rf := bridge.NewRefresher(bridge.RefresherOptions{
		Store: store, COC: coc, Interval: time.Minute, Batch: 10,
		Sightings: bridge.NewStatusSightings(prometheus.NewRegistry(), zaptest.NewLogger(t)), NowFunc: time.Now,
		Logger: zaptest.NewLogger(t), Metrics: m,
	})
	if n, err := rf.Round(ctx); err != nil || n != 1 {
		t.Fatalf("round = %d, %v; want 1 ticket read", n, err)
	}
	e, err := store.Ledger(ctx, bridge.LedgerFilter{Key: key})
	if err != nil || len(e) != 1 || e[0].State != bridge.StateClosed {
		t.Fatalf("ledger = %+v, %v; want the key closed", e, err)
	}
	if got := testutil.ToFloat64(m.Refreshes().WithLabelValues("released")); got != 1 {
		t.Errorf("released refreshes = %v, want 1", got)
	}
}

func TestProberStandalone(t *testing.T) {
	t.Parallel()
	store, mapper := partStore(t), partMapper(t)
	m, _ := bridge.NewTestMetrics()
	ctx := context.Background()
	partAccept(t, store, mapper, "Probe")
	now := time.Now()
	d, err := store.Claim(ctx, bridge.ClaimRequest{Owner: "test", Limit: 1, Lease: time.Minute, Now: now})
	if err != nil || len(d) != 1 {
		t.Fatalf("claim = %v, %v", d, err)
	}
	// Backed off far into the future during an outage.
	if err := store.Retry(ctx, bridge.RetryRequest{ID: d[0].ID, Owner: "test", NextAttempt: now.Add(time.Hour),
		LastError: "503", Now: now}); err != nil {
		t.Fatal(err)
	}
	clock := now
	var woken atomic.Int32
	p := bridge.NewProber(bridge.ProberOptions{Store: store, Interval: time.Second, AmbiguousDelay: time.Second,
		Wake: func() { woken.Add(1) }, NowFunc: func() time.Time { return clock },
		Logger: zaptest.NewLogger(t), Metrics: m})
	p.AttemptFailed()
	clock = now.Add(2 * time.Second) // COC was unavailable longer than Interval
	p.Succeeded(ctx)
	items, err := store.Outbox(ctx, bridge.OutboxFilter{})
	if err != nil || len(items) != 1 {
		t.Fatalf("outbox = %v, %v", items, err)
	}
	if !items[0].NextAttempt.Equal(clock.Truncate(time.Microsecond)) || woken.Load() != 1 {
		t.Errorf("after recovery next attempt = %v (want %v), workers woken %d times (want 1)",
			items[0].NextAttempt, clock, woken.Load())
	}
}
