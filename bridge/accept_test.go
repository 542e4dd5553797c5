package bridge

import (
	"fmt"
	"testing"
)

// TestDecide tables the accept decision for every combination of whether
// the key is in the ledger, its state and whether the notification fires.
func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		found  bool
		state  State
		firing bool
		want   Decision
	}{
		// A key the ledger has never seen: its state means nothing.
		{false, "", true, DecisionCreate},
		{false, "", false, DecisionResolvedUnknown},
		{false, StatePending, true, DecisionCreate},
		{false, StateOpen, true, DecisionCreate},
		{false, StateClosed, true, DecisionCreate},
		{false, StateDead, true, DecisionCreate},
		{false, StatePending, false, DecisionResolvedUnknown},
		{false, StateOpen, false, DecisionResolvedUnknown},
		{false, StateClosed, false, DecisionResolvedUnknown},
		{false, StateDead, false, DecisionResolvedUnknown},
		// A known key.
		{true, StatePending, true, DecisionSuppressPending},
		{true, StateOpen, true, DecisionSuppressOpen},
		{true, StateClosed, true, DecisionCreate},
		{true, StateDead, true, DecisionSuppressDead},
		{true, StatePending, false, DecisionRecordResolved},
		{true, StateOpen, false, DecisionRecordResolved},
		{true, StateClosed, false, DecisionRecordResolved},
		{true, StateDead, false, DecisionRecordResolved},
	}
	seen := map[Decision]bool{}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("found=%v/state=%s/firing=%v", tt.found, tt.state, tt.firing), func(t *testing.T) {
			t.Parallel()
			if got := Decide(tt.found, tt.state, tt.firing); got != tt.want {
				t.Errorf("Decide(%v, %q, %v) = %s, want %s", tt.found, tt.state, tt.firing, got, tt.want)
			}
		})
		seen[tt.want] = true
	}
	for _, d := range Decisions {
		if d == DecisionLevelChange || d == DecisionResolveAction {
			continue // PlanAccept refines suppress_open and record_resolved (reconcile_test.go)
		}
		if !seen[d] {
			t.Errorf("decision %s is not in the table", d)
		}
	}
	for _, s := range States {
		for _, firing := range []bool{true, false} {
			covered := false
			for _, tt := range tests {
				covered = covered || (tt.found && tt.state == s && tt.firing == firing)
			}
			if !covered {
				t.Errorf("known key in state %s, firing %v, is not in the table", s, firing)
			}
		}
	}
}
