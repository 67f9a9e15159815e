package sqlite

import (
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"messaging/chat"
	"messaging/store"
	"messaging/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "messaging.db"))
	})
}

// open opens path and fails the test on error. The caller closes the store.
func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// A restart keeps accounts and history, and new IDs continue after the old.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "messaging.db")

	s := open(t, path)
	if err := s.CreateAccount(ctx, store.Account{Name: "Alice", PasswordHash: "h", CreatedAt: time.UnixMilli(1_700_000_000_123)}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	before := []chat.Message{{Time: time.UnixMilli(1_700_000_000_456), Author: "Alice", Kind: chat.KindText, Body: "hi"}}
	if err := s.Append(ctx, before); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, path)
	defer s.Close()
	a, err := s.Account(ctx, "alice")
	if err != nil {
		t.Fatalf("Account after reopen: %v", err)
	}
	if a.Name != "Alice" || a.PasswordHash != "h" || a.CreatedAt.UnixMilli() != 1_700_000_000_123 {
		t.Errorf("Account after reopen = %+v", a)
	}
	msgs, err := s.Before(ctx, 0, 10)
	if err != nil {
		t.Fatalf("Before after reopen: %v", err)
	}
	if len(msgs) != 1 || msgs[0].ID != before[0].ID || msgs[0].Body != "hi" || msgs[0].Time.UnixMilli() != 1_700_000_000_456 {
		t.Fatalf("Before after reopen = %+v, want %+v", msgs, before)
	}
	after := []chat.Message{{Time: time.Now(), Author: "Alice", Kind: chat.KindText, Body: "back"}}
	if err := s.Append(ctx, after); err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
	if after[0].ID <= before[0].ID {
		t.Errorf("ID after reopen %d, want > %d", after[0].ID, before[0].ID)
	}
}

func TestPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "messaging.db"))
	defer s.Close()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"busy_timeout": "5000",
		"foreign_keys": "1",
		"user_version": "2",
	} {
		var got string
		if err := s.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

func TestMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "messaging.db")
	s, err := Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open in a missing directory succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open error = %q, want one that names %s and is fs.ErrNotExist", err, path)
	}
}

// Characters that mean something in a URI are part of the file name.
func TestPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c %41 d&e=f")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "my db?.sqlite")
	s := open(t, path)
	defer s.Close()
	if err := s.CreateAccount(t.Context(), store.Account{Name: "x1", PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at its path: %v", err)
	}
}

// A relative path is resolved against the working directory.
func TestRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	s := open(t, "rel.db")
	defer s.Close()
	if _, err := os.Stat("rel.db"); err != nil {
		t.Errorf("database not at its relative path: %v", err)
	}
}

// An older program must not run on a schema it does not know.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "messaging.db")
	s := open(t, path)
	if _, err := s.db.ExecContext(t.Context(), "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open error = %q, want it to say the schema is newer", err)
	}
}

// A database from before migration 0002 may hold look-alike accounts. They
// keep working after the upgrade, get their skeletons, and new look-alikes
// of them are refused.
func TestSkeletonMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "messaging.db")
	old := []string{"bob", "B0B", "Iris", "lris", "carol"}
	createVersion1(t, path, old)

	s := open(t, path)
	defer s.Close()
	for _, name := range old {
		got, err := s.Account(ctx, name)
		if err != nil || got.Name != name {
			t.Errorf("Account(%q) after upgrade = %q, %v; want %q", name, got.Name, err, name)
		}
	}
	var missing int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE skeleton IS NULL").Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("%d accounts without a skeleton after Open", missing)
	}
	for _, tt := range []struct {
		name string
		want error
	}{
		{"BOB", store.ErrNameTaken}, // like two accounts; equal to one
		{"b0b", store.ErrNameTaken},
		{"LRIS", store.ErrNameTaken},
		{"1ris", store.ErrNameSimilar},
		{"car0l", store.ErrNameSimilar},
		{"dave", nil},
	} {
		err := s.CreateAccount(ctx, store.Account{Name: tt.name, PasswordHash: "h", CreatedAt: time.Now()})
		if !errors.Is(err, tt.want) {
			t.Errorf("CreateAccount(%q) after upgrade = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// createVersion1 makes the database an older program made: schema version 1,
// no skeleton column, and accounts with the given names.
func createVersion1(t *testing.T, path string, names []string) {
	t.Helper()
	ctx := t.Context()
	dsn, err := dataSource(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	script, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, string(script)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if _, err := db.ExecContext(ctx,
			"INSERT INTO accounts (name, name_key, password_hash, created_at) VALUES (?, ?, 'h', 0)",
			name, strings.ToLower(name)); err != nil {
			t.Fatal(err)
		}
	}
}
