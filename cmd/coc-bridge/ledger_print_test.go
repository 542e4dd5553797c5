package main

import (
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// TestPrintLedgerShowsStatusAndTitle: coc-bridge tickets shows COC's status
// name and the ticket title of each key.
func TestPrintLedgerShowsStatusAndTitle(t *testing.T) {
	var b strings.Builder
	err := printLedger(&b, []bridge.LedgerEntry{{Key: "k1", State: bridge.StateClosed, TicketID: "ISU1",
		TicketStatus: "Cancelled", Title: "Disk full on db-1", UpdatedAt: time.Unix(0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "STATUS") {
		t.Fatalf("printLedger = %q", b.String())
	}
	for _, want := range []string{"ISU1", "Cancelled", "Disk full on db-1"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
}
