package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
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
	lobby, err := s.Channel(ctx, chat.Lobby)
	if err != nil {
		t.Fatalf("Channel: %v", err)
	}
	before := []chat.Message{{Conv: lobby.ID, Time: time.UnixMilli(1_700_000_000_456), Author: "Alice", Kind: chat.KindText, Body: "hi"}}
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
	msgs, err := s.Before(ctx, lobby.ID, 0, 10)
	if err != nil {
		t.Fatalf("Before after reopen: %v", err)
	}
	if len(msgs) != 1 || msgs[0].ID != before[0].ID || msgs[0].Body != "hi" || msgs[0].Time.UnixMilli() != 1_700_000_000_456 {
		t.Fatalf("Before after reopen = %+v, want %+v", msgs, before)
	}
	after := []chat.Message{{Conv: lobby.ID, Time: time.Now(), Author: "Alice", Kind: chat.KindText, Body: "back"}}
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
		"user_version": "5",
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
	createVersion(t, path, 1, func(ctx context.Context, db *sql.DB) error {
		for _, name := range old {
			if _, err := db.ExecContext(ctx,
				"INSERT INTO accounts (name, name_key, password_hash, created_at) VALUES (?, ?, 'h', 0)",
				name, strings.ToLower(name)); err != nil {
				return err
			}
		}
		return nil
	})

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

// A database from before migration 0003 holds one room's history: after the
// upgrade it is #lobby's, conversation 1, as old as the oldest account, and
// the accounts are in no conversation until the chat core adds them.
func TestConversationMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "messaging.db")
	createVersion(t, path, 2, func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, `
			INSERT INTO accounts (name, name_key, password_hash, created_at)
			VALUES ('Alice', 'alice', 'h', 1600000000000), ('bob', 'bob', 'h', 1650000000000);
			INSERT INTO messages (at, author, kind, body)
			VALUES (1700000000001, 'Alice', 1, 'one'), (1700000000002, 'bob', 2, 'two'), (1700000000003, '', 5, 'three')`)
		return err
	})

	s := open(t, path)
	defer s.Close()
	lobby, err := s.Channel(ctx, chat.Lobby)
	if err != nil {
		t.Fatalf("Channel(%s) after upgrade: %v", chat.Lobby, err)
	}
	if lobby.ID != 1 || lobby.Owner != "" || lobby.Private || !lobby.Created.Equal(time.UnixMilli(1_600_000_000_000)) {
		t.Errorf("Channel(%s) after upgrade = %+v, want ID 1, public, no owner, created with the oldest account", chat.Lobby, lobby)
	}
	msgs, err := s.Before(ctx, lobby.ID, 0, 10)
	if err != nil {
		t.Fatalf("Before after upgrade: %v", err)
	}
	var bodies []string
	for _, m := range msgs {
		if m.Conv != lobby.ID || m.To != "" {
			t.Errorf("old message after upgrade = %+v, want it in #lobby for nobody else", m)
		}
		bodies = append(bodies, m.Body)
	}
	if !slices.Equal(bodies, []string{"one", "two", "three"}) {
		t.Errorf("old messages after upgrade = %q, want one, two, three", bodies)
	}
	for _, name := range []string{"alice", "bob"} {
		if ms, err := s.Memberships(ctx, name); err != nil || len(ms) != 0 {
			t.Errorf("Memberships(%s) after upgrade = %+v, %v; want none", name, ms, err)
		}
		if p, err := s.Profile(ctx, name); err != nil || !p.LastSeen.IsZero() {
			t.Errorf("Profile(%s) after upgrade = %+v, %v; want no last seen", name, p, err)
		}
	}
	c, err := s.CreateChannel(ctx, chat.Conversation{Kind: chat.Channel, Name: "#new", Owner: "bob"}, 0)
	if err != nil || c.ID <= lobby.ID {
		t.Errorf("CreateChannel after upgrade = %+v, %v; want an ID after #lobby's", c, err)
	}
	next := []chat.Message{{Conv: lobby.ID, Time: time.Now(), Author: "bob", Kind: chat.KindText, Body: "four"}}
	if err := s.Append(ctx, next); err != nil || next[0].ID <= msgs[len(msgs)-1].ID {
		t.Errorf("Append after upgrade: ID %d, %v; want an ID after the old ones", next[0].ID, err)
	}
}

// On a new database too #lobby is conversation 1, the default of
// messages.conv.
func TestLobbyIsConversationOne(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "messaging.db"))
	defer s.Close()
	lobby, err := s.Channel(t.Context(), chat.Lobby)
	if err != nil || lobby.ID != 1 {
		t.Errorf("Channel(%s) = %+v, %v; want ID 1", chat.Lobby, lobby, err)
	}
}

// The history is long and shared by every conversation: reading one
// conversation's page, or counting what is unread there, must search the
// (conv, id) index rather than scan the messages.
func TestConversationQueriesUseTheIndex(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "messaging.db"))
	defer s.Close()
	for _, tt := range []struct {
		query string
		args  []any
		want  []string
	}{
		{beforeQuery, []any{1, 100, 10}, []string{"messages_conv (conv=? AND id<?)"}},
		{membershipsQuery, []any{"alice", 1, 2, 999}, []string{"messages_conv (conv=? AND id>?)", "messages_conv (conv=?)", "members_account"}},
	} {
		rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		for _, want := range tt.want {
			if !strings.Contains(text, want) {
				t.Errorf("plan of %s:\n%s\nwant %s", tt.query, text, want)
			}
		}
	}
}

// createVersion makes the database an older program made: the schema at
// version, then what seed puts in it.
func createVersion(t *testing.T, path string, version int, seed func(context.Context, *sql.DB) error) {
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
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) < version {
		t.Fatalf("migrations %q, %v; want at least %d", names, err, version)
	}
	for _, name := range names[:version] {
		script, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(script)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		t.Fatal(err)
	}
	if err := seed(ctx, db); err != nil {
		t.Fatalf("seed version %d: %v", version, err)
	}
}

// A database from before migration 0005: its accounts are members who need
// not change their passwords, its messages are not removed and have no
// start, and a purge finds them.
func TestModerationMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "messaging.db")
	createVersion(t, path, 4, func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, `
			INSERT INTO accounts (name, name_key, skeleton, password_hash, created_at) VALUES ('Alice', 'alice', 'alice', 'h', 1600000000000);
			INSERT INTO messages (at, author, kind, body) VALUES (1700000000001, 'Alice', 1, 'one')`)
		return err
	})

	s := open(t, path)
	defer s.Close()
	a, err := s.Account(ctx, "alice")
	if err != nil || a.MustChangePassword {
		t.Errorf("Account(alice) after upgrade = %+v, %v; want it not to change its password", a, err)
	}
	if r, err := s.Role(ctx, "alice"); err != nil || r != chat.RoleMember {
		t.Errorf("Role(alice) after upgrade = %v, %v; want member", r, err)
	}
	msgs, err := s.Before(ctx, 1, 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Removed || !msgs[0].Since.IsZero() || msgs[0].Body != "one" {
		t.Fatalf("Before after upgrade = %+v, %v; want the old message as it was", msgs, err)
	}
	if n, err := s.Purge(ctx, "alice", time.UnixMilli(1_700_000_000_000)); err != nil || n != 1 {
		t.Errorf("Purge of an old message = %d, %v; want 1", n, err)
	}
}

// AuditLog returns at most maxAuditLog entries, however many are asked
// for.
func TestAuditLogIsBounded(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "messaging.db"))
	defer s.Close()
	if _, err := s.db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO audit (at, actor, action) SELECT i, 'cli', 'kick' FROM n`, maxAuditLog+5); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, -1, maxAuditLog + 1, math.MaxInt} {
		log, err := s.AuditLog(ctx, n)
		if err != nil || len(log) != maxAuditLog || log[0].ID != maxAuditLog+5 {
			t.Errorf("AuditLog(%d) = %d entries from ID %v, %v; want the newest %d", n, len(log), firstID(log), err, maxAuditLog)
		}
	}
}

func firstID(log []store.AuditEntry) int64 {
	if len(log) == 0 {
		return 0
	}
	return log[0].ID
}
