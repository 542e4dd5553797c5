package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies the migrations the database lacks, all in one
// transaction, and returns the schema version. Running it again is a no-op.
// A database migrated by a newer coc-bridge is refused rather than guessed
// at.
func migrate(ctx context.Context, db *sql.DB, log *zap.Logger) (int, error) {
	ms, err := migrations.Read(migrationFiles, "migrations")
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	latest := ms[len(ms)-1].Version

	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrator at a time
	if err != nil {
		return 0, fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
	) STRICT`); err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).
		Scan(&current); err != nil {
		return 0, fmt.Errorf("migrate: read schema version: %w", err)
	}
	if current > latest {
		return 0, fmt.Errorf("database schema version %d is newer than this coc-bridge supports (%d): upgrade coc-bridge",
			current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return 0, fmt.Errorf("migrate: apply %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`,
			m.Version, m.Name); err != nil {
			return 0, fmt.Errorf("migrate: record %s: %w", m.Name, err)
		}
		log.Info("sqlite schema migrated", zap.Int("version", m.Version), zap.String("migration", m.Name))
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate: commit: %w", err)
	}
	return latest, nil
}
