package bridge

import "time"

// NextLookup says what comes next for a key whose create had an unclear
// outcome (COC may or may not have created the ticket, and shows new
// tickets only after a delay), after done lookups by source_id that all
// came back empty. since is when the outcome became unclear; schedule holds
// the lookups as offsets from it, increasing (mapping.Lookups.Schedule,
// validated there). While lookups remain, it returns the time the next one
// is due (since+schedule[done], possibly already past: look at once) and
// create false: the key stays pending, no create is sent from any replica.
// Once every scheduled lookup came back empty it returns create true: a new
// create may be sent.
//
// An empty schedule counts as one lookup at since: a create whose outcome
// is unclear is never repeated without a look. A lookup that finds the
// ticket ends the schedule (the caller adopts it); one that fails is not
// counted: the caller retries it with its usual backoff, done unchanged.
func NextLookup(schedule []time.Duration, since time.Time, done int) (at time.Time, create bool) {
	if len(schedule) == 0 {
		schedule = []time.Duration{0}
	}
	done = max(done, 0)
	if done >= len(schedule) {
		return time.Time{}, true
	}
	return since.Add(schedule[done]), false
}
