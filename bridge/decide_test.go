package bridge

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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
		OutcomeDead: "dead", Outcome(42): "unknown"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	full := func(d time.Duration) time.Duration { return d } // the jitter's upper bound
	zero := func(time.Duration) time.Duration { return 0 }
	tests := []struct {
		attempt int
		jitter  func(time.Duration) time.Duration
		want    time.Duration
	}{
		{1, full, time.Second},
		{2, full, 2 * time.Second},
		{4, full, 8 * time.Second},
		{10, full, time.Minute}, // capped
		{100, full, time.Minute},
		{3, zero, 100 * time.Millisecond}, // floor
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempt), func(t *testing.T) {
			t.Parallel()
			if got := retryDelay(tt.attempt, time.Second, time.Minute, tt.jitter); got != tt.want {
				t.Errorf("retryDelay(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestAdoptable(t *testing.T) {
	t.Parallel()
	const key = "k1"
	terminal := map[string]bool{"issues_work_flow_status_12000": true}
	open := func(id string, created int64) client.Ticket {
		return client.Ticket{TicketID: id, SourceID: key, WorkFlowStatus: "issues_work_flow_status_1000", CreateTime: created}
	}
	tests := []struct {
		name     string
		found    []client.Ticket
		previous string
		want     string
	}{
		{"nothing found", nil, "", ""},
		{"one open ticket", []client.Ticket{open("ISU1", 1)}, "", "ISU1"},
		{"newest of two wins", []client.Ticket{open("ISU1", 1), open("ISU2", 2)}, "", "ISU2"},
		{"previous ticket is not adopted", []client.Ticket{open("ISU1", 1)}, "ISU1", ""},
		{"other source_id ignored", []client.Ticket{{TicketID: "ISU3", SourceID: "other"}}, "", ""},
		{"deleted ignored", []client.Ticket{{TicketID: "ISU4", SourceID: key, IsDeleted: true}}, "", ""},
		{"completed ignored", []client.Ticket{{TicketID: "ISU5", SourceID: key, WorkFlowStatus: "issues_work_flow_status_12000"}}, "", ""},
		{"empty id ignored", []client.Ticket{{SourceID: key}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := adoptable(tt.found, key, tt.previous, terminal)
			if ok != (tt.want != "") || got.TicketID != tt.want {
				t.Errorf("adoptable() = %q, %v; want %q", got.TicketID, ok, tt.want)
			}
		})
	}
}

func TestTicketFinished(t *testing.T) {
	t.Parallel()
	terminal := map[string]bool{"issues_work_flow_status_12000": true}
	gone := &client.Error{Operation: "get_ticket", StatusCode: 400, Code: client.CodeTicketNotFound, Class: client.ClassPermanent}
	tests := []struct {
		name     string
		t        client.Ticket
		err      error
		finished bool
		status   string
	}{
		{"open", client.Ticket{WorkFlowStatus: "issues_work_flow_status_1000"}, nil, false, "issues_work_flow_status_1000"},
		{"completed", client.Ticket{WorkFlowStatus: "issues_work_flow_status_12000"}, nil, true, "issues_work_flow_status_12000"},
		{"deleted", client.Ticket{IsDeleted: true}, nil, true, "deleted"},
		{"gone", client.Ticket{}, gone, true, statusNotFound},
		{"error keeps it open", client.Ticket{}, errors.New("boom"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, finished := ticketFinished(tt.t, tt.err, terminal)
			if finished != tt.finished || status != tt.status {
				t.Errorf("ticketFinished() = %q, %v; want %q, %v", status, finished, tt.status, tt.finished)
			}
		})
	}
}
