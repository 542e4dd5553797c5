package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

func expedite(t *testing.T, s bridge.Store, r bridge.ExpediteRequest, want int) {
	t.Helper()
	n, err := s.Expedite(t.Context(), r)
	if err != nil {
		t.Fatalf("Expedite(%+v): %v", r, err)
	}
	if n != want {
		t.Fatalf("Expedite(%+v) changed %d items, want %d", r, n, want)
	}
}

// testExpedite: backed-off items become due at Due (LookupFirst ones at
// LookupDue), earliest due first up to Limit; items due sooner, leased,
// dead or delivered are left alone, and nothing else of an item changes.
func testExpedite(t *testing.T, h Harness) {
	s := h.Open(t)
	dead(t, s, "dead", 0)
	// Backed off after failed attempts at 0: key -> next attempt, lookup first.
	backoff := []struct {
		key    string
		next   time.Duration
		lookup bool
	}{
		{"k1", 10 * time.Minute, false},
		{"k2", 20 * time.Minute, false},
		{"k3", 30 * time.Minute, true},              // lookup far away: brought to LookupDue
		{"k4", 100 * time.Second, false},            // due before Due: unchanged
		{"k5", 2*time.Minute + 3*time.Second, true}, // lookup due before LookupDue: unchanged
		{"held", 90 * time.Second, false},
	}
	next := map[string]time.Duration{}
	lookup := map[string]bool{}
	for _, b := range backoff {
		accept(t, s, firing(b.key, 0), bridge.DecisionCreate)
		next[b.key], lookup[b.key] = b.next, b.lookup
	}
	for _, d := range claim(t, s, ownerA, 0, 10) {
		if err := s.Retry(t.Context(), bridge.RetryRequest{
			ID: d.ID, Owner: ownerA, NextAttempt: at(next[d.Key]), LastError: "coc: http 503",
			LookupFirst: lookup[d.Key], Now: at(0),
		}); err != nil {
			t.Fatalf("Retry(%s): %v", d.Key, err)
		}
	}
	held := claimOne(t, s, ownerB, 90*time.Second) // leased until 150s

	due, lookupDue := 2*time.Minute, 2*time.Minute+5*time.Second
	req := bridge.ExpediteRequest{Due: at(due), LookupDue: at(lookupDue)}

	// A limit takes the earliest due first.
	req.Limit = 1
	expedite(t, s, req, 1)
	next["k1"] = due
	req.Limit = 0
	expedite(t, s, req, 2)
	next["k2"], next["k3"] = due, lookupDue
	expedite(t, s, req, 0) // nothing is due later any more

	for _, b := range backoff {
		want := bridge.OutboxItem{
			Key: b.key, Receiver: "team-a", State: bridge.ItemPending, Attempts: 1,
			NextAttempt: utc(next[b.key]), LastError: "coc: http 503", LookupFirst: b.lookup, AcceptedAt: utc(0),
		}
		if b.key == "held" {
			want.Attempts, want.LeaseOwner, want.LeaseUntil = 2, ownerB, ptr(utc(90*time.Second+lease))
		}
		checkItem(t, item(t, s, b.key), want)
	}
	if it := item(t, s, "dead"); it.State != bridge.ItemDead || !it.NextAttempt.Equal(at(0)) {
		t.Errorf("dead item: %s due %v, want dead and unchanged", it.State, it.NextAttempt)
	}

	var keys []string
	for _, d := range claim(t, s, ownerA, due, 10) {
		keys = append(keys, d.Key)
	}
	if got := strings.Join(keys, ","); got != "k4,k1,k2" {
		t.Errorf("claim at Due: %s, want k4,k1,k2", got)
	}
	complete(t, s, held, ownerB, "ISU-held", due)
	// Due earlier than every item: nothing to do.
	expedite(t, s, bridge.ExpediteRequest{Due: at(time.Hour), LookupDue: at(time.Hour)}, 0)
}
