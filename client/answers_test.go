package client_test

import (
	"strings"
	"testing"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// TestGarbageAnswers sends odd answers over real HTTP: each is classified,
// none panics, and a tolerant success is accepted.
func TestGarbageAnswers(t *testing.T) {
	t.Parallel()
	html502 := "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
	for _, tt := range []struct {
		name     string
		op       string
		fault    coctest.Fault
		class    client.Class
		ok       bool   // the call succeeds
		wantText string // in the error
		notFound bool
	}{
		{name: "html 502 on create", op: client.OpCreateTicket, fault: coctest.Fault{Status: 502, Body: html502},
			class: client.ClassAmbiguous, wantText: "http 502: unparsable answer: <!DOCTYPE html>"},
		{name: "html 502 on show", op: client.OpGetTicket, fault: coctest.Fault{Status: 502, Body: html502},
			class: client.ClassRetryable},
		{name: "truncated json 200 on create", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":{"ticket_id":"IS`},
			class: client.ClassAmbiguous},
		{name: "truncated json 200 on list", op: client.OpListTickets, fault: coctest.Fault{Status: 200, Body: `{"data":{"tickets":[{`},
			class: client.ClassRetryable},
		{name: "200 with an error envelope", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00007256","error_msg":"Invalid parameter","provider_code":4,"data":null}`},
			class: client.ClassAmbiguous, wantText: "http 200 GOM.00007256: Invalid parameter"},
		{name: "success with provider_code as string", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","error_msg":null,"provider_code":"049","data":{"ticket_id":"ISU9","id":"i9"}}`},
			ok:    true},
		{name: "success with provider_code as number", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","provider_code":4,"data":{"ticket_id":"ISU9","is_start_process":"true"}}`},
			ok:    true},
		{name: "success without ticket_id", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":{}}`},
			class: client.ClassAmbiguous, wantText: "without data.ticket_id"},
		{name: "success show with odd types", op: client.OpGetTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","data":{"ticket_id":"ISU9","fount_time":"17","create_time":1.7e12,"is_deleted":1,"enum_data_list":{}}}`},
			ok:    true},
		{name: "success show with data null", op: client.OpGetTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","data":null}`}, class: client.ClassRetryable},
		{name: "list without data", op: client.OpListTickets,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","error_msg":null,"provider_code":4}`},
			class: client.ClassRetryable, wantText: "without a data object"},
		{name: "list without tickets", op: client.OpListTickets,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","data":{"total":0}}`}, ok: true},
		{name: "plain 404 on show", op: client.OpGetTicket, fault: coctest.Fault{Status: 404, Body: "not found"},
			class: client.ClassPermanent},
		{name: "gateway 404 on show", op: client.OpGetTicket,
			fault: coctest.Fault{Status: 404, Code: client.CodeAPINotFound, Message: "API not found"}, class: client.ClassPermanent},
		{name: "429 with html", op: client.OpListTickets, fault: coctest.Fault{Status: 429, Body: "<html>slow down</html>"},
			class: client.ClassRetryable},
		{name: "nested gateway error", op: client.OpListTickets,
			fault: coctest.Fault{Status: 500, Body: `{"error":{"code":"APIG.0103","message":"gateway internal"}}`},
			class: client.ClassRetryable, wantText: "http 500 APIG.0103: gateway internal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, func(o *client.Options) { o.Retry.MaxAttempts = 1 })
			h.fake.FailNext(tt.op, 1, tt.fault)
			err := callOnce(t, h, tt.op, func(tk client.Ticket) bool { return tk.FountTime == 17 && tk.CreateTime == 1.7e12 && tk.IsDeleted })
			if tt.ok {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || client.Classify(err) != tt.class || !strings.Contains(err.Error(), tt.wantText) ||
				client.IsTicketNotFound(err) != tt.notFound {
				t.Fatalf("err = %v, class %v, not found %v", err, client.Classify(err), client.IsTicketNotFound(err))
			}
			if !strings.Contains(err.Error(), "(request id ") {
				t.Errorf("no request id in %q", err)
			}
		})
	}
}

// callOnce makes one call of operation op against the harness's fake, whose
// next answer a test has scripted, and returns its error. A successful
// create must return ticket ISU9 and a successful show must pass okTicket.
func callOnce(t *testing.T, h *harness, op string, okTicket func(client.Ticket) bool) error {
	t.Helper()
	switch op {
	case client.OpCreateTicket:
		res, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("garbage"))
		if err == nil && res.TicketID != "ISU9" {
			t.Fatalf("result %+v", res)
		}
		return err
	case client.OpGetTicket:
		tk, err := h.c.GetTicket(t.Context(), "ISU9")
		if err == nil && !okTicket(tk) {
			t.Fatalf("ticket %+v", tk)
		}
		return err
	default:
		_, err := h.c.FindTicketsBySourceID(t.Context(), "garbage")
		return err
	}
}
