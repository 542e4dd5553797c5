//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres/pgtest"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// Route timings the tests put into the example config: the first
// notification a second after a post, a repeat every few seconds. A
// group_wait of 0s let Alertmanager flush a group before the second alert
// of the same post joined it (seen in CI: a ticket with one of two alerts).
var timings = map[string]string{
	"group_wait":      "1s",
	"group_interval":  "1s",
	"repeat_interval": "3s",
}

const sourceAlarm = "issues_mgmt_associated_type_2000"

// TestAlertmanager runs a real Alertmanager in front of the coc-bridge
// binary and the fake COC.
func TestAlertmanager(t *testing.T) {
	amBin := alertmanagerBinary(t)
	dir := t.TempDir()
	bridgeBin := buildBridge(t, dir)
	t.Run("example config is valid", func(t *testing.T) { checkConfig(t, exampleConfig) })
	t.Run("single", func(t *testing.T) { testSingle(t, amBin, bridgeBin) })
	t.Run("ha", func(t *testing.T) { testHA(t, amBin, bridgeBin) })
	t.Run("lifecycle", func(t *testing.T) { testLifecycle(t, amBin, bridgeBin) })
}

// diskFull is a group of two alerts (critical and warning, two regions);
// latency a group of one warning alert.
func diskFull(start time.Time) []alert {
	mk := func(instance, severity, region string) alert {
		return alert{
			Labels: map[string]string{
				"alertname": "E2EDiskFull", "cluster": "e2e-c1", "instance": instance,
				"severity": severity, "region": region, "job": "node",
			},
			Annotations: map[string]string{
				"summary":     "Disk almost full on " + instance,
				"description": "Filesystem /data on " + instance + " is 97% full.",
			},
			StartsAt:     start,
			EndsAt:       start.Add(time.Hour),
			GeneratorURL: "http://prometheus.example/graph?g0.expr=disk_full",
		}
	}
	return []alert{mk("node-1", "critical", "cn-north-4"), mk("node-2", "warning", "cn-south-1")}
}

func latency(start, end time.Time) alert {
	return alert{
		Labels: map[string]string{
			"alertname": "E2EHighLatency", "cluster": "e2e-c1", "instance": "api-1",
			"severity": "warning", "region": "ap-southeast-3",
		},
		Annotations: map[string]string{"summary": "p99 latency above 2s on api-1"},
		StartsAt:    start,
		EndsAt:      end,
	}
}

// ticketFor returns the only ticket whose description mentions name.
func ticketFor(t *testing.T, tickets []coctest.Ticket, name string) coctest.Ticket {
	t.Helper()
	var found []coctest.Ticket
	for _, tk := range tickets {
		if strings.Contains(tk.Description, name) {
			found = append(found, tk)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one ticket mentioning %s, got %d", name, len(found))
	}
	return found[0]
}

func entryFor(t *testing.T, ledger []bridge.LedgerEntry, key string) bridge.LedgerEntry {
	t.Helper()
	for _, e := range ledger {
		if e.Key == key {
			return e
		}
	}
	t.Fatalf("no ledger entry for key %s", key)
	return bridge.LedgerEntry{}
}

func testSingle(t *testing.T, amBin, bridgeBin string) {
	dir := t.TempDir()
	coc := startFakeCOC(t)
	br := startBridge(t, bridgeBin, dir, "bridge", coc, filepath.Join(dir, "coc-bridge.db"),
		"COC_BRIDGE_REFRESH_INTERVAL=1s")
	cfg := amConfig(t, dir, br.URL+"/api/v1/alerts", timings)
	am := startAlertmanager(t, amBin, dir, "alertmanager", cfg, "--cluster.listen-address=")

	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	am.post(t, append(diskFull(start), latency(start, start.Add(time.Hour)))...)

	// One ticket per group, recorded as open on the ledger.
	waitFor(t, 30*time.Second, "two tickets, both open on the ledger", func() (bool, string) {
		open := 0
		for _, e := range br.ledger(t) {
			if e.State == bridge.StateOpen && e.TicketID != "" {
				open++
			}
		}
		n := len(coc.Tickets())
		return n == 2 && open == 2, fmt.Sprintf("%d tickets at COC, %d open ledger entries", n, open)
	})
	tickets := coc.Tickets()
	ledger := br.ledger(t)
	disk := ticketFor(t, tickets, "E2EDiskFull")
	lat := ticketFor(t, tickets, "E2EHighLatency")
	for _, c := range []struct {
		tk      coctest.Ticket
		level   string
		regions []string
		texts   []string
	}{
		{disk, "issues_level_1000", []string{"cn-north-4", "cn-south-1"},
			[]string{"node-1", "node-2", "Disk almost full on node-1", "Filesystem /data on node-2 is 97% full.", "critical", "http://prometheus.example/graph"}},
		{lat, "issues_level_4000", []string{"ap-southeast-3"},
			[]string{"api-1", "p99 latency above 2s on api-1", "warning"}},
	} {
		e := entryFor(t, ledger, c.tk.SourceID)
		if e.TicketID != c.tk.TicketID {
			t.Errorf("ledger key %s names ticket %s, the fake has %s", e.Key, e.TicketID, c.tk.TicketID)
		}
		if len(c.tk.SourceID) != 64 {
			t.Errorf("source_id %q: want the 64-hex-digit issue key", c.tk.SourceID)
		}
		if c.tk.Source != sourceAlarm {
			t.Errorf("ticket %s source %q, want %s", c.tk.TicketID, c.tk.Source, sourceAlarm)
		}
		if c.tk.Level != c.level {
			t.Errorf("ticket %s level %q, want %s", c.tk.TicketID, c.tk.Level, c.level)
		}
		got := strings.Split(c.tk.Regions, ",")
		slices.Sort(got)
		if !slices.Equal(got, c.regions) {
			t.Errorf("ticket %s regions %q, want %v", c.tk.TicketID, c.tk.Regions, c.regions)
		}
		for _, s := range c.texts {
			if !strings.Contains(c.tk.Description, s) {
				t.Errorf("ticket %s description lacks %q:\n%s", c.tk.TicketID, s, c.tk.Description)
			}
		}
		if c.tk.FountTime != start.UnixMilli() {
			t.Errorf("ticket %s fount_time %d, want %d (earliest startsAt)", c.tk.TicketID, c.tk.FountTime, start.UnixMilli())
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Repeats of both groups are suppressed: no new ticket, no COC create.
	const suppressOpen = `coc_bridge_decisions_total{decision="suppress_open"}`
	before := br.metric(t, suppressOpen)
	waitFor(t, 30*time.Second, "repeat notifications of both groups", func() (bool, string) {
		v := br.metric(t, suppressOpen)
		return v >= before+2, fmt.Sprintf("%s went from %v to %v", suppressOpen, before, v)
	})
	if n, c := len(coc.Tickets()), coc.Calls(client.OpCreateTicket); n != 2 || c != 2 {
		t.Fatalf("after repeats: %d tickets and %d create calls, want 2 and 2", n, c)
	}

	// A resolve is recorded on the key.
	am.post(t, latency(start, time.Now().Add(-time.Second).UTC()))
	waitFor(t, 30*time.Second, "the resolve recorded on the ledger", func() (bool, string) {
		e := entryFor(t, br.ledger(t), lat.SourceID)
		return e.LastStatus == "resolved" && e.ResolvedAt != nil, fmt.Sprintf("last_status %q", e.LastStatus)
	})
	if got := br.metric(t, `coc_bridge_decisions_total{decision="record_resolved"}`); got < 1 {
		t.Errorf("record_resolved decisions: %v, want >= 1", got)
	}

	// A ticket completed in COC releases its key; the next firing
	// notification (the group's repeat) opens a new ticket naming it.
	if err := coc.Complete(disk.TicketID); err != nil {
		t.Fatalf("complete %s: %v", disk.TicketID, err)
	}
	waitFor(t, 60*time.Second, "a second ticket for the completed group", func() (bool, string) {
		n := len(coc.TicketsBySourceID(disk.SourceID))
		return n == 2, fmt.Sprintf("%d tickets for the group; ledger state %s", n, entryFor(t, br.ledger(t), disk.SourceID).State)
	})
	byKey := coc.TicketsBySourceID(disk.SourceID)
	var next coctest.Ticket
	for _, tk := range byKey {
		if tk.TicketID != disk.TicketID {
			next = tk
		}
	}
	if !strings.Contains(next.Description, disk.TicketID) {
		t.Errorf("new ticket %s does not name the completed %s:\n%s", next.TicketID, disk.TicketID, next.Description)
	}
	waitFor(t, 10*time.Second, "the ledger to show the new ticket", func() (bool, string) {
		e := entryFor(t, br.ledger(t), disk.SourceID)
		return e.State == bridge.StateOpen && e.TicketID == next.TicketID && e.PreviousTicketID == disk.TicketID,
			fmt.Sprintf("state %s ticket %s previous %s", e.State, e.TicketID, e.PreviousTicketID)
	})
	if n := len(coc.TicketsBySourceID(lat.SourceID)); n != 1 {
		t.Errorf("the resolved group has %d tickets, want 1", n)
	}
	if n := len(coc.Tickets()); n != 3 {
		t.Errorf("%d tickets in all, want 3", n)
	}
}

func testHA(t *testing.T, amBin, bridgeBin string) {
	dsn := os.Getenv("COC_BRIDGE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("COC_BRIDGE_TEST_POSTGRES_DSN is not set: the HA test needs a PostgreSQL shared by the two bridges")
	}
	store := pgtest.Database(t, dsn, "coc_bridge_e2e_") // dropped after the bridges stop (cleanups run last-in first-out)
	dir := t.TempDir()
	coc := startFakeCOC(t)
	b1 := startBridge(t, bridgeBin, dir, "bridge-1", coc, store)
	b2 := startBridge(t, bridgeBin, dir, "bridge-2", coc, store)

	c1, c2 := freePort(t), freePort(t)
	// --cluster.peer-timeout=0s makes both peers notify at once instead of
	// the second waiting for the first's notification log: the worst case
	// (as during a partition), so every notification reaches both bridges.
	clusterFlags := func(self, peer int) []string {
		return []string{
			"--cluster.listen-address=127.0.0.1:" + strconv.Itoa(self),
			"--cluster.advertise-address=127.0.0.1:" + strconv.Itoa(self),
			"--cluster.peer=127.0.0.1:" + strconv.Itoa(peer),
			"--cluster.gossip-interval=50ms",
			"--cluster.pushpull-interval=1s",
			"--cluster.peer-timeout=0s",
			"--cluster.settle-timeout=10s",
		}
	}
	d1, d2 := filepath.Join(dir, "am-1"), filepath.Join(dir, "am-2")
	for _, d := range []string{d1, d2} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	am1 := startAlertmanager(t, amBin, dir, "alertmanager-1", amConfig(t, d1, b1.URL+"/api/v1/alerts", timings), clusterFlags(c1, c2)...)
	am2 := startAlertmanager(t, amBin, dir, "alertmanager-2", amConfig(t, d2, b2.URL+"/api/v1/alerts", timings), clusterFlags(c2, c1)...)
	for _, am := range []*alertmanager{am1, am2} {
		waitFor(t, 30*time.Second, am.name+" to see its peer", func() (bool, string) {
			_, body := get(am.URL + "/api/v2/status")
			return strings.Count(body, `"address":"127.0.0.1:`) >= 2, body
		})
	}

	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	var alerts []alert
	for i := range 3 {
		alerts = append(alerts, alert{
			Labels: map[string]string{
				"alertname": "E2EHA" + strconv.Itoa(i), "cluster": "e2e-ha", "severity": "major", "region": "cn-north-4",
			},
			Annotations: map[string]string{"summary": "HA group " + strconv.Itoa(i)},
			StartsAt:    start,
			EndsAt:      start.Add(time.Hour),
		})
	}
	am1.post(t, alerts...)
	am2.post(t, alerts...)

	const accepted = `coc_bridge_notifications_total{receiver="coc-bridge",result="accepted"}`
	waitFor(t, 60*time.Second, "notifications at both bridges and three tickets", func() (bool, string) {
		n1, n2 := b1.metric(t, accepted), b2.metric(t, accepted)
		n := len(coc.Tickets())
		return n1 >= 3 && n2 >= 3 && n >= 3, fmt.Sprintf("bridge-1 accepted %v, bridge-2 accepted %v, %d tickets", n1, n2, n)
	})
	// Let a repeat cycle pass through both peers, then count.
	const suppressOpen = `coc_bridge_decisions_total{decision="suppress_open"}`
	s1, s2 := b1.metric(t, suppressOpen), b2.metric(t, suppressOpen)
	waitFor(t, 30*time.Second, "repeats at both bridges", func() (bool, string) {
		v1, v2 := b1.metric(t, suppressOpen), b2.metric(t, suppressOpen)
		return v1 >= s1+3 && v2 >= s2+3, fmt.Sprintf("suppress_open: bridge-1 %v->%v, bridge-2 %v->%v", s1, v1, s2, v2)
	})
	tickets := coc.Tickets()
	if len(tickets) != 3 {
		t.Errorf("%d tickets, want 3 (one per group)", len(tickets))
	}
	for src, tks := range bySource(coc) {
		if len(tks) != 1 {
			t.Errorf("source_id %s has %d tickets, want 1", src, len(tks))
		}
	}
	for i := range 3 {
		ticketFor(t, tickets, "E2EHA"+strconv.Itoa(i))
	}
	open := 0
	for _, e := range b2.ledger(t) {
		if e.State == bridge.StateOpen {
			open++
		}
	}
	if open != 3 {
		t.Errorf("shared ledger has %d open entries, want 3", open)
	}
	t.Logf("bridge-1 accepted %v notifications, bridge-2 %v; %d create calls at COC",
		b1.metric(t, accepted), b2.metric(t, accepted), coc.Calls(client.OpCreateTicket))
}
