package bridge_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/mapping"
)

func alertMode(c *mapping.Config) { c.DedupeBy = mapping.KeyByAlert }

// With dedupe_by: alert, a notification of three alerts is three keys,
// accepted together, and three tickets. The same notification again, from
// an HA peer, creates nothing; a later one where one alert resolved records
// that on its key only.
func TestAlertModeOneTicketPerAlert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{mapConfig: alertMode})
	specs := []alertSpec{
		{severity: "critical", region: "cn-north-4", startsAt: t0},
		{severity: "major", region: "cn-south-1", startsAt: t0},
		{severity: "minor", region: "cn-east-3", startsAt: t0},
	}
	body := notification("PerAlert", "firing", specs...)
	code, a, msg := e.postAnswer(body, nil)
	if code != http.StatusOK || len(a.Decisions) != 3 {
		t.Fatalf("first notification: %d %s %+v", code, msg, a)
	}
	keys := map[string]bool{}
	for _, d := range a.Decisions {
		if d.Decision != bridge.DecisionCreate {
			t.Errorf("key %s: %s, want create", d.Key, d.Decision)
		}
		keys[d.Key] = true
	}
	if len(keys) != 3 {
		t.Fatalf("%d distinct keys, want 3: %+v", len(keys), a.Decisions)
	}
	e.waitSettled(3)
	e.assertOneTicketPerKey(3)
	levels := map[string]bool{}
	for _, tk := range e.fake.Tickets() {
		if !keys[tk.SourceID] {
			t.Errorf("ticket %s has source_id %s, not one of the answered keys", tk.TicketID, tk.SourceID)
		}
		levels[tk.Level] = true
	}
	if len(levels) != 3 {
		t.Errorf("ticket levels %v: each alert's own severity should set its ticket's level", levels)
	}

	code, a, _ = e.postAnswer(body, nil)
	if code != http.StatusOK || len(a.Decisions) != 3 {
		t.Fatalf("repeat: %d %+v", code, a)
	}
	for _, d := range a.Decisions {
		if d.Decision != bridge.DecisionSuppressOpen || d.TicketID == "" {
			t.Errorf("repeat, key %s: %s ticket %q, want suppress_open with the ticket", d.Key, d.Decision, d.TicketID)
		}
	}

	specs[1].status = "resolved"
	code, a, _ = e.postAnswer(notification("PerAlert", "firing", specs...), nil)
	count := map[bridge.Decision]int{}
	for _, d := range a.Decisions {
		count[d.Decision]++
	}
	if code != http.StatusOK || count[bridge.DecisionRecordResolved] != 1 || count[bridge.DecisionSuppressOpen] != 2 {
		t.Errorf("one alert resolved: %d %v, want 1 record_resolved and 2 suppress_open", code, count)
	}
	if got := len(e.fake.Tickets()); got != 3 {
		t.Errorf("%d tickets at the end, want 3", got)
	}
}

// A notification of many alerts with dedupe_by: alert is as many keys,
// stored in one transaction: all of them are queued before the answer.
// (BenchmarkWebhookAlertModeFlood in bench/ times 10,000; under the race
// detector the SQLite engine is too slow for that many in a unit test.)
func TestAlertModeManyAlerts(t *testing.T) {
	t.Parallel()
	const n = 1000
	specs := make([]alertSpec, n)
	for i := range specs {
		specs[i] = alertSpec{severity: "major", region: fmt.Sprintf("cn-north-%d", i%7), startsAt: t0.Add(time.Duration(i) * time.Second)}
	}
	e := newEnv(t, envOptions{noRun: true, mapConfig: alertMode})
	code, a, msg := e.postAnswer(notification("FloodPerAlert", "firing", specs...), nil)
	if code != http.StatusOK || len(a.Decisions) != n {
		t.Fatalf("%d alerts: %d %s, %d decisions", n, code, msg, len(a.Decisions))
	}
	stats, err := e.store.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Outbox[bridge.ItemPending] != n || stats.Ledger[bridge.StatePending] != n {
		t.Errorf("after the answer: %d pending items and %d pending keys, want %d of each",
			stats.Outbox[bridge.ItemPending], stats.Ledger[bridge.StatePending], n)
	}
}
