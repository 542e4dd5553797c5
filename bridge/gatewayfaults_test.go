package bridge_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// TestServerErrorAfterCreateIsLookedUpNotDuplicated answers creates with a
// 5xx after COC stored the ticket, as an API gateway does when the backend
// is slow (502 APIG.0202, 504 APIG.0203) and a backend may do after
// committing (a plain 500). The ticket may exist, so the bridge looks the
// key up before creating again: one ticket per group, the faulted ones
// adopted.
func TestServerErrorAfterCreateIsLookedUpNotDuplicated(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault coctest.Fault
	}{
		{"plain 500", coctest.Fault{Status: 500, Apply: true, Body: "internal error", ContentType: "text/plain"}},
		{"COC 500", coctest.Fault{Status: 500, Apply: true, Code: "COC.00000500", Message: "internal error"}},
		{"gateway 502 APIG.0202", coctest.Fault{Status: 502, Apply: true, Code: client.CodeBackendDown, Message: "Backend unavailable"}},
		{"gateway 504 APIG.0203", coctest.Fault{Status: 504, Apply: true, Code: client.CodeBackendTimeout, Message: "Backend timeout"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			const groups, faulted = 20, 5
			e.fake.FailNext(client.OpCreateTicket, faulted, tt.fault)
			for g := range groups {
				e.mustAccept(firing(fmt.Sprintf("Gateway%02d", g)))
			}
			e.waitSettled(groups)
			e.assertOneTicketPerKey(groups)
			if got := len(e.fake.Tickets()); got != groups {
				t.Errorf("the fake holds %d tickets, want %d", got, groups)
			}
			waitFor(t, 10*time.Second, "the adopted tickets to be counted", func() bool {
				return counterValue(t, e.reg, "coc_bridge_tickets_adopted_total", "", "") == faulted
			})
			if got := counterValue(t, e.reg, "coc_bridge_dead_letters_total", "", ""); got != 0 {
				t.Errorf("dead letters = %v", got)
			}
		})
	}
}

// TestProxy404OnShowNeverReleases answers every status read with an HTML
// 404 page (an egress proxy, a gateway in maintenance: no COC error code)
// for tickets older than the not-found grace. Only COC's own
// COC.00067003 says a ticket is gone: the keys stay open, the next firing
// opens no second ticket, and the reads are counted as refresh errors.
func TestProxy404OnShowNeverReleases(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	offset := time.Duration(0)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	e := newEnv(t, envOptions{refresh: 50 * time.Millisecond, mutate: func(o *bridge.Options) {
		o.NowFunc = now
		o.Logger = zap.New(core)
	}})
	const groups = 5
	for g := range groups {
		e.mustAccept(firing(fmt.Sprintf("Proxy%02d", g)))
	}
	e.waitSettled(groups)
	e.assertOneTicketPerKey(groups)

	// The tickets are now older than any grace.
	// The batch read (list-tickets) fails the same way: the refresher then
	// reads each ticket alone.
	const reads = 40
	proxy404 := coctest.Fault{Status: 404, ContentType: "text/html",
		Body: "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"}
	e.fake.FailNext(client.OpListTickets, reads, proxy404)
	e.fake.FailNext(client.OpGetTicket, reads, proxy404)
	mu.Lock()
	offset = time.Hour
	mu.Unlock()
	waitFor(t, 30*time.Second, "the refresher to read every ticket through the proxy 404s", func() bool {
		return e.fake.Calls(client.OpGetTicket) >= reads || len(e.ledger(bridge.StateClosed)) > 0
	})
	if got := len(e.ledger(bridge.StateOpen)); got != groups {
		t.Fatalf("open keys after %d proxy 404s = %d, want %d (closed: %d)", reads, got, groups, len(e.ledger(bridge.StateClosed)))
	}
	if got := counterValue(t, e.reg, "coc_bridge_refreshes_total", "result", "released"); got != 0 {
		t.Errorf("releases counted = %v, want 0", got)
	}
	if got := counterValue(t, e.reg, "coc_bridge_refreshes_total", "result", "error"); got < reads {
		t.Errorf("refresh errors counted = %v, want at least %d", got, reads)
	}
	// Each key's failed reads are logged at warn, once a minute per key and
	// cause: a flood of one failure does not drown the log.
	warned := map[string]int{}
	for _, entry := range logs.FilterMessageSnippet("read ticket status failed").All() {
		if entry.Level != zapcore.WarnLevel {
			t.Errorf("refresh failure logged at %v, want warn", entry.Level)
		}
		key, _ := entry.ContextMap()["key"].(string)
		warned[key]++
	}
	if len(warned) != groups {
		t.Errorf("refresh failures warned for %d keys, want %d: %v", len(warned), groups, warned)
	}
	for key, n := range warned {
		if n != 1 {
			t.Errorf("key %s: %d warn lines for repeated proxy 404s, want 1 (rate-limited)", key, n)
		}
	}
	for g := range groups {
		e.mustAccept(firing(fmt.Sprintf("Proxy%02d", g)))
	}
	if got := len(e.fake.Tickets()); got != groups {
		t.Errorf("the fake holds %d tickets after the groups fired again, want %d", got, groups)
	}

	// COC's own answer still releases: delete one ticket in the fake.
	first := e.fake.Tickets()[0]
	if err := e.fake.Delete(first.TicketID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "COC.00067003 to release the deleted ticket", func() bool {
		return len(e.ledger(bridge.StateClosed)) == 1
	})
}
