package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

var concurrencyTests = []test{
	{"AcceptSameKeyCreatesOnce", testConcurrentAcceptSameKey},
	{"AcceptManyKeys", testConcurrentAcceptManyKeys},
	{"ClaimersNeverShareAnItem", testConcurrentClaims},
	{"RefreshersGetDisjointSets", testConcurrentRefresh},
	{"AcceptsDuringDeliveryCycles", testAcceptsDuringCycles},
	{"TwoStoresOnOneDatabase", testShared},
}

// parallel runs fn(i) for i in [0, n) on n goroutines released at once.
func parallel(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// acceptSameKey accepts firing notifications of one key from n goroutines,
// spread over stores, and checks exactly one of them created.
func acceptSameKey(t *testing.T, stores []bridge.Store, n int) {
	t.Helper()
	decisions := make([]bridge.Decision, n)
	errs := make([]error, n)
	parallel(n, func(i int) {
		res, err := stores[i%len(stores)].Accept(t.Context(), firing("hot", time.Duration(i)*time.Millisecond))
		if err == nil {
			decisions[i] = res[0].Decision
		}
		errs[i] = err
	})
	count := map[bridge.Decision]int{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Accept %d: %v", i, errs[i])
		}
		count[decisions[i]]++
	}
	if count[bridge.DecisionCreate] != 1 || count[bridge.DecisionSuppressPending] != n-1 {
		t.Errorf("decisions %v, want 1 create and %d suppress_pending", count, n-1)
	}
	s := stores[0]
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != 1 {
		t.Errorf("outbox has %d items, want 1: %+v", len(items), items)
	}
	if e := entry(t, s, "hot"); e.Notifications != int64(n) || e.State != bridge.StatePending {
		t.Errorf("entry: %s with %d notifications, want pending with %d", e.State, e.Notifications, n)
	}
}

func testConcurrentAcceptSameKey(t *testing.T, h Harness) {
	acceptSameKey(t, []bridge.Store{h.Open(t)}, 32)
}

func testConcurrentAcceptManyKeys(t *testing.T, h Harness) {
	s := h.Open(t)
	const keys, perKey = 8, 8
	var creates atomic.Int64
	parallel(keys*perKey, func(i int) {
		n := firing(fmt.Sprintf("k%d", i%keys), time.Duration(i)*time.Millisecond)
		if i%5 == 4 {
			n = resolved(n.Key, n.ReceivedAt.Sub(base()))
		}
		res, err := s.Accept(t.Context(), n)
		if err != nil {
			t.Errorf("Accept %d: %v", i, err)
		}
		if err == nil && res[0].Decision == bridge.DecisionCreate {
			creates.Add(1)
		}
	})
	if got := creates.Load(); got != keys {
		t.Errorf("%d creates, want %d", got, keys)
	}
	if items := outbox(t, s, bridge.OutboxFilter{}); len(items) != keys {
		t.Errorf("outbox has %d items, want %d", len(items), keys)
	}
	var total int64
	for _, e := range ledger(t, s, bridge.LedgerFilter{}) {
		total += e.Notifications
	}
	// Resolved notifications that came before their key's first firing
	// are not recorded; every firing one is.
	if total < keys*perKey*4/5 || total > keys*perKey {
		t.Errorf("ledger counts %d notifications, want between %d and %d", total, keys*perKey*4/5, keys*perKey)
	}
}

// claimAll claims from stores on claimers goroutines until nothing is
// left, and checks that no item went to two claimers.
func claimAll(t *testing.T, stores []bridge.Store, claimers, items int) {
	t.Helper()
	var mu sync.Mutex
	owner := map[int64]string{}
	parallel(claimers, func(i int) {
		me := fmt.Sprintf("replica-%d/worker-%d", i%len(stores), i)
		s := stores[i%len(stores)]
		for range items + 1 { // bounded: a broken engine must not hang the suite
			ds, err := s.Claim(t.Context(), bridge.ClaimRequest{Owner: me, Limit: 3, Lease: time.Hour, Now: at(time.Minute)})
			if err != nil {
				t.Errorf("Claim by %s: %v", me, err)
				return
			}
			if len(ds) == 0 {
				return
			}
			mu.Lock()
			for _, d := range ds {
				if prev, dup := owner[d.ID]; dup {
					t.Errorf("item %d claimed by %s and %s", d.ID, prev, me)
				}
				owner[d.ID] = me
			}
			mu.Unlock()
		}
	})
	if len(owner) != items {
		t.Errorf("%d items claimed, want %d", len(owner), items)
	}
	for _, it := range outbox(t, stores[0], bridge.OutboxFilter{}) {
		if it.LeaseOwner != owner[it.ID] || it.Attempts != 1 {
			t.Errorf("item %d leased to %q (%d attempts), claimed by %q", it.ID, it.LeaseOwner, it.Attempts, owner[it.ID])
		}
	}
}

func testConcurrentClaims(t *testing.T, h Harness) {
	s := h.Open(t)
	const items = 120
	for i := range items {
		accept(t, s, firing(fmt.Sprintf("k%03d", i), time.Duration(i)*time.Millisecond), bridge.DecisionCreate)
	}
	claimAll(t, []bridge.Store{s}, 6, items)
}

func testConcurrentRefresh(t *testing.T, h Harness) {
	s := h.Open(t)
	const entries = 30
	for i := range entries {
		open(t, s, fmt.Sprintf("k%02d", i), fmt.Sprintf("ISU%02d", i), time.Duration(i)*time.Millisecond)
	}
	var mu sync.Mutex
	got := map[string]int{}
	parallel(4, func(int) {
		for range entries + 1 { // bounded: a broken engine must not hang the suite
			es, err := s.DueForRefresh(t.Context(), bridge.RefreshRequest{Interval: time.Minute, Limit: 4, Now: at(time.Hour)})
			if err != nil {
				t.Errorf("DueForRefresh: %v", err)
				return
			}
			if len(es) == 0 {
				return
			}
			mu.Lock()
			for _, e := range es {
				got[e.Key]++
			}
			mu.Unlock()
		}
	})
	if len(got) != entries {
		t.Errorf("%d entries handed out, want %d", len(got), entries)
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s handed out %d times", k, n)
		}
	}
}

// testAcceptsDuringCycles keeps accepting one key from several goroutines
// while a worker delivers and releases its tickets: whatever the
// interleaving, every create is matched by one item and at most one item is
// ever queued.
func testAcceptsDuringCycles(t *testing.T, h Harness) {
	s := h.Open(t)
	const cycles = 15
	stop := make(chan struct{})
	var creates atomic.Int64
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := s.Accept(t.Context(), firing("hot", time.Duration(g*1_000_000+i)*time.Millisecond))
				if err != nil {
					t.Errorf("Accept: %v", err)
					return
				}
				if res[0].Decision == bridge.DecisionCreate {
					creates.Add(1)
				}
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for c := range cycles {
		var d bridge.Delivery
		for {
			ds := claim(t, s, ownerA, 1000*time.Hour, 1)
			if len(ds) == 1 {
				d = ds[0]
				break
			}
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("cycle %d: no item to claim", c)
			}
		}
		ticket := fmt.Sprintf("ISU%03d", c)
		complete(t, s, d, ownerA, ticket, 1000*time.Hour)
		if err := s.Release(t.Context(), bridge.Release{Key: "hot", TicketID: ticket, Status: "done", Now: at(1000 * time.Hour)}); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	items := outbox(t, s, bridge.OutboxFilter{Key: "hot"})
	if len(items) > 1 {
		t.Fatalf("%d items queued for one key", len(items))
	}
	if got, want := creates.Load(), int64(cycles+len(items)); got != want {
		t.Errorf("%d creates, want %d (%d delivered, %d queued)", got, want, cycles, len(items))
	}
}

func testShared(t *testing.T, h Harness) {
	if h.Share == nil {
		t.Skip("the engine does not open a second store on one database")
	}
	s1 := h.Open(t)
	s2 := h.Share(t, s1)
	acceptSameKey(t, []bridge.Store{s1, s2}, 32)
	const items = 60
	for i := range items - 1 {
		accept(t, []bridge.Store{s1, s2}[i%2], firing(fmt.Sprintf("k%03d", i), time.Duration(i)*time.Millisecond), bridge.DecisionCreate)
	}
	claimAll(t, []bridge.Store{s1, s2}, 6, items)
}
