package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

var takeBackTests = []test{
	{"TakeBackFreesTheReplicasLeasesAtOnce", testTakeBackOwn},
	{"TakeBackOfOtherReplicasLeases", testTakeBackOthers},
	{"TakeBackChangesNothingElse", testTakeBackNothingElse},
	{"TakeBackAfterACrash", testTakeBackAfterCrash},
}

func takeBack(t *testing.T, s bridge.Store, replica string, now time.Duration) int {
	t.Helper()
	n, err := s.TakeBack(t.Context(), bridge.TakeBackRequest{Replica: replica, Now: at(now)})
	if err != nil {
		t.Fatalf("TakeBack(%s at %v): %v", replica, now, err)
	}
	return n
}

// claimKeys claims every due item as owner and returns their keys, sorted,
// checking that each is claimed with LookupFirst set.
func claimKeys(t *testing.T, s bridge.Store, owner string, now time.Duration, lookupFirst bool) string {
	t.Helper()
	var keys []string
	for _, d := range claim(t, s, owner, now, 10) {
		if d.LookupFirst != lookupFirst {
			t.Errorf("%s claimed with LookupFirst %v, want %v", d.Key, d.LookupFirst, lookupFirst)
		}
		if !d.LeaseUntil.Equal(at(now + lease)) {
			t.Errorf("%s lease until %v, want %v", d.Key, d.LeaseUntil, at(now+lease))
		}
		keys = append(keys, d.Key)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

func testTakeBackOwn(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	accept(t, s, firing("k2", 0), bridge.DecisionCreate)
	if len(claim(t, s, "replica-1/0", 0, 1)) != 1 || len(claim(t, s, "replica-1/1", 0, 1)) != 1 {
		t.Fatal("want one claim for each worker")
	}
	if _, err := s.TakeBack(t.Context(), bridge.TakeBackRequest{Now: at(time.Second)}); err == nil {
		t.Error("TakeBack with an empty replica id succeeded")
	}
	// The restarted replica-1 takes both back, long before the lease ends.
	if n := takeBack(t, s, "replica-1", time.Second); n != 2 {
		t.Fatalf("TakeBack: %d items, want 2", n)
	}
	for _, k := range []string{"k1", "k2"} {
		it := item(t, s, k)
		if it.LeaseUntil == nil || !it.LeaseUntil.Equal(at(time.Second)) || !strings.HasPrefix(it.LeaseOwner, "replica-1/") {
			t.Errorf("%s after TakeBack: lease %s until %v, want the old owner's, until 1s", k, it.LeaseOwner, it.LeaseUntil)
		}
	}
	if got := claimKeys(t, s, "replica-1/0", time.Second, true); got != "k1,k2" {
		t.Fatalf("claim after TakeBack: %q, want k1,k2", got)
	}
	for _, k := range []string{"k1", "k2"} {
		if it := item(t, s, k); it.Attempts != 2 || !it.LookupFirst {
			t.Errorf("%s: attempts %d, lookup first %v; want 2, true", k, it.Attempts, it.LookupFirst)
		}
	}
	// A replica that restarts again takes back what the run before held.
	if n := takeBack(t, s, "replica-1", 2*time.Second); n != 2 {
		t.Fatalf("second TakeBack: %d items, want 2", n)
	}
}

func testTakeBackOthers(t *testing.T, h Harness) {
	s := h.Open(t)
	// Owners another replica may have: another id, and one that starts
	// with the taking replica's id.
	owners := map[string]string{"k1": "replica-2/0", "k2": "replica-10/0", "k3": "replica-1x"}
	for _, k := range []string{"k1", "k2", "k3"} {
		accept(t, s, firing(k, 0), bridge.DecisionCreate)
		if d := claimOne(t, s, owners[k], 0); d.Key != k {
			t.Fatalf("claimed %s, want %s", d.Key, k)
		}
	}
	n := takeBack(t, s, "replica-1", time.Second)
	if h.SoleOwner {
		// One process owns the database: every lease is the last run's.
		if n != 3 {
			t.Fatalf("TakeBack on a store one process owns: %d items, want 3", n)
		}
		if got := claimKeys(t, s, "replica-1/0", time.Second, true); got != "k1,k2,k3" {
			t.Fatalf("claim after TakeBack: %q, want k1,k2,k3", got)
		}
		return
	}
	if n != 0 {
		t.Fatalf("TakeBack(replica-1) took %d leases of other replicas, want 0", n)
	}
	claimNone(t, s, "replica-1/0", time.Second)
	for k, owner := range owners {
		if it := item(t, s, k); it.LeaseOwner != owner || it.LeaseUntil == nil || !it.LeaseUntil.Equal(at(lease)) {
			t.Errorf("%s: lease %s until %v, want %s until %v", k, it.LeaseOwner, it.LeaseUntil, owner, at(lease))
		}
	}
}

func testTakeBackNothingElse(t *testing.T, h Harness) {
	s := h.Open(t)
	// A retried item due later, a dead one, an expired lease, a free item.
	accept(t, s, firing("later", 0), bridge.DecisionCreate)
	d := claimOne(t, s, ownerA, 0)
	if err := s.Retry(t.Context(), bridge.RetryRequest{
		ID: d.ID, Owner: ownerA, NextAttempt: at(time.Hour), LastError: "503", Now: at(0),
	}); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	dead(t, s, "dead", time.Second)
	accept(t, s, firing("expired", 2*time.Second), bridge.DecisionCreate)
	claimOne(t, s, ownerA, 2*time.Second)
	now := 2*time.Second + lease + time.Second // the expired lease ended before now
	accept(t, s, firing("free", now), bridge.DecisionCreate)

	before := outbox(t, s, bridge.OutboxFilter{})
	if n := takeBack(t, s, "replica-1", now); n != 0 {
		t.Fatalf("TakeBack: %d items changed, want 0", n)
	}
	after := outbox(t, s, bridge.OutboxFilter{})
	if len(after) != len(before) {
		t.Fatalf("outbox has %d items after TakeBack, %d before", len(after), len(before))
	}
	for i := range before {
		checkItem(t, after[i], before[i])
	}
}

// testTakeBackAfterCrash closes a store while it holds a claim (a process
// killed mid-delivery) and opens the database again: the new run takes the
// item back at once and claims it with LookupFirst set.
func testTakeBackAfterCrash(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k1", 0), bridge.DecisionCreate)
	claimOne(t, s, "replica-1/0", 0)
	s = h.Reopen(t, s)
	claimNone(t, s, "replica-1/0", time.Second) // the lease still holds
	if n := takeBack(t, s, "replica-1", time.Second); n != 1 {
		t.Fatalf("TakeBack after reopen: %d items, want 1", n)
	}
	d := claimOne(t, s, "replica-1/0", time.Second)
	if !d.LookupFirst || d.Attempts != 2 {
		t.Fatalf("claimed after TakeBack: lookup first %v, attempts %d; want true, 2", d.LookupFirst, d.Attempts)
	}
	complete(t, s, d, "replica-1/0", "ISU1", time.Second)
	if e := entry(t, s, "k1"); e.State != bridge.StateOpen || e.TicketID != "ISU1" {
		t.Fatalf("entry %s %s, want open ISU1", e.State, e.TicketID)
	}
}
