// Package postgres is the store for several nodes: one PostgreSQL database
// that every node shares, through a pgxpool pool.
//
// Concurrency: statements run at READ COMMITTED, so each sees what was
// committed before it began. Where a check and a write must decide together,
// the transaction first takes a lock that every rival takes too, then
// checks; the rival waits, and then sees what the first committed:
//
//   - Append locks its conversations' rows (FOR NO KEY UPDATE, in ID order,
//     so batches cannot deadlock) and only then draws message IDs from the
//     shared sequence. Within a conversation IDs therefore follow commit
//     order: a reader that sees message N+1 of a conversation sees every
//     earlier one, and a node filling a gap from the store never misses one.
//   - CreateAccount and DeleteAccount lock the name's skeleton (an advisory
//     lock): signups for "bob" and "B0B", and a signup racing the deletion
//     of its name, are decided one at a time.
//   - CreateChannel takes one advisory lock (the total limit). AddMember,
//     AddKey and RecordLogin lock the account's row (their per-account
//     limits); DeleteAccount locks it FOR UPDATE, so a row that would name
//     the account waits for the deletion and then fails its foreign key.
//   - Audit appends one entry at a time, so LastAudit's poll misses none.
//
// Unique constraints stay the last word on names, keys and channels, and
// their violations become the store's errors.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"messaging/store"
)

var _ store.Store = (*Store)(nil)

// connectTimeout bounds each new connection (the TCP dial, TLS and the
// startup exchange) unless the URL sets connect_timeout: a server that
// accepts and never answers must not hang Open, nor a query that needs a
// new connection.
const connectTimeout = 10 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// Classes of the advisory locks this store takes, the first key of
// pg_advisory_xact_lock; each is held to the end of its transaction. The
// lock space is the database's: a program with the same numbers could only
// make these wait, never break them.
const (
	lockMigrate  int32 = 0x4d534700 + iota // "MSG" and a number
	lockSkeleton                           // second key: hashtext(skeleton)
	lockChannels
	lockAudit
)

// Store is a store.Store backed by a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url ("postgres://user@host:5432/db?...",
// or libpq's key=value form) and brings its schema up to date. The URL may
// set pool_max_conns, connect_timeout (default 10 s) and search_path among
// others. Errors name the server and database, never the password.
func Open(ctx context.Context, url string) (*Store, error) {
	if url == "" {
		return nil, errors.New("open postgres: empty URL")
	}
	cfg, err := config(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err) // pgx hides the password
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", where, err)
	}
	// The pool connects lazily; a first connection now reports a wrong
	// address or password as one.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres %s: connect: %w", where, err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w", where, err)
	}
	return s, nil
}

// config parses url and sets the defaults it does not override.
func config(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	return cfg, nil
}

// Close closes the pool, waiting for connections in use to be released.
// Call it once, after the last use.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// migrate applies migrations/NNNN_*.sql in order, each in its own
// transaction together with the schema_version row that records it, so a
// crash leaves the schema at a whole version. An advisory lock, taken before
// the version is read, keeps two nodes starting at once from applying the
// same migration twice.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	// fs.Glob returns the names sorted; file i must be number i+1, so a
	// missing or duplicated number cannot shift every later version.
	for i, name := range names {
		version := i + 1
		if !strings.HasPrefix(name, fmt.Sprintf("migrations/%04d_", version)) {
			return fmt.Errorf("migration %s is not number %04d", name, version)
		}
		if err := s.apply(ctx, version, name); err != nil {
			return fmt.Errorf("migrate to version %d (%s): %w", version, name, err)
		}
	}
	var version int
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&version); err != nil {
		return err
	}
	if version > len(names) {
		return fmt.Errorf("database schema version %d is newer than this program's %d", version, len(names))
	}
	return nil
}

func (s *Store) apply(ctx context.Context, version int, name string) error {
	script, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, 0)", lockMigrate); err != nil {
			return err
		}
		// One row per version applied: when each was is worth keeping.
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    integer     PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&current); err != nil {
			return err
		}
		if current >= version {
			return nil
		}
		if _, err := tx.Exec(ctx, string(script)); err != nil { // no arguments: the simple protocol, several statements
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", version)
		return err
	})
}

// PostgreSQL's codes of the constraint violations the store translates.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

func isUnique(err error) bool     { return hasCode(err, uniqueViolation) }
func isForeignKey(err error) bool { return hasCode(err, foreignKeyViolation) }

func hasCode(err error, code string) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && e.Code == code
}

// query runs q on the pool and reads every row with scan.
func query[T any](ctx context.Context, s *Store, scan func(pgx.Row) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
}

// mustChange returns none if tag says no row changed.
func mustChange(tag pgconn.CommandTag, none error) error {
	if tag.RowsAffected() == 0 {
		return none
	}
	return nil
}

// ms drops what is below the millisecond: stores keep milliseconds, so
// that SQLite and PostgreSQL read back the same times.
func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }

// nullTime is ms(t), or NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = ms(t)
	return &t
}

// fromNull reads what nullTime wrote: the zero time for NULL.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// nameKey is the case-folded name that lookups and uniqueness use. Valid
// names are ASCII (store.ValidateUsername), where ToLower is exact.
//
// PostgreSQL refuses text that is not UTF-8 or holds a NUL, and a name from
// outside (an SSH user name is any bytes) may be either. No account has
// such a name, so it gets noKey, which no account has either (keys are
// lower case): lookups find nothing, as in SQLite, instead of failing.
func nameKey(name string) string {
	if !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
		return noKey
	}
	return strings.ToLower(name)
}

// noKey is the key of names no account can have (see nameKey).
const noKey = "NO ACCOUNT"
