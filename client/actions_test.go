package client_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// createTicket creates a ticket at the harness's fake and returns its id.
func createTicket(t *testing.T, h *harness, key string) string {
	t.Helper()
	res, err := h.c.CreateIssueTicket(t.Context(), alarmTicket(key))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return res.TicketID
}

// TestActionsOnTheWire: each action method sends its body, signed, to the
// actions path; the fake applies it and show reports the result.
func TestActionsOnTheWire(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ctx := t.Context()
	id := createTicket(t, h, "k1")
	other := createTicket(t, h, "k2")

	if err := h.c.ChangeLevel(ctx, client.ChangeLevelRequest{TicketID: id, Level: "issues_level_1000",
		Reason: "DiskFull on node-7 went critical at 10:15 UTC"}); err != nil {
		t.Fatalf("change level: %v", err)
	}
	if err := h.c.SubmitSolution(ctx, client.SubmitSolutionRequest{TicketID: id, RootCauseCloudService: "app-1",
		RootCauseType: "rc_type_1", RootCauseComment: "disk filled by logs", Regions: "cn-north-4,cn-south-1",
		Solution: "all alerts resolved at 10:40 UTC", IsNeedChange: true}); err != nil {
		t.Fatalf("submit solution: %v", err)
	}
	if err := h.c.CancelTicket(ctx, client.CancelTicketRequest{TicketID: other, Reason: "resolved at 10:20 UTC before anyone took it"}); err != nil {
		t.Fatalf("cancel: %v", err)
	}

	seen := h.requests()[2:]
	want := []string{
		`{"ticket_id":"` + id + `","action":"ugrading_and_downgrading","params":{"up_down_updated_level":"issues_level_1000",` +
			`"up_down_grade_reason_comment":"DiskFull on node-7 went critical at 10:15 UTC","level":"issues_level_1000"}}`,
		`{"ticket_id":"` + id + `","action":"submitting_question","params":{"root_cause_cloud_service":"app-1","is_common_issue":false,` +
			`"regions":"cn-north-4,cn-south-1","root_cause_type":"rc_type_1","root_cause_comment":"disk filled by logs",` +
			`"solution":"all alerts resolved at 10:40 UTC","is_need_change":true}}`,
		`{"ticket_id":"` + other + `","action":"gocm_issues_undo_create","params":{"revocation_reason":"resolved at 10:20 UTC before anyone took it"}}`,
	}
	if len(seen) != len(want) {
		t.Fatalf("%d action requests, want %d", len(seen), len(want))
	}
	for i, w := range want {
		r := seen[i]
		if r.method != "POST" || r.path != "/v1/issues_mgmt/actions" || r.header.Get("Content-Type") != "application/json;charset=UTF-8" {
			t.Errorf("action %d: %s %s %q", i, r.method, r.path, r.header.Get("Content-Type"))
		}
		if string(r.body) != w {
			t.Errorf("action %d body\n%s\nwant\n%s", i, r.body, w)
		}
	}

	acts := h.fake.Actions(id)
	if len(acts) != 2 || acts[0].Action != client.ActionChangeLevel || acts[1].Action != client.ActionSubmitSolution ||
		acts[0].Params["up_down_grade_reason_comment"] != "DiskFull on node-7 went critical at 10:15 UTC" ||
		acts[1].Params["is_need_change"] != true || acts[1].Params["solution"] != "all alerts resolved at 10:40 UTC" {
		t.Fatalf("fake recorded %+v", acts)
	}
	if n := h.fake.Calls(coctest.OpAction); n != 3 {
		t.Errorf("Calls(action) = %d, want 3", n)
	}
	got, err := h.c.GetTicket(ctx, id)
	if err != nil || got.Level != "issues_level_1000" || got.WorkFlowStatus != coctest.StatusToBeVerified ||
		got.StatusName() != "To be verified" {
		t.Fatalf("ticket after level change and solution: %+v, %v", got, err)
	}
	if found, err := h.c.FindTicketsBySourceID(ctx, "k2"); err != nil || len(found) != 1 || found[0].StatusName() != "Cancelled" {
		t.Fatalf("cancelled ticket listed as %+v, %v", found, err)
	}
	if n := metric(t, h.reg, "coc_bridge_coc_requests_total", "operation", client.OpChangeLevel, "status", "200"); n != 1 {
		t.Errorf("change_level requests = %v, want 1", n)
	}
}

// TestActionRefusalsArePermanent: COC refusing an action is permanent and
// sent once: on a finished ticket, a cancel of an accepted ticket, params
// the fake refuses, an unknown ticket.
func TestActionRefusalsArePermanent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ctx := t.Context()
	completed, accepted, pending := createTicket(t, h, "done"), createTicket(t, h, "taken"), createTicket(t, h, "new")
	if err := h.fake.Complete(completed); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.Accept(accepted); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		call func() error
		code string
	}{
		{"level change on a completed ticket", func() error {
			return h.c.ChangeLevel(ctx, client.ChangeLevelRequest{TicketID: completed, Level: "issues_level_1000", Reason: "r"})
		}, coctest.CodeActionNotAllowed},
		{"cancel of an accepted ticket", func() error {
			return h.c.CancelTicket(ctx, client.CancelTicketRequest{TicketID: accepted, Reason: "r"})
		}, coctest.CodeActionNotAllowed},
		{"solution without a root cause", func() error {
			return h.c.SubmitSolution(ctx, client.SubmitSolutionRequest{TicketID: pending, Solution: "s"})
		}, client.CodeInvalidParameter},
		{"level the fake does not know", func() error {
			return h.c.ChangeLevel(ctx, client.ChangeLevelRequest{TicketID: pending, Level: "issues_level_9000", Reason: "r"})
		}, client.CodeInvalidParameter},
		{"unknown ticket", func() error {
			return h.c.CancelTicket(ctx, client.CancelTicketRequest{TicketID: "ISU0", Reason: "r"})
		}, client.CodeTicketNotFound},
	} {
		before := h.fake.Calls(coctest.OpAction)
		err := tt.call()
		var e *client.Error
		if !errors.As(err, &e) || e.Class != client.ClassPermanent || e.Code != tt.code || e.StatusCode != 400 {
			t.Errorf("%s: err %v, want permanent 400 %s", tt.name, err, tt.code)
		}
		if n := h.fake.Calls(coctest.OpAction) - before; n != 1 {
			t.Errorf("%s: sent %d times, want once", tt.name, n)
		}
		if client.IsTicketNotFound(err) != (tt.code == client.CodeTicketNotFound) {
			t.Errorf("%s: IsTicketNotFound = %v", tt.name, client.IsTicketNotFound(err))
		}
	}
	for _, id := range []string{completed, accepted, pending} {
		if acts := h.fake.Actions(id); len(acts) != 0 {
			t.Errorf("%s: refused actions recorded as applied: %+v", id, acts)
		}
	}
	if tk, _ := h.fake.Ticket(accepted); tk.WorkFlowStatus != coctest.StatusHandling {
		t.Errorf("accepted ticket is %s after a refused cancel", tk.WorkFlowStatus)
	}
	if n := metric(t, h.reg, "coc_bridge_coc_errors_total", "operation", client.OpCancelTicket, "class", "permanent"); n != 2 {
		t.Errorf("cancel_ticket permanent errors = %v, want 2", n)
	}
}

// TestActionAnswersClassified: an action is not a create: 5xx and outage
// codes are retried and end retryable, a 2xx carrying a COC error code is
// a refusal.
func TestActionAnswersClassified(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault coctest.Fault
		n     int // faulted answers before the fake answers itself
		class client.Class
		ok    bool
	}{
		{"one 503, then success", coctest.Fault{Status: 503, Code: client.CodeBackendDown}, 1, 0, true},
		{"500 after applying, then success", coctest.Fault{Status: 500, Apply: true}, 1, 0, true},
		{"503 until retries run out", coctest.Fault{Status: 503, Code: client.CodeBackendDown}, 4, client.ClassRetryable, false},
		{"504 until retries run out", coctest.Fault{Status: 504, Code: client.CodeBackendTimeout}, 4, client.ClassRetryable, false},
		{"200 with a gateway outage code", coctest.Fault{Status: 200, Code: client.CodeBackendTimeout}, 4, client.ClassRetryable, false},
		{"200 with an invalid-parameter code", coctest.Fault{Status: 200, Code: client.CodeInvalidParameter, Message: "Invalid parameter"}, 1, client.ClassPermanent, false},
		{"gateway refusal", coctest.Fault{Status: 403, Code: client.CodeForbidden}, 1, client.ClassPermanent, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, nil)
			id := createTicket(t, h, "k")
			h.fake.FailNext(coctest.OpAction, tt.n, tt.fault)
			err := h.c.ChangeLevel(t.Context(), client.ChangeLevelRequest{TicketID: id, Level: "issues_level_2000", Reason: "r"})
			if tt.ok {
				tk, _ := h.fake.Ticket(id)
				if err != nil || tk.Level != "issues_level_2000" || h.fake.Calls(coctest.OpAction) != tt.n+1 {
					t.Fatalf("err %v, level %s, %d calls", err, tk.Level, h.fake.Calls(coctest.OpAction))
				}
				if n := metric(t, h.reg, "coc_bridge_coc_retries_total", "operation", client.OpChangeLevel); n != float64(tt.n) {
					t.Errorf("retries = %v, want %d", n, tt.n)
				}
				return
			}
			if err == nil || client.Classify(err) != tt.class {
				t.Fatalf("err %v, class %v, want %v", err, client.Classify(err), tt.class)
			}
			if want := min(tt.n, 4); h.fake.Calls(coctest.OpAction) != want {
				t.Errorf("%d calls, want %d", h.fake.Calls(coctest.OpAction), want)
			}
		})
	}
}

// TestActionInputChecked: what no COC would accept is refused before
// anything is sent.
func TestActionInputChecked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ctx := t.Context()
	for name, err := range map[string]error{
		"level, no ticket":  h.c.ChangeLevel(ctx, client.ChangeLevelRequest{Level: "issues_level_1000", Reason: "r"}),
		"level, no reason":  h.c.ChangeLevel(ctx, client.ChangeLevelRequest{TicketID: "ISU1", Level: "issues_level_1000"}),
		"level, no level":   h.c.ChangeLevel(ctx, client.ChangeLevelRequest{TicketID: "ISU1", Reason: "r"}),
		"cancel, no ticket": h.c.CancelTicket(ctx, client.CancelTicketRequest{Reason: "r"}),
		"cancel, no reason": h.c.CancelTicket(ctx, client.CancelTicketRequest{TicketID: "ISU1"}),
		"solution, none":    h.c.SubmitSolution(ctx, client.SubmitSolutionRequest{TicketID: "ISU1", RootCauseType: "x"}),
		"solution, no id":   h.c.SubmitSolution(ctx, client.SubmitSolutionRequest{Solution: "s"}),
	} {
		var e *client.Error
		if !errors.As(err, &e) || e.Class != client.ClassPermanent || e.StatusCode != 0 || e.Operation == "" {
			t.Errorf("%s: %#v", name, err)
		}
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestActionParamsRecordedAsSent: the fake records params with their JSON
// types.
func TestActionParamsRecordedAsSent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	id := createTicket(t, h, "k")
	if err := h.c.CancelTicket(t.Context(), client.CancelTicketRequest{TicketID: id, Reason: "flap"}); err != nil {
		t.Fatal(err)
	}
	acts := h.fake.Actions(id)
	if len(acts) != 1 || !reflect.DeepEqual(acts[0].Params, map[string]any{"revocation_reason": "flap"}) || acts[0].At.IsZero() {
		t.Fatalf("recorded %+v", acts)
	}
	acts[0].Params["revocation_reason"] = "changed"
	if h.fake.Actions(id)[0].Params["revocation_reason"] != "flap" {
		t.Fatal("Actions shares its params with the fake")
	}
}
