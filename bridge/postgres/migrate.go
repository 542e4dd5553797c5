package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the advisory lock key migrations hold ("coc_brdg").
const migrationLock int64 = 0x636f635f62726467

// migrate applies the migrations the database lacks, in one transaction
// holding an advisory lock, so replicas starting at once migrate one after
// the other and all but the first find nothing to do. It returns the schema
// version. A schema migrated by a newer coc-bridge is refused.
func (s *Store) migrate(ctx context.Context, schema string) (int, error) {
	ms, err := migrations.Read(migrationFiles, "migrations")
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	latest := ms[len(ms)-1].Version
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
			if m.Version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO coc_bridge_schema_migrations (version, name) VALUES ($1, $2)`,
				m.Version, m.Name); err != nil {
				return fmt.Errorf("record %s: %w", m.Name, err)
			}
			s.log.Info("postgres schema migrated", zap.Int("version", m.Version), zap.String("migration", m.Name))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return latest, nil
}
