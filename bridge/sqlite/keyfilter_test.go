package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

func TestKeyFilterHasNoFalseNegatives(t *testing.T) {
	f := newKeyFilter()
	if f.mayHold("k") {
		t.Fatal("empty filter holds k")
	}
	const n = 100_000
	for i := range n {
		f.add(fmt.Sprintf("key-%d", i))
	}
	for i := range n {
		if k := fmt.Sprintf("key-%d", i); !f.mayHold(k) {
			t.Fatalf("filter lost %s", k)
		}
	}
	// With 100,000 keys about one other key in 200,000 is a false
	// positive: 20 in 100,000 is far beyond chance.
	fp := 0
	for i := range n {
		if f.mayHold(fmt.Sprintf("other-%d", i)) {
			fp++
		}
	}
	if fp > 20 {
		t.Fatalf("%d false positives in %d keys never added, want about 0.5", fp, n)
	}
}

func TestKeyFilterLearnsWritesAndLoadsAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s := openAt(t, path)
	at := time.Unix(1_700_000_000, 0)
	if _, err := s.Accept(t.Context(), bridge.Notification{Key: "new", Receiver: "r", Firing: true, ReceivedAt: at}); err != nil {
		t.Fatal(err)
	}
	// A resolve of a key never seen stores nothing, so the key stays out.
	if _, err := s.Accept(t.Context(), bridge.Notification{Key: "resolved-only", Receiver: "r", ReceivedAt: at}); err != nil {
		t.Fatal(err)
	}
	if !s.keys.mayHold("new") || s.keys.mayHold("resolved-only") || s.keys.mayHold("never") {
		t.Fatalf("after accepts: new %v, resolved-only %v, never %v; want true, false, false",
			s.keys.mayHold("new"), s.keys.mayHold("resolved-only"), s.keys.mayHold("never"))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	if !s.keys.mayHold("new") || s.keys.mayHold("never") {
		t.Fatalf("after reopen: new %v, never %v; want true, false", s.keys.mayHold("new"), s.keys.mayHold("never"))
	}
}

// TestKeyWrittenByAnotherProcess: a key the filter does not know because
// another process wrote it is still decided from what the ledger holds.
func TestKeyWrittenByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, other := openAt(t, path), openAt(t, path)
	at := time.Unix(1_700_000_000, 0)
	n := bridge.Notification{Key: "k", Receiver: "r", Firing: true, Level: "issues_level_2000", ReceivedAt: at}
	if res, err := other.Accept(t.Context(), n); err != nil || res[0].Decision != bridge.DecisionCreate {
		t.Fatalf("other store: %+v, %v; want create", res, err)
	}
	if s.keys.mayHold("k") {
		t.Fatal("this store's filter holds a key only the other wrote")
	}
	n.ReceivedAt = at.Add(time.Second)
	res, err := s.Accept(t.Context(), n)
	if err != nil || res[0].Decision != bridge.DecisionSuppressPending || res[0].Entry.Notifications != 2 {
		t.Fatalf("this store, firing: %+v, %v; want suppress_pending with 2 notifications", res, err)
	}
}
