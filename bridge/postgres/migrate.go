package postgres

import (
	"context"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the advisory lock key migrations hold ("coc_brdg").
const migrationLock int64 = 0x636f635f62726467

// migration is one embedded schema change, named NNNN_description.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version and '_'", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies the migrations the database lacks, in one transaction
// holding an advisory lock, so replicas starting at once migrate one after
// the other and all but the first find nothing to do. It returns the schema
// version. A schema migrated by a newer coc-bridge is refused.
func (s *Store) migrate(ctx context.Context, schema string) (int, error) {
	ms, err := migrations()
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	latest := ms[len(ms)-1].version
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		if schema != "" {
			ident := pgx.Identifier{schema}.Sanitize()
			if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+ident); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
			// The migration files name their tables without a schema.
			if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+ident); err != nil {
				return fmt.Errorf("set search_path: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS coc_bridge_schema_migrations (
			version    integer     NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("create coc_bridge_schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM coc_bridge_schema_migrations`).
			Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if current > latest {
			return fmt.Errorf("database schema version %d is newer than this coc-bridge supports (%d): upgrade coc-bridge",
				current, latest)
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO coc_bridge_schema_migrations (version, name) VALUES ($1, $2)`,
				m.version, m.name); err != nil {
				return fmt.Errorf("record %s: %w", m.name, err)
			}
			s.log.Info("postgres schema migrated", zap.Int("version", m.version), zap.String("migration", m.name))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return latest, nil
}
