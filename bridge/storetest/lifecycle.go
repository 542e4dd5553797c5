package storetest

import (
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

var lifecycleTests = []test{
	{"StateSurvivesReopen", testReopen},
	{"OutboxIDsAreNeverReused", testIDsNotReused},
	{"PingAndClose", testPingClose},
}

func testReopen(t *testing.T, h Harness) {
	s := h.Open(t)
	population(t, s)
	n := firing("late", 5*time.Second)
	accept(t, s, n, bridge.DecisionCreate)
	ledgerBefore := ledger(t, s, bridge.LedgerFilter{})
	outboxBefore := outbox(t, s, bridge.OutboxFilter{})
	lateItem := item(t, s, "late")

	s = h.Reopen(t, s)
	ledgerAfter := ledger(t, s, bridge.LedgerFilter{})
	if len(ledgerAfter) != len(ledgerBefore) {
		t.Fatalf("ledger after reopen has %d entries, want %d", len(ledgerAfter), len(ledgerBefore))
	}
	for i := range ledgerBefore {
		checkEntry(t, ledgerAfter[i], ledgerBefore[i])
	}
	outboxAfter := outbox(t, s, bridge.OutboxFilter{})
	if len(outboxAfter) != len(outboxBefore) {
		t.Fatalf("outbox after reopen has %d items, want %d", len(outboxAfter), len(outboxBefore))
	}
	for i := range outboxBefore {
		checkItem(t, outboxAfter[i], outboxBefore[i])
	}
	ds := claim(t, s, ownerA, 5*time.Second, 10)
	if len(ds) != 2 || ds[0].Key != "pending" {
		t.Fatalf("claim after reopen: %+v, want the items of pending and late", ds)
	}
	checkDelivery(t, ds[1], bridge.Delivery{
		ID: lateItem.ID, Key: "late", Receiver: "team-a", Message: n.Message, Attempts: 1, Level: n.Level,
		AcceptedAt: utc(5 * time.Second), LeaseUntil: utc(5*time.Second + lease),
	})
	accept(t, s, firing("pending", time.Minute), bridge.DecisionSuppressPending)
	accept(t, s, firing("open", time.Minute), bridge.DecisionSuppressOpen)
	accept(t, s, firing("closed", time.Minute), bridge.DecisionCreate)
	accept(t, s, firing("dead", time.Minute), bridge.DecisionSuppressDead)
}

func testIDsNotReused(t *testing.T, h Harness) {
	s := h.Open(t)
	first := open(t, s, "k1", "ISU1", 0) // its item is deleted
	accept(t, s, firing("k2", time.Second), bridge.DecisionCreate)
	second := item(t, s, "k2")
	if second.ID <= first.ID {
		t.Fatalf("item ids %d then %d: not increasing", first.ID, second.ID)
	}
	d := claimOne(t, s, ownerA, time.Second)
	complete(t, s, d, ownerA, "ISU2", time.Second)
	s = h.Reopen(t, s)
	accept(t, s, firing("k3", 2*time.Second), bridge.DecisionCreate)
	if third := item(t, s, "k3"); third.ID <= second.ID {
		t.Fatalf("item id %d after reopen reuses or precedes %d", third.ID, second.ID)
	}
	// A late call naming a delivered item never touches a newer one.
	err := s.Complete(t.Context(), bridge.Completion{ID: second.ID, Owner: ownerA, TicketID: "ISU-X", Now: at(time.Hour)})
	wantErrIs(t, "Complete of a delivered item", err, bridge.ErrLeaseLost)
	if e := entry(t, s, "k3"); e.State != bridge.StatePending || e.TicketID != "" {
		t.Errorf("k3 is %s %q, want pending without ticket", e.State, e.TicketID)
	}
}

func testPingClose(t *testing.T, h Harness) {
	s := h.Open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	calls := map[string]func() error{
		"Ping": func() error { return s.Ping(ctx) },
		"Accept": func() error {
			_, err := s.Accept(ctx, firing("k2", 0))
			return err
		},
		"Claim": func() error {
			_, err := s.Claim(ctx, bridge.ClaimRequest{Owner: ownerA, Limit: 1, Lease: lease, Now: at(0)})
			return err
		},
		"Complete": func() error {
			return s.Complete(ctx, bridge.Completion{ID: 1, Owner: ownerA, TicketID: "ISU1", Now: at(0)})
		},
		"Retry":      func() error { return s.Retry(ctx, bridge.RetryRequest{ID: 1, Owner: ownerA, Now: at(0)}) },
		"DeadLetter": func() error { return s.DeadLetter(ctx, bridge.DeadLetterRequest{ID: 1, Owner: ownerA, Now: at(0)}) },
		"Replay": func() error {
			_, err := s.Replay(ctx, bridge.ReplayRequest{Now: at(0)})
			return err
		},
		"DueForRefresh": func() error {
			_, err := s.DueForRefresh(ctx, bridge.RefreshRequest{Interval: time.Minute, Limit: 1, Now: at(0)})
			return err
		},
		"Release":     func() error { return s.Release(ctx, bridge.Release{Key: "k1", TicketID: "x", Now: at(0)}) },
		"RecordCheck": func() error { return s.RecordCheck(ctx, bridge.Check{Key: "k1", TicketID: "x", Now: at(0)}) },
		"Ledger": func() error {
			_, err := s.Ledger(ctx, bridge.LedgerFilter{})
			return err
		},
		"Outbox": func() error {
			_, err := s.Outbox(ctx, bridge.OutboxFilter{})
			return err
		},
		"Stats": func() error {
			_, err := s.Stats(ctx)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s after Close succeeded", name)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
