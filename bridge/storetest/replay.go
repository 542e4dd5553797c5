package storetest

import (
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

var replayTests = []test{
	{"ReplayRequeuesDeadItem", testReplay},
	{"ReplaySelectsByIDKeyOrAll", testReplaySelection},
}

func replay(t *testing.T, s bridge.Store, r bridge.ReplayRequest, want int) {
	t.Helper()
	n, err := s.Replay(t.Context(), r)
	if err != nil {
		t.Fatalf("Replay(%+v): %v", r, err)
	}
	if n != want {
		t.Fatalf("Replay(%+v) = %d, want %d", r, n, want)
	}
}

func testReplay(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	d := claimOne(t, s, ownerA, 0)
	// An ambiguous attempt, then a permanent failure.
	if err := s.Retry(t.Context(), bridge.RetryRequest{
		ID: d.ID, Owner: ownerA, NextAttempt: at(time.Second), LastError: "timeout", LookupFirst: true, Now: at(0),
	}); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	d = claimOne(t, s, ownerA, time.Second)
	if err := s.DeadLetter(t.Context(), bridge.DeadLetterRequest{
		ID: d.ID, Owner: ownerA, Code: deadCode, Message: deadMessage, Now: at(2 * time.Second),
	}); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	accept(t, s, firing("k1", time.Minute), bridge.DecisionSuppressDead)

	replay(t, s, bridge.ReplayRequest{Key: "k1", Now: at(time.Hour)}, 1)
	e := entry(t, s, "k1")
	if e.State != bridge.StatePending || !e.UpdatedAt.Equal(at(time.Hour)) {
		t.Errorf("entry after Replay: %s updated %v, want pending updated %v", e.State, e.UpdatedAt, at(time.Hour))
	}
	it := item(t, s, "k1")
	if it.ID != d.ID || it.State != bridge.ItemPending || !it.NextAttempt.Equal(at(time.Hour)) ||
		!it.LookupFirst || it.LeaseOwner != "" || it.LeaseUntil != nil {
		t.Errorf("item after Replay: %+v, want pending, due at %v, lookup first, no lease", it, at(time.Hour))
	}
	accept(t, s, firing("k1", time.Hour), bridge.DecisionSuppressPending)
	replay(t, s, bridge.ReplayRequest{Key: "k1", Now: at(time.Hour)}, 0)

	claimNone(t, s, ownerB, time.Hour-time.Millisecond)
	got := claimOne(t, s, ownerB, time.Hour)
	// Replay starts the attempt count again, so backoff starts small.
	checkDelivery(t, got, bridge.Delivery{
		ID: d.ID, Key: "k1", Receiver: "team-a", Message: firing("k1", time.Hour).Message, Attempts: 1,
		LookupFirst: true, Level: "issues_level_2000", AcceptedAt: utc(0), LeaseUntil: utc(time.Hour + lease),
	})
	complete(t, s, got, ownerB, "ISU001", time.Hour)
	e = entry(t, s, "k1")
	if e.State != bridge.StateOpen || e.TicketID != "ISU001" || e.LastError != "" {
		t.Errorf("entry after Complete: %s %q error %q, want open ISU001 without error", e.State, e.TicketID, e.LastError)
	}
}

func testReplaySelection(t *testing.T, h Harness) {
	s := h.Open(t)
	a := dead(t, s, "a", 0)
	dead(t, s, "b", time.Second)
	dead(t, s, "c", 2*time.Second)
	dead(t, s, "e", 3*time.Second)
	accept(t, s, firing("d", 4*time.Second), bridge.DecisionCreate)

	replay(t, s, bridge.ReplayRequest{ID: 424242, Now: at(time.Minute)}, 0)
	replay(t, s, bridge.ReplayRequest{Key: "nope", Now: at(time.Minute)}, 0)
	replay(t, s, bridge.ReplayRequest{Key: "d", Now: at(time.Minute)}, 0) // pending, not dead
	replay(t, s, bridge.ReplayRequest{ID: a.ID, Key: "b", Now: at(time.Minute)}, 0)

	states := func() string {
		var out string
		for _, k := range []string{"a", "b", "c", "d", "e"} {
			out += k + "=" + string(entry(t, s, k).State) + "/" + string(item(t, s, k).State) + " "
		}
		return out
	}
	replay(t, s, bridge.ReplayRequest{ID: a.ID, Now: at(time.Minute)}, 1)
	want := "a=pending/pending b=dead/dead c=dead/dead d=pending/pending e=dead/dead "
	if got := states(); got != want {
		t.Fatalf("after Replay by id: %s, want %s", got, want)
	}
	replay(t, s, bridge.ReplayRequest{Key: "b", Now: at(time.Minute)}, 1)
	want = "a=pending/pending b=pending/pending c=dead/dead d=pending/pending e=dead/dead "
	if got := states(); got != want {
		t.Fatalf("after Replay by key: %s, want %s", got, want)
	}
	replay(t, s, bridge.ReplayRequest{Now: at(2 * time.Minute)}, 2)
	replay(t, s, bridge.ReplayRequest{Now: at(2 * time.Minute)}, 0)
	want = "a=pending/pending b=pending/pending c=pending/pending d=pending/pending e=pending/pending "
	if got := states(); got != want {
		t.Fatalf("after Replay of all: %s, want %s", got, want)
	}
	if d := item(t, s, "d"); !d.NextAttempt.Equal(at(4 * time.Second)) {
		t.Errorf("Replay moved the pending item of d to %v", d.NextAttempt)
	}
	if c := item(t, s, "c"); !c.NextAttempt.Equal(at(2 * time.Minute)) {
		t.Errorf("replayed item of c due at %v, want %v", c.NextAttempt, at(2*time.Minute))
	}
}
