package bridge

import (
	"time"

	"github.com/coc-bridge/coc-bridge/mapping"
)

// Mapper turns notifications into issue keys, levels, tickets and the
// texts of the actions on them, and holds the lifecycle policy.
// *mapping.Mapper implements it; the daemon passes a value that swaps the
// mapper when the mapping file is reloaded, so each call uses the
// configuration in force at that moment (a queued delivery renders with the
// configuration in force when it is sent).
type Mapper interface {
	Split(msg *mapping.Message) []*mapping.Message
	Key(msg *mapping.Message) string
	Level(msg *mapping.Message) (level string, unknown int)
	Map(msg *mapping.Message, opts mapping.MapOptions) (mapping.Ticket, error)
	// Policy is a receiver's lifecycle policy; Lookups the lookup policy.
	Policy(receiver string) mapping.Policy
	Lookups() mapping.Lookups
	LevelChangeReason(msg *mapping.Message, from, to string, at time.Time) string
	RevocationReason(msg *mapping.Message, received time.Time) string
	SolutionText(msg *mapping.Message, received time.Time) string
}
