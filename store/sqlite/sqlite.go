// Package sqlite is the embedded store: one SQLite file, no server, no cgo
// (modernc.org/sqlite is SQLite translated to Go). It serves one node; for
// several nodes use the PostgreSQL store.
//
// Concurrency: one *sql.DB with a small pool. The database runs in WAL mode,
// so readers never block the writer nor each other; every transaction begins
// IMMEDIATE, so writers queue for SQLite's single write lock (up to the busy
// timeout) instead of failing halfway through with SQLITE_BUSY.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"messaging/store"
)

var _ store.Store = (*Store)(nil)

// pragmas are applied by the driver to every new connection. WAL lets
// readers run beside the writer; synchronous=FULL makes a commit durable
// before Append returns (chat.History demands it); busy_timeout makes a
// writer wait for the lock; _txlock=immediate takes the write lock at BEGIN,
// so a transaction never has to upgrade its lock and fail.
const pragmas = "_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
	"&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"

// maxConns bounds the readers' pool: they run in parallel under WAL.
const maxConns = 8

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store backed by one SQLite database file.
type Store struct {
	db *sql.DB // reads
	// writer has one connection, and every write goes through it: only
	// one writer at a time can make progress anyway, and writers queued
	// here wait their turn in order, where writers racing for SQLite's
	// lock sleep in its busy handler (up to 100 ms a try) and a login
	// storm's writes took seconds.
	writer *sql.DB
	// appendMessage is prepared once: every message is an insert, and
	// preparing it each time cost as much as the insert.
	appendMessage *sql.Stmt
}

// Open opens the database at path, creating the file if needed (but not its
// directory), and brings its schema up to date.
//
// A new database file is made readable and writable by its owner only
// (0600; a umask can narrow that, not widen it): it holds password hashes.
// SQLite gives the -wal and -shm files it creates beside it the same
// permission bits. Open leaves the permissions of an existing file as they
// are; warning about them is the caller's business.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	// SQLite would say only "unable to open database file"; name the cause.
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	dsn, err := dataSource(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns) // keep connections: each new one reruns the pragmas
	writer, err := sql.Open("sqlite", dsn)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	s := &Store{db: db, writer: writer}
	if err := s.setUp(ctx); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.appendMessage, err = writer.PrepareContext(ctx,
		"INSERT INTO messages (conv, at, author, kind, body, recipient, since) VALUES (?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, nil
}

// createPrivate creates an empty file at path with mode 0600 (less any bits
// the umask clears), unless something is there already. SQLite reads an
// empty file as an empty database. Without this the driver would create the
// file 0644 under the usual umask, readable by every local user.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// dataSource turns a file path into the driver's URI form. The path is
// absolute and percent-escaped, so that '?', '#' and '%' in a name are part
// of the name and not of the URI; SQLite decodes the escapes.
func dataSource(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: pragmas}
	return u.String(), nil
}

func (s *Store) setUp(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	// SQLite keeps the old mode without an error where WAL is impossible
	// (some network file systems); durability and concurrency assume WAL.
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if err := s.fillSkeletons(ctx); err != nil {
		return fmt.Errorf("fill in account skeletons: %w", err)
	}
	return nil
}

// migrate applies migrations/NNNN_*.sql in order, each in its own
// transaction together with the PRAGMA user_version that records it, so a
// crash leaves the schema at a whole version. The version is read inside the
// immediate transaction, so two processes opening the file cannot both apply
// the same migration.
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
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
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
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return err
	}
	if current >= version {
		return nil
	}
	if _, err := tx.ExecContext(ctx, string(script)); err != nil {
		return err
	}
	// PRAGMA takes no bound parameters; version is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database. Call it once, after the last use.
func (s *Store) Close() error {
	_ = s.appendMessage.Close()
	if err := s.closeDBs(); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}

func (s *Store) closeDBs() error { return errors.Join(s.writer.Close(), s.db.Close()) }

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint
// violation (SQLite reports a duplicate non-integer primary key as the
// latter).
func isUnique(err error) bool {
	return hasCode(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) || hasCode(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// isForeignKey reports whether err is a FOREIGN KEY constraint violation.
func isForeignKey(err error) bool { return hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) }

func hasCode(err error, code int) bool {
	e, ok := errors.AsType[*sqlite.Error](err)
	return ok && e.Code() == code
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// query runs a query on db and reads every row with scan.
func query[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// nullTime is t in unix milliseconds, NULL if t is zero.
func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromNull reads what nullTime wrote: the zero time for NULL.
func fromNull(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64)
}
