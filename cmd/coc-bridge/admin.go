package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge"
)

func ticketsCommand() command {
	return command{
		name:    "tickets",
		args:    "[--state S] [--key K] [--limit N] [--json]",
		summary: "list the ledger (one entry per issue key) from the store",
		about: `List the ledger from COC_BRIDGE_STORE, most recently updated first: issue key, state
(pending, open, closed, dead), COC ticket id, level, last notification status, count and title.
Safe while the daemon runs.`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			state := fs.String("state", "", "only entries in this state: pending, open, closed or dead")
			key := fs.String("key", "", "only this issue key")
			limit := fs.Int("limit", 100, "at most this many entries")
			asJSON := fs.Bool("json", false, "print JSON instead of a table")
			if err := a.parse(fs, args); err != nil {
				return err
			}
			if *state != "" && !validLedgerState(bridge.State(*state)) {
				return usageError{fmt.Errorf("--state %q: must be one of pending, open, closed, dead", *state)}
			}
			return printList(ctx, a, "ledger", *asJSON, func(s bridge.Store) ([]bridge.LedgerEntry, error) {
				return s.Ledger(ctx, bridge.LedgerFilter{State: bridge.State(*state), Key: *key, Limit: *limit})
			}, printLedger)
		},
	}
}

func outboxCommand() command {
	return command{
		name:    "outbox",
		args:    "[--state pending|dead] [--key K] [--json]  |  outbox replay --id N | --key K | --all",
		summary: "list pending and dead outbox items; replay dead ones",
		about: `List the outbox of COC_BRIDGE_STORE, oldest first: items waiting to create a ticket
(pending) and items that failed permanently (dead, with COC's error code).
'outbox replay' requeues dead items after the cause is fixed: the running bridge picks
them up within a second and renders them with its current configuration.`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			if len(args) > 0 && args[0] == "replay" {
				return a.replay(ctx, args[1:])
			}
			state := fs.String("state", "", "only items in this state: pending or dead")
			key := fs.String("key", "", "only this issue key")
			limit := fs.Int("limit", 100, "at most this many items")
			asJSON := fs.Bool("json", false, "print JSON instead of a table")
			if err := a.parse(fs, args); err != nil {
				return err
			}
			if *state != "" && *state != string(bridge.ItemPending) && *state != string(bridge.ItemDead) {
				return usageError{fmt.Errorf("--state %q: must be one of pending, dead", *state)}
			}
			return printList(ctx, a, "outbox", *asJSON, func(s bridge.Store) ([]bridge.OutboxItem, error) {
				return s.Outbox(ctx, bridge.OutboxFilter{State: bridge.ItemState(*state), Key: *key, Limit: *limit})
			}, printOutbox)
		},
	}
}

func (a *app) replay(ctx context.Context, args []string) error {
	fs := a.newFlagSet(command{
		name: "outbox replay", args: "--id N | --key K | --all",
		about: "Requeue dead outbox items (exactly one of --id, --key, --all) and print how many were requeued.",
	})
	id := fs.Int64("id", 0, "replay the item with this id")
	key := fs.String("key", "", "replay the dead item of this issue key")
	all := fs.Bool("all", false, "replay every dead item")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	chosen := 0
	for _, set := range []bool{*id != 0, *key != "", *all} {
		if set {
			chosen++
		}
	}
	if chosen != 1 {
		return usageError{errors.New("outbox replay: give exactly one of --id N, --key K or --all")}
	}
	return a.withStore(ctx, func(s bridge.Store) error {
		n, err := s.Replay(ctx, bridge.ReplayRequest{ID: *id, Key: *key, Now: time.Now()})
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		fmt.Fprintf(a.stdout, "requeued %d dead item(s)\n", n)
		if n == 0 && !*all {
			return errors.New("no dead item matched")
		}
		return nil
	})
}

// withStore opens COC_BRIDGE_STORE for an operator command. A SQLite file
// that does not exist is an error here (serve would create it).
func (a *app) withStore(ctx context.Context, f func(bridge.Store) error) error {
	cfg, err := loadConfig(ctx, a.env, needStore)
	if err != nil {
		return err
	}
	if !isPostgres(cfg.Store) {
		if _, err := os.Stat(cfg.Store); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store %s does not exist (check COC_BRIDGE_STORE)", cfg.Store)
		}
	} else if err := requirePostgresSchema(ctx, cfg.Store); err != nil {
		return err
	}
	// Operator commands log only warnings and errors, on stderr.
	level := cfg.LogLevel
	if level == "debug" || level == "info" {
		level = "warn"
	}
	log, err := newLogger(level, cfg.LogFormat, a.stderr)
	if err != nil {
		return configError{err}
	}
	defer func() { _ = log.Sync() }()
	s, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := s.Close(); err != nil {
			log.Error("close store", zap.Error(err))
		}
	}()
	return f(s)
}

// requirePostgresSchema refuses a PostgreSQL database without the bridge's
// tables: opening the store would create them (serve's migrations), and an
// operator command pointed at the wrong database must not change it.
func requirePostgresSchema(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("open store %s: %w", redactStore(dsn), err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var found bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('coc_bridge_schema_migrations') IS NOT NULL`).Scan(&found); err != nil {
		return fmt.Errorf("store %s: look for the bridge's tables: %w", redactStore(dsn), err)
	}
	if !found {
		return fmt.Errorf("store %s has no coc-bridge schema (in its search_path); is this the right database? "+
			"(coc-bridge serve creates the schema)", redactStore(dsn))
	}
	return nil
}

func printLedger(w io.Writer, entries []bridge.LedgerEntry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSTATE\tTICKET\tSTATUS\tLEVEL\tLAST\tNOTIFICATIONS\tUPDATED\tTITLE")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Key, e.State, orDash(e.TicketID),
			orDash(shorten(e.TicketStatus, 30)), orDash(e.Level),
			orDash(e.LastStatus), e.Notifications, e.UpdatedAt.Local().Format(time.DateTime), orDash(shorten(e.Title, 60)))
	}
	return tw.Flush()
}

func printOutbox(w io.Writer, items []bridge.OutboxItem) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKEY\tSTATE\tATTEMPTS\tNEXT_ATTEMPT\tCODE\tERROR")
	for _, it := range items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", it.ID, it.Key, it.State, it.Attempts,
			it.NextAttempt.Local().Format(time.DateTime), orDash(it.ErrorCode), orDash(shorten(it.LastError, 80)))
	}
	return tw.Flush()
}

func validLedgerState(s bridge.State) bool {
	for _, v := range bridge.States {
		if s == v {
			return true
		}
	}
	return false
}

// printList prints what read lists from the store (what names the view):
// as JSON (an empty list, not null) when asJSON, else with table.
func printList[T any](ctx context.Context, a *app, what string, asJSON bool, read func(bridge.Store) ([]T, error), table func(io.Writer, []T) error) error {
	return a.withStore(ctx, func(s bridge.Store) error {
		vs, err := read(s)
		if err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		if asJSON {
			return writeJSON(a.stdout, nonNil(vs))
		}
		return table(a.stdout, vs)
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shorten cuts s to n runes on a rune boundary.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
