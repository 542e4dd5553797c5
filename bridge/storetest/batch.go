package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/mapping"
)

var batchTests = []test{
	{"DecisionsInBatchOrder", testBatchDecisions},
	{"EmptyKeyStoresNothing", testBatchEmptyKey},
	{"CancelledContextStoresNothing", testBatchCancelled},
	{"SharedKeysInAnyOrderCreateOnce", testBatchesSharingKeys},
}

// testBatchDecisions: one batch, keys out of order and repeated; each
// notification decides on the state the one before it (of its key) left,
// and the results come back in the batch's order.
func testBatchDecisions(t *testing.T, h Harness) {
	s := h.Open(t)
	accept(t, s, firing("k0", 0), bridge.DecisionCreate)
	repeat := firing("k2", 3*time.Second)
	repeat.Message = message("k2", "firing-again", at(3*time.Second))
	batch := []bridge.Notification{
		firing("k2", time.Second),
		firing("k1", time.Second),
		firing("k0", time.Second),
		resolved("k3", 2*time.Second),
		repeat,
		resolved("k1", 4*time.Second),
	}
	res, err := s.Accept(t.Context(), batch...)
	if err != nil {
		t.Fatalf("Accept batch: %v", err)
	}
	want := []bridge.Decision{bridge.DecisionCreate, bridge.DecisionCreate, bridge.DecisionSuppressPending,
		bridge.DecisionResolvedUnknown, bridge.DecisionSuppressPending, bridge.DecisionRecordResolved}
	got := make([]bridge.Decision, len(res))
	for i, r := range res {
		got[i] = r.Decision
		if r.Decision != bridge.DecisionResolvedUnknown && r.Entry.Key != batch[i].Key {
			t.Errorf("result %d is for key %q, want %q", i, r.Entry.Key, batch[i].Key)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("decisions %v, want %v", got, want)
	}
	if res[4].Entry.Notifications != 2 || res[5].Entry.LastStatus != mapping.StatusResolved {
		t.Errorf("entries in the results: k2 %+v, k1 %+v", res[4].Entry, res[5].Entry)
	}
	for key, n := range map[string]int64{"k0": 2, "k1": 2, "k2": 2} {
		if e := entry(t, s, key); e.Notifications != n || e.State != bridge.StatePending {
			t.Errorf("entry %s: %s with %d notifications, want pending with %d", key, e.State, e.Notifications, n)
		}
	}
	if es := ledger(t, s, bridge.LedgerFilter{}); len(es) != 3 {
		t.Errorf("ledger has %d entries, want 3 (k3 resolved unknown stores nothing)", len(es))
	}
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != 3 {
		t.Fatalf("outbox has %d items, want 3", len(items))
	}
	// k2's one item carries the newer notification of the batch.
	var d bridge.Delivery
	for _, c := range claim(t, s, ownerA, 5*time.Second, 10) {
		if c.Key == "k2" {
			d = c
		}
	}
	if string(d.Message) != string(repeat.Message) {
		t.Errorf("k2's item carries %s, want the batch's later notification %s", d.Message, repeat.Message)
	}
}

func testBatchEmptyKey(t *testing.T, h Harness) {
	s := h.Open(t)
	_, err := s.Accept(t.Context(), firing("k1", 0), firing("", 0), firing("k2", 0))
	if !errors.Is(err, bridge.ErrEmptyKey) {
		t.Fatalf("Accept with an empty key: %v, want ErrEmptyKey", err)
	}
	if es := ledger(t, s, bridge.LedgerFilter{}); len(es) != 0 {
		t.Errorf("ledger after a refused batch: %+v, want empty", es)
	}
}

func testBatchCancelled(t *testing.T, h Harness) {
	s := h.Open(t)
	if _, err := s.Accept(ctxCancelled(t), firing("k1", 0), firing("k2", 0)); err == nil {
		t.Fatal("Accept with a cancelled context succeeded")
	}
	if es := ledger(t, s, bridge.LedgerFilter{}); len(es) != 0 {
		t.Errorf("ledger after a cancelled batch: %+v, want empty", es)
	}
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != 0 {
		t.Errorf("outbox after a cancelled batch: %+v, want empty", items)
	}
}

// testBatchesSharingKeys: goroutines (on two stores where the engine can
// share a database, as two replicas would) accept batches of the same keys,
// each in its own order, as HA Alertmanager peers split into alert mode do.
// No batch may fail (a deadlock would) and each key is created exactly once.
func testBatchesSharingKeys(t *testing.T, h Harness) {
	s := h.Open(t)
	stores := []bridge.Store{s}
	if h.Share != nil {
		stores = append(stores, h.Share(t, s))
	}
	const keys, senders = 40, 8
	var creates atomic.Int64
	parallel(senders, func(g int) {
		batch := make([]bridge.Notification, keys)
		for i := range batch {
			batch[i] = firing(fmt.Sprintf("k%02d", i), time.Duration(g)*time.Millisecond)
		}
		r := rand.New(rand.NewPCG(uint64(g), 1))
		r.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		res, err := stores[g%len(stores)].Accept(t.Context(), batch...)
		if err != nil {
			t.Errorf("sender %d: Accept batch: %v", g, err)
			return
		}
		for _, r := range res {
			if r.Decision == bridge.DecisionCreate {
				creates.Add(1)
			}
		}
	})
	if got := creates.Load(); got != keys {
		t.Errorf("%d creates, want %d", got, keys)
	}
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != keys {
		t.Errorf("outbox has %d items, want %d", len(items), keys)
	}
	for _, e := range ledger(t, s, bridge.LedgerFilter{}) {
		if e.Notifications != senders {
			t.Errorf("entry %s has %d notifications, want %d", e.Key, e.Notifications, senders)
		}
	}
}
