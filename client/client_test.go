package client_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

func TestCreateShowFindRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	ctx := t.Context()
	req := alarmTicket("key-1")
	res, err := h.c.CreateIssueTicket(ctx, req)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(res.TicketID, "ISU") || res.ID == "" || !res.IsStartProcess || !res.IsStartProcessAsync {
		t.Fatalf("create result %+v", res)
	}
	stored := h.fake.Tickets()
	if len(stored) != 1 || stored[0].TicketID != res.TicketID || stored[0].CreateTicketRequest != req {
		t.Fatalf("fake holds %+v, want the request as sent", stored)
	}

	got, err := h.c.GetTicket(ctx, res.TicketID)
	if err != nil {
		t.Fatalf("show: %v", err)
	}
	if got.TicketID != res.TicketID || got.ID != res.ID || got.SourceID != "key-1" || got.Title != req.Title ||
		got.Description != req.Description || got.Level != req.Level || got.Regions != req.Regions ||
		got.FountTime != req.FountTime || got.IsDeleted || got.CreateTime == 0 {
		t.Fatalf("show gave %+v", got)
	}
	if got.WorkFlowStatus != coctest.StatusPending || got.StatusName() != "Pending acceptance" {
		t.Fatalf("new ticket status %q (%q)", got.WorkFlowStatus, got.StatusName())
	}

	if err := h.fake.Complete(res.TicketID); err != nil {
		t.Fatal(err)
	}
	got, err = h.c.GetTicket(ctx, res.TicketID)
	if err != nil || got.WorkFlowStatus != "issues_work_flow_status_12000" || got.Phase != "issues_phase_4000" ||
		got.StatusName() != "Completed" {
		t.Fatalf("completed ticket: %+v, %v", got, err)
	}

	found, err := h.c.FindTicketsBySourceID(ctx, "key-1")
	if err != nil || len(found) != 1 || found[0].TicketID != res.TicketID || found[0].StatusName() != "Completed" {
		t.Fatalf("find: %+v, %v", found, err)
	}
	none, err := h.c.FindTicketsBySourceID(ctx, "no-such-key")
	if err != nil || none == nil || len(none) != 0 {
		t.Fatalf("find without match = %#v, %v; want an empty slice", none, err)
	}

	err = testutil.GatherAndCompare(h.reg, strings.NewReader(`
# HELP coc_bridge_coc_requests_total HTTP requests sent to COC, by operation and HTTP status ("error" when no response arrived).
# TYPE coc_bridge_coc_requests_total counter
coc_bridge_coc_requests_total{operation="cancel_ticket",status="200"} 0
coc_bridge_coc_requests_total{operation="change_level",status="200"} 0
coc_bridge_coc_requests_total{operation="create_ticket",status="200"} 1
coc_bridge_coc_requests_total{operation="get_ticket",status="200"} 2
coc_bridge_coc_requests_total{operation="list_tickets",status="200"} 2
coc_bridge_coc_requests_total{operation="submit_solution",status="200"} 0
# HELP coc_bridge_coc_retries_total HTTP attempts to COC beyond the first within one call.
# TYPE coc_bridge_coc_retries_total counter
coc_bridge_coc_retries_total{operation="cancel_ticket"} 0
coc_bridge_coc_retries_total{operation="change_level"} 0
coc_bridge_coc_retries_total{operation="create_ticket"} 0
coc_bridge_coc_retries_total{operation="get_ticket"} 0
coc_bridge_coc_retries_total{operation="list_tickets"} 0
coc_bridge_coc_retries_total{operation="submit_solution"} 0
`), "coc_bridge_coc_requests_total", "coc_bridge_coc_retries_total")
	if err != nil {
		t.Error(err)
	}
	if n := metric(t, h.reg, "coc_bridge_coc_ratelimit_wait_seconds"); n != 5 {
		t.Errorf("rate-limit waits observed = %v, want one per attempt (5)", n)
	}
	if n := metric(t, h.reg, "coc_bridge_coc_request_duration_seconds", "operation", "get_ticket"); n != 2 {
		t.Errorf("get_ticket durations observed = %v, want 2", n)
	}
}

// TestRequestsOnTheWire checks headers, content types, signed headers and
// bodies as the fake received them.
func TestRequestsOnTheWire(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, func(o *client.Options) { o.UserAgent = "coc-bridge/test" })
	res, err := h.c.CreateIssueTicket(t.Context(), alarmTicket("wire"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.GetTicket(t.Context(), res.TicketID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.FindTicketsBySourceID(t.Context(), "wire"); err != nil {
		t.Fatal(err)
	}
	seen := h.requests()
	want := []struct{ method, path, contentType string }{
		{"POST", "/v1/issues_mgmt/tickets", "application/json;charset=UTF-8"},
		{"GET", "/v1/issues_mgmt/tickets/" + res.TicketID, "application/json"},
		{"POST", "/v1/issues_mgmt/list-tickets", "application/json;charset=UTF-8"},
	}
	if len(seen) != len(want) {
		t.Fatalf("%d requests, want %d", len(seen), len(want))
	}
	for i, w := range want {
		r := seen[i]
		if r.method != w.method || r.path != w.path || r.header.Get("Content-Type") != w.contentType {
			t.Errorf("request %d: %s %s %q, want %+v", i, r.method, r.path, r.header.Get("Content-Type"), w)
		}
		if r.header.Get("X-Domain-Id") != testDomain || r.header.Get("User-Agent") != "coc-bridge/test" ||
			r.header.Get("X-Security-Token") != testToken || r.header.Get("X-Sdk-Date") == "" {
			t.Errorf("request %d headers %v", i, r.header)
		}
		auth := r.header.Get("Authorization")
		if !strings.HasPrefix(auth, "SDK-HMAC-SHA256 Access="+testAK+", SignedHeaders=user-agent;x-domain-id;x-sdk-date;x-security-token, Signature=") {
			t.Errorf("request %d Authorization %q", i, auth)
		}
	}
	wantList := `{"string_filters":[{"operator":"=","field":"source_id","name":"source_id","values":["wire"]}],` +
		`"sort_filter":{"operator":"desc","field":"create_time","values":["create_time"]},"page":1,"per_page":10,"contain_total":true}`
	if string(seen[2].body) != wantList {
		t.Errorf("list body %s\nwant %s", seen[2].body, wantList)
	}
	if len(seen[1].body) != 0 {
		t.Errorf("show sent a body: %q", seen[1].body)
	}
}

func TestFindDropsOtherSourceIDs(t *testing.T) {
	t.Parallel()
	// A COC that ignores the filter: every ticket comes back.
	h := newHarness(t, nil, nil)
	body := `{"error_code":"GOM.00000000","error_msg":null,"provider_code":4,"data":{"total":3,"tickets":[` +
		`{"ticket_id":"ISU1","source_id":"k"},{"ticket_id":"ISU2","source_id":"other"},{"ticket_id":"ISU3","source_id":"k","is_deleted":true},"junk"]}}`
	h.fake.FailNext(client.OpListTickets, 1, coctest.Fault{Status: 200, Body: body})
	found, err := h.c.FindTicketsBySourceID(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0].TicketID != "ISU1" || found[1].TicketID != "ISU3" || !found[1].IsDeleted {
		t.Fatalf("found %+v", found)
	}
}

func TestPathIsEscapedAndSigned(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	_, err := h.c.GetTicket(t.Context(), "ISU 2025:ü+~")
	if !client.IsTicketNotFound(err) {
		t.Fatalf("GetTicket of an odd id = %v, want ticket-not-found (signature accepted)", err)
	}
	if got := h.requests()[0].path; got != "/v1/issues_mgmt/tickets/ISU 2025:ü+~" {
		t.Fatalf("server decoded path %q", got)
	}
	if _, err := h.c.GetTicket(t.Context(), ""); client.Classify(err) != client.ClassPermanent {
		t.Fatalf("empty id: %v", err)
	}
}

func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := h.c.CreateIssueTicket(t.Context(), alarmTicket(fmt.Sprintf("key-%d", i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]bool{}
	for _, tk := range h.fake.Tickets() {
		ids[tk.TicketID] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct tickets, want %d", len(ids), n)
	}
}

func TestMetricsRegisteredAndLintClean(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	opts := client.Options{Endpoint: "cn-north-4", Credentials: client.StaticCredentials{}, Registerer: reg}
	if _, err := client.New(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(opts); err != nil {
		t.Fatalf("second client on the same registry: %v", err)
	}
	if _, err := client.NewFileCredentials(client.FileCredentialsOptions{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	for _, name := range []string{
		"coc_bridge_coc_requests_total", "coc_bridge_coc_request_duration_seconds", "coc_bridge_coc_retries_total",
		"coc_bridge_coc_throttled_total", "coc_bridge_coc_errors_total", "coc_bridge_coc_ratelimit_wait_seconds",
		"coc_bridge_coc_credentials_reloads_total",
	} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n == 0 {
			t.Errorf("%s: %d series, %v", name, n, err)
		}
	}
	if n, _ := testutil.GatherAndCount(reg, "coc_bridge_coc_errors_total"); n != 18 {
		t.Errorf("errors_total has %d pre-initialised series, want 6 operations x 3 classes", n)
	}
}

func TestNewAndResolveEndpoint(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"cn-north-4":                      "https://coc.myhuaweicloud.com",
		"ap-southeast-3":                  "https://coc-intl.myhuaweicloud.com",
		"eu-west-101":                     "https://coc-eu-west-101-open-api.myhuaweicloud.eu",
		" https://coc.myhuaweicloud.com/": "https://coc.myhuaweicloud.com",
		"http://127.0.0.1:18443":          "http://127.0.0.1:18443",
		"http://proxy.local/coc/":         "http://proxy.local/coc",
	} {
		if got, err := client.ResolveEndpoint(in); err != nil || got != want {
			t.Errorf("ResolveEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "cn-north-9", "ftp://x", "https://", "https://h/?q=1", "https://u:p@h"} {
		if _, err := client.ResolveEndpoint(bad); err == nil {
			t.Errorf("ResolveEndpoint(%q) accepted", bad)
		}
	}
	creds := client.StaticCredentials{AccessKey: "ak", SecretKey: "sk"}
	for name, o := range map[string]client.Options{
		"no credentials": {Endpoint: "cn-north-4"},
		"bad endpoint":   {Endpoint: "nowhere", Credentials: creds},
		"negative QPS":   {Endpoint: "cn-north-4", Credentials: creds, QPS: -1},
		"negative retry": {Endpoint: "cn-north-4", Credentials: creds, Retry: client.RetryPolicy{MaxAttempts: -1}},
	} {
		if _, err := client.New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}
