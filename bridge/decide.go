package bridge

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
)

// Outcome is what a worker does with a claimed item after an attempt. Its
// string is the decision log field.
type Outcome int

// Outcomes of a failed attempt.
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
)

func (o Outcome) String() string {
	switch o {
	case OutcomeRetry:
		return "retry"
	case OutcomeLookupThenRetry:
		return "lookup_then_retry"
	case OutcomeDead:
		return "dead"
	}
	return "unknown"
}

// failureOutcome decides what to do after an attempt failed with err.
// attemptCtxErr is the attempt context's error: when the bridge itself cut
// the attempt short (deadline or shutdown) after a create may have been
// sent, the create's fate is unknown.
func failureOutcome(err error, creating bool, attemptCtxErr error) Outcome {
	switch client.Classify(err) {
	case client.ClassPermanent:
		return OutcomeDead
	case client.ClassAmbiguous:
		return OutcomeLookupThenRetry
	}
	if creating && attemptCtxErr != nil {
		return OutcomeLookupThenRetry
	}
	return OutcomeRetry
}

// retryDelay is exponential backoff with full jitter: a random wait in
// [0, min(max, base·2^(attempt-1))], never below a small floor so a failing
// COC is not hammered by a burst of immediate retries.
func retryDelay(attempt int, base, maxDelay time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	const floor = 100 * time.Millisecond
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return max(floor, jitter(d))
}

// adoptable picks, among tickets found by source_id, the one an ambiguous
// create may have opened: same source_id, not deleted, not the previous
// (closed) ticket of the key and not finished. The newest wins.
func adoptable(found []client.Ticket, key, previousTicketID string, terminal map[string]bool) (client.Ticket, bool) {
	var best client.Ticket
	ok := false
	for _, t := range found {
		if t.SourceID != key || t.IsDeleted || terminal[t.WorkFlowStatus] || t.TicketID == "" {
			continue
		}
		if previousTicketID != "" && t.TicketID == previousTicketID {
			continue
		}
		if !ok || t.CreateTime > best.CreateTime {
			best, ok = t, true
		}
	}
	return best, ok
}

// cocUnavailable reports whether err says COC could not be reached or did
// not serve the request: no answer at all (transport error, timeout), a 502,
// 503 or 504, or an API gateway code of a backend or gateway outage. These
// are the failures of an outage. Other transient failures (a 500 from COC
// itself, throttling) may be the item's own or mean COC is up but busy; they
// do not start the outage recovery.
func cocUnavailable(err error) bool {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return false
	}
	switch ce.StatusCode {
	case 0, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	code := ce.Code
	if rest, ok := strings.CutPrefix(code, "APIGW."); ok {
		code = "APIG." + rest
	}
	switch code {
	case client.CodeBackendDown, client.CodeBackendTimeout, "APIG.0103", "APIG.0104", "APIG.0105", "APIG.0107":
		return true
	}
	return false
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
