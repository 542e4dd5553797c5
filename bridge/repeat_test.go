package bridge_test

import (
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/mapping"
)

func TestPlanRepeat(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	opened := t0.Add(time.Minute)
	open := bridge.LedgerEntry{
		Key: "k", Receiver: "team-a", State: bridge.StateOpen, TicketID: "ISU1", Level: "issues_level_2000",
		CocLevel: "issues_level_2000", LastStatus: mapping.StatusFiring, Notifications: 3, CreatedAt: t0,
		UpdatedAt: opened, OpenedAt: &opened, GroupLabels: map[string]string{"alertname": "A"},
		LevelUpdates: mapping.LevelUpdatesEscalate,
	}
	fire := bridge.Notification{
		Key: "k", Receiver: "team-a", Firing: true, Level: "issues_level_2000", ReceivedAt: t0.Add(time.Hour),
		GroupLabels: map[string]string{"alertname": "A"}, LevelUpdates: mapping.LevelUpdatesEscalate,
	}
	with := func(f func(*bridge.LedgerEntry, *bridge.Notification)) (bridge.LedgerEntry, bridge.Notification) {
		e, n := open, fire
		f(&e, &n)
		return e, n
	}
	tests := []struct {
		name   string
		f      func(*bridge.LedgerEntry, *bridge.Notification)
		found  bool
		item   bridge.ItemRef
		repeat bool
	}{
		{"firing on an open ticket", func(*bridge.LedgerEntry, *bridge.Notification) {}, true, bridge.ItemRef{}, true},
		{"unknown key", func(*bridge.LedgerEntry, *bridge.Notification) {}, false, bridge.ItemRef{}, false},
		{"pending create carries the newest message", func(e *bridge.LedgerEntry, _ *bridge.Notification) {
			e.State, e.TicketID = bridge.StatePending, ""
		}, true, bridge.ItemRef{Found: true, Kind: bridge.KindCreate, State: bridge.ItemPending}, false},
		{"dead create: suppressed, nothing written", func(e *bridge.LedgerEntry, _ *bridge.Notification) {
			e.State, e.TicketID = bridge.StateDead, ""
		}, true, bridge.ItemRef{Found: true, Kind: bridge.KindCreate, State: bridge.ItemDead}, false},
		{"escalation queues a level change", func(_ *bridge.LedgerEntry, n *bridge.Notification) {
			n.Level = "issues_level_1000"
		}, true, bridge.ItemRef{}, false},
		{"other level without level updates", func(e *bridge.LedgerEntry, n *bridge.Notification) {
			e.LevelUpdates, n.LevelUpdates, n.Level = mapping.LevelUpdatesOff, mapping.LevelUpdatesOff, "issues_level_1000"
		}, true, bridge.ItemRef{}, false},
		{"other group labels", func(_ *bridge.LedgerEntry, n *bridge.Notification) {
			n.GroupLabels = map[string]string{"alertname": "B"}
		}, true, bridge.ItemRef{}, false},
		{"no group labels keeps the stored ones", func(_ *bridge.LedgerEntry, n *bridge.Notification) {
			n.GroupLabels = nil
		}, true, bridge.ItemRef{}, true},
		{"other receiver", func(_ *bridge.LedgerEntry, n *bridge.Notification) {
			n.Receiver = "team-b"
		}, true, bridge.ItemRef{}, false},
		{"resolve", func(_ *bridge.LedgerEntry, n *bridge.Notification) {
			n.Firing = false
		}, true, bridge.ItemRef{}, false},
		{"firing after a handled resolve", func(e *bridge.LedgerEntry, _ *bridge.Notification) {
			e.ResolveHandledAt = &opened
		}, true, bridge.ItemRef{}, false},
		{"closed ticket: a new cycle", func(e *bridge.LedgerEntry, _ *bridge.Notification) {
			e.State = bridge.StateClosed
		}, true, bridge.ItemRef{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur, n := with(tc.f)
			d, e, ok := bridge.PlanRepeat(cur, tc.found, n, tc.item)
			if ok != tc.repeat {
				t.Fatalf("PlanRepeat ok = %t, want %t", ok, tc.repeat)
			}
			if !ok {
				return
			}
			wd, we, _ := bridge.PlanAccept(cur, tc.found, n, tc.item)
			if d != wd {
				t.Errorf("decision %s, want PlanAccept's %s", d, wd)
			}
			got := bridge.CountRepeat(cur, e, 2, n.ReceivedAt.Add(-time.Minute))
			we.Notifications++ // two buffered: this one and one before
			we.UpdatedAt = n.ReceivedAt.Add(-time.Minute)
			if got.Notifications != we.Notifications || !got.UpdatedAt.Equal(we.UpdatedAt) {
				t.Errorf("CountRepeat: %d at %s, want %d at %s", got.Notifications, got.UpdatedAt, we.Notifications, we.UpdatedAt)
			}
		})
	}
}
