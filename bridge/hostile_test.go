package bridge_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres"
)

// postAnswer posts body to the webhook and decodes the answer: the
// decisions of a 200, the error of anything else.
func (e *env) postAnswer(body []byte, header map[string]string) (int, decisionAnswer, string) {
	e.t.Helper()
	code, raw := e.post(body, header)
	var a decisionAnswer
	var errBody struct{ Error string }
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			e.t.Fatalf("200 answer %q: %v", raw, err)
		}
	} else if err := json.Unmarshal([]byte(raw), &errBody); err != nil || errBody.Error == "" {
		e.t.Fatalf("answer %d without a JSON error: %q", code, raw)
	}
	return code, a, errBody.Error
}

// checkTicketFields asserts what COC gets for every ticket: valid UTF-8
// within the mapping's default limits.
func checkTicketFields(t *testing.T, title, description string) {
	t.Helper()
	for name, s := range map[string]string{"title": title, "description": description} {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8", name)
		}
	}
	if n := utf8.RuneCountInString(title); n > 255 || n == 0 {
		t.Errorf("title has %d runes, want 1 to 255", n)
	}
	if n := utf8.RuneCountInString(description); n > 4000 || n == 0 {
		t.Errorf("description has %d runes, want 1 to 4000", n)
	}
}

// A label value of 1 MiB fits the default body limit (4 MiB): the
// notification is accepted and the ticket's title and description are cut
// to their limits. A value over the limit is refused with 413 and nothing
// is stored.
func TestGiantLabelValue(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("renders megabytes of text (seconds under -race); skipped with -short")
	}
	e := newEnv(t, envOptions{})
	giant := strings.Repeat("磁盘", (1<<20)/6) // 1 MiB of three-byte runes
	body := func(value string) []byte {
		labels := map[string]string{"alertname": "Giant", "detail": value, "severity": "critical"}
		b, err := json.Marshal(map[string]any{
			"version": "4", "status": "firing", "receiver": "coc-bridge", "groupKey": `{}:{alertname="Giant"}`,
			"groupLabels": map[string]string{"alertname": "Giant", "detail": value}, "commonLabels": labels,
			"alerts": []map[string]any{{"status": "firing", "labels": labels, "startsAt": t0}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ok := body(giant)
	if len(ok) < 3<<20 || len(ok) > 4<<20 {
		t.Fatalf("body of %d bytes: want between 3 and 4 MiB", len(ok))
	}
	if code, a, msg := e.postAnswer(ok, nil); code != http.StatusOK || len(a.Decisions) != 1 {
		t.Fatalf("1 MiB label value: %d %s %+v", code, msg, a)
	}
	waitFor(t, time.Minute, "the ticket of the giant label", func() bool {
		return len(e.ledger(bridge.StateOpen)) == 1 && len(e.outbox()) == 0
	})
	tk := e.fake.Tickets()[0]
	checkTicketFields(t, tk.Title, tk.Description)
	if !strings.HasPrefix(tk.Title, "[FIRING:1] Giant 磁盘磁盘") || !strings.HasSuffix(tk.Title, "…") {
		t.Errorf("title %q: want the label value cut", tk.Title)
	}
	if !strings.HasPrefix(tk.Description, "[Symptom] 1 alert(s) firing") || !strings.Contains(tk.Description, "磁盘磁盘") {
		t.Errorf("description starts %q", tk.Description[:min(len(tk.Description), 200)])
	}

	// 5 MiB: over the limit.
	code, _, msg := e.postAnswer(body(strings.Repeat("x", 5<<20)), nil)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "larger than") {
		t.Errorf("5 MiB label value: %d %q, want 413", code, msg)
	}
	if n := len(e.ledger("")); n != 1 {
		t.Errorf("ledger holds %d entries, want only the accepted one", n)
	}
	if got := counterValue(t, e.reg, "coc_bridge_notifications_total", "result", "too_large"); got != 1 {
		t.Errorf("too_large rejections = %v, want 1", got)
	}
}

var moreAlertsRE = regexp.MustCompile(`\n\+(\d+) more alerts \(left out to fit the description limit\)$`)

// 10,000 alerts in one notification fit the default body limit (about
// 3 MiB): one key, one outbox item, one ticket whose description lists as
// many alerts as fit and counts the others. With a smaller body limit the
// same notification is refused with 413, naming Alertmanager's max_alerts.
func TestTenThousandAlertsInOneNotification(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("decodes and renders 10,000 alerts (seconds under -race); skipped with -short")
	}
	const n = 10000
	specs := make([]alertSpec, n)
	for i := range specs {
		specs[i] = alertSpec{severity: "major", region: fmt.Sprintf("cn-north-%d", i%7), startsAt: t0.Add(time.Duration(i) * time.Second)}
	}
	body := notification("Flood", "firing", specs...)
	if len(body) > 4<<20 {
		t.Fatalf("body of %d bytes is over the default limit", len(body))
	}

	small := newEnv(t, envOptions{noRun: true, mutate: func(o *bridge.Options) { o.MaxBodyBytes = 1 << 20 }})
	if code, _, msg := small.postAnswer(body, nil); code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "max_alerts") {
		t.Errorf("over the body limit: %d %q, want 413 naming max_alerts", code, msg)
	}
	if n := len(small.ledger("")) + len(small.outbox()); n != 0 {
		t.Errorf("%d rows stored after a 413", n)
	}

	e := newEnv(t, envOptions{})
	code, a, msg := e.postAnswer(body, nil)
	if code != http.StatusOK || len(a.Decisions) != 1 || a.Decisions[0].Decision != bridge.DecisionCreate {
		t.Fatalf("10,000 alerts: %d %s %+v", code, msg, a)
	}
	key := a.Decisions[0].Key
	// Decoding and rendering 10,000 alerts takes seconds under -race on a
	// busy machine: a longer wait than waitSettled's.
	waitFor(t, time.Minute, "the ticket of 10,000 alerts", func() bool {
		return len(e.ledger(bridge.StateOpen)) == 1 && len(e.outbox()) == 0
	})
	e.assertOneTicketPerKey(1)
	tk := e.fake.Tickets()[0]
	checkTicketFields(t, tk.Title, tk.Description)
	if tk.SourceID != key || tk.Regions != "cn-north-0,cn-north-1,cn-north-2,cn-north-3,cn-north-4,cn-north-5,cn-north-6" {
		t.Errorf("ticket source_id %s regions %q", tk.SourceID, tk.Regions)
	}
	m := moreAlertsRE.FindStringSubmatch(tk.Description)
	if m == nil {
		t.Fatalf("description does not end with a +N more alerts line:\n%s", tk.Description[max(0, len(tk.Description)-300):])
	}
	left, _ := strconv.Atoi(m[1])
	listed := strings.Count(tk.Description, "\n- Flood (major)")
	if listed == 0 || listed+left != n {
		t.Errorf("description lists %d alerts and leaves out %d; want %d in all", listed, left, n)
	}
	if !strings.HasPrefix(tk.Description, "[Symptom] 10000 alert(s) firing") {
		t.Errorf("description starts %q", tk.Description[:80])
	}
	// The same notification again changes nothing.
	if code, a, _ := e.postAnswer(body, nil); code != http.StatusOK || a.Decisions[0].Decision != bridge.DecisionSuppressOpen {
		t.Errorf("repeat: %d %+v", code, a)
	}
	if got := len(e.fake.Tickets()); got != 1 {
		t.Errorf("%d tickets after the repeat", got)
	}
}

// Deep nesting is refused by the JSON decoder (10,000 levels at most) with
// a 400 that says so, even in a field the bridge ignores; nesting under that
// depth in an ignored field is accepted.
func TestDeeplyNestedJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noRun: true})
	valid := firing("Nested")
	withExtra := func(extra string) []byte {
		return append([]byte(`{"extra":`+extra+`,`), valid[1:]...)
	}
	deep := func(n int, open, close string) string { return strings.Repeat(open, n) + strings.Repeat(close, n) }
	for _, tc := range []struct {
		name string
		body []byte
		want int
	}{
		{"100,000 brackets", []byte(strings.Repeat("[", 100000)), 400},
		{"100,000 nested arrays, closed", []byte(deep(100000, "[", "]")), 400},
		{"100,000 nested objects in an ignored field", withExtra(deep(100000, `{"a":`, "}")), 400},
		{"100,000 nested arrays in a label", bytes.Replace(valid, []byte(`"labels":{`), []byte(`"labels":{"x":`+deep(100000, "[", "]")+`,`), 1), 400},
		{"5,000 nested arrays in an ignored field", withExtra(deep(5000, "[", "]")), 200},
	} {
		code, _, msg := e.postAnswer(tc.body, nil)
		if code != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.name, code, msg, tc.want)
		}
		if code == 400 && !strings.Contains(msg, "invalid JSON") {
			t.Errorf("%s: error %q does not say the JSON is invalid", tc.name, msg)
		}
		if code == 400 && tc.name != "100,000 nested arrays in a label" && !strings.Contains(msg, "exceeded max depth") {
			t.Errorf("%s: error %q does not name the depth", tc.name, msg)
		}
	}
	if n := len(e.ledger("")); n != 1 {
		t.Errorf("ledger holds %d entries, want the one accepted notification", n)
	}
}

// Duplicate keys: Go's JSON decoder keeps the last value of a key, in the
// body and in every object in it. The issue key and the ticket are computed
// from the same decoded notification, so both see the last values: the
// notification keys like the one without the earlier duplicates, and its
// ticket shows the last values.
func TestDuplicateJSONKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	dup := []byte(`{"version":"4","receiver":"decoy","receiver":"coc\\.bridge","status":"resolved","status":"firing",` +
		`"groupKey":"{}:{alertname=\"Dup\"}","groupLabels":{"alertname":"Decoy","alertname":"Dup"},` +
		`"commonLabels":{"alertname":"Dup"},"commonAnnotations":{"summary":"decoy","summary":"the last summary"},` +
		`"alerts":[{"status":"resolved","labels":{"alertname":"Decoy"}}],` +
		`"alerts":[{"status":"firing","status":"firing","labels":{"alertname":"Dup","severity":"warning","severity":"critical","region":"cn-south-1"},` +
		`"startsAt":"2026-11-23T10:00:00Z","fingerprint":"0000000000000001"}]}`)
	last := []byte(`{"version":"4","receiver":"coc\\.bridge","status":"firing",` +
		`"groupKey":"{}:{alertname=\"Dup\"}","groupLabels":{"alertname":"Dup"},` +
		`"commonLabels":{"alertname":"Dup"},"commonAnnotations":{"summary":"the last summary"},` +
		`"alerts":[{"status":"firing","labels":{"alertname":"Dup","severity":"critical","region":"cn-south-1"},` +
		`"startsAt":"2026-11-23T10:00:00Z","fingerprint":"0000000000000001"}]}`)
	code, a, msg := e.postAnswer(dup, nil)
	if code != http.StatusOK || len(a.Decisions) != 1 || a.Decisions[0].Decision != bridge.DecisionCreate {
		t.Fatalf("duplicate keys: %d %s %+v", code, msg, a)
	}
	e.waitSettled(1)
	code, b, _ := e.postAnswer(last, nil)
	if code != http.StatusOK || b.Decisions[0].Key != a.Decisions[0].Key || b.Decisions[0].Decision != bridge.DecisionSuppressOpen {
		t.Errorf("the body without the earlier duplicates: %d %+v; want the key %s, already open", code, b, a.Decisions[0].Key)
	}
	tk := e.fake.Tickets()[0]
	if tk.Level != "issues_level_1000" || tk.Regions != "cn-south-1" || !strings.Contains(tk.Title, "Dup") ||
		strings.Contains(tk.Title, "Decoy") || !strings.Contains(tk.Description, "the last summary") {
		t.Errorf("ticket from the last values: level %s regions %s title %q\n%s", tk.Level, tk.Regions, tk.Title, tk.Description)
	}
	if entry := e.ledger(bridge.StateOpen)[0]; entry.Receiver != "coc.bridge" {
		t.Errorf("ledger receiver %q, want the last one", entry.Receiver)
	}
}

// Invalid UTF-8 in label names and values, annotations and the receiver is
// accepted: the decoder replaces each bad byte by U+FFFD, the key is
// computed from the replaced text, the ticket shows it. The alert is kept.
func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	body := func(bad string) []byte {
		return []byte(`{"version":"4","receiver":"coc-` + bad + `","status":"firing","groupKey":"{}:{alertname=\"Bad\"}",` +
			`"groupLabels":{"alertname":"Bad","host":"h` + bad + `"},"commonLabels":{"alertname":"Bad"},` +
			`"commonAnnotations":{"summary":"disk ` + bad + ` full"},` +
			`"alerts":[{"status":"firing","labels":{"alertname":"Bad","host":"h` + bad + `","l` + bad + `":"v","severity":"critical"},` +
			`"annotations":{"summary":"disk ` + bad + ` full"},"startsAt":"2026-11-23T10:00:00Z"}]}`)
	}
	code, a, msg := e.postAnswer(body("\xff\xc3(\xed\xa0\x80"), nil)
	if code != http.StatusOK || len(a.Decisions) != 1 || a.Decisions[0].Decision != bridge.DecisionCreate {
		t.Fatalf("invalid UTF-8: %d %s %+v", code, msg, a)
	}
	e.waitSettled(1)
	tk := e.fake.Tickets()[0]
	checkTicketFields(t, tk.Title, tk.Description)
	if !strings.Contains(tk.Title, "Bad h\uFFFD\uFFFD(\uFFFD\uFFFD\uFFFD") || !strings.Contains(tk.Description, "disk \uFFFD\uFFFD(\uFFFD\uFFFD\uFFFD full") {
		t.Errorf("ticket does not show the replaced text: %q\n%s", tk.Title, tk.Description)
	}
	// The same notification with the replacement characters already in it
	// has the same key.
	code, b, _ := e.postAnswer(body(`\ufffd\ufffd(\ufffd\ufffd\ufffd`), nil)
	if code != http.StatusOK || b.Decisions[0].Key != a.Decisions[0].Key {
		t.Errorf("the replaced text keys to %+v, want %s", b, a.Decisions[0].Key)
	}
	if entry := e.ledger(bridge.StateOpen)[0]; entry.Receiver != "coc-\uFFFD\uFFFD(\uFFFD\uFFFD\uFFFD" {
		t.Errorf("ledger receiver %q", entry.Receiver)
	}
}

// Text no store should choke on: a NUL in the receiver (PostgreSQL refuses
// NULs in text columns; the decoder makes it U+FFFD), NULs and control
// characters in labels, invalid UTF-8, a 64 KiB receiver name. Every body
// is accepted (200, never the 503 that would make Alertmanager retry it
// forever) on SQLite and on PostgreSQL, and its ticket text has no NUL.
func TestHostileTextOnEveryStore(t *testing.T) {
	t.Parallel()
	bodies := map[string][]byte{
		"NUL in the receiver": []byte(`{"version":"4","status":"firing","receiver":"coc\u0000bridge","alerts":[{"status":"firing","labels":{"alertname":"Nul"}}]}`),
		"NUL and controls in labels": []byte(`{"version":"4","status":"firing","receiver":"coc","groupLabels":{"alertname":"Ctl\u0000"},` +
			`"alerts":[{"status":"firing","labels":{"alertname":"Ctl\u0000","k\u0000\u001b":"\u0000\u0007\r\n"}}]}`),
		"invalid UTF-8 in the receiver": []byte("{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"coc\xff\xfe\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"Utf\"}}]}"),
		"64 KiB receiver":               []byte(`{"version":"4","status":"firing","receiver":"` + strings.Repeat("r", 64<<10) + `","alerts":[{"status":"firing","labels":{"alertname":"Long"}}]}`),
	}
	stores := map[string]func(t *testing.T) bridge.Store{
		"sqlite": nil,
		"postgres": func(t *testing.T) bridge.Store {
			s, err := postgres.Open(context.Background(), postgresDSN(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if open != nil {
				postgresDSN(t) // skips without PostgreSQL
			}
			e := newEnv(t, envOptions{openStore: open})
			for what, body := range bodies {
				if code, a, msg := e.postAnswer(body, nil); code != http.StatusOK || len(a.Decisions) != 1 {
					t.Errorf("%s: %d %s", what, code, msg)
				}
			}
			e.waitSettled(len(bodies))
			for _, entry := range e.ledger(bridge.StateOpen) {
				if strings.Contains(entry.Receiver, "\x00") || !utf8.ValidString(entry.Receiver) {
					t.Errorf("ledger receiver %q", entry.Receiver)
				}
			}
			for _, tk := range e.fake.Tickets() {
				checkTicketFields(t, tk.Title, tk.Description)
				if strings.Contains(tk.Title+tk.Description, "\x00") {
					t.Errorf("ticket text with a NUL: %q", tk.Title)
				}
			}
		})
	}
}

// serveLoopback serves h with bridge.Serve on a loopback listener until the
// test ends and returns its address.
func serveLoopback(t *testing.T, h http.Handler, opts bridge.ServerOptions) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bridge.Serve(ctx, ln, h, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// dial connects to addr; every read and write on the connection fails
// after 20 s, so a server that never cuts the client off fails the test
// instead of hanging it.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// trickle writes s one byte at a time, every interval, until it is written
// or a write fails; it returns how many bytes were written.
func trickle(conn net.Conn, s string, interval time.Duration) int {
	for i := range len(s) {
		if _, err := conn.Write([]byte{s[i]}); err != nil {
			return i
		}
		time.Sleep(interval)
	}
	return len(s)
}

// Slow and oversized clients against the real server: headers sent byte by
// byte are cut off at ReadHeaderTimeout, headers over
// MaxHeaderBytes get 431, a body sent byte by byte is cut at ReadTimeout and
// nothing is stored. A normal request on the same server is accepted.
func TestSlowAndOversizedClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noRun: true})
	addr := serveLoopback(t, e.bridge.Handler(), bridge.ServerOptions{
		ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: time.Second, MaxHeaderBytes: 4 << 10,
		ShutdownGrace: time.Second,
	})
	url := "http://" + addr + "/api/v1/alerts"
	// Only the normal request is stored.
	normalKey := make(chan string, 1)
	t.Cleanup(func() {
		var want []string
		select {
		case k := <-normalKey:
			want = append(want, k)
		default:
		}
		entries, err := e.store.Ledger(context.Background(), bridge.LedgerFilter{})
		var got []string
		for _, en := range entries {
			got = append(got, en.Key)
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ledger keys %v, %v; want only the normal request's %v", got, err, want)
		}
	})

	t.Run("slowloris", func(t *testing.T) {
		t.Parallel()
		conn := dial(t, addr)
		// 1,000 header bytes, one every 20 ms: 20 s if never cut off.
		head := "POST /api/v1/alerts HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
		written := make(chan int, 1)
		go func() { written <- trickle(conn, head, 20*time.Millisecond) }()
		// The server hangs up, with no answer or with a 400 (when the
		// timeout cuts the request line, Go's server says it is malformed).
		got, err := io.ReadAll(conn)
		if err != nil && !isClosed(err) {
			t.Fatalf("read: %v; want the server to hang up", err)
		}
		if len(got) != 0 && !strings.HasPrefix(string(got), "HTTP/1.1 400 ") {
			t.Fatalf("answer %q; want none or a 400", got)
		}
		if w := <-written; w >= len(head) {
			t.Errorf("all %d header bytes were sent before the server hung up", w)
		}
	})

	t.Run("oversized headers", func(t *testing.T) {
		t.Parallel()
		conn := dial(t, addr)
		// The server reads MaxHeaderBytes plus 4 KiB of slack.
		req := "POST /api/v1/alerts HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 16<<10) + "\r\nContent-Length: 0\r\n\r\n"
		go func() { _, _ = io.WriteString(conn, req) }() // the server may hang up mid-way
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
	})

	t.Run("slow body", func(t *testing.T) {
		t.Parallel()
		conn := dial(t, addr)
		body := string(firing("Slow"))
		head := fmt.Sprintf("POST /api/v1/alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		written := make(chan int, 1)
		go func() { written <- trickle(conn, body, 20*time.Millisecond) }()
		// The server hangs up without an answer: a 4xx would tell
		// Alertmanager never to retry a notification that simply did not
		// arrive whole; a transport error makes it retry.
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		switch {
		case err == nil:
			raw, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			t.Errorf("answer %d %s; want the server to hang up without one", resp.StatusCode, raw)
		case !isClosed(err):
			t.Fatalf("read answer: %v", err)
		}
		_ = conn.Close()
		if w := <-written; w >= len(body) {
			t.Errorf("all %d body bytes were sent before the server gave up", w)
		}
		if n := counterValue(t, e.reg, "coc_bridge_notifications_total", "result", "incomplete_body"); n != 1 {
			t.Errorf("coc_bridge_notifications_total{result=\"incomplete_body\"} = %v, want 1", n)
		}
	})

	t.Run("normal request", func(t *testing.T) {
		t.Parallel()
		resp, err := http.Post(url, "application/json", bytes.NewReader(firing("Normal")))
		if err != nil {
			t.Fatal(err)
		}
		var a decisionAnswer
		err = json.NewDecoder(resp.Body).Decode(&a)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || len(a.Decisions) != 1 {
			t.Fatalf("status %d, %+v, %v", resp.StatusCode, a, err)
		}
		normalKey <- a.Decisions[0].Key
	})
}

// isClosed reports whether err is the server hanging up.
func isClosed(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false // our own 20 s deadline: never cut off
	}
	return err != nil
}

// Many wrong credentials in a row, concurrently: every one is answered 401
// and counted (coc_bridge_webhook_auth_failures_total, and
// coc_bridge_notifications_total{receiver="",result="unauthorized"}), none
// is stored, and the right credential still works afterwards: there is no
// lockout a brute force could turn against Alertmanager.
func TestWebhookAuthBruteForce(t *testing.T) {
	t.Parallel()
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	const token = "s3cret-token-0123456789"
	cases := []struct {
		name  string
		auth  bridge.WebhookAuth
		wrong []string // Authorization values
		right []string
	}{
		{
			name: "bearer",
			auth: bridge.WebhookAuth{BearerToken: func() string { return token }},
			wrong: []string{"", "Bearer", "Bearer ", "Bearer s3cret", "Bearer " + token + "x", "Bearer  " + token, "Bearer " + strings.ToUpper(token),
				"Token " + token, token, basic("Bearer", token), "Bearer " + strings.Repeat("s", 40<<10)},
			right: []string{"Bearer " + token, "bearer " + token},
		},
		{
			// A token that is empty (a secret file emptied) accepts nothing
			// rather than everything.
			name:  "empty token",
			auth:  bridge.WebhookAuth{BearerToken: func() string { return "" }},
			wrong: []string{"", "Bearer ", "Bearer x", basic("", ""), basic("Bearer", "")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{noRun: true, mutate: func(o *bridge.Options) { o.Auth = tc.auth }})
			const rounds = 20
			var wg sync.WaitGroup
			for r := range rounds {
				for i, h := range tc.wrong {
					wg.Go(func() {
						// Different bodies: a wrong credential must fail
						// whatever comes with it.
						code, raw := e.post(firing(fmt.Sprintf("Brute%d-%d", r, i)), map[string]string{"Authorization": h})
						if code != http.StatusUnauthorized || !strings.Contains(raw, "credentials") {
							t.Errorf("Authorization %.40q: %d %s", h, code, raw)
						}
					})
				}
			}
			wg.Wait()
			failures := float64(rounds * len(tc.wrong))
			if got := counterValue(t, e.reg, "coc_bridge_webhook_auth_failures_total", "", ""); got != failures {
				t.Errorf("coc_bridge_webhook_auth_failures_total = %v, want %v", got, failures)
			}
			if got := metricValue(t, e.reg, "coc_bridge_notifications_total", "receiver", "", "result", "unauthorized"); got != failures {
				t.Errorf(`coc_bridge_notifications_total{receiver="",result="unauthorized"} = %v, want %v`, got, failures)
			}
			if n := len(e.ledger("")); n != 0 {
				t.Errorf("%d ledger entries after wrong credentials", n)
			}
			for i, h := range tc.right {
				if code, raw := e.post(firing(fmt.Sprintf("Right%d", i)), map[string]string{"Authorization": h}); code != http.StatusOK {
					t.Errorf("right credential %q after the attempts: %d %s", h, code, raw)
				}
			}
			if got := counterValue(t, e.reg, "coc_bridge_webhook_auth_failures_total", "", ""); got != failures {
				t.Errorf("auth failures after the right credentials = %v, want %v", got, failures)
			}
		})
	}
}
