// Package lease holds what the store engines share about the leases on
// outbox items: how a leased write reports its result. It owns nothing
// else; the leases themselves live in each engine's tables.
package lease

import (
	"fmt"

	"github.com/coc-bridge/coc-bridge/bridge"
)

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
