package bridge

import (
	"strconv"
	"strings"

	"github.com/coc-bridge/coc-bridge/mapping"
)

// LevelChange reports whether a notification that maps to newLevel changes
// the level of its open ticket, which COC has at cocLevel, under policy:
//
//   - escalate: only when newLevel is more severe (a smaller number:
//     issues_level_1000 is the most severe);
//   - both: whenever the levels differ;
//   - off, or an unknown policy: never.
//
// Nothing is sent when either level is not an issues_level_N code, and in
// particular when cocLevel is "" (unknown: a ticket recorded before levels
// were, or read without one): without COC's level a change could lower a
// ticket an engineer raised by hand. The caller records the level of every
// create, adopted ticket and status read, so the next notification decides.
// Equal levels never send anything.
func LevelChange(policy mapping.LevelUpdates, cocLevel, newLevel string) bool {
	cur, ok1 := levelNumber(cocLevel)
	next, ok2 := levelNumber(newLevel)
	if !ok1 || !ok2 || cur == next {
		return false
	}
	switch policy {
	case mapping.LevelUpdatesBoth:
		return true
	case mapping.LevelUpdatesEscalate:
		return next < cur
	}
	return false
}

// levelNumber returns N of issues_level_N (N > 0, digits only).
func levelNumber(level string) (int, bool) {
	digits, ok := strings.CutPrefix(level, "issues_level_")
	if !ok || digits == "" || strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n > 0
}
