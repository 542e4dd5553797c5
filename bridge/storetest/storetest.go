package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// Harness tells the suite how to get stores of one engine.
type Harness struct {
	// Open returns a new store on a new, empty database. It registers the
	// store's Close (and the database's removal) with t.Cleanup; the suite
	// may close the store earlier, so Close must tolerate a second call.
	Open func(t *testing.T) bridge.Store
	// Reopen closes old and opens the same database again, as a restarted
	// process would.
	Reopen func(t *testing.T, old bridge.Store) bridge.Store
	// Share opens a second store on old's database while old stays open: a
	// second process or replica. Nil skips the tests that need it.
	Share func(t *testing.T, old bridge.Store) bridge.Store
	// SoleOwner says the engine's database belongs to one bridge process
	// (SQLite): TakeBack takes back every lease, not only the replica's.
	SoleOwner bool
}

// Run runs the conformance suite. Its subtests run in parallel, each on its
// own database; engine tests must release shared resources with t.Cleanup,
// not after Run returns.
func Run(t *testing.T, h Harness) {
	if h.Open == nil || h.Reopen == nil {
		t.Fatal("storetest: Harness.Open and Harness.Reopen are required")
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Accept", acceptTests},
		{"AcceptBatch", batchTests},
		{"Repeat", repeatTests},
		{"Delivery", deliveryTests},
		{"Replay", replayTests},
		{"Refresh", refreshTests},
		{"Views", viewTests},
		{"Lifecycle", lifecycleTests},
		{"Concurrency", concurrencyTests},
		{"SafeText", safeTextTests},
		{"TakeBack", takeBackTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, h)
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, h Harness)
}

// Owners used by the tests.
const (
	ownerA = "replica-1/worker-0"
	ownerB = "replica-2/worker-0"
	lease  = time.Minute
)

// base is the fixed time every test counts from. Its zone is not UTC, so
// the suite checks that engines return UTC.
func base() time.Time {
	return time.Date(2025, time.March, 14, 9, 26, 53, 589_000_000, time.FixedZone("CST", 8*3600))
}

// at is base plus d.
func at(d time.Duration) time.Time { return base().Add(d) }

// utc is base plus d as an engine returns it.
func utc(d time.Duration) time.Time { return at(d).UTC() }

func ptr(t time.Time) *time.Time { return &t }

// message is a notification body unique to key and time.
func message(key, status string, t time.Time) []byte {
	return fmt.Appendf(nil, `{"version":"4","status":%q,"groupKey":%q,"receiver":"team-a","at":%q}`,
		status, key, t.Format(time.RFC3339Nano))
}

func firing(key string, d time.Duration) bridge.Notification {
	return bridge.Notification{
		Key: key, Receiver: "team-a", Firing: true, Level: "issues_level_2000",
		Message: message(key, "firing", at(d)), ReceivedAt: at(d),
	}
}

func resolved(key string, d time.Duration) bridge.Notification {
	return bridge.Notification{
		Key: key, Receiver: "team-a", Firing: false, Level: "issues_level_4000",
		Message: message(key, "resolved", at(d)), ReceivedAt: at(d),
	}
}

func accept(t *testing.T, s bridge.Store, n bridge.Notification, want bridge.Decision) bridge.AcceptResult {
	t.Helper()
	res, err := s.Accept(t.Context(), n)
	if err != nil {
		t.Fatalf("Accept(%s): %v", n.Key, err)
	}
	if len(res) != 1 {
		t.Fatalf("Accept(%s): %d results, want 1", n.Key, len(res))
	}
	if res[0].Decision != want {
		t.Fatalf("Accept(%s): decision %q, want %q", n.Key, res[0].Decision, want)
	}
	return res[0]
}

func claim(t *testing.T, s bridge.Store, owner string, now time.Duration, limit int) []bridge.Delivery {
	t.Helper()
	ds, err := s.Claim(t.Context(), bridge.ClaimRequest{Owner: owner, Limit: limit, Lease: lease, Now: at(now)})
	if err != nil {
		t.Fatalf("Claim(%s at %v): %v", owner, now, err)
	}
	return ds
}

// claimOne claims and expects exactly one delivery.
func claimOne(t *testing.T, s bridge.Store, owner string, now time.Duration) bridge.Delivery {
	t.Helper()
	ds := claim(t, s, owner, now, 10)
	if len(ds) != 1 {
		t.Fatalf("Claim(%s at %v): %d deliveries, want 1: %+v", owner, now, len(ds), ds)
	}
	return ds[0]
}

func claimNone(t *testing.T, s bridge.Store, owner string, now time.Duration) {
	t.Helper()
	if ds := claim(t, s, owner, now, 10); len(ds) != 0 {
		t.Fatalf("Claim(%s at %v): %d deliveries, want none: %+v", owner, now, len(ds), ds)
	}
}

func complete(t *testing.T, s bridge.Store, d bridge.Delivery, owner, ticket string, now time.Duration) {
	t.Helper()
	err := s.Complete(t.Context(), bridge.Completion{ID: d.ID, Owner: owner, TicketID: ticket,
		Title: "Disk almost full (" + d.Key + ")", Now: at(now)})
	if err != nil {
		t.Fatalf("Complete(%d, %s): %v", d.ID, ticket, err)
	}
}

// open drives key through first firing, claim and completion: its entry is
// open with ticket. The key's item must be the only one due at d.
func open(t *testing.T, s bridge.Store, key, ticket string, d time.Duration) bridge.Delivery {
	t.Helper()
	accept(t, s, firing(key, d), bridge.DecisionCreate)
	dl := claimOne(t, s, ownerA, d)
	if dl.Key != key {
		t.Fatalf("claimed %s, want %s", dl.Key, key)
	}
	complete(t, s, dl, ownerA, ticket, d)
	return dl
}

// dead drives key through first firing, claim and dead-lettering. The key's
// item must be the only one due at d.
func dead(t *testing.T, s bridge.Store, key string, d time.Duration) bridge.Delivery {
	t.Helper()
	accept(t, s, firing(key, d), bridge.DecisionCreate)
	dl := claimOne(t, s, ownerA, d)
	if dl.Key != key {
		t.Fatalf("claimed %s, want %s", dl.Key, key)
	}
	err := s.DeadLetter(t.Context(), bridge.DeadLetterRequest{
		ID: dl.ID, Owner: ownerA, Code: deadCode, Message: deadMessage, Now: at(d),
	})
	if err != nil {
		t.Fatalf("DeadLetter(%s): %v", key, err)
	}
	return dl
}

// The failure dead uses.
const (
	deadCode    = "GOM.00007256"
	deadMessage = "invalid parameter: level"
)

// entry returns key's ledger entry.
func entry(t *testing.T, s bridge.Store, key string) bridge.LedgerEntry {
	t.Helper()
	return only(t, "Ledger", key, ledger(t, s, bridge.LedgerFilter{Key: key}))
}

// item returns key's only outbox item.
func item(t *testing.T, s bridge.Store, key string) bridge.OutboxItem {
	t.Helper()
	return only(t, "Outbox", key, outbox(t, s, bridge.OutboxFilter{Key: key}))
}

func ledger(t *testing.T, s bridge.Store, f bridge.LedgerFilter) []bridge.LedgerEntry {
	t.Helper()
	return listed(t, "Ledger", s.Ledger, f)
}

func outbox(t *testing.T, s bridge.Store, f bridge.OutboxFilter) []bridge.OutboxItem {
	t.Helper()
	return listed(t, "Outbox", s.Outbox, f)
}

// listed is what the store view list (what names it) lists for f.
func listed[F, T any](t *testing.T, what string, list func(context.Context, F) ([]T, error), f F) []T {
	t.Helper()
	vs, err := list(t.Context(), f)
	if err != nil {
		t.Fatalf("%s(%+v): %v", what, f, err)
	}
	return vs
}

// only is the one value a store view (what) lists for key.
func only[T any](t *testing.T, what, key string, vs []T) T {
	t.Helper()
	if len(vs) != 1 {
		t.Fatalf("%s(%s): %d listed, want 1: %+v", what, key, len(vs), vs)
	}
	return vs[0]
}

func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// sameFields reports every exported field of got that differs from want
// (structs of one type): times compare with Equal and must be UTC, byte
// slices by content, the rest with ==. Fields named in unlessZero are
// compared only when want sets them.
func sameFields(t *testing.T, what string, got, want any, unlessZero ...string) {
	t.Helper()
	var b strings.Builder
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range w.NumField() {
		name := w.Type().Field(i).Name
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if slices.Contains(unlessZero, name) && w.Field(i).IsZero() {
			continue
		}
		if !sameValue(gf, wf) {
			fmt.Fprintf(&b, "\n  %s: got %v, want %v", name, show(gf), show(wf))
		}
	}
	if b.Len() > 0 {
		t.Errorf("%s differs:%s", what, b.String())
	}
}

func sameValue(got, want any) bool {
	switch w := want.(type) {
	case time.Time:
		g := got.(time.Time)
		return g.Equal(w) && g.Location() == time.UTC
	case *time.Time:
		g := got.(*time.Time)
		return (g == nil) == (w == nil) && (g == nil || sameValue(*g, *w))
	case []byte:
		return bytes.Equal(got.([]byte), w)
	case map[string]string:
		g := got.(map[string]string)
		return len(g) == len(w) && maps.Equal(g, w)
	}
	return got == want
}

func show(v any) any {
	switch x := v.(type) {
	case *time.Time:
		if x != nil {
			return *x
		}
	case []byte:
		return string(x)
	}
	return v
}

func checkEntry(t *testing.T, got, want bridge.LedgerEntry) {
	t.Helper()
	sameFields(t, fmt.Sprintf("ledger entry %q", want.Key), got, want)
}

// checkItem compares an outbox item; every item is a create unless want
// says otherwise.
func checkItem(t *testing.T, got, want bridge.OutboxItem) {
	t.Helper()
	want.Kind = cmp.Or(want.Kind, bridge.KindCreate)
	sameFields(t, fmt.Sprintf("outbox item of %q", want.Key), got, want, "ID")
}

// checkDelivery compares a claimed item; every item is a create unless
// want says otherwise.
func checkDelivery(t *testing.T, got, want bridge.Delivery) {
	t.Helper()
	want.Kind = cmp.Or(want.Kind, bridge.KindCreate)
	sameFields(t, fmt.Sprintf("delivery of %q", want.Key), got, want, "ID")
}

// ctxCancelled is a context that is already done.
func ctxCancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
