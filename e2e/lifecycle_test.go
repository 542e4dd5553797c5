//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// alarm is an alert of group name (alertname and cluster are the route's
// group_by) on instance at severity, ending at end.
func alarm(name, instance, severity string, start, end time.Time) alert {
	return alert{
		Labels: map[string]string{
			"alertname": name, "cluster": "e2e-c1", "instance": instance,
			"severity": severity, "region": "cn-north-4",
		},
		Annotations: map[string]string{"summary": name + " on " + instance},
		StartsAt:    start,
		EndsAt:      end,
	}
}

// testLifecycle drives a ticket's life after its create through a real
// Alertmanager: a group that escalates from warning to critical changes its
// ticket's level once; under on_resolve cancel_unaccepted a group that
// resolves before anyone accepted its ticket has it cancelled (the key is
// released), and one whose ticket was accepted keeps it.
func testLifecycle(t *testing.T, amBin, bridgeBin string) {
	dir := t.TempDir()
	coc := startFakeCOC(t)
	br := startBridge(t, bridgeBin, dir, "bridge", coc, filepath.Join(dir, "coc-bridge.db"),
		"COC_BRIDGE_REFRESH_INTERVAL=1s", "COC_BRIDGE_ON_RESOLVE=cancel_unaccepted")
	cfg := amConfig(t, dir, br.URL+"/api/v1/alerts", timings)
	am := startAlertmanager(t, amBin, dir, "alertmanager", cfg, "--cluster.listen-address=")

	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	later := start.Add(time.Hour)
	am.post(t, alarm("E2EEscalates", "db-1", "warning", start, later),
		alarm("E2EFlaps", "web-1", "warning", start, later),
		alarm("E2EAccepted", "job-1", "warning", start, later))
	tickets := waitTickets(t, coc, 3)
	esc := ticketFor(t, tickets, "E2EEscalates")
	flap := ticketFor(t, tickets, "E2EFlaps")
	acc := ticketFor(t, tickets, "E2EAccepted")
	if esc.Level != "issues_level_4000" {
		t.Fatalf("warning group created at %s, want issues_level_4000", esc.Level)
	}

	// Escalation: a critical alert joins the warning group.
	am.post(t, alarm("E2EEscalates", "db-2", "critical", start, later))
	waitFor(t, 30*time.Second, "the ticket's level changed in COC", func() (bool, string) {
		tk, _ := coc.Ticket(esc.TicketID)
		return tk.Level == "issues_level_1000", "level " + tk.Level
	})
	// Repeats at the new level send nothing more.
	const repeats = `coc_bridge_decisions_total{decision="suppress_open"}`
	before := br.metric(t, repeats)
	waitFor(t, 30*time.Second, "repeats after the escalation", func() (bool, string) {
		v := br.metric(t, repeats)
		return v >= before+3, fmt.Sprintf("%s %v -> %v", repeats, before, v)
	})
	acts := coc.Actions(esc.TicketID)
	if len(acts) != 1 || acts[0].Action != client.ActionChangeLevel {
		t.Fatalf("actions on the escalated ticket: %+v, want one level change", acts)
	}
	if reason, _ := acts[0].Params["up_down_grade_reason_comment"].(string); !strings.Contains(reason, "critical") {
		t.Errorf("level change reason %q does not say which severity", reason)
	}

	// Resolve policy: the unaccepted ticket is cancelled, the accepted one
	// is left alone.
	if err := coc.Accept(acc.TicketID); err != nil {
		t.Fatal(err)
	}
	ended := time.Now().Add(-time.Second).UTC()
	am.post(t, alarm("E2EFlaps", "web-1", "warning", start, ended),
		alarm("E2EAccepted", "job-1", "warning", start, ended))
	waitFor(t, 30*time.Second, "the unaccepted ticket cancelled and its key released", func() (bool, string) {
		tk, _ := coc.Ticket(flap.TicketID)
		e := entryFor(t, br.ledger(t), flap.SourceID)
		return tk.WorkFlowStatus == coctest.StatusCancelled && e.State == bridge.StateClosed,
			fmt.Sprintf("COC status %s, ledger %s", tk.WorkFlowStatus, e.State)
	})
	waitFor(t, 30*time.Second, "the accepted group's resolve handled", func() (bool, string) {
		e := entryFor(t, br.ledger(t), acc.SourceID)
		return e.ResolveHandledAt != nil, fmt.Sprintf("ledger %s, last status %s", e.State, e.LastStatus)
	})
	if tk, _ := coc.Ticket(acc.TicketID); tk.WorkFlowStatus != coctest.StatusHandling || len(coc.Actions(acc.TicketID)) != 0 {
		t.Errorf("accepted ticket: status %s, actions %+v; want it left alone", tk.WorkFlowStatus, coc.Actions(acc.TicketID))
	}
	if e := entryFor(t, br.ledger(t), acc.SourceID); e.State != bridge.StateOpen {
		t.Errorf("accepted ticket's key is %s, want open", e.State)
	}
	if n := len(coc.Tickets()); n != 3 {
		t.Errorf("%d tickets in all, want 3", n)
	}
}

// waitTickets waits for n tickets at the fake and returns them.
func waitTickets(t *testing.T, coc *fakeCOC, n int) []coctest.Ticket {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d tickets", n), func() (bool, string) {
		got := len(coc.Tickets())
		return got == n, fmt.Sprintf("%d tickets", got)
	})
	return coc.Tickets()
}
