package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// The quickstart: `coc-bridge demo --exit` runs end to end and exits 0.
func TestDemoExit(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	env := map[string]string{"COC_BRIDGE_INSTANCE": "demo-test"} // nothing else: the demo needs no setup
	code := run(ctx, []string{"demo", "--exit", "--store", filepath.Join(t.TempDir(), "demo.db")},
		environ(env), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"Ticket created at the fake COC", "issues_level_1000", "cn-north-4", "cn-south-1",
		"HighErrorRate", "issues_mgmt_associated_type_2000", "Stopping (--exit)"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	env := map[string]string{"COC_BRIDGE_INSTANCE": "render-test", "COC_BRIDGE_ISSUE_CONTACT_PERSON": testContact} // no credentials needed
	render := func(t *testing.T, stdin string, args ...string) []map[string]any {
		t.Helper()
		var stdout, stderr syncBuffer
		a := &app{env: environ(env), stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr}
		if code := a.exit(a.run(t.Context(), append([]string{"render"}, args...))); code != exitOK {
			t.Fatalf("render %v: exit %d: %s", args, code, stderr.String())
		}
		var out []map[string]any
		if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil {
			t.Fatalf("render output is not JSON: %v\n%s", err, stdout.String())
		}
		return out
	}
	file := writeFile(t, "payload.json", string(sampleNotification(sampleOptions{})))
	fromFile := render(t, "", "--payload", file)
	fromStdin := render(t, string(sampleNotification(sampleOptions{})), "--payload", "-")
	if len(fromFile) != 1 || len(fromStdin) != 1 {
		t.Fatalf("want one key each, got %d and %d", len(fromFile), len(fromStdin))
	}
	tk := fromFile[0]
	if tk["key"] == "" || tk["key"] != fromStdin[0]["key"] {
		t.Errorf("keys %q and %q", tk["key"], fromStdin[0]["key"])
	}
	if tk["level"] != "issues_level_1000" || tk["source_id"] != tk["key"] || !strings.Contains(fmt.Sprint(tk["title"]), "HighErrorRate") ||
		tk["issue_contact_person"] != testContact || !strings.HasPrefix(fmt.Sprint(tk["action"]), "create") {
		t.Errorf("ticket %v", tk)
	}
	if regions := fmt.Sprint(tk["regions"]); !strings.Contains(regions, "cn-north-4") || !strings.Contains(regions, "cn-south-1") {
		t.Errorf("regions %s", regions)
	}
	resolved := render(t, string(sampleNotification(sampleOptions{Resolved: true})), "--payload", "-")
	if len(resolved) != 1 || resolved[0]["status"] != "resolved" || !strings.Contains(fmt.Sprint(resolved[0]["action"]), "no ticket is created") {
		t.Errorf("resolved: %+v", resolved)
	}

	code, _, stderr := runCmd(t, env, "render", "--payload", writeFile(t, "bad.json", "{nope"))
	if code != exitFailure || !strings.HasPrefix(stderr, "coc-bridge: decode payload: ") {
		t.Errorf("bad payload: exit %d: %s", code, stderr)
	}
}

func TestSendTestAlertAndTickets(t *testing.T) {
	t.Parallel()
	env := testEnv(t, "http://127.0.0.1:1")
	env["COC_BRIDGE_DRY_RUN"] = "true"
	env["COC_BRIDGE_WEBHOOK_BEARER_TOKEN"] = "send-test-token"
	d := startServe(t, env)

	code, stdout, stderr := runCmd(t, nil, "send-test-alert", "--url", d.url, "--bearer-token", "send-test-token")
	if code != exitOK || !strings.Contains(stdout, ": 200 OK") || !strings.Contains(stdout, `"create"`) {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, _ = runCmd(t, nil, "send-test-alert", "--url", d.url+"/api/v1/alerts", "--bearer-token", "send-test-token", "--group", "checkout")
	if code != exitOK {
		t.Fatalf("second group: exit %d", code)
	}
	code, stdout, stderr = runCmd(t, nil, "send-test-alert", "--url", d.url, "--bearer-token", "wrong")
	if code != exitFailure || !strings.Contains(stdout, "401") || !strings.Contains(stderr, "coc-bridge: the bridge answered 401 Unauthorized") {
		t.Errorf("wrong token: exit %d\n%s%s", code, stdout, stderr)
	}
	waitFor(t, 15*time.Second, "both dry-run tickets", func() bool { return len(d.ledger("?state=open")) == 2 })

	storeEnv := map[string]string{"COC_BRIDGE_STORE": env["COC_BRIDGE_STORE"]} // no credentials needed
	code, stdout, stderr = runCmd(t, storeEnv, "tickets", "--json")
	var entries []bridge.LedgerEntry
	if code != exitOK || json.Unmarshal([]byte(stdout), &entries) != nil || len(entries) != 2 {
		t.Fatalf("tickets --json: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, storeEnv, "tickets", "--key", entries[0].Key)
	if code != exitOK || !strings.HasPrefix(stdout, "KEY") || !strings.Contains(stdout, entries[0].Key) ||
		!strings.Contains(stdout, "dry-run-") || strings.Contains(stdout, entries[1].Key) {
		t.Errorf("tickets --key: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCmd(t, storeEnv, "tickets", "--state", "bogus"); code != exitInvalid {
		t.Errorf("tickets --state bogus: exit %d: %s", code, stderr)
	}
	missing := map[string]string{"COC_BRIDGE_STORE": filepath.Join(t.TempDir(), "none.db")}
	if code, _, stderr := runCmd(t, missing, "tickets"); code != exitFailure || !strings.Contains(stderr, "does not exist") {
		t.Errorf("tickets on a missing store: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(missing["COC_BRIDGE_STORE"]); err == nil {
		t.Errorf("tickets created the missing store file")
	}
}

// A permanent COC error dead-letters the item; `outbox` lists it and
// `outbox replay` requeues it, and the running bridge then creates the ticket.
func TestOutboxReplay(t *testing.T) {
	t.Parallel()
	fake, cocURL := newFake(t)
	fake.FailNext("create_ticket", 1, coctest.Fault{Status: http.StatusBadRequest, Code: "GOM.00007256", Message: "Invalid parameter"})
	env := testEnv(t, cocURL)
	d := startServe(t, env)
	key, _ := d.postSample(sampleOptions{}, nil)
	waitFor(t, 15*time.Second, "the dead letter", func() bool { return len(d.ledger("?state=dead")) == 1 })

	storeEnv := map[string]string{"COC_BRIDGE_STORE": env["COC_BRIDGE_STORE"]}
	code, stdout, stderr := runCmd(t, storeEnv, "outbox", "--state", "dead")
	if code != exitOK || !strings.Contains(stdout, key) || !strings.Contains(stdout, "GOM.00007256") {
		t.Fatalf("outbox --state dead: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, _ := runCmd(t, storeEnv, "outbox", "replay"); code != exitInvalid {
		t.Errorf("replay without a selector: exit %d, want 2", code)
	}
	if code, _, stderr := runCmd(t, storeEnv, "outbox", "replay", "--id", "999999"); code != exitFailure {
		t.Errorf("replay of an unknown id: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runCmd(t, storeEnv, "outbox", "replay", "--key", key)
	if code != exitOK || stdout != "requeued 1 dead item(s)\n" {
		t.Fatalf("replay: exit %d\n%s%s", code, stdout, stderr)
	}
	waitFor(t, 15*time.Second, "the ticket after the replay", func() bool { return len(fake.TicketsBySourceID(key)) == 1 })
	waitFor(t, 15*time.Second, "an empty outbox", func() bool {
		code, stdout, _ := runCmd(t, storeEnv, "outbox", "--json")
		return code == exitOK && strings.TrimSpace(stdout) == "[]"
	})
}

func TestFakeCOCCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr syncBuffer
	addr := make(chan string, 1)
	a := &app{env: environ(map[string]string{"COC_BRIDGE_COC_SECRET_KEY": "users-own-sk"}),
		stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		listening: func(ad net.Addr) { addr <- ad.String() }}
	done := make(chan int, 1)
	go func() { done <- a.exit(a.run(ctx, []string{"fake-coc", "--listen", "127.0.0.1:0"})) }()
	var base string
	select {
	case ad := <-addr:
		base = "http://" + ad
	case code := <-done:
		t.Fatalf("fake-coc exited %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "export COC_BRIDGE_COC_ENDPOINT="+base) || !strings.Contains(out, "COC_BRIDGE_COC_ACCESS_KEY=demo-ak") ||
		strings.Contains(out, "users-own-sk") {
		t.Errorf("fake-coc output:\n%s", out)
	}
	resp, err := http.Get(base + "/_fake/tickets")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /_fake/tickets: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d", code)
	}
}
