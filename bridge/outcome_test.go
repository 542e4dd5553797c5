package bridge

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/coc-bridge/coc-bridge/client"
)

func TestFailureOutcome(t *testing.T) {
	t.Parallel()
	perm := &client.Error{Operation: "create_ticket", StatusCode: 400, Code: "GOM.00007256", Class: client.ClassPermanent}
	auth := &client.Error{Operation: "create_ticket", StatusCode: 401, Code: "APIG.0301", Class: client.ClassPermanent}
	amb := &client.Error{Operation: "create_ticket", Class: client.ClassAmbiguous}
	busy := &client.Error{Operation: "create_ticket", StatusCode: 503, Class: client.ClassRetryable}
	tests := []struct {
		name     string
		err      error
		creating bool
		ctxErr   error
		want     Outcome
	}{
		{"invalid parameter is dead", perm, true, nil, OutcomeDead},
		{"wrapped permanent is dead", fmt.Errorf("create ticket: %w", perm), true, nil, OutcomeDead},
		{"auth failure is dead", auth, true, nil, OutcomeDead},
		{"ambiguous create looks up first", amb, true, nil, OutcomeLookupThenRetry},
		{"503 retries", busy, true, nil, OutcomeRetry},
		{"503 on lookup retries", busy, false, nil, OutcomeRetry},
		{"create cut short by the bridge is unclear", context.DeadlineExceeded, true, context.DeadlineExceeded, OutcomeLookupThenRetry},
		{"create cut by shutdown is unclear", context.Canceled, true, context.Canceled, OutcomeLookupThenRetry},
		{"lookup cut short just retries", context.DeadlineExceeded, false, context.DeadlineExceeded, OutcomeRetry},
		{"plain error retries", errors.New("dial tcp: connection refused"), true, nil, OutcomeRetry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := failureOutcome(tt.err, tt.creating, tt.ctxErr); got != tt.want {
				t.Errorf("failureOutcome() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	t.Parallel()
	for o, want := range map[Outcome]string{OutcomeRetry: "retry", OutcomeLookupThenRetry: "lookup_then_retry",
		OutcomeDead: "dead", OutcomeDone: "done", Outcome(42): "unknown"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}

// TestOutcome pins the one classification of an attempt by the step that
// failed: nothing sent is dead, a failed lookup never asks for another
// lookup by itself, a send cut short by the bridge may have landed.
func TestOutcome(t *testing.T) {
	t.Parallel()
	busy := &client.Error{Operation: "create_ticket", StatusCode: 503, Class: client.ClassRetryable}
	amb := &client.Error{Operation: "create_ticket", Class: client.ClassAmbiguous}
	perm := &client.Error{Operation: "create_ticket", StatusCode: 400, Code: "GOM.00007256", Class: client.ClassPermanent}
	tests := []struct {
		name   string
		err    error
		ctxErr error
		want   Outcome
	}{
		{"success is done", nil, nil, OutcomeDone},
		{"render failure is dead", failedAt(stepPrepare, errors.New("render ticket: bad template")), nil, OutcomeDead},
		{"failed lookup retries", failedAt(stepLookup, busy), nil, OutcomeRetry},
		{"lookup cut short retries", failedAt(stepLookup, busy), context.DeadlineExceeded, OutcomeRetry},
		{"permanent lookup is dead", failedAt(stepLookup, perm), nil, OutcomeDead},
		{"busy send retries", failedAt(stepSend, busy), nil, OutcomeRetry},
		{"send cut short looks up", failedAt(stepSend, busy), context.DeadlineExceeded, OutcomeLookupThenRetry},
		{"ambiguous send looks up", failedAt(stepSend, amb), nil, OutcomeLookupThenRetry},
		{"refused send is dead", failedAt(stepSend, perm), nil, OutcomeDead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := outcome(tt.err, tt.ctxErr); got != tt.want {
				t.Errorf("outcome() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeadReason(t *testing.T) {
	t.Parallel()
	perm := &client.Error{Operation: "create_ticket", StatusCode: 400, Code: "GOM.00007256", Message: "invalid level", Class: client.ClassPermanent}
	tests := []struct {
		name       string
		err        error
		code, text string
	}{
		{"render", failedAt(stepPrepare, errors.New("render ticket: boom")), "render", "render ticket: boom"},
		{"COC refusal", failedAt(stepSend, fmt.Errorf("create ticket: %w", perm)), "GOM.00007256", "invalid level"},
		{"timeout", failedAt(stepSend, context.DeadlineExceeded), "timeout", context.DeadlineExceeded.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if code, text := deadReason(tt.err); code != tt.code || text != tt.text {
				t.Errorf("deadReason() = %q, %q; want %q, %q", code, text, tt.code, tt.text)
			}
		})
	}
}
