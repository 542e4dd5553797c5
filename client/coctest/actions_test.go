package coctest_test

import (
	"testing"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// create makes a ticket at the fixture's fake and returns its number.
func (f *fixture) create(t *testing.T) string {
	t.Helper()
	id, _ := f.do(t, "POST", "/v1/issues_mgmt/tickets", validCreate, nil).data()["ticket_id"].(string)
	if id == "" {
		t.Fatal("create returned no ticket id")
	}
	return id
}

// act posts an action body for ticket id.
func (f *fixture) act(t *testing.T, id, action, params string) answer {
	t.Helper()
	return f.do(t, "POST", "/v1/issues_mgmt/actions", `{"ticket_id":"`+id+`","action":"`+action+`","params":`+params+`}`, nil)
}

// status shows the ticket and returns its status code, the status's English
// name in enum_data_list, and its level.
func (f *fixture) status(t *testing.T, id string) (code, name, level string) {
	t.Helper()
	d := f.do(t, "GET", "/v1/issues_mgmt/tickets/"+id, "", nil).data()
	code, _ = d["work_flow_status"].(string)
	level, _ = d["level"].(string)
	list, _ := d["enum_data_list"].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); m["prop_id"] == "work_flow_status" && m["biz_id"] == code {
			name, _ = m["name_en"].(string)
		}
	}
	return code, name, level
}

// TestActionParamsValidated: unknown actions, missing, empty, mistyped or
// unknown params are refused with COC's invalid-parameter envelope and
// change nothing.
func TestActionParamsValidated(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create(t)
	const solution = `"root_cause_cloud_service":"app","root_cause_type":"t","root_cause_comment":"c","solution":"s"`
	for _, tt := range []struct{ name, body string }{
		{"not JSON", `{"ticket_id":`},
		{"unknown field", `{"ticket_id":"` + id + `","action":"gocm_issues_accepte","params":{},"comment":"x"}`},
		{"no ticket id", `{"action":"gocm_issues_accepte","params":{}}`},
		{"no action", `{"ticket_id":"` + id + `","params":{}}`},
		{"params not an object", `{"ticket_id":"` + id + `","action":"gocm_issues_accepte","params":"x"}`},
		{"unknown action", `{"ticket_id":"` + id + `","action":"add_comment","params":{}}`},
		{"level: no reason", `{"ticket_id":"` + id + `","action":"ugrading_and_downgrading","params":{"level":"issues_level_1000","up_down_updated_level":"issues_level_1000"}}`},
		{"level: empty reason", `{"ticket_id":"` + id + `","action":"ugrading_and_downgrading","params":{"level":"issues_level_1000","up_down_updated_level":"issues_level_1000","up_down_grade_reason_comment":""}}`},
		{"level: not a level", `{"ticket_id":"` + id + `","action":"ugrading_and_downgrading","params":{"level":"critical","up_down_updated_level":"issues_level_1000","up_down_grade_reason_comment":"r"}}`},
		{"level: no updated level", `{"ticket_id":"` + id + `","action":"ugrading_and_downgrading","params":{"level":"issues_level_1000","up_down_grade_reason_comment":"r"}}`},
		{"cancel: no reason", `{"ticket_id":"` + id + `","action":"gocm_issues_undo_create","params":{}}`},
		{"cancel: reason a number", `{"ticket_id":"` + id + `","action":"gocm_issues_undo_create","params":{"revocation_reason":1}}`},
		{"cancel: unknown param", `{"ticket_id":"` + id + `","action":"gocm_issues_undo_create","params":{"revocation_reason":"r","reason":"r"}}`},
		{"reject: no description", `{"ticket_id":"` + id + `","action":"gocm_issues_unaccepted_reject","params":{}}`},
		{"accept: a param", `{"ticket_id":"` + id + `","action":"gocm_issues_accepte","params":{"comment":"x"}}`},
		{"solution: no solution", `{"ticket_id":"` + id + `","action":"submitting_question","params":{"root_cause_cloud_service":"app","root_cause_type":"t","root_cause_comment":"c"}}`},
		{"solution: no root cause type", `{"ticket_id":"` + id + `","action":"submitting_question","params":{"root_cause_cloud_service":"app","root_cause_comment":"c","solution":"s"}}`},
		{"solution: flag as string", `{"ticket_id":"` + id + `","action":"submitting_question","params":{` + solution + `,"is_need_change":"true"}}`},
		{"solution: regions as array", `{"ticket_id":"` + id + `","action":"submitting_question","params":{` + solution + `,"regions":["cn-north-4"]}}`},
	} {
		a := f.do(t, "POST", "/v1/issues_mgmt/actions", tt.body, nil)
		if a.status != 400 || a.code() != client.CodeInvalidParameter || a.body["error_msg"] != "Invalid parameter" {
			t.Errorf("%s: answered %d %s", tt.name, a.status, a.raw)
		}
	}
	if code, _, level := f.status(t, id); code != coctest.StatusPending || level != "issues_level_1000" {
		t.Errorf("refused actions changed the ticket: %s %s", code, level)
	}
	if acts := f.fake.Actions(id); len(acts) != 0 {
		t.Errorf("refused actions recorded: %+v", acts)
	}
	// Every optional param of a solution, with its type.
	a := f.act(t, id, "submitting_question", `{`+solution+`,"is_common_issue":true,"is_need_change":false,`+
		`"issue_version":"v1","regions":"cn-north-4","sub_tickets":[{"affected_region":"cn-north-4","target_type":"regions","target_value":"cn-north-4"}]}`)
	if a.status != 200 || a.code() != client.CodeSuccess || a.body["error_msg"] != nil {
		t.Fatalf("full solution answered %d %s", a.status, a.raw)
	}
	if _, ok := a.body["data"]; ok {
		t.Errorf("action answer has data: %s", a.raw)
	}
}

// TestActionsMoveTheTicket walks the workflow: level changes and a
// solution keep the ticket open; accept stops a cancel; cancel, reject and
// complete finish it, after which every action is refused.
func TestActionsMoveTheTicket(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	notAllowed := func(name string, a answer) {
		t.Helper()
		if a.status != 400 || a.code() != coctest.CodeActionNotAllowed || a.body["error_msg"] == "" {
			t.Errorf("%s: answered %d %s, want 400 %s", name, a.status, a.raw, coctest.CodeActionNotAllowed)
		}
	}
	ok := func(name string, a answer) {
		t.Helper()
		if a.status != 200 || a.code() != client.CodeSuccess {
			t.Errorf("%s: answered %d %s", name, a.status, a.raw)
		}
	}
	is := func(id, wantCode, wantName, wantLevel string) {
		t.Helper()
		if code, name, level := f.status(t, id); code != wantCode || name != wantName || level != wantLevel {
			t.Errorf("%s: %s %q %s, want %s %q %s", id, code, name, level, wantCode, wantName, wantLevel)
		}
	}
	const level4 = `{"level":"issues_level_4000","up_down_updated_level":"issues_level_4000","up_down_grade_reason_comment":"calmer"}`

	a := f.create(t)
	ok("level change", f.act(t, a, "ugrading_and_downgrading", level4))
	is(a, coctest.StatusPending, "Pending acceptance", "issues_level_4000")
	ok("accept", f.act(t, a, "gocm_issues_accepte", `{}`))
	is(a, coctest.StatusHandling, "Handling", "issues_level_4000")
	notAllowed("cancel of an accepted ticket", f.act(t, a, "gocm_issues_undo_create", `{"revocation_reason":"flap"}`))
	notAllowed("second accept", f.act(t, a, "gocm_issues_accepte", `{}`))
	notAllowed("reject of an accepted ticket", f.act(t, a, "gocm_issues_unaccepted_reject", `{"unaccepted_rejection_description":"no"}`))
	ok("solution", f.act(t, a, "submitting_question",
		`{"root_cause_cloud_service":"app","root_cause_type":"t","root_cause_comment":"c","solution":"resolved at 10:40"}`))
	is(a, coctest.StatusToBeVerified, "To be verified", "issues_level_4000")
	ok("level change after the solution", f.act(t, a, "ugrading_and_downgrading",
		`{"level":"issues_level_1000","up_down_updated_level":"issues_level_1000","up_down_grade_reason_comment":"worse"}`))
	is(a, coctest.StatusToBeVerified, "To be verified", "issues_level_1000")
	if acts := f.fake.Actions(a); len(acts) != 4 || acts[1].Action != "gocm_issues_accepte" || acts[3].Params["level"] != "issues_level_1000" {
		t.Errorf("recorded %+v", acts)
	}

	b, c, d, e := f.create(t), f.create(t), f.create(t), f.create(t)
	ok("cancel", f.act(t, b, "gocm_issues_undo_create", `{"revocation_reason":"flap"}`))
	is(b, coctest.StatusCancelled, "Cancelled", "issues_level_1000")
	ok("reject", f.act(t, c, "gocm_issues_unaccepted_reject", `{"unaccepted_rejection_description":"not ours"}`))
	is(c, coctest.StatusRejected, "Rejected", "issues_level_1000")
	if err := f.fake.Complete(d); err != nil {
		t.Fatal(err)
	}
	if err := f.fake.Delete(e); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{b, c, d, e} {
		notAllowed("level change of finished "+id, f.act(t, id, "ugrading_and_downgrading", level4))
		notAllowed("solution on finished "+id, f.act(t, id, "submitting_question",
			`{"root_cause_cloud_service":"app","root_cause_type":"t","root_cause_comment":"c","solution":"s"}`))
		notAllowed("accept of finished "+id, f.act(t, id, "gocm_issues_accepte", `{}`))
	}
	is(d, coctest.StatusCompleted, "Completed", "issues_level_1000")

	if a := f.act(t, "ISU0", "gocm_issues_accepte", `{}`); a.status != 400 || a.code() != client.CodeTicketNotFound {
		t.Errorf("action on an unknown ticket: %d %s", a.status, a.raw)
	}
	if err := f.fake.Accept(b); err == nil {
		t.Error("Accept of a cancelled ticket succeeded")
	}
	if err := f.fake.Accept("ISU0"); err == nil {
		t.Error("Accept of an unknown ticket succeeded")
	}
	if n := f.fake.Calls(coctest.OpAction); n != 22 {
		t.Errorf("Calls(action) = %d, want 22", n)
	}
}

// TestActionFaults: FailNext scripts actions like any operation; a fault
// without Apply leaves the ticket alone, one with Apply changes it.
func TestActionFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.create(t)
	f.fake.FailNext(coctest.OpAction, 1, coctest.Fault{Status: 503, Code: client.CodeBackendDown})
	f.fake.FailNext(coctest.OpAction, 1, coctest.Fault{Status: 504, Code: client.CodeBackendTimeout, Apply: true})
	if a := f.act(t, id, "gocm_issues_accepte", `{}`); a.status != 503 || a.code() != client.CodeBackendDown {
		t.Fatalf("first: %d %s", a.status, a.raw)
	}
	if code, _, _ := f.status(t, id); code != coctest.StatusPending {
		t.Fatalf("a fault without Apply changed the ticket to %s", code)
	}
	if a := f.act(t, id, "gocm_issues_accepte", `{}`); a.status != 504 {
		t.Fatalf("second: %d %s", a.status, a.raw)
	}
	if code, _, _ := f.status(t, id); code != coctest.StatusHandling || len(f.fake.Actions(id)) != 1 {
		t.Fatalf("a fault with Apply left the ticket %s, %d actions", code, len(f.fake.Actions(id)))
	}
	if n := f.fake.Calls(coctest.OpAction); n != 2 {
		t.Errorf("Calls(action) = %d, want 2", n)
	}
}
