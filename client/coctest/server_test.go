package coctest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

const (
	ak = "AK-FAKE"
	sk = "SK-FAKE-secret"
)

// clock is a settable clock for the fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	fake  *coctest.Server
	srv   *httptest.Server
	clock *clock
}

func newFixture(t *testing.T, mod func(*coctest.Options)) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 10, 15, 30, 0, time.UTC)}
	o := coctest.Options{AccessKey: ak, SecretKey: sk, NowFunc: clk.now, Logger: zaptest.NewLogger(t)}
	if mod != nil {
		mod(&o)
	}
	f := &fixture{fake: coctest.New(o), clock: clk}
	f.srv = httptest.NewServer(f.fake)
	t.Cleanup(f.srv.Close)
	return f
}

// answer is a decoded reply.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request signed with creds at the fake's clock, then edits it
// with mutate (after signing) when given.
func (f *fixture) do(t *testing.T, method, path, body string, mutate func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	creds := client.Credentials{AccessKey: ak, SecretKey: sk}
	if err := client.Sign(req, []byte(body), creds, f.clock.now()); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: no X-Request-Id", method, path)
	}
	return a
}

func (a answer) code() string { s, _ := a.body["error_code"].(string); return s }

func (a answer) data() map[string]any { d, _ := a.body["data"].(map[string]any); return d }

const validCreate = `{"title":"t","description":"d","enterprise_project":"0","ticket_type":"issues_type_1000",` +
	`"virtual_schedule_type":"issues_mgmt_virtual_schedule_type_2000","issue_contact_person":"u1",` +
	`"level":"issues_level_1000","source":"issues_mgmt_associated_type_2000","source_id":"k1","fount_time":1763892930000}`

func TestCreateAnswersLikeCOC(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := f.do(t, "POST", "/v1/issues_mgmt/tickets", validCreate, nil)
	if a.status != 200 || a.code() != client.CodeSuccess || a.body["error_msg"] != nil || a.body["provider_code"] != float64(4) {
		t.Fatalf("create answered %d %s", a.status, a.raw)
	}
	if !strings.Contains(a.raw, `"provider_code":4,`) || !strings.Contains(a.raw, `"error_msg":null`) {
		t.Fatalf("envelope %s: provider_code must be the number 4 and error_msg null", a.raw)
	}
	id, _ := a.data()["ticket_id"].(string)
	if !regexp.MustCompile(`^ISU20261123101530\d{11}$`).MatchString(id) ||
		!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a.data()["id"].(string)) || a.data()["is_start_process"] != true {
		t.Fatalf("data %v", a.data())
	}
	tk, ok := f.fake.Ticket(id)
	if !ok || tk.SourceID != "k1" || tk.FountTime != 1763892930000 || tk.WorkFlowStatus != coctest.StatusPending ||
		!tk.CreatedAt.Equal(f.clock.now()) {
		t.Fatalf("stored %+v", tk)
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	edit := func(from, to string) string {
		if !strings.Contains(validCreate, from) {
			t.Fatalf("%q not in the valid body", from)
		}
		return strings.Replace(validCreate, from, to, 1)
	}
	for name, body := range map[string]string{
		"no description":        edit(`"description":"d",`, ""),
		"no enterprise project": edit(`"enterprise_project":"0",`, ""),
		"no ticket type":        edit(`"ticket_type":"issues_type_1000",`, ""),
		"no schedule type":      edit(`"virtual_schedule_type":"issues_mgmt_virtual_schedule_type_2000",`, ""),
		"bad schedule type":     edit(`type_2000"`, `type_3000"`),
		"no contact person":     edit(`"issue_contact_person":"u1",`, ""),
		"bad level":             edit(`issues_level_1000`, `issues_level_5000`),
		"bad source":            edit(`associated_type_2000`, `associated_type_9000`),
		"alarm without id":      edit(`,"source_id":"k1"`, ""),
		"fount_time as string":  edit(`1763892930000`, `"1763892930000"`),
		"fount_time fraction":   edit(`1763892930000`, `1.5`),
		"title as number":       edit(`"title":"t"`, `"title":7`),
		"unknown field":         edit(`"title":"t"`, `"title":"t","change_notes":"x"`),
		"trailing data":         validCreate + `{}`,
		"not json":              "title=t",
		"empty":                 "",
	} {
		t.Run(name, func(t *testing.T) {
			a := f.do(t, "POST", "/v1/issues_mgmt/tickets", body, nil)
			if a.status != 400 || a.code() != client.CodeInvalidParameter || a.body["error_msg"] != "Invalid parameter" ||
				a.body["provider_code"] != float64(4) {
				t.Fatalf("answered %d %s", a.status, a.raw)
			}
		})
	}
	if n := len(f.fake.Tickets()); n != 0 {
		t.Fatalf("%d tickets stored from invalid bodies", n)
	}
	// Without a source, source_id is optional; a shift owner needs no person.
	ok := `{"description":"d","enterprise_project":"0","ticket_type":"issues_type_1000",` +
		`"virtual_schedule_type":"issues_mgmt_virtual_schedule_type_1000","source":"issues_mgmt_associated_type_4000","is_start_process":false}`
	if a := f.do(t, "POST", "/v1/issues_mgmt/tickets", ok, nil); a.status != 200 || a.data()["is_start_process"] != false {
		t.Fatalf("minimal draft refused: %s", a.raw)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *coctest.Options) { o.DomainID = "dom-1" })
	for name, mutate := range map[string]func(*http.Request){
		"no Authorization": func(r *http.Request) { r.Header.Del("Authorization") },
		"no date":          func(r *http.Request) { r.Header.Del("X-Sdk-Date") },
		"tampered body": func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(validCreate, `"t"`, `"x"`, 1)))
		},
		"missing domain": nil, // signed correctly, but without the X-Domain-Id the fake requires
	} {
		t.Run(name, func(t *testing.T) {
			a := f.do(t, "POST", "/v1/issues_mgmt/tickets", validCreate, mutate)
			if a.status != 401 || a.code() != client.CodeAuthFailed || a.body["request_id"] != a.header.Get("X-Request-Id") {
				t.Fatalf("answered %d %s", a.status, a.raw)
			}
			if _, has := a.body["provider_code"]; has {
				t.Fatalf("a gateway refusal has COC's envelope: %s", a.raw)
			}
		})
	}
	if f.fake.Calls(client.OpCreateTicket) != 4 || len(f.fake.Tickets()) != 0 {
		t.Fatalf("calls %d, tickets %d", f.fake.Calls(client.OpCreateTicket), len(f.fake.Tickets()))
	}
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	now := f.clock.now()
	for skew, want := range map[time.Duration]int{-16 * time.Minute: 401, -14 * time.Minute: 200, 14 * time.Minute: 200, 16 * time.Minute: 401} {
		a := f.do(t, "GET", "/v1/issues_mgmt/tickets/none", "", func(r *http.Request) {
			_ = client.Sign(r, nil, client.Credentials{AccessKey: ak, SecretKey: sk}, now.Add(skew))
		})
		if want == 200 {
			want = 400 // signature fine, ticket unknown
		}
		if a.status != want {
			t.Errorf("skew %v: %d %s, want %d", skew, a.status, a.raw, want)
		}
	}
}

func TestDomainIDRequired(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *coctest.Options) { o.DomainID = "dom-1" })
	c, err := client.New(client.Options{Endpoint: f.srv.URL, DomainID: "dom-1", NowFunc: f.clock.now,
		Credentials: client.StaticCredentials{AccessKey: ak, SecretKey: sk}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindTicketsBySourceID(t.Context(), "k"); err != nil {
		t.Fatalf("right domain refused: %v", err)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, r := range [][2]string{{"GET", "/v1/issues_mgmt/tickets"}, {"DELETE", "/v1/issues_mgmt/tickets/x"},
		{"POST", "/v1/change/tickets"}, {"GET", "/"}, {"GET", "/v1/issues_mgmt/tickets/a/b"}} {
		a := f.do(t, r[0], r[1], "", nil)
		if a.status != 404 || a.code() != client.CodeAPINotFound {
			t.Errorf("%s %s: %d %s", r[0], r[1], a.status, a.raw)
		}
	}
}

func TestShowLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id := f.do(t, "POST", "/v1/issues_mgmt/tickets", validCreate, nil).data()["ticket_id"].(string)
	show := func() answer { return f.do(t, "GET", "/v1/issues_mgmt/tickets/"+id, "", nil) }
	status := func(a answer) (string, string) {
		for _, e := range a.data()["enum_data_list"].([]any) {
			m := e.(map[string]any)
			if m["prop_id"] == "work_flow_status" && m["biz_id"] == a.data()["work_flow_status"] {
				return m["biz_id"].(string), m["name_en"].(string)
			}
		}
		return "", ""
	}
	a := show()
	if a.status != 200 || a.data()["source_id"] != "k1" || a.data()["real_ticket_id"] != id || a.data()["regions_serch"] != "" {
		t.Fatalf("show %s", a.raw)
	}
	if biz, name := status(a); biz != coctest.StatusPending || name != "Pending acceptance" {
		t.Fatalf("status %q %q", biz, name)
	}
	f.clock.add(time.Minute)
	if err := f.fake.Complete(id); err != nil {
		t.Fatal(err)
	}
	a = show()
	if biz, name := status(a); biz != coctest.StatusCompleted || name != "Completed" || a.data()["phase"] != "issues_phase_4000" ||
		a.data()["update_time"].(float64) <= a.data()["create_time"].(float64) {
		t.Fatalf("completed: %s", a.raw)
	}
	if err := f.fake.Delete(id); err != nil || show().data()["is_deleted"] != true {
		t.Fatalf("delete: %v", err)
	}
	if err := f.fake.Forget(id); err != nil {
		t.Fatal(err)
	}
	if a := show(); a.status != 400 || a.code() != client.CodeTicketNotFound || a.body["error_msg"] != "The service ticket does not exist." {
		t.Fatalf("forgotten ticket: %d %s", a.status, a.raw)
	}
	for _, fn := range []func(string) error{f.fake.Complete, f.fake.Delete, f.fake.Forget} {
		if err := fn(id); err == nil {
			t.Error("unknown ticket accepted")
		}
	}
}
