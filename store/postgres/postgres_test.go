package postgres

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"messaging/chat"
	"messaging/store"
	"messaging/store/postgres/pgtest"
	"messaging/store/storetest"
)

// open opens url and fails the test on error. The caller closes the store.
func open(tb testing.TB, url string) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), url)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	pgtest.ServerURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.FreshURL(t)) })
}

// A restart applies no migration again, and keeps accounts and history;
// new IDs continue after the old.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	u := pgtest.FreshURL(t)
	s := open(t, u)
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
	applied := versions(t, s)
	if len(applied) == 0 {
		t.Fatal("no schema version recorded")
	}
	s.Close()

	s = open(t, u)
	defer s.Close()
	if again := versions(t, s); !slices.Equal(again, applied) {
		t.Errorf("schema versions after reopen = %q, want them as they were: %q", again, applied)
	}
	a, err := s.Account(ctx, "alice")
	if err != nil || a.Name != "Alice" || a.CreatedAt.UnixMilli() != 1_700_000_000_123 {
		t.Errorf("Account after reopen = %+v, %v", a, err)
	}
	if got, err := s.Channel(ctx, chat.Lobby); err != nil || got.ID != lobby.ID {
		t.Errorf("Channel(%s) after reopen = %+v, %v; want ID %d", chat.Lobby, got, err, lobby.ID)
	}
	msgs, err := s.Before(ctx, lobby.ID, 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].ID != before[0].ID || msgs[0].Body != "hi" {
		t.Fatalf("Before after reopen = %+v, %v; want %+v", msgs, err, before)
	}
	after := []chat.Message{{Conv: lobby.ID, Time: time.Now(), Author: "Alice", Kind: chat.KindText, Body: "back"}}
	if err := s.Append(ctx, after); err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
	if after[0].ID <= before[0].ID {
		t.Errorf("ID after reopen %d, want > %d", after[0].ID, before[0].ID)
	}
}

// versions lists the rows of schema_version, each with when it was applied.
func versions(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), "SELECT version || ' ' || applied_at FROM schema_version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// Nodes starting together migrate one database once.
func TestConcurrentOpen(t *testing.T) {
	u := pgtest.FreshURL(t)
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), u) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var lobbies int
	if err := stores[0].pool.QueryRow(t.Context(), "SELECT count(*) FROM conversations WHERE name = $1", chat.Lobby).Scan(&lobbies); err != nil {
		t.Fatal(err)
	}
	if n := len(versions(t, stores[0])); lobbies != 1 || n != 1 {
		t.Errorf("after concurrent opens: %d lobbies and %d schema versions, want 1 and 1", lobbies, n)
	}
}

// An older program must not run on a schema it does not know.
func TestNewerSchema(t *testing.T) {
	u := pgtest.FreshURL(t)
	s := open(t, u)
	if _, err := s.pool.Exec(t.Context(), "INSERT INTO schema_version (version) VALUES (99)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(t.Context(), u)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open error = %q, want it to say the schema is newer", err)
	}
}

// A name PostgreSQL cannot hold as text (an SSH user name may be any
// bytes) is nobody's: lookups say so, as SQLite's do, rather than fail.
func TestNamesThatAreNotText(t *testing.T) {
	ctx := t.Context()
	s := open(t, pgtest.FreshURL(t))
	defer s.Close()
	if err := s.CreateAccount(ctx, store.Account{Name: "bob", PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bob\x00", "b\xffob", "\xc3"} {
		if _, err := s.Account(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Account(%q) = %v, want ErrNotFound", name, err)
		}
		if _, err := s.Profile(ctx, name); !errors.Is(err, chat.ErrNoAccount) {
			t.Errorf("Profile(%q) = %v, want ErrNoAccount", name, err)
		}
		if keys, err := s.Keys(ctx, name); err != nil || len(keys) != 0 {
			t.Errorf("Keys(%q) = %v, %v; want none", name, keys, err)
		}
		if err := s.DeleteAccount(ctx, name, time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteAccount(%q) = %v, want ErrNotFound", name, err)
		}
		if err := s.SetIgnored(ctx, "bob", name, true); !errors.Is(err, chat.ErrNoAccount) {
			t.Errorf("SetIgnored(bob, %q) = %v, want ErrNoAccount", name, err)
		}
		// Not an account, nor one that could be stored: refused, whatever
		// the words.
		if err := s.NameAvailable(ctx, name); err == nil {
			t.Errorf("NameAvailable(%q) = nil, want it refused", name)
		}
	}
}

// Unlike SQLite, which has no foreign key on a message's conversation,
// Append refuses a conversation that does not exist, and stores none of
// the batch.
func TestAppendToNoConversation(t *testing.T) {
	ctx := t.Context()
	s := open(t, pgtest.FreshURL(t))
	defer s.Close()
	lobby, err := s.Channel(ctx, chat.Lobby)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []chat.Message{
		{Conv: lobby.ID, Time: time.Now(), Author: "alice", Kind: chat.KindText, Body: "lost"},
		{Conv: 1_000_000, Time: time.Now(), Author: "alice", Kind: chat.KindText, Body: "nowhere"},
	}
	if err := s.Append(ctx, msgs); !errors.Is(err, chat.ErrNoConversation) {
		t.Errorf("Append to no conversation = %v, want ErrNoConversation", err)
	}
	for i, m := range msgs {
		if m.ID != 0 {
			t.Errorf("after a failed Append msgs[%d].ID = %d, want 0", i, m.ID)
		}
	}
	if got, err := s.Before(ctx, lobby.ID, 0, 10); err != nil || len(got) != 0 {
		t.Errorf("Before after a failed Append = %+v, %v; want nothing", got, err)
	}
}

// A URL that cannot be parsed is an error that says so, without the
// password in it. No server needed.
func TestBadURL(t *testing.T) {
	for _, u := range []string{
		"",
		"postgres://alice:s3cret@localhost:notaport/db",
		"postgres://alice:s3cret@localhost/db?connect_timeout=soon",
		"mysql://alice:s3cret@localhost/db",
	} {
		s, err := Open(t.Context(), u)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if !strings.HasPrefix(err.Error(), "open postgres") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %q, want an error of open postgres without the password", u, err)
		}
	}
}

// A server that refuses connections, and one that accepts and never
// answers, are errors, the second after the connect timeout rather than
// never. No server needed.
func TestUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := l.Addr().String()
	var held []net.Conn // the goroutine's until done is closed
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never read, never answered
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})

	refusing, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := refusing.Addr().String()
	refusing.Close() // nothing listens there now

	for _, tt := range []struct {
		name, url string
	}{
		{"refused", "postgres://alice:s3cret@" + closed + "/db"},
		{"silent", "postgres://alice:s3cret@" + silent + "/db?connect_timeout=1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			s, err := Open(t.Context(), tt.url)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if elapsed := time.Since(start); elapsed > 30*time.Second {
				t.Errorf("Open took %v", elapsed)
			}
			msg := err.Error()
			if !strings.Contains(msg, "open postgres 127.0.0.1:") || !strings.Contains(msg, "connect") || strings.Contains(msg, "s3cret") {
				t.Errorf("Open error = %q, want one that names the server and the connection, without the password", msg)
			}
		})
	}
}

// Without connect_timeout in the URL, connections are bounded all the same.
func TestConnectTimeoutDefault(t *testing.T) {
	for u, want := range map[string]time.Duration{
		"postgres://localhost/db":                    connectTimeout,
		"postgres://localhost/db?connect_timeout=3":  3 * time.Second,
		"host=localhost dbname=db connect_timeout=2": 2 * time.Second,
	} {
		cfg, err := config(u)
		if err != nil {
			t.Fatalf("config(%q): %v", u, err)
		}
		if got := cfg.ConnConfig.ConnectTimeout; got != want {
			t.Errorf("config(%q) connect timeout = %v, want %v", u, got, want)
		}
	}
}

// Within a conversation, IDs follow commit order: while nodes append to
// one conversation at once, a reader never sees a message appear behind
// one it has seen already (it would skip the newcomer when filling a gap
// from the store). Each writer is a separate Store, as on separate nodes;
// a second conversation's writer draws IDs from the same sequence between
// theirs.
func TestIDsFollowCommitOrderWithinAConversation(t *testing.T) {
	ctx := t.Context()
	u := pgtest.FreshURL(t)
	reader := open(t, u)
	defer reader.Close()
	accounts := []string{"alice", "bob"}
	for _, a := range accounts {
		if err := reader.CreateAccount(ctx, store.Account{Name: a, PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	lobby, err := reader.Channel(ctx, chat.Lobby)
	if err != nil {
		t.Fatal(err)
	}
	other, err := reader.Direct(ctx, "alice", "bob")
	if err != nil {
		t.Fatal(err)
	}

	const writers, batches = 4, 50
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		appended []chat.Message // as Append returned them, with ID and Prev
	)
	for w := range writers {
		s := open(t, u)
		defer s.Close()
		conv := lobby.ID
		if w == writers-1 {
			conv = other.ID
		}
		wg.Go(func() {
			for i := range batches {
				msgs := []chat.Message{{Conv: conv, Time: time.Now(), Author: "alice", Kind: chat.KindText, Body: "x"}}
				if i%5 == 0 { // now and then a batch spanning both conversations
					msgs = append(msgs, chat.Message{Conv: other.ID, Time: time.Now(), Author: "bob", Kind: chat.KindText, Body: "y"})
				}
				if err := s.Append(ctx, msgs); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				appended = append(appended, msgs...)
				mu.Unlock()
			}
		})
	}
	stop := make(chan struct{})
	go func() { wg.Wait(); close(stop) }()

	seen := make(map[int64]bool)
	watch := func() error {
		var newest int64 // of the lobby, as the reader last saw it
		for reading := true; reading; {
			select {
			case <-stop:
				reading = false // one last read, after every commit
			default:
			}
			msgs, err := reader.Before(ctx, lobby.ID, 0, writers*batches*2)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if !seen[m.ID] && m.ID < newest {
					return fmt.Errorf("message %d appeared after %d was seen", m.ID, newest)
				}
				seen[m.ID] = true
			}
			if len(msgs) > 0 {
				newest = msgs[len(msgs)-1].ID
			}
		}
		return nil
	}
	if err := watch(); err != nil {
		<-stop // the writers' stores close when the test returns
		t.Fatal(err)
	}
	if want := (writers - 1) * batches; len(seen) != want {
		t.Errorf("the reader saw %d lobby messages, want %d", len(seen), want)
	}

	// Each message's Prev is the one before it in its conversation,
	// whichever writer stored that, and Heads ends each conversation.
	slices.SortFunc(appended, func(a, b chat.Message) int { return cmp.Compare(a.ID, b.ID) })
	last := make(map[int64]int64)
	for _, m := range appended {
		if m.Prev != last[m.Conv] {
			t.Fatalf("message %d of conversation %d has Prev %d, want %d", m.ID, m.Conv, m.Prev, last[m.Conv])
		}
		last[m.Conv] = m.ID
	}
	heads, err := reader.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(heads, last) {
		t.Errorf("Heads = %v, want %v", heads, last)
	}
}
