// Package ledger holds what the store engines share about ledger entries:
// how the writes to an open ticket's entry (Release and RecordCheck)
// report their result, and how group labels are stored. It owns nothing
// else; the entries live in each engine's tables.
package ledger

import (
	"fmt"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// Result is the error of a write to the open entry of key holding ticket
// (op names it: "release", "record check of") that changed n rows: err
// wrapped with the ticket when the write failed, bridge.ErrNotFound when
// no open entry holds that ticket, nil otherwise.
func Result(op, ticket, key string, n int, err error) error {
	if err != nil {
		return fmt.Errorf("%s ticket %s of key %s: %w", op, ticket, key, err)
	}
	if n == 0 {
		return fmt.Errorf("%s ticket %s of key %s: no open entry with that ticket: %w",
			op, ticket, key, bridge.ErrNotFound)
	}
	return nil
}
