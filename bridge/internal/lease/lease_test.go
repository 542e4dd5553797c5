package lease

import (
	"errors"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

func TestResult(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	if err := Result("retry", 7, "r/0", false, nil); err != nil {
		t.Errorf("held lease, no error: %v, want nil", err)
	}
	if err := Result("retry", 7, "r/0", true, nil); !errors.Is(err, bridge.ErrLeaseLost) ||
		err.Error() != "retry outbox item 7 as r/0: lease lost" {
		t.Errorf("lost lease: %v, want ErrLeaseLost naming item and owner", err)
	}
	// A failed write is reported as such, lost or not: nothing was written.
	if err := Result("complete", 7, "r/0", true, boom); !errors.Is(err, boom) || errors.Is(err, bridge.ErrLeaseLost) ||
		err.Error() != "complete outbox item 7: disk full" {
		t.Errorf("failed write: %v, want the write's error only", err)
	}
}

func TestPlanComplete(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pending := bridge.LedgerEntry{Key: "k", State: bridge.StatePending}
	open := bridge.LedgerEntry{Key: "k", State: bridge.StateOpen, TicketID: "ISU1"}
	create := bridge.Completion{Kind: bridge.KindCreate, TicketID: "ISU1", Now: t0}
	level := bridge.Completion{Kind: bridge.KindLevel, TicketID: "ISU1", Level: "issues_level_1000", Now: t0}
	if p, ok := PlanComplete(pending, create, false); !ok || !p.Changed || p.Entry.State != bridge.StateOpen || p.Keep {
		t.Errorf("held create: %+v %v, want the ticket opened and the item deleted", p, ok)
	}
	if p, ok := PlanComplete(pending, create, true); !ok || !p.Changed || p.Entry.TicketID != "ISU1" {
		t.Errorf("lost create of a pending key: %+v %v, want the ticket recorded anyway", p, ok)
	}
	if _, ok := PlanComplete(open, create, true); ok {
		t.Error("lost create of an open key: planned, want nothing written")
	}
	if _, ok := PlanComplete(open, level, true); ok {
		t.Error("lost action: planned, want nothing written")
	}
	other := level
	other.TicketID = "ISU2"
	if p, ok := PlanComplete(open, other, false); !ok || p.Changed || p.Entry.Key != "k" {
		t.Errorf("action on another ticket: %+v %v, want the entry left as it is", p, ok)
	}
	if p, ok := PlanComplete(open, level, false); !ok || !p.Changed || p.Entry.CocLevel != "issues_level_1000" {
		t.Errorf("held level change: %+v %v, want the level recorded", p, ok)
	}
}

func TestClaimAndTakeBackChecks(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	ran := false
	if _, err := Claim(bridge.ClaimRequest{}, func() ([]bridge.Delivery, error) { ran = true; return nil, nil }); err == nil || ran {
		t.Errorf("claim without owner: %v (ran %v), want refused before the engine runs", err, ran)
	}
	if _, err := Claim(bridge.ClaimRequest{Owner: "r/0"}, func() ([]bridge.Delivery, error) { return nil, boom }); !errors.Is(err, boom) ||
		err.Error() != "claim outbox items: disk full" {
		t.Errorf("failed claim: %v, want the engine's error wrapped", err)
	}
	if _, err := TakeBack(bridge.TakeBackRequest{}, func() (int, error) { ran = true; return 0, nil }); err == nil || ran {
		t.Errorf("take-back without replica: %v (ran %v), want refused before the engine runs", err, ran)
	}
	if n, err := TakeBack(bridge.TakeBackRequest{Replica: "r"}, func() (int, error) { return 3, nil }); n != 3 || err != nil {
		t.Errorf("take-back: %d, %v, want 3, nil", n, err)
	}
}
