package cases

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

// Migrations are plain SQL files applied in order by tern. tern was chosen over goose
// because it works on a pgx connection directly (no database/sql driver in the build), runs
// each migration in a transaction, and serialises concurrent migrators with an advisory
// lock, so several controllers starting at once are safe.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable records the applied schema version.
const versionTable = "schema_version"

// Migrate applies every pending migration and returns the schema version reached.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int32, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), versionTable)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return 0, fmt.Errorf("migrate: load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	v, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	return v, nil
}

// SchemaVersion is the version Migrate brings a database to: the number of migrations.
func SchemaVersion() int32 {
	entries, _ := fs.ReadDir(migrationFiles, "migrations")
	return int32(len(entries))
}
