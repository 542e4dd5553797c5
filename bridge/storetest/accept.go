package storetest

import (
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

var acceptTests = []test{
	{"FirstFiringCreates", testFirstFiringCreates},
	{"RepeatFiringWhilePendingReplacesMessage", testRepeatWhilePending},
	{"FiringWhileOpenIsSuppressed", testFiringWhileOpen},
	{"ResolvedIsRecorded", testResolvedRecorded},
	{"ResolvedUnknownStoresNothing", testResolvedUnknown},
	{"ReleasedKeyStartsNewCycle", testNewCycle},
	{"FiringWhileDeadReplacesMessage", testFiringWhileDead},
	{"CancelledContextStoresNothing", testAcceptCancelled},
}

func testFirstFiringCreates(t *testing.T, h Harness) {
	s := h.Open(t)
	n := firing("k1", 0)
	res := accept(t, s, n, bridge.DecisionCreate)
	want := bridge.LedgerEntry{
		Key: "k1", Receiver: "team-a", State: bridge.StatePending, Level: n.Level,
		LastStatus: "firing", Notifications: 1, CreatedAt: utc(0), UpdatedAt: utc(0),
	}
	checkEntry(t, res.Entry, want)
	checkEntry(t, entry(t, s, "k1"), want)

	it := item(t, s, "k1")
	checkItem(t, it, bridge.OutboxItem{
		Key: "k1", Receiver: "team-a", State: bridge.ItemPending, NextAttempt: utc(0), AcceptedAt: utc(0),
	})
	d := claimOne(t, s, ownerA, 0)
	checkDelivery(t, d, bridge.Delivery{
		ID: it.ID, Key: "k1", Receiver: "team-a", Message: n.Message, Attempts: 1, Level: n.Level,
		AcceptedAt: utc(0), LeaseUntil: utc(lease),
	})
}

func testRepeatWhilePending(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	n2 := firing("k1", time.Second)
	n2.Level = "issues_level_1000"
	res := accept(t, s, n2, bridge.DecisionSuppressPending)
	want := bridge.LedgerEntry{
		Key: "k1", Receiver: "team-a", State: bridge.StatePending, Level: n2.Level,
		LastStatus: "firing", Notifications: 2, CreatedAt: utc(0), UpdatedAt: utc(time.Second),
	}
	checkEntry(t, res.Entry, want)
	checkEntry(t, entry(t, s, "k1"), want)

	// Still one item, accepted when the first notification was.
	it := item(t, s, "k1")
	checkItem(t, it, bridge.OutboxItem{
		Key: "k1", Receiver: "team-a", State: bridge.ItemPending, NextAttempt: utc(0), AcceptedAt: utc(0),
	})
	d := claimOne(t, s, ownerA, 2*time.Second)
	checkDelivery(t, d, bridge.Delivery{
		ID: it.ID, Key: "k1", Receiver: "team-a", Message: n2.Message, Attempts: 1, Level: n2.Level,
		AcceptedAt: utc(0), LeaseUntil: utc(2*time.Second + lease),
	})

	// A repeat while the item is leased replaces the stored message too;
	// the worker keeps the copy it claimed, the next attempt gets the new one.
	n3 := firing("k1", 3*time.Second)
	accept(t, s, n3, bridge.DecisionSuppressPending)
	if err := s.Retry(t.Context(), bridge.RetryRequest{
		ID: d.ID, Owner: ownerA, NextAttempt: at(4 * time.Second), LastError: "503", Now: at(3 * time.Second),
	}); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	d = claimOne(t, s, ownerA, 4*time.Second)
	checkDelivery(t, d, bridge.Delivery{
		ID: it.ID, Key: "k1", Receiver: "team-a", Message: n3.Message, Attempts: 2, Level: n3.Level,
		AcceptedAt: utc(0), LeaseUntil: utc(4*time.Second + lease),
	})
	if got := len(outbox(t, s, bridge.OutboxFilter{})); got != 1 {
		t.Fatalf("outbox has %d items, want 1", got)
	}
}

func testFiringWhileOpen(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	d := claimOne(t, s, ownerA, time.Second)
	complete(t, s, d, ownerA, "ISU001", 2*time.Second)
	want := bridge.LedgerEntry{
		Key: "k1", Receiver: "team-a", State: bridge.StateOpen, TicketID: "ISU001",
		Level: "issues_level_2000", Title: "Disk almost full (k1)", LastStatus: "firing", Notifications: 1,
		CreatedAt: utc(0), UpdatedAt: utc(2 * time.Second), OpenedAt: ptr(utc(2 * time.Second)),
	}
	checkEntry(t, entry(t, s, "k1"), want)
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != 0 {
		t.Fatalf("outbox after Complete: %+v, want empty", items)
	}

	res := accept(t, s, firing("k1", 3*time.Second), bridge.DecisionSuppressOpen)
	want.Notifications, want.UpdatedAt = 2, utc(3*time.Second)
	checkEntry(t, res.Entry, want)
	checkEntry(t, entry(t, s, "k1"), want)
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != 0 {
		t.Fatalf("outbox after a suppressed firing: %+v, want empty", items)
	}
	claimNone(t, s, ownerA, time.Hour)
}

func testResolvedRecorded(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)

	// Resolved while the create is pending: recorded, the create stays.
	res := accept(t, s, resolved("k1", time.Second), bridge.DecisionRecordResolved)
	want := bridge.LedgerEntry{
		Key: "k1", Receiver: "team-a", State: bridge.StatePending, Level: "issues_level_2000",
		LastStatus: "resolved", Notifications: 2, CreatedAt: utc(0),
		UpdatedAt: utc(time.Second), ResolvedAt: ptr(utc(time.Second)),
	}
	checkEntry(t, res.Entry, want)
	checkEntry(t, entry(t, s, "k1"), want)
	d := claimOne(t, s, ownerA, 2*time.Second)
	checkDelivery(t, d, bridge.Delivery{
		Key: "k1", Receiver: "team-a", Message: firing("k1", 0).Message, Attempts: 1,
		Level: "issues_level_2000", ResolvedAt: ptr(utc(time.Second)),
		AcceptedAt: utc(0), LeaseUntil: utc(2*time.Second + lease),
	})
	complete(t, s, d, ownerA, "ISU001", 3*time.Second)

	// Resolved while open: recorded, nothing queued.
	res = accept(t, s, resolved("k1", 4*time.Second), bridge.DecisionRecordResolved)
	want.State, want.TicketID, want.OpenedAt = bridge.StateOpen, "ISU001", ptr(utc(3*time.Second))
	want.Title = "Disk almost full (k1)" // recorded by Complete
	want.Notifications, want.UpdatedAt, want.ResolvedAt = 3, utc(4*time.Second), ptr(utc(4*time.Second))
	checkEntry(t, res.Entry, want)
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != 0 {
		t.Fatalf("outbox after resolved: %+v, want empty", items)
	}

	// Firing again while open: suppressed; the last resolve stays on record.
	res = accept(t, s, firing("k1", 5*time.Second), bridge.DecisionSuppressOpen)
	want.LastStatus, want.Notifications, want.UpdatedAt = "firing", 4, utc(5*time.Second)
	checkEntry(t, res.Entry, want)
}

func testResolvedUnknown(t *testing.T, h Harness) {
	s := h.Open(t)
	res := accept(t, s, resolved("k1", 0), bridge.DecisionResolvedUnknown)
	if res.Entry.Key != "" || res.Entry.State != "" || res.Entry.Notifications != 0 {
		t.Errorf("entry for resolved_unknown: %+v, want the zero entry", res.Entry)
	}
	if es := ledger(t, s, bridge.LedgerFilter{}); len(es) != 0 {
		t.Errorf("ledger after resolved_unknown: %+v, want empty", es)
	}
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != 0 {
		t.Errorf("outbox after resolved_unknown: %+v, want empty", items)
	}
	// The key is still unknown: its first firing creates.
	accept(t, s, firing("k1", time.Second), bridge.DecisionCreate)
	if n := entry(t, s, "k1").Notifications; n != 1 {
		t.Errorf("Notifications = %d, want 1", n)
	}
}

func testNewCycle(t *testing.T, h Harness) {
	s := h.Open(t)
	first := open(t, s, "k1", "ISU001", 0)
	if err := s.RecordCheck(t.Context(), bridge.Check{
		Key: "k1", TicketID: "ISU001", Error: "read timeout", Now: at(5 * time.Minute),
	}); err != nil {
		t.Fatalf("RecordCheck: %v", err)
	}
	const done = "issues_work_flow_status_12000"
	if err := s.Release(t.Context(), bridge.Release{
		Key: "k1", TicketID: "ISU001", Status: done, Now: at(10 * time.Minute),
	}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	want := bridge.LedgerEntry{
		Key: "k1", Receiver: "team-a", State: bridge.StateClosed, TicketID: "ISU001",
		Level: "issues_level_2000", Title: "Disk almost full (k1)", LastStatus: "firing", Notifications: 1,
		LastError: "read timeout", TicketStatus: done, CreatedAt: utc(0), UpdatedAt: utc(10 * time.Minute),
		OpenedAt: ptr(utc(0)), ClosedAt: ptr(utc(10 * time.Minute)), CheckedAt: ptr(utc(5 * time.Minute)),
	}
	checkEntry(t, entry(t, s, "k1"), want)
	claimNone(t, s, ownerA, time.Hour)

	n := firing("k1", 11*time.Minute)
	res := accept(t, s, n, bridge.DecisionCreate)
	want = bridge.LedgerEntry{
		Key: "k1", Receiver: "team-a", State: bridge.StatePending, PreviousTicketID: "ISU001",
		Level: "issues_level_2000", Title: "Disk almost full (k1)", LastStatus: "firing", Notifications: 2,
		CreatedAt: utc(0), UpdatedAt: utc(11 * time.Minute),
	}
	checkEntry(t, res.Entry, want)
	checkEntry(t, entry(t, s, "k1"), want)
	it := item(t, s, "k1")
	if it.ID == first.ID {
		t.Errorf("the new cycle reuses outbox id %d", it.ID)
	}
	checkItem(t, it, bridge.OutboxItem{
		Key: "k1", Receiver: "team-a", State: bridge.ItemPending,
		NextAttempt: utc(11 * time.Minute), AcceptedAt: utc(11 * time.Minute),
	})
	d := claimOne(t, s, ownerA, 11*time.Minute)
	checkDelivery(t, d, bridge.Delivery{
		ID: it.ID, Key: "k1", Receiver: "team-a", Message: n.Message, Attempts: 1, PreviousTicketID: "ISU001",
		Level: n.Level, Title: "Disk almost full (k1)", AcceptedAt: utc(11 * time.Minute), LeaseUntil: utc(11*time.Minute + lease),
	})
	complete(t, s, d, ownerA, "ISU002", 12*time.Minute)
	want.State, want.TicketID, want.UpdatedAt, want.OpenedAt = bridge.StateOpen, "ISU002",
		utc(12*time.Minute), ptr(utc(12*time.Minute))
	checkEntry(t, entry(t, s, "k1"), want)

	// The first ticket is gone from the entry: releasing it again is stale.
	err := s.Release(t.Context(), bridge.Release{Key: "k1", TicketID: "ISU001", Status: done, Now: at(time.Hour)})
	wantErrIs(t, "stale Release", err, bridge.ErrNotFound)
	checkEntry(t, entry(t, s, "k1"), want)
}

func testFiringWhileDead(t *testing.T, h Harness) {
	s := h.Open(t)
	first := dead(t, s, "k1", 0)
	n2 := firing("k1", time.Minute)
	res := accept(t, s, n2, bridge.DecisionSuppressDead)
	if res.Entry.State != bridge.StateDead || res.Entry.Notifications != 2 {
		t.Errorf("entry after suppress_dead: state %s, notifications %d; want dead, 2",
			res.Entry.State, res.Entry.Notifications)
	}
	items := outbox(t, s, bridge.OutboxFilter{})
	if len(items) != 1 || items[0].ID != first.ID || items[0].State != bridge.ItemDead {
		t.Fatalf("outbox after suppress_dead: %+v, want only the dead item %d", items, first.ID)
	}
	claimNone(t, s, ownerA, time.Hour)
	n, err := s.Replay(t.Context(), bridge.ReplayRequest{Key: "k1", Now: at(time.Hour)})
	if err != nil || n != 1 {
		t.Fatalf("Replay: %d, %v; want 1, nil", n, err)
	}
	// Replay starts a fresh attempt budget: the first claim after it is attempt 1.
	d := claimOne(t, s, ownerB, time.Hour)
	checkDelivery(t, d, bridge.Delivery{
		ID: first.ID, Key: "k1", Receiver: "team-a", Message: n2.Message, Attempts: 1, Level: n2.Level,
		AcceptedAt: utc(0), LeaseUntil: utc(time.Hour + lease),
	})
}

func testAcceptCancelled(t *testing.T, h Harness) {
	s := h.Open(t)
	if _, err := s.Accept(ctxCancelled(t), firing("k1", 0)); err == nil {
		t.Fatal("Accept with a cancelled context succeeded")
	}
	if es := ledger(t, s, bridge.LedgerFilter{}); len(es) != 0 {
		t.Errorf("ledger after a cancelled Accept: %+v, want empty", es)
	}
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
}
