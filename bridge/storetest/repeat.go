package storetest

import (
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

var repeatTests = []test{
	{"AnsweredFromARead", testRepeatsAnsweredFromRead},
	{"AnsweredFromAReadAfterReopen", testRepeatsAnsweredAfterReopen},
	{"WrittenByClose", testRepeatsWrittenByClose},
	{"NotRepeats", testNotRepeats},
	{"CountedAcrossWrites", testRepeatsCountedAcrossWrites},
}

// testRepeatsAnsweredAfterReopen: a store opened on a ledger written
// before still answers its keys' repeats from a read.
func testRepeatsAnsweredAfterReopen(t *testing.T, h Harness) {
	s := h.Open(t)
	open(t, s, "k1", "ISU001", 0)
	s = h.Reopen(t, s)
	res := repeat(t, s, firing("k1", time.Second), bridge.DecisionSuppressOpen)
	if res.Entry.TicketID != "ISU001" || res.Entry.Notifications != 2 {
		t.Fatalf("repeat after reopen: %+v, want ticket ISU001 with 2 notifications", res.Entry)
	}
	// A key the reopened store never held is written.
	written(t, s, firing("k2", time.Second), bridge.DecisionCreate)
}

// repeat accepts n, which must be answered from a read as decided want.
func repeat(t *testing.T, s bridge.Store, n bridge.Notification, want bridge.Decision) bridge.AcceptResult {
	t.Helper()
	res := accept(t, s, n, want)
	if !res.Repeat {
		t.Fatalf("Accept(%s at %s): written, want answered from a read", n.Key, n.ReceivedAt.Sub(base()))
	}
	return res
}

// written accepts n, which must be written as decided want.
func written(t *testing.T, s bridge.Store, n bridge.Notification, want bridge.Decision) bridge.AcceptResult {
	t.Helper()
	res := accept(t, s, n, want)
	if res.Repeat {
		t.Fatalf("Accept(%s at %s): answered from a read, want written", n.Key, n.ReceivedAt.Sub(base()))
	}
	return res
}

func testRepeatsAnsweredFromRead(t *testing.T, h Harness) {
	s := h.Open(t)
	open(t, s, "k1", "ISU001", 0)
	want := bridge.LedgerEntry{
		Key: "k1", Receiver: "team-a", State: bridge.StateOpen, TicketID: "ISU001",
		Level: "issues_level_2000", Title: "Disk almost full (k1)", LastStatus: "firing", Notifications: 1,
		CreatedAt: utc(0), UpdatedAt: utc(0), OpenedAt: ptr(utc(0)),
	}
	for i := 1; i <= 3; i++ {
		res := repeat(t, s, firing("k1", time.Duration(i)*time.Second), bridge.DecisionSuppressOpen)
		want.Notifications, want.UpdatedAt = int64(1+i), utc(time.Duration(i)*time.Second)
		checkEntry(t, res.Entry, want)
	}
	// One from an HA peer that arrives late counts, and moves no time back.
	res := repeat(t, s, firing("k1", 1500*time.Millisecond), bridge.DecisionSuppressOpen)
	want.Notifications = 5
	checkEntry(t, res.Entry, want)
	checkEntry(t, entry(t, s, "k1"), want)
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != 0 {
		t.Fatalf("outbox after repeats: %+v, want empty", items)
	}
	// Counted once: the list wrote them, so the next one adds one.
	res = repeat(t, s, firing("k1", 4*time.Second), bridge.DecisionSuppressOpen)
	want.Notifications, want.UpdatedAt = 6, utc(4*time.Second)
	checkEntry(t, res.Entry, want)
	checkEntry(t, entry(t, s, "k1"), want)
}

func testRepeatsWrittenByClose(t *testing.T, h Harness) {
	s := h.Open(t)
	open(t, s, "k1", "ISU001", 0)
	repeat(t, s, firing("k1", time.Second), bridge.DecisionSuppressOpen)
	repeat(t, s, firing("k1", 2*time.Second), bridge.DecisionSuppressOpen)
	s = h.Reopen(t, s)
	e := entry(t, s, "k1")
	if e.Notifications != 3 || !e.UpdatedAt.Equal(utc(2*time.Second)) || e.State != bridge.StateOpen {
		t.Fatalf("after a restart: %s with %d notifications, updated %s; want open with 3, updated 2s",
			e.State, e.Notifications, e.UpdatedAt.Sub(base()))
	}
}

func testNotRepeats(t *testing.T, h Harness) {
	s := h.Open(t)
	// A new key, and a firing while its create is pending (it carries the
	// newest message), are written.
	written(t, s, firing("k1", 0), bridge.DecisionCreate)
	written(t, s, firing("k1", time.Second), bridge.DecisionSuppressPending)
	dl := claimOne(t, s, ownerA, time.Second)
	complete(t, s, dl, ownerA, "ISU001", time.Second)
	repeat(t, s, firing("k1", 2*time.Second), bridge.DecisionSuppressOpen)

	// Another level, other group labels, another receiver or a resolve
	// change the entry: written.
	n := firing("k1", 3*time.Second)
	n.Level = "issues_level_1000"
	written(t, s, n, bridge.DecisionSuppressOpen)
	if e := entry(t, s, "k1"); e.Level != "issues_level_1000" || e.Notifications != 4 {
		t.Fatalf("after a level change: level %s, %d notifications; want issues_level_1000, 4", e.Level, e.Notifications)
	}
	n = firing("k1", 4*time.Second)
	n.Level, n.GroupLabels = "issues_level_1000", map[string]string{"alertname": "DiskFull"}
	written(t, s, n, bridge.DecisionSuppressOpen)
	n.ReceivedAt = at(5 * time.Second)
	repeat(t, s, n, bridge.DecisionSuppressOpen)
	n.ReceivedAt, n.Receiver = at(6*time.Second), "team-b"
	written(t, s, n, bridge.DecisionSuppressOpen)
	written(t, s, resolved("k1", 7*time.Second), bridge.DecisionRecordResolved)
	// A resolve again moves the resolve time, which the resolve policy's
	// texts name: written.
	r := resolved("k1", 8*time.Second)
	r.Receiver = "team-b"
	written(t, s, r, bridge.DecisionRecordResolved)

	// A batch of more than one is written, whatever it holds.
	n.ReceivedAt = at(9 * time.Second)
	res, err := s.Accept(t.Context(), n, n)
	if err != nil {
		t.Fatalf("Accept batch: %v", err)
	}
	for i, r := range res {
		if r.Repeat || r.Decision != bridge.DecisionSuppressOpen {
			t.Errorf("batch result %d: %s, repeat %t; want %s, written", i, r.Decision, r.Repeat, bridge.DecisionSuppressOpen)
		}
	}
	if e := entry(t, s, "k1"); e.Notifications != 11 || e.Receiver != "team-b" || e.LastStatus != "firing" {
		t.Fatalf("entry: %d notifications from %s, %s; want 11 from team-b, firing", e.Notifications, e.Receiver, e.LastStatus)
	}
}

func testRepeatsCountedAcrossWrites(t *testing.T, h Harness) {
	s := h.Open(t)
	open(t, s, "k1", "ISU001", 0)
	repeat(t, s, firing("k1", time.Second), bridge.DecisionSuppressOpen)
	repeat(t, s, firing("k1", 2*time.Second), bridge.DecisionSuppressOpen)
	// The ticket closes while two repeats are buffered: the release is
	// written at once, the repeats add to it.
	const done = "issues_work_flow_status_12000"
	if err := s.Release(t.Context(), bridge.Release{
		Key: "k1", TicketID: "ISU001", Status: done, Now: at(3 * time.Second),
	}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	// The next firing reads a closed key: a new cycle, written.
	res := written(t, s, firing("k1", 4*time.Second), bridge.DecisionCreate)
	if res.Entry.PreviousTicketID != "ISU001" {
		t.Fatalf("new cycle names %q, want ISU001", res.Entry.PreviousTicketID)
	}
	e := entry(t, s, "k1")
	if e.Notifications != 4 || e.State != bridge.StatePending || !e.UpdatedAt.Equal(utc(4*time.Second)) {
		t.Fatalf("entry: %s with %d notifications, updated %s; want pending with 4, updated 4s",
			e.State, e.Notifications, e.UpdatedAt.Sub(base()))
	}
}
