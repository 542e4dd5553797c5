package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
)

// Outcome is what a worker does with a claimed item after an attempt. Its
// string is the decision log field.
type Outcome int

// Outcomes of an attempt.
const (
	// OutcomeRetry reschedules the item with backoff; the failure did not
	// reach COC or reached it without effect.
	OutcomeRetry Outcome = iota
	// OutcomeLookupThenRetry reschedules the item and makes the next attempt
	// look the ticket up by source_id before creating: the create may have
	// landed.
	OutcomeLookupThenRetry
	// OutcomeDead dead-letters the item: retrying cannot help until the
	// configuration or the credentials are fixed.
	OutcomeDead
	// OutcomeDone records the operation's result and deletes the item.
	OutcomeDone
	// OutcomeLookupLater reschedules an unclear create to its next lookup
	// by source_id (NextLookup): the last one came back empty, and COC may
	// still show the ticket later. Nothing was sent; the key stays pending.
	OutcomeLookupLater
)

func (o Outcome) String() string {
	switch o {
	case OutcomeRetry:
		return "retry"
	case OutcomeLookupThenRetry:
		return "lookup_then_retry"
	case OutcomeDead:
		return "dead"
	case OutcomeDone:
		return "done"
	case OutcomeLookupLater:
		return "lookup_later"
	}
	return "unknown"
}

// step is where in an attempt an operation failed; outcome classifies by it.
type step int

const (
	// stepPrepare: building the request from the stored item (decoding,
	// rendering); nothing was sent to COC.
	stepPrepare step = iota
	// stepLookup: looking the ticket up by source_id; nothing was created.
	stepLookup
	// stepSend: the create; it may have landed although it failed.
	stepSend
	// stepAct: an action on an existing ticket (a level change, a cancel,
	// a solution). It may have landed too, but sending it again is safe,
	// so its failure never asks for a lookup.
	stepAct
)

// attemptError is a failed attempt: the step that failed and why.
type attemptError struct {
	step step
	err  error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func failedAt(s step, err error) error { return &attemptError{step: s, err: err} }

// lookupLater is the result of an empty lookup after an unclear create
// that is not the schedule's last: look again at at, with done lookups
// counted.
type lookupLater struct {
	at, since time.Time // since: when the create became unclear
	done      int
	of        int // lookups in the schedule
}

func (l *lookupLater) Error() string {
	return fmt.Sprintf("no ticket found by source_id yet (lookup %d of %d after an unclear create); next lookup at %s",
		l.done, l.of, l.at.UTC().Format(time.RFC3339))
}

// errNotVisible says COC does not show the ticket an action is for. A
// young ticket may not be visible yet (COC creates tickets
// asynchronously); a deleted one is released by the refresher, which waits
// that delay out and deletes the key's action item. Either way the action
// is retried, never dead-lettered nor taken as a release.
var errNotVisible = errors.New("COC does not show the ticket (not visible yet, or deleted)")

// refusedByCOC reports whether COC (or its gateway) answered a call with a
// refusal that sending it again repeats: an action the ticket's status
// does not allow, an unknown ticket, an invalid parameter, refused
// credentials. A request the client refused before sending (our own
// input, StatusCode 0) is not among them.
func refusedByCOC(err error) bool {
	var ce *client.Error
	return client.Classify(err) == client.ClassPermanent && errors.As(err, &ce) && ce.StatusCode != 0
}

// outcome is the one classification of an attempt's result: err is what
// the operation returned (nil: done), attemptCtxErr the attempt context's
// error. Every operation kind is classified here.
func outcome(err, attemptCtxErr error) Outcome {
	if err == nil {
		return OutcomeDone
	}
	var later *lookupLater
	switch {
	case errors.As(err, &later):
		return OutcomeLookupLater
	case errors.Is(err, errNotVisible):
		return OutcomeRetry
	}
	var ae *attemptError
	if !errors.As(err, &ae) {
		return failureOutcome(err, false, nil)
	}
	switch ae.step {
	case stepPrepare:
		return OutcomeDead
	case stepLookup, stepAct:
		return failureOutcome(ae.err, false, nil)
	}
	return failureOutcome(ae.err, true, attemptCtxErr)
}

// reachedCOC reports whether a failed attempt talked to COC (for the
// outage recovery's bookkeeping).
func reachedCOC(err error) bool {
	var ae *attemptError
	return !errors.As(err, &ae) || ae.step != stepPrepare
}

// failureOutcome decides what to do after a COC call failed with err.
// attemptCtxErr is the attempt context's error: when the bridge itself cut
// the attempt short (deadline or shutdown) after a change may have been
// sent, its fate is unknown.
func failureOutcome(err error, sending bool, attemptCtxErr error) Outcome {
	switch client.Classify(err) {
	case client.ClassPermanent:
		return OutcomeDead
	case client.ClassAmbiguous:
		return OutcomeLookupThenRetry
	}
	if sending && attemptCtxErr != nil {
		return OutcomeLookupThenRetry
	}
	return OutcomeRetry
}

// deadReason returns the code and message a dead letter records for err:
// COC's error code and message, or a bridge reason ("render" when the item
// could not be prepared) and the error text.
func deadReason(err error) (code, msg string) {
	var ae *attemptError
	if errors.As(err, &ae) && ae.step == stepPrepare {
		return "render", err.Error()
	}
	msg = err.Error()
	var ce *client.Error
	if errors.As(err, &ce) && ce.Message != "" {
		msg = ce.Message
	}
	return errorCode(err), msg
}

// errorCode returns COC's error code of err, or a bridge reason.
func errorCode(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code != "" {
		return ce.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "error"
}
