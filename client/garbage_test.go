package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// TestGarbageIsClassifiedNeverPanics answers each operation with what a
// broken gateway, proxy or backend sends (empty bodies, bodies over the
// read cap, wrong content types, answers cut halfway, error envelopes with a
// 200) over real HTTP. Every call ends in a classified *client.Error with a
// short message, or succeeds when the body is fine whatever its type; a
// create that got a 2xx it cannot read is ambiguous (the ticket may exist).
func TestGarbageIsClassifiedNeverPanics(t *testing.T) {
	t.Parallel()
	const success = `{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":{"ticket_id":"ISU9","id":"i9"}}`
	// Valid JSON, but over the 4 MiB the client reads of an answer.
	huge := `{"error_code":"GOM.00000000","data":{"ticket_id":"ISU9","pad":"` + strings.Repeat("x", 5<<20) + `"}}`
	hugeHTML := "<html><body>" + strings.Repeat("<p>upstream error</p>", 300<<10) + "</body></html>"
	html := "<!DOCTYPE html><html><head><title>Error</title></head><body>Service temporarily unavailable</body></html>"
	for _, tt := range []struct {
		name     string
		op       string
		fault    coctest.Fault
		class    client.Class
		ok       bool
		wantText string
	}{
		{name: "empty 200 on create", op: client.OpCreateTicket, fault: coctest.Fault{Status: 200, EmptyBody: true},
			class: client.ClassAmbiguous, wantText: "http 200: empty answer"},
		{name: "empty 200 on show", op: client.OpGetTicket, fault: coctest.Fault{Status: 200, EmptyBody: true},
			class: client.ClassRetryable, wantText: "empty answer"},
		{name: "empty 502 on create", op: client.OpCreateTicket, fault: coctest.Fault{Status: 502, EmptyBody: true},
			class: client.ClassAmbiguous, wantText: "http 502: empty answer"},
		{name: "over the read cap, 200 on create", op: client.OpCreateTicket, fault: coctest.Fault{Status: 200, Body: huge},
			class: client.ClassAmbiguous, wantText: "answer larger than 4 MiB"},
		{name: "over the read cap, 200 on list", op: client.OpListTickets, fault: coctest.Fault{Status: 200, Body: huge},
			class: client.ClassRetryable, wantText: "answer larger than 4 MiB"},
		{name: "over the read cap, html 502", op: client.OpCreateTicket, fault: coctest.Fault{Status: 502, Body: hugeHTML},
			class: client.ClassAmbiguous, wantText: "http 502"},
		{name: "success labelled text/html", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Body: success, ContentType: "text/html; charset=utf-8"}, ok: true},
		{name: "success labelled octet-stream", op: client.OpGetTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","data":{"ticket_id":"ISU9"}}`, ContentType: "application/octet-stream"}, ok: true},
		{name: "html labelled json, 200 on create", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Body: html, ContentType: "application/json"},
			class: client.ClassAmbiguous, wantText: "unparsable answer: <!DOCTYPE html>"},
		{name: "error envelope labelled text/plain", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 400, Code: client.CodeInvalidParameter, Message: "Invalid parameter", ContentType: "text/plain"},
			class: client.ClassPermanent, wantText: "http 400 GOM.00007256: Invalid parameter"},
		{name: "answer cut halfway, 200 on create", op: client.OpCreateTicket, fault: coctest.Fault{Status: 200, Body: success, Truncate: true},
			class: client.ClassAmbiguous, wantText: "read answer"},
		{name: "answer cut halfway, 200 on list", op: client.OpListTickets, fault: coctest.Fault{Status: 200, Body: success, Truncate: true},
			class: client.ClassRetryable, wantText: "read answer"},
		{name: "answer cut halfway, 503", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 503, Code: client.CodeBackendDown, Truncate: true}, class: client.ClassAmbiguous},
		{name: "200 with an error envelope on list", op: client.OpListTickets,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00007256","error_msg":"Invalid parameter","provider_code":4,"data":null}`},
			class: client.ClassPermanent, wantText: "http 200 GOM.00007256: Invalid parameter"},
		{name: "200 with an unknown COC error on create", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"COC.00060001","error_msg":"internal error","data":null}`},
			class: client.ClassAmbiguous, wantText: "http 200 COC.00060001: internal error"},
		// A gateway outage code with a 2xx status: the code decides.
		{name: "200 with backend unavailable on create", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Code: client.CodeBackendDown, Message: "Backend unavailable"},
			class: client.ClassAmbiguous, wantText: "http 200 APIG.0202"},
		{name: "200 with backend timeout on create", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Code: client.CodeBackendTimeout, Message: "Backend timeout"},
			class: client.ClassAmbiguous, wantText: "http 200 APIG.0203"},
		{name: "200 with gateway internal error on show", op: client.OpGetTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"APIGW.0103","error_msg":"internal"}`},
			class: client.ClassRetryable, wantText: "APIGW.0103"},
		{name: "success with data null on create", op: client.OpCreateTicket,
			fault: coctest.Fault{Status: 200, Body: `{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":null}`},
			class: client.ClassAmbiguous},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil, func(o *client.Options) { o.Retry.MaxAttempts = 1 })
			h.fake.FailNext(tt.op, 1, tt.fault)
			err := callOnce(t, h, tt.op, func(tk client.Ticket) bool { return tk.TicketID == "ISU9" })
			if tt.ok {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var ce *client.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want a *client.Error", err, err)
			}
			if client.Classify(err) != tt.class || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %q, class %v; want class %v and %q", err, client.Classify(err), tt.class, tt.wantText)
			}
			// The message quotes at most the start of a body, as one valid line.
			if msg := err.Error(); len(msg) > 600 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error message is not short, valid, one-line text (%d bytes): %.300q", len(msg), msg)
			}
			if got := metric(t, h.reg, "coc_bridge_coc_errors_total", "operation", tt.op, "class", tt.class.String()); got != 1 {
				t.Errorf("coc_bridge_coc_errors_total{class=%q} = %v, want 1", tt.class, got)
			}
			if got := h.fake.Calls(tt.op); got != 1 {
				t.Errorf("fake saw %d calls, want 1", got)
			}
		})
	}
}

// TestRetryableCodeIn200IsRetriedInCall checks the classification drives
// the in-call retries: a 200 carrying a gateway outage code to a read is
// tried again and the next good answer wins.
func TestRetryableCodeIn200IsRetriedInCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	res, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("retry-in-200"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	h.fake.FailNext(client.OpListTickets, 1, coctest.Fault{Status: http.StatusOK, Code: client.CodeBackendDown, Message: "Backend unavailable"})
	found, err := h.c.FindTicketsBySourceID(t.Context(), "retry-in-200")
	if err != nil || len(found) != 1 || found[0].TicketID != res.TicketID {
		t.Fatalf("find: %+v, %v", found, err)
	}
	if got := h.fake.Calls(client.OpListTickets); got != 2 {
		t.Errorf("fake saw %d lists, want 2", got)
	}
}
