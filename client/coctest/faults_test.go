package coctest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

func TestScriptedFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.fake.FailNext(client.OpGetTicket, 1, coctest.Fault{Status: 429, Code: client.CodeThrottled, Message: "slow", RetryAfter: "3"})
	f.fake.FailNext("", 1, coctest.Fault{Status: 502, Body: "<html>bad gateway</html>"})
	f.fake.FailNext(client.OpCreateTicket, 1, coctest.Fault{Status: 500, Code: "COC.00000001", Message: "boom"})
	// The create skips the get-only fault and takes the "" one.
	if a := f.do(t, "POST", "/v1/issues_mgmt/tickets", validCreate, nil); a.status != 502 ||
		a.raw != "<html>bad gateway</html>" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Fatalf("first create: %d %s", a.status, a.raw)
	}
	if a := f.do(t, "POST", "/v1/issues_mgmt/tickets", validCreate, nil); a.status != 500 || a.code() != "COC.00000001" ||
		a.body["provider_code"] != float64(4) {
		t.Fatalf("second create: %d %s", a.status, a.raw)
	}
	if a := f.do(t, "GET", "/v1/issues_mgmt/tickets/x", "", nil); a.status != 429 || a.header.Get("Retry-After") != "3" ||
		a.code() != client.CodeThrottled || a.body["request_id"] == nil {
		t.Fatalf("get: %d %s", a.status, a.raw)
	}
	if a := f.do(t, "POST", "/v1/issues_mgmt/tickets", validCreate, nil); a.status != 200 {
		t.Fatalf("faults not used up: %d %s", a.status, a.raw)
	}
	if f.fake.Calls(client.OpCreateTicket) != 3 || f.fake.Calls(client.OpGetTicket) != 1 || f.fake.Throttled() != 1 {
		t.Fatalf("calls %d/%d throttled %d", f.fake.Calls(client.OpCreateTicket), f.fake.Calls(client.OpGetTicket), f.fake.Throttled())
	}
}

func TestOutageAndThrottle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *coctest.Options) { o.QPSLimit = 1 })
	f.fake.SetDown(true)
	if a := f.do(t, "GET", "/v1/issues_mgmt/tickets/x", "", func(r *http.Request) { r.Header.Del("Authorization") }); a.status != 503 ||
		a.code() != client.CodeBackendDown {
		t.Fatalf("down: %d %s", a.status, a.raw)
	}
	f.fake.SetDown(false)
	first := f.do(t, "GET", "/v1/issues_mgmt/tickets/x", "", nil)
	second := f.do(t, "GET", "/v1/issues_mgmt/tickets/x", "", nil)
	if first.status != 400 || second.status != 429 || second.code() != client.CodeThrottled || f.fake.Throttled() != 1 {
		t.Fatalf("throttle: %d then %d %s", first.status, second.status, second.raw)
	}
	f.fake.Reset()
	if f.fake.Calls(client.OpGetTicket) != 0 || f.fake.Throttled() != 0 {
		t.Fatal("Reset kept counts")
	}
}

func TestDropAfterCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.fake.DropAfterCreate(1)
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/issues_mgmt/tickets", strings.NewReader(validCreate))
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	if err := client.Sign(req, []byte(validCreate), client.Credentials{AccessKey: ak, SecretKey: sk}, f.clock.now()); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped create answered %d", resp.StatusCode)
	}
	if got := f.fake.TicketsBySourceID("k1"); len(got) != 1 {
		t.Fatalf("%d tickets stored, want 1", len(got))
	}
	if a := f.do(t, "POST", "/v1/issues_mgmt/tickets", validCreate, nil); a.status != 200 {
		t.Fatalf("next create: %d", a.status)
	}
}

// TestLatencyEndsWithTheClient: a create whose client gives up during the
// latency is not processed, and the handler returns (Close waits for it).
func TestLatencyEndsWithTheClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *coctest.Options) { o.Latency = time.Hour })
	c, err := client.New(client.Options{Endpoint: f.srv.URL, NowFunc: f.clock.now,
		Credentials: client.StaticCredentials{AccessKey: ak, SecretKey: sk},
		Retry:       client.RetryPolicy{MaxAttempts: 1, AttemptTimeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateIssueTicket(t.Context(), client.CreateTicketRequest{Description: "d", EnterpriseProject: "0",
		TicketType: "issues_type_1000", VirtualScheduleType: "issues_mgmt_virtual_schedule_type_1000"})
	if client.Classify(err) != client.ClassAmbiguous {
		t.Fatalf("err = %v", err)
	}
	done := make(chan struct{})
	go func() { f.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("handler still sleeping after the client left")
	}
	if n := len(f.fake.Tickets()); n != 0 {
		t.Fatalf("%d tickets created by an abandoned request", n)
	}
	f.fake.SetLatency(0)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			body := strings.Replace(validCreate, `"k1"`, fmt.Sprintf(`"k%d"`, i), 1)
			req, _ := http.NewRequestWithContext(context.Background(), "POST", f.srv.URL+"/v1/issues_mgmt/tickets", bytes.NewReader([]byte(body)))
			req.Header.Set("Content-Type", "application/json")
			_ = client.Sign(req, []byte(body), client.Credentials{AccessKey: ak, SecretKey: sk}, f.clock.now())
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			_ = f.fake.Tickets()
			_ = f.fake.Calls(client.OpCreateTicket)
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, tk := range f.fake.Tickets() {
		seen[tk.TicketID] = true
	}
	if len(seen) != 16 {
		t.Fatalf("%d distinct tickets, want 16", len(seen))
	}
}
