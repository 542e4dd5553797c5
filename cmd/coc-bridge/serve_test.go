package main

import (
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres/pgtest"
)

// The same end to end on PostgreSQL (COC_BRIDGE_STORE=postgres://...), in a
// schema of its own.
func TestServePostgres(t *testing.T) {
	dsn := os.Getenv("COC_BRIDGE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set COC_BRIDGE_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests")
	}
	t.Parallel()
	store := postgresSchema(t, dsn)
	fake, cocURL := newFake(t)
	env := testEnv(t, cocURL)
	env["COC_BRIDGE_STORE"] = store

	d := startServe(t, env)
	key, _ := d.postSample(sampleOptions{}, nil)
	waitFor(t, 15*time.Second, "the ticket", func() bool { return len(fake.TicketsBySourceID(key)) == 1 })
	waitFor(t, 15*time.Second, "the ledger entry to open", func() bool {
		open := d.ledger("?state=open")
		return len(open) == 1 && open[0].Key == key
	})
	if code := d.stop(); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, d.log)
	}
	d2 := startServe(t, env)
	if _, decision := d2.postSample(sampleOptions{}, nil); decision != "suppress_open" {
		t.Errorf("after restart decision %q, want suppress_open", decision)
	}
	d2.stop()

	code, stdout, stderr := runCmd(t, map[string]string{"COC_BRIDGE_STORE": store}, "tickets", "--json")
	var entries []bridge.LedgerEntry
	if code != exitOK || json.Unmarshal([]byte(stdout), &entries) != nil || len(entries) != 1 || entries[0].Key != key {
		t.Errorf("tickets on PostgreSQL: exit %d\n%s%s", code, stdout, stderr)
	}
	if u, err := url.Parse(store); err == nil {
		if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(d.log.String()+d2.log.String(), pw) {
			t.Errorf("the log contains the database password")
		}
	}
}

// postgresSchema creates a schema for one test (dropped afterwards) and
// returns dsn with search_path set to it.
func postgresSchema(t *testing.T, dsn string) string {
	t.Helper()
	return pgtest.SchemaDSN(t, dsn, "coc_bridge_cmd_")
}

// An operator command on a PostgreSQL database without the bridge's schema
// says so and creates nothing.
func TestTicketsOnEmptyPostgresSchema(t *testing.T) {
	dsn := os.Getenv("COC_BRIDGE_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set COC_BRIDGE_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests")
	}
	t.Parallel()
	store := postgresSchema(t, dsn)
	for _, args := range [][]string{{"tickets"}, {"outbox"}} {
		code, stdout, stderr := runCmd(t, map[string]string{"COC_BRIDGE_STORE": store}, args...)
		if code != exitFailure || !strings.Contains(stderr, "no coc-bridge schema") || !strings.Contains(stderr, "is this the right database?") {
			t.Errorf("%v on an empty schema: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	// Still empty: a second look finds no schema either.
	if code, _, stderr := runCmd(t, map[string]string{"COC_BRIDGE_STORE": store}, "tickets"); code != exitFailure || !strings.Contains(stderr, "no coc-bridge schema") {
		t.Errorf("the first command created the schema: exit %d %s", code, stderr)
	}
}
