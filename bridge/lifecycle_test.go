package bridge_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// engines opens the store of each engine for the tests that run on both:
// nil is newEnv's SQLite file.
func engines() map[string]func(t *testing.T) bridge.Store {
	return map[string]func(t *testing.T) bridge.Store{
		"sqlite": nil,
		"postgres": func(t *testing.T) bridge.Store {
			s, err := postgres.Open(context.Background(), postgresDSN(t), postgres.Options{})
			if err != nil {
				t.Fatalf("open postgres store: %v", err)
			}
			return s
		},
	}
}

// group fires or resolves the alert group name with one alert of a
// severity, in region cn-north-4.
func group(name, severity string) []byte {
	return notification(name, "firing", alertSpec{severity: severity, region: "cn-north-4", startsAt: t0})
}

// resolvedAt1030 is when resolved(name) says its alert ended.
var resolvedAt1030 = t0.Add(30 * time.Minute)

func resolved(name, severity string) []byte {
	return notification(name, "resolved", alertSpec{severity: severity, region: "cn-north-4", status: "resolved",
		startsAt: t0, endsAt: resolvedAt1030})
}

// waitIdle waits until the outbox is empty: every queued operation is done.
func (e *env) waitIdle() {
	e.t.Helper()
	waitFor(e.t, 20*time.Second, "an empty outbox", func() bool { return len(e.outbox()) == 0 })
}

// entry returns the only ledger entry.
func (e *env) entry() bridge.LedgerEntry {
	e.t.Helper()
	entries := e.ledger("")
	if len(entries) != 1 {
		e.t.Fatalf("ledger holds %d entries, want 1: %+v", len(entries), entries)
	}
	return entries[0]
}

// onlyTicket returns the fake's only ticket.
func (e *env) onlyTicket() coctest.Ticket {
	e.t.Helper()
	tickets := e.fake.Tickets()
	if len(tickets) != 1 {
		e.t.Fatalf("COC holds %d tickets, want 1", len(tickets))
	}
	return tickets[0]
}

// TestLevelFollowsTheGroup changes a group's level after its ticket was
// created, under each level policy, on both engines: COC gets one
// ugrading_and_downgrading action with a reason naming the alert, its
// severity and the direction when the policy sends the change, none
// otherwise, and repeats at the new level send nothing more.
func TestLevelFollowsTheGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		policy   mapping.LevelUpdates
		from, to string
		want     string // the level COC ends with
		words    string // in the reason, when an action is sent
	}{
		{"escalate raises warning to critical", mapping.LevelUpdatesEscalate, "warning", "critical", mapping.Level1000, "raised"},
		{"escalate keeps critical when it becomes warning", mapping.LevelUpdatesEscalate, "critical", "warning", mapping.Level1000, ""},
		{"both lowers critical to warning", mapping.LevelUpdatesBoth, "critical", "warning", mapping.Level4000, "lowered"},
		{"off keeps warning when it becomes critical", mapping.LevelUpdatesOff, "warning", "critical", mapping.Level4000, ""},
	}
	for engine, open := range engines() {
		for _, tt := range tests {
			t.Run(engine+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, envOptions{openStore: open, mapConfig: func(c *mapping.Config) { c.LevelUpdates = tt.policy }})
				e.mustAccept(group("DiskFull", tt.from))
				e.waitSettled(1)
				tk := e.onlyTicket()
				if got := e.entry().CocLevel; got != tk.Level {
					t.Fatalf("ledger coc_level after the create = %q, want the level sent, %q", got, tk.Level)
				}
				for range 3 {
					e.mustAccept(group("DiskFull", tt.to))
				}
				e.waitSettled(1)
				actions := e.fake.Actions(tk.TicketID)
				if tt.words == "" {
					if len(actions) != 0 {
						t.Fatalf("actions = %+v, want none under %s", actions, tt.policy)
					}
				} else {
					if len(actions) != 1 || actions[0].Action != client.ActionChangeLevel {
						t.Fatalf("actions = %+v, want one %s", actions, client.ActionChangeLevel)
					}
					p := actions[0].Params
					reason, _ := p["up_down_grade_reason_comment"].(string)
					if p["level"] != tt.want || p["up_down_updated_level"] != tt.want {
						t.Errorf("action params = %v, want level %s", p, tt.want)
					}
					for _, w := range []string{tt.words, "DiskFull", "severity " + tt.to, tk.Level, tt.want} {
						if !strings.Contains(reason, w) {
							t.Errorf("reason %q does not say %q", reason, w)
						}
					}
				}
				after, _ := e.fake.Ticket(tk.TicketID)
				if after.Level != tt.want {
					t.Errorf("COC level = %s, want %s", after.Level, tt.want)
				}
				if got := e.entry(); got.CocLevel != tt.want || got.State != bridge.StateOpen {
					t.Errorf("ledger after the change = %+v, want open at %s", got, tt.want)
				}
				if got := e.fake.Calls(client.OpCreateTicket); got != 1 {
					t.Errorf("creates = %d, want 1", got)
				}
			})
		}
	}
}

// TestActionOnAClosedTicketReleasesTheKey closes a ticket in COC by
// cancelling and by rejecting it, unseen by the refresher, then raises its
// group's level: COC refuses the level change, the bridge reads the
// ticket, releases the key with the status COC shows, and because the
// group still fires opens exactly one new ticket naming the old one, at
// the new level. Nothing is dead-lettered.
func TestActionOnAClosedTicketReleasesTheKey(t *testing.T) {
	t.Parallel()
	statuses := []struct{ name, code, statusName string }{
		{"cancelled", coctest.StatusCancelled, "Cancelled"},
		{"rejected", coctest.StatusRejected, "Rejected"},
	}
	for engine, open := range engines() {
		for _, st := range statuses {
			t.Run(engine+"/"+st.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, envOptions{openStore: open})
				e.mustAccept(group("Refused", "warning"))
				e.waitSettled(1)
				first := e.onlyTicket()
				if err := e.fake.SetStatus(first.TicketID, st.code, "", ""); err != nil {
					t.Fatal(err)
				}
				e.mustAccept(group("Refused", "critical"))
				waitFor(t, 20*time.Second, "a new ticket", func() bool { return len(e.fake.Tickets()) == 2 })
				e.waitSettled(1)
				second := e.fake.Tickets()[1]
				if !strings.Contains(second.Description, first.TicketID) {
					t.Errorf("new ticket does not name %s:\n%s", first.TicketID, second.Description)
				}
				if second.Level != mapping.Level1000 {
					t.Errorf("new ticket level = %s, want %s", second.Level, mapping.Level1000)
				}
				got := e.entry()
				if got.TicketID != second.TicketID || got.PreviousTicketID != first.TicketID || got.CocLevel != mapping.Level1000 {
					t.Errorf("ledger = %+v", got)
				}
				if n := len(e.fake.Actions(first.TicketID)); n != 0 {
					t.Errorf("the closed ticket took %d actions", n)
				}
				if v := metricValue(t, e.reg, "coc_bridge_deliveries_total", "kind", "level", "result", "released"); v != 1 {
					t.Errorf("level deliveries released = %v, want 1", v)
				}
				if v := counterValue(t, e.reg, "coc_bridge_dead_letters_total", "", ""); v != 0 {
					t.Errorf("dead letters = %v", v)
				}
			})
		}
	}
}

// TestCancelUnaccepted resolves two groups under on_resolve
// cancel_unaccepted, on both engines: the ticket nobody accepted is
// cancelled with a reason naming the resolve time and its key released;
// the accepted one is left alone and stays open. The cancelled group's next
// firing opens exactly one new ticket naming the old one.
func TestCancelUnaccepted(t *testing.T) {
	t.Parallel()
	for engine, open := range engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{openStore: open, mapConfig: func(c *mapping.Config) {
				c.OnResolve = mapping.OnResolveCancelUnaccepted
			}})
			e.mustAccept(group("Flap", "critical"))
			e.mustAccept(group("Taken", "critical"))
			e.waitSettled(2)
			ticketOf := func(name string) coctest.Ticket {
				for _, tk := range e.fake.Tickets() {
					if strings.Contains(tk.Title, name) {
						return tk
					}
				}
				t.Fatalf("no ticket for %s", name)
				return coctest.Ticket{}
			}
			flap, taken := ticketOf("Flap"), ticketOf("Taken")
			if err := e.fake.Accept(taken.TicketID); err != nil {
				t.Fatal(err)
			}
			e.mustAccept(resolved("Flap", "critical"))
			e.mustAccept(resolved("Taken", "critical"))
			e.waitIdle()

			actions := e.fake.Actions(flap.TicketID)
			if len(actions) != 1 || actions[0].Action != client.ActionCancel {
				t.Fatalf("actions on the unaccepted ticket = %+v, want one %s", actions, client.ActionCancel)
			}
			if reason, _ := actions[0].Params["revocation_reason"].(string); !strings.Contains(reason, "2026-11-23T10:30:00Z") {
				t.Errorf("revocation_reason %q does not name the resolve time", reason)
			}
			if got, _ := e.fake.Ticket(flap.TicketID); got.WorkFlowStatus != coctest.StatusCancelled {
				t.Errorf("unaccepted ticket status = %s, want cancelled", got.WorkFlowStatus)
			}
			if n := len(e.fake.Actions(taken.TicketID)); n != 0 {
				t.Errorf("the accepted ticket took %d actions, want none", n)
			}
			byTicket := map[string]bridge.LedgerEntry{}
			for _, le := range e.ledger("") {
				byTicket[le.TicketID] = le
			}
			if le := byTicket[flap.TicketID]; le.State != bridge.StateClosed || le.TicketStatus != "Cancelled" {
				t.Errorf("cancelled key = %+v, want closed with status Cancelled", le)
			}
			if le := byTicket[taken.TicketID]; le.State != bridge.StateOpen || le.ResolveHandledAt == nil {
				t.Errorf("accepted key = %+v, want open with the resolve handled", le)
			}

			e.mustAccept(group("Flap", "critical"))
			e.mustAccept(group("Flap", "critical"))
			e.mustAccept(group("Taken", "critical"))
			waitFor(t, 20*time.Second, "a new ticket for the cancelled group", func() bool { return len(e.fake.Tickets()) == 3 })
			e.waitSettled(2)
			if n := len(e.fake.Tickets()); n != 3 {
				t.Fatalf("COC holds %d tickets, want the two first and one new", n)
			}
			if third := e.fake.Tickets()[2]; !strings.Contains(third.Description, flap.TicketID) {
				t.Errorf("new ticket does not name the cancelled %s:\n%s", flap.TicketID, third.Description)
			}
		})
	}
}

// TestSubmitSolution resolves a group under on_resolve submit_solution:
// COC gets one submitting_question with the mapping's fields, the
// ticket's own regions and a solution saying when the alerts resolved; the
// key stays open (COC waits for someone to complete the ticket).
func TestSubmitSolution(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{mapConfig: func(c *mapping.Config) {
		c.OnResolve = mapping.OnResolveSubmitSolution
		c.SubmitSolution = mapping.SolutionFields{RootCauseCloudService: "app-1", RootCauseType: "issues_root_cause_type_4000",
			RootCauseComment: "the alert resolved on its own"}
	}})
	e.mustAccept(group("Solved", "major"))
	e.waitSettled(1)
	tk := e.onlyTicket()
	e.mustAccept(resolved("Solved", "major"))
	e.waitIdle()
	actions := e.fake.Actions(tk.TicketID)
	if len(actions) != 1 || actions[0].Action != client.ActionSubmitSolution {
		t.Fatalf("actions = %+v, want one %s", actions, client.ActionSubmitSolution)
	}
	p := actions[0].Params
	if p["root_cause_cloud_service"] != "app-1" || p["root_cause_type"] != "issues_root_cause_type_4000" ||
		p["root_cause_comment"] != "the alert resolved on its own" || p["regions"] != tk.Regions {
		t.Errorf("params = %v, want the mapping's fields and the ticket's regions %q", p, tk.Regions)
	}
	if s, _ := p["solution"].(string); !strings.Contains(s, "2026-11-23T10:30:00Z") || !strings.Contains(s, "Solved") {
		t.Errorf("solution %q does not say which alerts resolved when", s)
	}
	if got := e.entry(); got.State != bridge.StateOpen || got.ResolveHandledAt == nil {
		t.Errorf("ledger = %+v, want open with the resolve handled", got)
	}
	// A repeat of the resolve sends nothing more.
	e.mustAccept(resolved("Solved", "major"))
	e.waitIdle()
	if n := len(e.fake.Actions(tk.TicketID)); n != 1 {
		t.Errorf("actions after a repeated resolve = %d, want 1", n)
	}
}

// TestActionRefusalIsDeadLetteredAndReplayable makes COC refuse a level
// change of an open ticket: the item is dead-lettered with COC's code, the
// key keeps its open ticket, and a replay (coc-bridge outbox replay) sends
// the change.
func TestActionRefusalIsDeadLetteredAndReplayable(t *testing.T) {
	t.Parallel()
	for engine, open := range engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{openStore: open})
			e.mustAccept(group("Refusal", "warning"))
			e.waitSettled(1)
			tk := e.onlyTicket()
			e.fake.FailNext(coctest.OpAction, 1, coctest.Fault{Status: 400, Code: client.CodeInvalidParameter, Message: "Invalid parameter"})
			e.mustAccept(group("Refusal", "critical"))
			var dead []bridge.OutboxItem
			waitFor(t, 20*time.Second, "a dead level change", func() bool {
				items, err := e.store.Outbox(context.Background(), bridge.OutboxFilter{State: bridge.ItemDead})
				dead = items
				return err == nil && len(items) == 1
			})
			if dead[0].Kind != bridge.KindLevel || dead[0].ErrorCode != client.CodeInvalidParameter {
				t.Errorf("dead item = %+v, want a level change with COC's code", dead[0])
			}
			if got := e.entry(); got.State != bridge.StateOpen || got.TicketID != tk.TicketID {
				t.Errorf("ledger = %+v, want the ticket still open", got)
			}
			if got, _ := e.fake.Ticket(tk.TicketID); got.Level != mapping.Level4000 {
				t.Errorf("COC level after the refusal = %s", got.Level)
			}
			n, err := e.store.Replay(context.Background(), bridge.ReplayRequest{Key: dead[0].Key, Now: time.Now()})
			if err != nil || n != 1 {
				t.Fatalf("replay = %d, %v", n, err)
			}
			e.waitSettled(1)
			if got, _ := e.fake.Ticket(tk.TicketID); got.Level != mapping.Level1000 {
				t.Errorf("COC level after the replay = %s, want %s", got.Level, mapping.Level1000)
			}
			if actions := e.fake.Actions(tk.TicketID); len(actions) != 1 {
				t.Errorf("actions = %+v, want the replayed one", actions)
			}
			if v := counterValue(t, e.reg, "coc_bridge_dead_letters_total", "", ""); v != 1 {
				t.Errorf("dead letters = %v, want 1", v)
			}
		})
	}
}

// clock is a test clock shared by the bridge and the fake COC: real time
// plus an offset the test moves forward.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// TestLostCreateAnswerWithVisibilityLag drops the answer of a create that
// COC stored, and COC shows new tickets only 20 s after their create (its
// asynchronous create), on both engines. The lookups by source_id follow
// the default schedule (now, 5 s, 30 s, 2 min) on a clock the test moves
// forward a second at a time: the early lookups find nothing, and the key
// waits for the next one rather than creating again, until one finds the
// ticket and adopts it. Exactly one ticket, one create.
func TestLostCreateAnswerWithVisibilityLag(t *testing.T) {
	t.Parallel()
	for engine, open := range engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			clk := &clock{}
			fake := coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK, NowFunc: clk.now})
			srv := newCOCServer(t, fake)
			fake.SetVisibilityLag(20 * time.Second)
			fake.DropAfterCreate(1)
			e := newEnv(t, envOptions{fake: fake, cocURL: srv, openStore: open, lease: time.Hour,
				mapConfig: func(c *mapping.Config) { c.LookupSchedule = mapping.DefaultLookupSchedule() },
				mutate:    func(o *bridge.Options) { o.NowFunc = clk.now }})
			e.mustAccept(group("Lagging", "critical"))
			waitFor(t, 20*time.Second, "the first lookup", func() bool { return fake.Calls(client.OpListTickets) >= 1 })
			waitFor(t, 60*time.Second, "the ticket to be adopted", func() bool {
				clk.advance(time.Second)
				return len(e.ledger(bridge.StateOpen)) == 1 && len(e.outbox()) == 0
			})
			e.assertOneTicketPerKey(1)
			if got := fake.Calls(client.OpCreateTicket); got != 1 {
				t.Errorf("creates = %d, want 1", got)
			}
			if v := metricValue(t, e.reg, "coc_bridge_deliveries_total", "kind", "create", "result", "lookup_empty"); v < 1 {
				t.Errorf("empty lookups = %v, want at least 1 (the ticket was not visible at first)", v)
			}
			if v := counterValue(t, e.reg, "coc_bridge_tickets_adopted_total", "", ""); v != 1 {
				t.Errorf("adopted = %v, want 1", v)
			}
		})
	}
}

// TestLookupBeforeCreate starts a new, empty store next to a COC that
// holds a group's open ticket: with lookup_before_create the group's
// firing adopts it; without, it opens a second one (what the setting is
// for).
func TestLookupBeforeCreate(t *testing.T) {
	t.Parallel()
	old := newEnv(t, envOptions{})
	old.mustAccept(group("Restored", "major"))
	old.waitSettled(1)
	old.stop()
	existing := old.onlyTicket()

	e := newEnv(t, envOptions{fake: old.fake, cocURL: old.cocURL, mapConfig: func(c *mapping.Config) { c.LookupBeforeCreate = true }})
	e.mustAccept(group("Restored", "major"))
	e.waitSettled(1)
	if got := e.entry(); got.TicketID != existing.TicketID {
		t.Errorf("ledger ticket = %s, want the existing %s adopted", got.TicketID, existing.TicketID)
	}
	if n := len(e.fake.Tickets()); n != 1 {
		t.Errorf("COC holds %d tickets with lookup_before_create, want 1", n)
	}
	e.stop()

	without := newEnv(t, envOptions{fake: old.fake, cocURL: old.cocURL})
	without.mustAccept(group("Restored", "major"))
	without.waitSettled(1)
	if n := len(without.fake.Tickets()); n != 2 {
		t.Errorf("COC holds %d tickets without lookup_before_create, want 2 (a new store knows no ticket)", n)
	}
}
