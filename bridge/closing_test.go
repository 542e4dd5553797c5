package bridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres"
)

// TestEveryClosingStatusReleasesTheKey puts a ticket into a cancelled, a
// rejected and a never-seen status with a closing English name, on both
// engines: the refresher releases the key, the ledger shows the status name,
// and the next firing opens exactly one new ticket naming the old one.
func TestEveryClosingStatusReleasesTheKey(t *testing.T) {
	t.Parallel()
	engines := map[string]func(t *testing.T) bridge.Store{
		"sqlite": nil,
		"postgres": func(t *testing.T) bridge.Store {
			s, err := postgres.Open(context.Background(), postgresDSN(t), postgres.Options{})
			if err != nil {
				t.Fatalf("open postgres store: %v", err)
			}
			return s
		},
	}
	statuses := []struct{ name, code, statusName string }{
		{"cancelled", "issues_work_flow_status_14000", "Cancelled"},
		{"rejected", "issues_work_flow_status_13000", "Rejected"},
		{"unseen", "issues_work_flow_status_99000", "Closed by customer"},
	}
	for engine, open := range engines {
		for _, st := range statuses {
			t.Run(engine+"/"+st.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, envOptions{refresh: 100 * time.Millisecond, openStore: open})
				body := firing("Closing-" + st.name)
				e.mustAccept(body)
				e.waitSettled(1)
				first := e.fake.Tickets()[0]
				if err := e.fake.SetStatus(first.TicketID, st.code, st.statusName, ""); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 10*time.Second, "the refresher to release the "+st.name+" ticket", func() bool {
					return len(e.ledger(bridge.StateClosed)) == 1
				})
				if got := e.ledger(bridge.StateClosed)[0]; got.TicketStatus != st.statusName {
					t.Errorf("ledger status = %q, want the status name %q", got.TicketStatus, st.statusName)
				}
				e.mustAccept(body)
				e.mustAccept(body)
				waitFor(t, 10*time.Second, "a second ticket", func() bool { return len(e.fake.Tickets()) == 2 })
				e.waitSettled(1)
				if n := len(e.fake.Tickets()); n != 2 {
					t.Fatalf("COC has %d tickets, want the old one and exactly one new", n)
				}
				second := e.fake.Tickets()[1]
				if !strings.Contains(second.Description, first.TicketID) {
					t.Errorf("new ticket does not name the previous ticket %s:\n%s", first.TicketID, second.Description)
				}
				if got := e.ledger(bridge.StateOpen)[0]; got.PreviousTicketID != first.TicketID || got.TicketID != second.TicketID {
					t.Errorf("ledger after reopen = %+v", got)
				}
				if v := metricValue(t, e.reg, "coc_bridge_ticket_statuses_total", "status", st.code, "name", st.statusName); v < 1 {
					t.Errorf("coc_bridge_ticket_statuses_total{status=%q,name=%q} = %v, want >= 1", st.code, st.statusName, v)
				}
			})
		}
	}
}
