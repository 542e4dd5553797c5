package bridge

import (
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/mapping"
)

func TestPlanAccept(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	open := LedgerEntry{Key: "k", State: StateOpen, TicketID: "ISU1", Level: "issues_level_4000",
		CocLevel: "issues_level_4000", LastStatus: mapping.StatusFiring, LevelUpdates: mapping.LevelUpdatesEscalate,
		OnResolve: mapping.OnResolveRecord}
	with := func(e LedgerEntry, f func(*LedgerEntry)) LedgerEntry { f(&e); return e }
	firing := func(level string) Notification {
		return Notification{Key: "k", Firing: true, Level: level, ReceivedAt: t0}
	}
	resolved := Notification{Key: "k", ReceivedAt: t0}
	none := ItemRef{}
	tests := []struct {
		name     string
		cur      LedgerEntry
		found    bool
		n        Notification
		item     ItemRef
		want     Decision
		wantPlan ItemPlan
	}{
		{"first firing queues a create", LedgerEntry{}, false, firing("issues_level_3000"), none,
			DecisionCreate, ItemPlan{ItemInsert, KindCreate, true}},
		{"repeat at the same level sends nothing", open, true, firing("issues_level_4000"), none,
			DecisionSuppressOpen, ItemPlan{}},
		{"escalation queues a level change", open, true, firing("issues_level_1000"), none,
			DecisionLevelChange, ItemPlan{ItemInsert, KindLevel, true}},
		{"de-escalation under escalate sends nothing", with(open, func(e *LedgerEntry) { e.CocLevel = "issues_level_1000" }),
			true, firing("issues_level_4000"), none, DecisionSuppressOpen, ItemPlan{}},
		{"de-escalation under both", with(open, func(e *LedgerEntry) { e.CocLevel = "issues_level_1000"; e.LevelUpdates = mapping.LevelUpdatesBoth }),
			true, Notification{Key: "k", Firing: true, Level: "issues_level_4000", ReceivedAt: t0, LevelUpdates: mapping.LevelUpdatesBoth}, none,
			DecisionLevelChange, ItemPlan{ItemInsert, KindLevel, true}},
		{"the notification's policy wins over the recorded one", open, true,
			Notification{Key: "k", Firing: true, Level: "issues_level_1000", ReceivedAt: t0, LevelUpdates: mapping.LevelUpdatesOff}, none,
			DecisionSuppressOpen, ItemPlan{}},
		{"unknown COC level sends nothing", with(open, func(e *LedgerEntry) { e.CocLevel = "" }), true, firing("issues_level_1000"), none,
			DecisionSuppressOpen, ItemPlan{}},
		{"a queued level change carries the newer notification", open, true, firing("issues_level_1000"),
			ItemRef{Found: true, Kind: KindLevel, State: ItemPending}, DecisionLevelChange, ItemPlan{ItemUpdate, KindLevel, true}},
		{"level back before the change was sent: item deleted", open, true, firing("issues_level_4000"),
			ItemRef{Found: true, Kind: KindLevel, State: ItemPending}, DecisionSuppressOpen, ItemPlan{Action: ItemDelete}},
		{"level back while the change is in flight: Complete decides", open, true, firing("issues_level_4000"),
			ItemRef{Found: true, Kind: KindLevel, State: ItemPending, Leased: true}, DecisionSuppressOpen, ItemPlan{}},
		{"escalation while the create is pending is folded into it", with(open, func(e *LedgerEntry) { e.State = StatePending; e.TicketID = "" }),
			true, firing("issues_level_1000"), ItemRef{Found: true, Kind: KindCreate, State: ItemPending},
			DecisionSuppressPending, ItemPlan{ItemUpdate, KindCreate, true}},
		{"resolve under record sends nothing", open, true, resolved, none, DecisionRecordResolved, ItemPlan{}},
		{"resolve under cancel_unaccepted queues a cancel", with(open, func(e *LedgerEntry) { e.OnResolve = mapping.OnResolveCancelUnaccepted }),
			true, resolved, none, DecisionResolveAction, ItemPlan{ItemInsert, KindCancel, true}},
		{"resolve turns a queued level change into the solution", with(open, func(e *LedgerEntry) { e.OnResolve = mapping.OnResolveSubmitSolution }),
			true, resolved, ItemRef{Found: true, Kind: KindLevel, State: ItemPending}, DecisionResolveAction, ItemPlan{ItemUpdate, KindSolution, true}},
		{"a resolve already handled is not sent again", with(open, func(e *LedgerEntry) {
			e.OnResolve = mapping.OnResolveCancelUnaccepted
			e.LastStatus = mapping.StatusResolved
			e.ResolveHandledAt = &t0
		}), true, resolved, none, DecisionRecordResolved, ItemPlan{}},
		{"firing again drops a queued cancel", with(open, func(e *LedgerEntry) {
			e.OnResolve = mapping.OnResolveCancelUnaccepted
			e.LastStatus = mapping.StatusResolved
		}),
			true, firing("issues_level_4000"), ItemRef{Found: true, Kind: KindCancel, State: ItemPending}, DecisionSuppressOpen, ItemPlan{Action: ItemDelete}},
		{"resolve while the create is pending keeps the create's message", with(open, func(e *LedgerEntry) { e.State = StatePending; e.TicketID = "" }),
			true, resolved, ItemRef{Found: true, Kind: KindCreate, State: ItemPending}, DecisionRecordResolved, ItemPlan{ItemUpdate, KindCreate, false}},
		{"a dead level change waits for its replay while still needed", open, true, firing("issues_level_1000"),
			ItemRef{Found: true, Kind: KindLevel, State: ItemDead}, DecisionLevelChange, ItemPlan{ItemUpdate, KindLevel, true}},
		{"a dead level change does not hold back the resolve action", with(open, func(e *LedgerEntry) { e.OnResolve = mapping.OnResolveCancelUnaccepted }),
			true, resolved, ItemRef{Found: true, Kind: KindLevel, State: ItemDead}, DecisionResolveAction, ItemPlan{ItemReplace, KindCancel, true}},
		{"a dead action does not hold back the new cycle's create", with(open, func(e *LedgerEntry) { e.State = StateClosed }),
			true, firing("issues_level_1000"), ItemRef{Found: true, Kind: KindLevel, State: ItemDead}, DecisionCreate, ItemPlan{ItemReplace, KindCreate, true}},
		{"a dead action no longer needed is deleted", open, true, firing("issues_level_4000"),
			ItemRef{Found: true, Kind: KindLevel, State: ItemDead}, DecisionSuppressOpen, ItemPlan{Action: ItemDelete}},
		{"a dead create folds the newer notification", with(open, func(e *LedgerEntry) { e.State = StateDead; e.TicketID = "" }),
			true, firing("issues_level_1000"), ItemRef{Found: true, Kind: KindCreate, State: ItemDead},
			DecisionSuppressDead, ItemPlan{ItemUpdate, KindCreate, true}},
		{"resolve of an unknown key stores nothing", LedgerEntry{}, false, resolved, none, DecisionResolvedUnknown, ItemPlan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, _, plan := PlanAccept(tt.cur, tt.found, tt.n, tt.item)
			if d != tt.want || plan != tt.wantPlan {
				t.Errorf("PlanAccept = %s, %+v; want %s, %+v", d, plan, tt.want, tt.wantPlan)
			}
		})
	}
}

func TestPlanComplete(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	pending := LedgerEntry{Key: "k", State: StatePending, Level: "issues_level_1000", LastStatus: mapping.StatusFiring,
		LevelUpdates: mapping.LevelUpdatesEscalate, OnResolve: mapping.OnResolveCancelUnaccepted}
	open := pending
	open.State, open.TicketID, open.CocLevel = StateOpen, "ISU1", "issues_level_4000"

	t.Run("create opens the ticket at the level sent", func(t *testing.T) {
		e, _, ok := PlanComplete(pending, Completion{Kind: KindCreate, TicketID: "ISU1", Level: "issues_level_1000", Title: "T", Now: t0})
		if ok || e.State != StateOpen || e.TicketID != "ISU1" || e.CocLevel != "issues_level_1000" || e.Title != "T" || e.OpenedAt == nil {
			t.Errorf("after create: %+v, next %v", e, ok)
		}
	})
	t.Run("create sent at an old level is followed by a level change", func(t *testing.T) {
		e, next, ok := PlanComplete(pending, Completion{Kind: KindCreate, TicketID: "ISU1", Level: "issues_level_4000", Now: t0})
		if !ok || next != KindLevel || e.CocLevel != "issues_level_4000" {
			t.Errorf("after create at 4000: next %s %v, entry %+v", next, ok, e)
		}
	})
	t.Run("create completed after the group resolved is followed by the resolve action", func(t *testing.T) {
		p := pending
		p.LastStatus = mapping.StatusResolved
		_, next, ok := PlanComplete(p, Completion{Kind: KindCreate, TicketID: "ISU1", Level: "issues_level_1000", Now: t0})
		if !ok || next != KindCancel {
			t.Errorf("next %s %v, want cancel", next, ok)
		}
	})
	t.Run("level change records COC's level", func(t *testing.T) {
		e, _, ok := PlanComplete(open, Completion{Kind: KindLevel, TicketID: "ISU1", Level: "issues_level_1000", Now: t0})
		if ok || e.CocLevel != "issues_level_1000" || e.State != StateOpen {
			t.Errorf("after level change: %+v, next %v", e, ok)
		}
	})
	t.Run("cancel of a resolved group releases the key", func(t *testing.T) {
		r := open
		r.LastStatus = mapping.StatusResolved
		e, _, ok := PlanComplete(r, Completion{Kind: KindCancel, TicketID: "ISU1", Finished: "Cancelled", Now: t0})
		if ok || e.State != StateClosed || e.TicketStatus != "Cancelled" || e.ClosedAt == nil {
			t.Errorf("after cancel: %+v, next %v", e, ok)
		}
	})
	t.Run("cancel of an accepted ticket marks the resolve handled", func(t *testing.T) {
		r := open
		r.LastStatus = mapping.StatusResolved
		e, _, ok := PlanComplete(r, Completion{Kind: KindCancel, TicketID: "ISU1", Now: t0})
		if ok || e.State != StateOpen || e.ResolveHandledAt == nil {
			t.Errorf("after a cancel left alone: %+v, next %v", e, ok)
		}
	})
	t.Run("a ticket found finished while the group fires starts a new cycle", func(t *testing.T) {
		e, next, ok := PlanComplete(open, Completion{Kind: KindLevel, TicketID: "ISU1", Finished: "Completed", Now: t0})
		if !ok || next != KindCreate || e.State != StatePending || e.PreviousTicketID != "ISU1" || e.TicketID != "" || e.CocLevel != "" {
			t.Errorf("after finished while firing: next %s %v, entry %+v", next, ok, e)
		}
	})
}
