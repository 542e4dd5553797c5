package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

var viewTests = []test{
	{"LedgerFiltersAndOrder", testLedgerView},
	{"OutboxFiltersOrderAndLeases", testOutboxView},
	{"StatsCountsEveryState", testStats},
	{"TimesComeBackInUTC", testUTC},
}

// viewCase is a filter of a store view and the keys it lists, in order.
type viewCase[F any] struct {
	f    F
	want string
}

// checkView checks the keys the store view list (what names it) lists for
// each case; key is a listed value's key.
func checkView[F, T any](t *testing.T, what string, list func(context.Context, F) ([]T, error), key func(T) string, cases []viewCase[F]) {
	t.Helper()
	for _, tc := range cases {
		var ks []string
		for _, v := range listed(t, what, list, tc.f) {
			ks = append(ks, key(v))
		}
		if got := strings.Join(ks, ","); got != tc.want {
			t.Errorf("%s(%+v) = %q, want %q", what, tc.f, got, tc.want)
		}
	}
}

func entryKey(e bridge.LedgerEntry) string { return e.Key }

// population is one entry per ledger state, updated at different times:
// dead at 1s, open at 2s, closed at 3s (released), pending at 4s.
func population(t *testing.T, s bridge.Store) {
	t.Helper()
	dead(t, s, "dead", time.Second)
	open(t, s, "open", "ISU1", 2*time.Second)
	open(t, s, "closed", "ISU2", 0)
	if err := s.Release(t.Context(), bridge.Release{Key: "closed", TicketID: "ISU2", Status: "done", Now: at(3 * time.Second)}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	accept(t, s, firing("pending", 4*time.Second), bridge.DecisionCreate)
}

func testLedgerView(t *testing.T, h Harness) {
	s := h.Open(t)
	if got := ledger(t, s, bridge.LedgerFilter{}); len(got) != 0 {
		t.Fatalf("empty ledger lists %+v", got)
	}
	population(t, s)
	checkView(t, "Ledger", s.Ledger, entryKey, []viewCase[bridge.LedgerFilter]{
		{bridge.LedgerFilter{}, "pending,closed,open,dead"},
		{bridge.LedgerFilter{Limit: 2}, "pending,closed"},
		{bridge.LedgerFilter{State: bridge.StateOpen}, "open"},
		{bridge.LedgerFilter{State: bridge.StateDead}, "dead"},
		{bridge.LedgerFilter{Key: "closed"}, "closed"},
		{bridge.LedgerFilter{Key: "closed", State: bridge.StateClosed, Limit: 5}, "closed"},
		{bridge.LedgerFilter{Key: "closed", State: bridge.StateOpen}, ""},
		{bridge.LedgerFilter{Key: "nope"}, ""},
	})
	// A newer notification moves an entry to the front.
	accept(t, s, firing("dead", time.Minute), bridge.DecisionSuppressDead)
	checkView(t, "Ledger", s.Ledger, entryKey, []viewCase[bridge.LedgerFilter]{{bridge.LedgerFilter{Limit: 2}, "dead,pending"}})
}

func testOutboxView(t *testing.T, h Harness) {
	s := h.Open(t)
	if got := outbox(t, s, bridge.OutboxFilter{}); len(got) != 0 {
		t.Fatalf("empty outbox lists %+v", got)
	}
	dead(t, s, "dead", 2*time.Second)
	accept(t, s, firing("leased", time.Second), bridge.DecisionCreate)
	leased := claimOne(t, s, ownerB, time.Second)
	accept(t, s, firing("pending", 3*time.Second), bridge.DecisionCreate)

	checkView(t, "Outbox", s.Outbox, func(it bridge.OutboxItem) string { return it.Key }, []viewCase[bridge.OutboxFilter]{
		{bridge.OutboxFilter{}, "leased,dead,pending"},
		{bridge.OutboxFilter{Limit: 2}, "leased,dead"},
		{bridge.OutboxFilter{State: bridge.ItemPending}, "leased,pending"},
		{bridge.OutboxFilter{State: bridge.ItemDead}, "dead"},
		{bridge.OutboxFilter{Key: "pending"}, "pending"},
		{bridge.OutboxFilter{Key: "pending", State: bridge.ItemDead}, ""},
		{bridge.OutboxFilter{Key: "nope"}, ""},
	})
	checkItem(t, item(t, s, "leased"), bridge.OutboxItem{
		ID: leased.ID, Key: "leased", Receiver: "team-a", State: bridge.ItemPending, Attempts: 1,
		NextAttempt: utc(time.Second), LeaseOwner: ownerB, LeaseUntil: ptr(utc(time.Second + lease)),
		AcceptedAt: utc(time.Second),
	})
	checkItem(t, item(t, s, "dead"), bridge.OutboxItem{
		Key: "dead", Receiver: "team-a", State: bridge.ItemDead, Attempts: 1, NextAttempt: utc(2 * time.Second),
		LastError: deadMessage, ErrorCode: deadCode, AcceptedAt: utc(2 * time.Second),
	})
}

func testStats(t *testing.T, h Harness) {
	s := h.Open(t)
	check := func(wantLedger map[bridge.State]int64, wantOutbox map[bridge.ItemState]int64, oldest time.Time) {
		t.Helper()
		st, err := s.Stats(t.Context())
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		for _, state := range bridge.States {
			if n, ok := st.Ledger[state]; !ok || n != wantLedger[state] {
				t.Errorf("Stats.Ledger[%s] = %d (present %v), want %d", state, n, ok, wantLedger[state])
			}
		}
		for _, state := range []bridge.ItemState{bridge.ItemPending, bridge.ItemDead} {
			if n, ok := st.Outbox[state]; !ok || n != wantOutbox[state] {
				t.Errorf("Stats.Outbox[%s] = %d (present %v), want %d", state, n, ok, wantOutbox[state])
			}
		}
		if !st.OldestPending.Equal(oldest) {
			t.Errorf("Stats.OldestPending = %v, want %v", st.OldestPending, oldest)
		}
		if oldest.IsZero() != st.OldestPending.IsZero() {
			t.Errorf("Stats.OldestPending = %v, want the zero time", st.OldestPending)
		}
	}
	check(nil, nil, time.Time{})
	population(t, s)
	accept(t, s, firing("pending2", 5*time.Second), bridge.DecisionCreate)
	check(map[bridge.State]int64{bridge.StatePending: 2, bridge.StateOpen: 1, bridge.StateClosed: 1, bridge.StateDead: 1},
		map[bridge.ItemState]int64{bridge.ItemPending: 2, bridge.ItemDead: 1}, at(4*time.Second))
	d := claimOne(t, s, ownerA, 4*time.Second)
	complete(t, s, d, ownerA, "ISU9", 6*time.Second)
	check(map[bridge.State]int64{bridge.StatePending: 1, bridge.StateOpen: 2, bridge.StateClosed: 1, bridge.StateDead: 1},
		map[bridge.ItemState]int64{bridge.ItemPending: 1, bridge.ItemDead: 1}, at(5*time.Second))
}

func testUTC(t *testing.T, h Harness) {
	s := h.Open(t)
	n := firing("k1", 0)
	n.ReceivedAt = time.Date(2025, time.June, 1, 23, 30, 0, 123_000_000, time.FixedZone("PDT", -7*3600))
	res := accept(t, s, n, bridge.DecisionCreate)
	want := n.ReceivedAt.UTC()
	for name, got := range map[string]time.Time{
		"Accept CreatedAt":  res.Entry.CreatedAt,
		"Ledger CreatedAt":  entry(t, s, "k1").CreatedAt,
		"Outbox AcceptedAt": item(t, s, "k1").AcceptedAt,
	} {
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := entry(t, s, "k1").CreatedAt.Day(); got != 2 {
		t.Errorf("CreatedAt day %d, want 2 (UTC)", got)
	}
}
