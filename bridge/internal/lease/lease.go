// Package lease holds what the store engines share about the leases on
// outbox items: the checks and errors of a claim and a take-back, what a
// Complete writes, also when its lease is lost, and how a leased write
// reports its result. It owns nothing else; the leases
// themselves live in each engine's tables.
package lease

import (
	"errors"
	"fmt"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// Claim runs an engine's claim of r, which returns the claimed deliveries,
// after refusing an empty owner, and wraps its error.
func Claim(r bridge.ClaimRequest, claim func() ([]bridge.Delivery, error)) ([]bridge.Delivery, error) {
	if r.Owner == "" {
		return nil, errors.New("claim outbox items: empty owner")
	}
	out, err := claim()
	if err != nil {
		return nil, fmt.Errorf("claim outbox items: %w", err)
	}
	return out, nil
}

// TakeBack runs an engine's take-back of r, which returns how many leases
// it changed, after refusing an empty replica id, and wraps its error.
func TakeBack(r bridge.TakeBackRequest, take func() (int, error)) (int, error) {
	if r.Replica == "" {
		return 0, errors.New("take back leases: empty replica id")
	}
	n, err := take()
	if err != nil {
		return 0, fmt.Errorf("take back leases: %w", err)
	}
	return n, nil
}

// Result is the error of a write that needs the lease on outbox item id
// (op names it: "complete", "retry", "dead-letter"): err wrapped with the
// item when the write failed, bridge.ErrLeaseLost when it found owner no
// longer holding the lease, nil otherwise.
func Result(op string, id int64, owner string, lost bool, err error) error {
	if err != nil {
		return fmt.Errorf("%s outbox item %d: %w", op, id, err)
	}
	if lost {
		return fmt.Errorf("%s outbox item %d as %s: %w", op, id, owner, bridge.ErrLeaseLost)
	}
	return nil
}

// Plan is what a Complete writes: Entry is the key's entry after it,
// stored when Changed; the item stays as the key's Next operation when
// Keep, else it is deleted.
type Plan struct {
	Entry   bridge.LedgerEntry
	Changed bool
	Next    bridge.Kind
	Keep    bool
}

// PlanComplete plans the Complete c of an item of the key whose entry is
// cur (c.Now at the engine's precision); lost says the caller no longer
// holds the lease. With the lease lost, a create's ticket is recorded
// anyway while the key is pending or dead (the ticket exists in COC, and a
// second create must not follow); otherwise nothing is written (ok
// false). An action on another ticket than the entry's leaves the entry
// as it is; bridge.PlanComplete decides the rest.
func PlanComplete(cur bridge.LedgerEntry, c bridge.Completion, lost bool) (p Plan, ok bool) {
	if lost && (c.Kind != bridge.KindCreate || cur.State != bridge.StatePending && cur.State != bridge.StateDead) {
		return Plan{}, false
	}
	if c.Kind != bridge.KindCreate && cur.TicketID != c.TicketID {
		next, keep := bridge.NextOperation(cur)
		return Plan{Entry: cur, Next: next, Keep: keep}, true
	}
	e, next, keep := bridge.PlanComplete(cur, c)
	return Plan{Entry: e, Changed: true, Next: next, Keep: keep}, true
}
