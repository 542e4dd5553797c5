package storetest

import (
	"cmp"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

var refreshTests = []test{
	{"DueForRefreshHandsOutEachTicketOncePerInterval", testDueForRefresh},
	{"DueForRefreshLimitOldestFirst", testDueForRefreshLimit},
	{"DueForRefreshSpacesOldTicketsOut", testDueForRefreshByAge},
	{"ReleaseClosesOnlyTheNamedTicket", testReleaseStale},
	{"RecordCheckStoresStatusAndError", testRecordCheck},
}

func due(t *testing.T, s bridge.Store, interval time.Duration, limit int, now time.Duration) []bridge.LedgerEntry {
	t.Helper()
	es, err := s.DueForRefresh(t.Context(), bridge.RefreshRequest{Interval: interval, Limit: limit, Now: at(now)})
	if err != nil {
		t.Fatalf("DueForRefresh(at %v): %v", now, err)
	}
	return es
}

func dueKeys(t *testing.T, s bridge.Store, interval time.Duration, limit int, now time.Duration) string {
	t.Helper()
	var ks []string
	for _, e := range due(t, s, interval, limit, now) {
		if e.CheckedAt == nil || !e.CheckedAt.Equal(at(now)) {
			t.Errorf("DueForRefresh at %v returned %s checked at %v, want %v", now, e.Key, e.CheckedAt, at(now))
		}
		ks = append(ks, e.Key+":"+e.TicketID)
	}
	return strings.Join(ks, ",")
}

func testDueForRefresh(t *testing.T, h Harness) {
	s := h.Open(t)
	const iv = 5 * time.Minute
	open(t, s, "k1", "ISU1", 0)
	open(t, s, "k2", "ISU2", time.Minute)
	open(t, s, "closed", "ISU3", 0)
	if err := s.Release(t.Context(), bridge.Release{Key: "closed", TicketID: "ISU3", Status: "done", Now: at(time.Second)}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	dead(t, s, "dead", 3*time.Minute)
	accept(t, s, firing("pending", 2*time.Minute), bridge.DecisionCreate) // no ticket yet

	if got := dueKeys(t, s, iv, 10, iv-time.Millisecond); got != "" {
		t.Fatalf("due before the interval: %s", got)
	}
	if got := dueKeys(t, s, iv, 10, iv); got != "k1:ISU1" {
		t.Fatalf("due at 5m: %s, want k1:ISU1", got)
	}
	if got := dueKeys(t, s, iv, 10, iv); got != "" {
		t.Fatalf("due again right after: %s, want none", got)
	}
	if got := dueKeys(t, s, iv, 10, 6*time.Minute); got != "k2:ISU2" {
		t.Fatalf("due at 6m: %s, want k2:ISU2", got)
	}
	if got := dueKeys(t, s, iv, 10, 2*iv-time.Millisecond); got != "" {
		t.Fatalf("due before the second interval: %s", got)
	}
	if got := dueKeys(t, s, iv, 10, 2*iv); got != "k1:ISU1" {
		t.Fatalf("due at 10m: %s, want k1:ISU1", got)
	}
	// A recorded check counts as a check.
	if err := s.RecordCheck(t.Context(), bridge.Check{Key: "k2", TicketID: "ISU2", Status: "open", Now: at(8 * time.Minute)}); err != nil {
		t.Fatalf("RecordCheck: %v", err)
	}
	if got := dueKeys(t, s, iv, 10, 13*time.Minute-time.Millisecond); got != "" {
		t.Fatalf("due before 13m: %s", got)
	}
	if got := dueKeys(t, s, iv, 10, 13*time.Minute); got != "k2:ISU2" {
		t.Fatalf("due at 13m: %s, want k2:ISU2", got)
	}
	// The returned entries are whole.
	es := due(t, s, iv, 10, time.Hour)
	if len(es) != 2 {
		t.Fatalf("due at 1h: %d entries, want 2", len(es))
	}
	e := es[0]
	if e.Key == "k2" {
		e = es[1]
	}
	checkEntry(t, e, bridge.LedgerEntry{
		Key: "k1", Receiver: "team-a", State: bridge.StateOpen, TicketID: "ISU1", Level: "issues_level_2000",
		Title: "Disk almost full (k1)", LastStatus: "firing", Notifications: 1, CreatedAt: utc(0),
		UpdatedAt: utc(0), OpenedAt: ptr(utc(0)), CheckedAt: ptr(utc(time.Hour)),
	})
}

func testDueForRefreshLimit(t *testing.T, h Harness) {
	s := h.Open(t)
	for i := range 5 {
		open(t, s, fmt.Sprintf("k%d", i), fmt.Sprintf("ISU%d", i), time.Duration(4-i)*time.Second)
	}
	if got := dueKeys(t, s, time.Minute, 2, time.Hour); got != "k4:ISU4,k3:ISU3" {
		t.Fatalf("first batch: %s, want k4:ISU4,k3:ISU3", got)
	}
	if got := dueKeys(t, s, time.Minute, 2, time.Hour); got != "k2:ISU2,k1:ISU1" {
		t.Fatalf("second batch: %s, want k2:ISU2,k1:ISU1", got)
	}
	if got := dueKeys(t, s, time.Minute, 2, time.Hour); got != "k0:ISU0" {
		t.Fatalf("third batch: %s, want k0:ISU0", got)
	}
	if got := dueKeys(t, s, time.Minute, 2, time.Hour); got != "" {
		t.Fatalf("fourth batch: %s, want none", got)
	}
}

func testReleaseStale(t *testing.T, h Harness) {
	s := h.Open(t)
	open(t, s, "k1", "ISU1", 0)
	accept(t, s, firing("pending", time.Second), bridge.DecisionCreate)
	before := entry(t, s, "k1")
	for _, r := range []bridge.Release{
		{Key: "k1", TicketID: "ISU0", Status: "done", Now: at(time.Minute)},
		{Key: "k1", TicketID: "", Status: "done", Now: at(time.Minute)},
		{Key: "nope", TicketID: "ISU1", Status: "done", Now: at(time.Minute)},
		{Key: "pending", TicketID: "", Status: "done", Now: at(time.Minute)},
	} {
		err := s.Release(t.Context(), r)
		wantErrIs(t, fmt.Sprintf("Release(%s, %q)", r.Key, r.TicketID), err, bridge.ErrNotFound)
	}
	checkEntry(t, entry(t, s, "k1"), before)
	if e := entry(t, s, "pending"); e.State != bridge.StatePending {
		t.Errorf("pending entry is %s after a Release without ticket", e.State)
	}
	if err := s.Release(t.Context(), bridge.Release{Key: "k1", TicketID: "ISU1", Status: "done", Now: at(time.Minute)}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	closed := entry(t, s, "k1")
	err := s.Release(t.Context(), bridge.Release{Key: "k1", TicketID: "ISU1", Status: "again", Now: at(time.Hour)})
	wantErrIs(t, "second Release", err, bridge.ErrNotFound)
	checkEntry(t, entry(t, s, "k1"), closed)
}

func testRecordCheck(t *testing.T, h Harness) {
	s := h.Open(t)
	open(t, s, "k1", "ISU1", 0)
	want := entry(t, s, "k1")

	check := func(c bridge.Check) {
		t.Helper()
		if err := s.RecordCheck(t.Context(), c); err != nil {
			t.Fatalf("RecordCheck(%+v): %v", c, err)
		}
	}
	check(bridge.Check{Key: "k1", TicketID: "ISU1", Status: "issues_work_flow_status_2000", Now: at(time.Minute)})
	want.TicketStatus, want.CheckedAt = "issues_work_flow_status_2000", ptr(utc(time.Minute))
	checkEntry(t, entry(t, s, "k1"), want)

	// A failed read keeps the last known status.
	check(bridge.Check{Key: "k1", TicketID: "ISU1", Error: "read ticket: timeout", Now: at(2 * time.Minute)})
	want.LastError, want.CheckedAt = "read ticket: timeout", ptr(utc(2*time.Minute))
	checkEntry(t, entry(t, s, "k1"), want)

	// A good read clears the error.
	check(bridge.Check{Key: "k1", TicketID: "ISU1", Status: "issues_work_flow_status_3000", Now: at(3 * time.Minute)})
	want.LastError, want.TicketStatus, want.CheckedAt = "", "issues_work_flow_status_3000", ptr(utc(3*time.Minute))
	checkEntry(t, entry(t, s, "k1"), want)

	err := s.RecordCheck(t.Context(), bridge.Check{Key: "k1", TicketID: "ISU0", Status: "x", Now: at(time.Hour)})
	wantErrIs(t, "RecordCheck of another ticket", err, bridge.ErrNotFound)
	err = s.RecordCheck(t.Context(), bridge.Check{Key: "nope", TicketID: "ISU1", Status: "x", Now: at(time.Hour)})
	wantErrIs(t, "RecordCheck of an unknown key", err, bridge.ErrNotFound)
	checkEntry(t, entry(t, s, "k1"), want)
}

// testDueForRefreshByAge checks the schedule of RefreshRequest.IntervalFor:
// young tickets every Interval, older ones every age/12, at most every
// MaxInterval; and Stats.OldestCheck.
func testDueForRefreshByAge(t *testing.T, h Harness) {
	s := h.Open(t)
	if st, err := s.Stats(t.Context()); err != nil || !st.OldestCheck.IsZero() {
		t.Fatalf("Stats of an empty store: OldestCheck %v (%v), want zero", st.OldestCheck, err)
	}
	const day = 24 * time.Hour
	now := 30 * day
	r := bridge.RefreshRequest{Interval: 5 * time.Minute, MaxInterval: time.Hour, Now: at(now)}
	// Ages at now, oldest opening first (open claims each key's item alone).
	// The intervals: 5m at 20m old, 30m at 6h, capped at 1h at 20 days.
	entries := []struct {
		key             string
		opened, checked time.Duration // before now; checked 0: never
		due             bool
	}{
		{"old-never", 20 * day, 0, true},
		{"old-due", 20 * day, 61 * time.Minute, true},
		{"old-not", 20 * day, 59 * time.Minute, false},
		{"mid-due", 6 * time.Hour, 31 * time.Minute, true},
		{"mid-not", 6 * time.Hour, 29 * time.Minute, false},
		{"young-due", 20 * time.Minute, 6 * time.Minute, true},
		{"young-not", 20 * time.Minute, 4 * time.Minute, false},
		{"young-never", 7 * time.Minute, 0, true},
		{"young-new", 3 * time.Minute, 0, false},
	}
	for _, e := range entries {
		open(t, s, e.key, "ISU-"+e.key, now-e.opened)
	}
	for _, e := range entries {
		if e.checked > 0 {
			if err := s.RecordCheck(t.Context(), bridge.Check{Key: e.key, TicketID: "ISU-" + e.key, Status: "open", Now: at(now - e.checked)}); err != nil {
				t.Fatalf("RecordCheck(%s): %v", e.key, err)
			}
		}
		since := cmp.Or(e.checked, e.opened)
		if got := since >= r.IntervalFor(e.opened); got != e.due {
			t.Fatalf("%s: IntervalFor(%v) = %v says due %v, the table %v", e.key, e.opened, r.IntervalFor(e.opened), got, e.due)
		}
	}
	if st, err := s.Stats(t.Context()); err != nil || !st.OldestCheck.Equal(at(now-20*day)) {
		t.Fatalf("Stats: OldestCheck %v (%v), want %v", st.OldestCheck, err, at(now-20*day))
	}
	got, err := s.DueForRefresh(t.Context(), r)
	if err != nil {
		t.Fatalf("DueForRefresh: %v", err)
	}
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Key)
	}
	if want := "old-never,old-due,mid-due,young-never,young-due"; strings.Join(keys, ",") != want {
		t.Fatalf("due, oldest check first: %s, want %s", strings.Join(keys, ","), want)
	}
	// Every due entry is now checked: the stalest check is old-not's.
	if st, err := s.Stats(t.Context()); err != nil || !st.OldestCheck.Equal(at(now-59*time.Minute)) {
		t.Fatalf("Stats after the refresh: OldestCheck %v (%v), want %v", st.OldestCheck, err, at(now-59*time.Minute))
	}
}
