// Package pgtest gives tests and benchmarks a PostgreSQL schema or database
// of their own on the server named by COC_BRIDGE_TEST_POSTGRES_DSN, and
// removes it when they end. Without that variable they are skipped, with a
// message saying how to run them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the variable holding the test server's DSN.
const EnvDSN = "COC_BRIDGE_TEST_POSTGRES_DSN"

// adminTimeout bounds each statement Exec runs, including its connection.
const adminTimeout = 30 * time.Second

// DSN returns the test server's DSN, or skips tb when none is set.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		tb.Skip("set " + EnvDSN + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests")
	}
	return dsn
}

// Exec runs sql on a connection of its own; a failure ends tb.
func Exec(tb testing.TB, dsn, sql string) {
	tb.Helper()
	if err := exec(dsn, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

func exec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// Schema creates an empty schema named prefix and a random suffix, drops it
// when tb ends, and returns its name.
func Schema(tb testing.TB, dsn, prefix string) string {
	tb.Helper()
	name := unique(tb, prefix)
	Exec(tb, dsn, "CREATE SCHEMA "+name)
	tb.Cleanup(func() { cleanup(tb, dsn, "DROP SCHEMA IF EXISTS "+name+" CASCADE") })
	return name
}

// SchemaDSN is Schema, returning dsn with its search_path set to the new
// schema: what a process configured with only a DSN uses. dsn must be a URL.
func SchemaDSN(tb testing.TB, dsn, prefix string) string {
	tb.Helper()
	return withParam(tb, dsn, "search_path", Schema(tb, dsn, prefix))
}

// Database creates a database named prefix and a random suffix on dsn's
// server, drops it (with its connections) when tb ends, and returns its
// DSN. dsn must be a URL.
func Database(tb testing.TB, dsn, prefix string) string {
	tb.Helper()
	name := unique(tb, prefix)
	Exec(tb, dsn, "CREATE DATABASE "+name)
	tb.Cleanup(func() { cleanup(tb, dsn, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u := parse(tb, dsn)
	u.Path = "/" + name
	return u.String()
}

// cleanup runs a drop when tb ends. A failure is logged, not failed: what
// is left behind is only an empty name on a test server.
func cleanup(tb testing.TB, dsn, sql string) {
	if err := exec(dsn, sql); err != nil {
		tb.Logf("cleanup: %s: %v", sql, err)
	}
}

func unique(tb testing.TB, prefix string) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

func withParam(tb testing.TB, dsn, key, value string) string {
	tb.Helper()
	u := parse(tb, dsn)
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func parse(tb testing.TB, dsn string) *url.URL {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		tb.Fatalf("%s must be a postgres:// URL here (%v)", EnvDSN, err)
	}
	return u
}
