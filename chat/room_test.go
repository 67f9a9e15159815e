package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memHistory is the test seam for History (the real one, store/sqlite,
// imports chat). It assigns IDs 1, 2, 3... and can fail or hold Append. As
// store/sqlite does, it refuses a message without a conversation.
type memHistory struct {
	mu    sync.Mutex
	msgs  []Message
	heads map[int64]int64 // by conversation, the newest message's ID
	calls int
	fail  error
	gate  chan struct{} // non-nil: Append waits for it to close
}

func (h *memHistory) Append(ctx context.Context, msgs []Message) error {
	h.mu.Lock()
	h.calls++
	gate, fail := h.gate, h.fail
	h.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	for i, m := range msgs {
		if m.Conv <= 0 {
			return fmt.Errorf("message %d of the batch has no conversation", i)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.heads == nil {
		h.heads = make(map[int64]int64)
	}
	for i := range msgs {
		msgs[i].ID = int64(len(h.msgs) + 1)
		msgs[i].Prev = h.heads[msgs[i].Conv] // as a History of several nodes does
		h.heads[msgs[i].Conv] = msgs[i].ID
		h.msgs = append(h.msgs, msgs[i])
	}
	return nil
}

// Heads makes memHistory a History of several nodes (cluster.go).
func (h *memHistory) Heads(context.Context) (map[int64]int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.heads), nil
}

func (h *memHistory) Before(ctx context.Context, conv, before int64, limit int) ([]Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if limit <= 0 {
		return nil, nil
	}
	end := len(h.msgs)
	if before > 0 {
		end = min(end, int(before-1)) // ID i is at index i-1
	}
	var msgs []Message // newest first
	for i := end - 1; i >= 0 && len(msgs) < limit; i-- {
		if h.msgs[i].Conv == conv {
			msgs = append(msgs, h.msgs[i])
		}
	}
	slices.Reverse(msgs)
	return msgs, nil
}

// hold makes Append wait until release is called.
func (h *memHistory) hold() (release func()) {
	gate := make(chan struct{})
	h.mu.Lock()
	h.gate = gate
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.gate = nil
			h.mu.Unlock()
			close(gate)
		})
	}
}

func (h *memHistory) setFail(err error) {
	h.mu.Lock()
	h.fail = err
	h.mu.Unlock()
}

func (h *memHistory) all() []Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.msgs)
}

func (h *memHistory) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs)
}

func (h *memHistory) appendCalls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

const testTimeout = 20 * time.Second

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// openRoom starts a room over h and a memDirectory holding accounts. Login
// and logout notices are posted at once unless cfg.PresenceWindow says
// otherwise (the tests of coalescing do).
func openRoom(t testing.TB, h *memHistory, cfg RoomConfig, accounts ...string) *Room {
	t.Helper()
	if cfg.PresenceWindow == 0 {
		cfg.PresenceWindow = -1
	}
	r, err := NewRoom(context.Background(), h, newMemDirectory(h, accounts...), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newTestRoom is openRoom, closed when the test ends.
func newTestRoom(t testing.TB, h *memHistory, cfg RoomConfig, accounts ...string) *Room {
	t.Helper()
	r := openRoom(t, h, cfg, accounts...)
	t.Cleanup(r.Close)
	return r
}

// dir is the room's memDirectory.
func dir(r *Room) *memDirectory { return r.dir.(*memDirectory) }

// lobby is the ID of #lobby.
func lobby(r *Room) int64 { return r.Lobby().ID }

// onlineNames lists the names Online(conv) returns.
func onlineNames(r *Room, conv int64) []string {
	var names []string
	for _, p := range r.Online(conv) {
		names = append(names, p.Name)
	}
	return names
}

// join creates the account name if needed and joins a session of it, which
// leaves when the test ends.
func join(t testing.TB, r *Room, name string) *Member {
	t.Helper()
	dir(r).addAccount(name)
	m, err := r.Join(testCtx(t), name)
	if err != nil {
		t.Fatalf("Join(%q): %v", name, err)
	}
	t.Cleanup(m.Leave)
	return m
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// receiveUntil receives until a batch holds a message for which done is
// true, and returns everything received. Safe to call from any goroutine.
func receiveUntil(t *testing.T, m *Member, done func(Message) bool) []Message {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var got []Message
	for {
		msgs, err := m.Receive(ctx)
		if err != nil {
			t.Errorf("%s: Receive after %d messages: %v", m.Name(), len(got), err)
			return got
		}
		msgs = withoutEvents(msgs)
		found := false
		for _, msg := range msgs {
			found = found || done(msg)
		}
		got = append(got, msgs...)
		if found {
			return got
		}
	}
}

func body(b string) func(Message) bool { return func(m Message) bool { return m.Body == b } }

// drainUntilError receives until Receive fails and returns what came first.
func drainUntilError(t *testing.T, m *Member) ([]Message, error) {
	t.Helper()
	ctx := testCtx(t)
	var got []Message
	for {
		msgs, err := m.Receive(ctx)
		if err != nil {
			return got, err
		}
		got = append(got, withoutEvents(msgs)...)
	}
}

// withoutEvents drops the presence events (KindPresence) from msgs.
func withoutEvents(msgs []Message) []Message {
	return slices.DeleteFunc(msgs, func(m Message) bool { return m.Kind == KindPresence })
}

func ids(msgs []Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// checkConsecutive reports whether msgs have IDs first, first+1, ...
func checkConsecutive(t *testing.T, who string, msgs []Message) {
	t.Helper()
	for i := 1; i < len(msgs); i++ {
		if msgs[i].ID != msgs[i-1].ID+1 {
			t.Errorf("%s: message %d has ID %d after %d: not consecutive", who, i, msgs[i].ID, msgs[i-1].ID)
			return
		}
	}
}

func TestOrdering(t *testing.T) {
	const members, posters, each = 20, 5, 200
	const total = posters * each
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 3, OutboxSize: 2048, MaxPending: 4096})
	ctx := testCtx(t)
	ms := make([]*Member, members)
	for i := range ms {
		ms[i] = join(t, r, fmt.Sprintf("user%02d", i))
	}
	waitFor(t, "the join notices", func() bool { return h.len() == members })
	const start = members // the join notices are IDs 1..20

	got := make([][]Message, members)
	var readers sync.WaitGroup
	for i, m := range ms {
		readers.Go(func() {
			n := 0
			got[i] = receiveUntil(t, m, func(msg Message) bool {
				if msg.ID > start {
					n++
				}
				return n == total
			})
		})
	}
	var writers sync.WaitGroup
	for p := range posters {
		writers.Go(func() {
			for k := range each {
				if err := ms[p].Post(ctx, KindText, fmt.Sprintf("p%d-%d", p, k)); err != nil {
					t.Errorf("poster %d, post %d: %v", p, k, err)
					return
				}
			}
		})
	}
	writers.Wait()
	readers.Wait()
	if t.Failed() {
		return
	}

	stored := h.all()
	if len(stored) != members+total {
		t.Fatalf("stored %d messages, want %d", len(stored), members+total)
	}
	posted := stored[start:]
	bodies := make(map[string]bool)
	for i, m := range posted {
		if i > 0 && m.Time.Before(posted[i-1].Time) {
			t.Errorf("message %d: time goes backwards", m.ID)
		}
		bodies[m.Body] = true
	}
	for p := range posters {
		for k := range each {
			if b := fmt.Sprintf("p%d-%d", p, k); !bodies[b] {
				t.Errorf("%s was not stored", b)
			}
		}
	}
	want := ids(posted)
	for i, msgs := range got {
		name := ms[i].Name()
		if !slices.IsSortedFunc(msgs, func(a, b Message) int { return int(a.ID - b.ID) }) ||
			len(slices.CompactFunc(slices.Clone(msgs), func(a, b Message) bool { return a.ID == b.ID })) != len(msgs) {
			t.Errorf("%s: IDs not strictly increasing", name)
		}
		var after []Message
		for _, m := range msgs {
			if m.ID > start {
				after = append(after, m)
			}
		}
		if !slices.Equal(ids(after), want) {
			t.Errorf("%s: received a different sequence than was stored", name)
		}
		if i < posters { // its own posts included
			own := 0
			for _, m := range after {
				if m.Author == name {
					own++
				}
			}
			if own != each {
				t.Errorf("%s received %d of its own %d posts", name, own, each)
			}
		}
	}
}

func TestGroupCommit(t *testing.T) {
	const posts = 50
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{})
	ctx := testCtx(t)
	alice := join(t, r, "alice")
	waitFor(t, "the join notice", func() bool { return h.len() == 1 })
	calls := h.appendCalls()

	release := h.hold()
	defer release()
	errs := make(chan error, posts)
	go func() { errs <- alice.Post(ctx, KindText, "first") }()
	waitFor(t, "the first Append", func() bool { return h.appendCalls() == calls+1 })
	for i := 1; i < posts; i++ {
		go func() { errs <- alice.Post(ctx, KindText, fmt.Sprint("post ", i)) }()
	}
	waitFor(t, "the posts to queue", func() bool { return len(r.posts) == posts-1 })
	release()
	for range posts {
		if err := <-errs; err != nil {
			t.Fatalf("Post: %v", err)
		}
	}
	if n := h.appendCalls() - calls; n != 2 {
		t.Errorf("%d posts took %d Append calls, want 2 (one held, then one batch)", posts, n)
	}
	n := 0
	got := receiveUntil(t, alice, func(Message) bool { n++; return n == posts+1 })
	checkConsecutive(t, "alice", got)
	if len(got) != posts+1 {
		t.Errorf("alice received %d messages, want %d", len(got), posts+1)
	}
}

func TestNothingDeliveredBeforeCommit(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 2})
	ctx := testCtx(t)
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	waitFor(t, "the join notices", func() bool { return h.len() == 2 })

	diskFull := errors.New("disk full")
	h.setFail(diskFull)
	err := alice.Post(ctx, KindText, "lost")
	if !errors.Is(err, ErrNotSaved) || !errors.Is(err, diskFull) {
		t.Fatalf("Post with a failing store = %v, want ErrNotSaved wrapping the store's error", err)
	}
	h.setFail(nil)
	if err := alice.Post(ctx, KindText, "kept"); err != nil {
		t.Fatalf("Post: %v", err)
	}
	// Delivery is in order, so had "lost" been delivered it would come first.
	for _, m := range []*Member{alice, bob} {
		for _, msg := range receiveUntil(t, m, body("kept")) {
			if msg.Body == "lost" {
				t.Errorf("%s received a message the store refused", m.Name())
			}
		}
	}
	for _, msg := range h.all() {
		if msg.Body == "lost" {
			t.Error("the refused message was stored")
		}
	}
}

func evicted(m *Member) bool {
	return errors.As(m.Err(), new(*EvictedError))
}

func TestEviction(t *testing.T) {
	tests := []struct {
		name       string
		evictAfter time.Duration
		posts      int
	}{
		// 3 join notices + 20 posts: past 4 in the outbox + 8 pending.
		{"too far behind", time.Hour, 20},
		// 3 + 6: 4 in the outbox, 5 pending, for longer than 200ms.
		{"stalled too long", 200 * time.Millisecond, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &memHistory{}
			r := newTestRoom(t, h, RoomConfig{Workers: 2, OutboxSize: 4, MaxPending: 8, EvictAfter: tt.evictAfter})
			ctx := testCtx(t)
			slow := join(t, r, "slow") // never reads until evicted
			alice, bob := join(t, r, "alice"), join(t, r, "bob")

			// alice and bob keep up: each post is read before the next.
			got := make([][]Message, 2)
			post := func(b string) {
				t.Helper()
				if err := alice.Post(ctx, KindText, b); err != nil {
					t.Fatalf("Post: %v", err)
				}
				for i, m := range []*Member{alice, bob} {
					got[i] = append(got[i], receiveUntil(t, m, body(b))...)
				}
			}
			for i := range tt.posts {
				post(fmt.Sprint("m", i))
			}
			waitFor(t, "the eviction", func() bool { return evicted(slow) })
			if err := slow.Post(ctx, KindText, "hello?"); !errors.Is(err, ErrLeft) {
				t.Errorf("Post after eviction = %v, want ErrLeft", err)
			}
			slow.Leave() // no second leave notice
			if got, want := onlineNames(r, lobby(r)), []string{"alice", "bob"}; !slices.Equal(got, want) {
				t.Errorf("Online() = %q, want %q", got, want)
			}
			post("end")

			for i, msgs := range got {
				who := []string{"alice", "bob"}[i]
				checkConsecutive(t, who, msgs)
				leaves, posts := 0, 0
				for _, m := range msgs {
					if m.Kind == KindLeave && m.Author == "slow" {
						leaves++
					}
					if m.Kind == KindText && strings.HasPrefix(m.Body, "m") {
						posts++
					}
				}
				if leaves != 1 || posts != tt.posts {
					t.Errorf("%s saw %d leave notices for slow and %d of %d posts, want 1 and all", who, leaves, posts, tt.posts)
				}
			}

			queued, err := drainUntilError(t, slow)
			var ev *EvictedError
			if !errors.As(err, &ev) {
				t.Fatalf("Receive after eviction = %v, want *EvictedError", err)
			}
			if want := "you were disconnected because your connection could not keep up"; err.Error() != want {
				t.Errorf("EvictedError says %q, want %q", err, want)
			}
			if len(queued) != 4 || queued[0].Kind != KindJoin || queued[0].Author != "slow" {
				t.Errorf("slow drained %d messages starting with %+v, want the 4 queued from its own join notice", len(queued), queued)
			}
			checkConsecutive(t, "slow", queued)
		})
	}
}

func TestSlowMemberCatchesUp(t *testing.T) {
	const posts = 30
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{OutboxSize: 8, MaxPending: 64, EvictAfter: 5 * time.Second})
	ctx := testCtx(t)
	m := join(t, r, "slow")
	// Nobody reads while these go out: 8 fit in the outbox, the rest wait.
	for i := range posts {
		if err := m.Post(ctx, KindText, fmt.Sprint(i)); err != nil {
			t.Fatalf("Post: %v", err)
		}
	}
	got := receiveUntil(t, m, body(fmt.Sprint(posts-1)))
	if len(got) != posts+1 {
		t.Errorf("received %d messages, want %d", len(got), posts+1)
	}
	checkConsecutive(t, "slow", got)
	if evicted(m) {
		t.Fatal("a member that caught up in time was evicted")
	}
	if err := m.Post(ctx, KindText, "still here"); err != nil {
		t.Fatalf("Post: %v", err)
	}
	receiveUntil(t, m, body("still here"))
}

func TestJoinLeaveNoticesOncePerPerson(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 2})
	ctx := testCtx(t)
	bob := join(t, r, "bob")
	alice1 := join(t, r, "alice")
	alice2 := join(t, r, "Alice")
	if got, want := onlineNames(r, lobby(r)), []string{"alice", "bob"}; !slices.Equal(got, want) {
		t.Errorf("Online() with two sessions of alice = %q, want %q", got, want)
	}
	alice1.Leave()
	if got, want := onlineNames(r, lobby(r)), []string{"alice", "bob"}; !slices.Equal(got, want) {
		t.Errorf("Online() after one of two sessions left = %q, want %q", got, want)
	}
	if err := bob.Post(ctx, KindText, "mark1"); err != nil {
		t.Fatal(err)
	}
	alice2.Leave()
	alice2.Leave()
	if got, want := onlineNames(r, lobby(r)), []string{"bob"}; !slices.Equal(got, want) {
		t.Errorf("Online() after alice left = %q, want %q", got, want)
	}
	if err := bob.Post(ctx, KindText, "mark2"); err != nil {
		t.Fatal(err)
	}

	type seen struct {
		kind         Kind
		author, body string
	}
	var got []seen
	for _, m := range receiveUntil(t, bob, body("mark2")) {
		got = append(got, seen{m.Kind, m.Author, m.Body})
	}
	want := []seen{
		{KindJoin, "bob", ""},
		{KindJoin, "alice", ""},
		{KindText, "bob", "mark1"},
		{KindLeave, "alice", ""},
		{KindText, "bob", "mark2"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("bob saw\n%v\nwant\n%v", got, want)
	}

	if err := alice1.Post(ctx, KindText, "ghost"); !errors.Is(err, ErrLeft) {
		t.Errorf("Post after Leave = %v, want ErrLeft", err)
	}
	if _, err := drainUntilError(t, alice1); !errors.Is(err, ErrLeft) {
		t.Errorf("Receive after Leave = %v, want ErrLeft", err)
	}
}

// Recent and Older page through one conversation's history, interleaved
// with another's in the single order.
func TestRecentAndOlder(t *testing.T) {
	h := &memHistory{}
	d := newMemDirectory(h, "seed", "reader")
	other, err := d.CreateChannel(t.Context(), Conversation{Name: "#other", Owner: "seed"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seed []Message
	for i := range 600 {
		seed = append(seed,
			Message{Conv: 1, Kind: KindText, Author: "seed", Body: fmt.Sprint(i + 1)},
			Message{Conv: other.ID, Kind: KindText, Author: "seed", Body: "elsewhere"})
	}
	if err := h.Append(t.Context(), seed); err != nil {
		t.Fatal(err)
	}
	r, err := NewRoom(t.Context(), h, d, RoomConfig{HistorySize: 100}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := testCtx(t)
	m := join(t, r, "reader")
	waitFor(t, "the join notice", func() bool { return h.len() == len(seed)+1 })
	var inLobby []int64 // the lobby's IDs: 600 posts and the join notice
	for _, msg := range h.all() {
		if msg.Conv == lobby(r) {
			inLobby = append(inLobby, msg.ID)
		}
	}
	// span is the IDs of the lobby's messages first..last, counted from 1.
	span := func(first, last int) []int64 { return slices.Clone(inLobby[first-1 : max(first-1, last)]) }
	idOf := func(n int) int64 { return inLobby[n-1] }

	recent, err := m.Recent(ctx, lobby(r))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(recent), span(502, 601)) {
		t.Errorf("Recent: %d messages from ID %d, want the lobby's last 100", len(recent), recent[0].ID)
	}
	tests := []struct {
		before      int64
		limit       int
		first, last int // the lobby's messages, counted from 1
	}{
		{idOf(501), 100, 401, 500},
		{idOf(101), 50, 51, 100},
		{idOf(101) - 1, 50, 51, 100}, // before a message of #other
		{idOf(30), 100, 1, 29},
		{idOf(501), 10000, 1, 500}, // capped at 500
		{0, 0, 502, 601},           // the latest, HistorySize
		{idOf(1), 100, 1, 0},       // nothing older
	}
	for _, tt := range tests {
		got, err := m.Older(ctx, lobby(r), tt.before, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), span(tt.first, tt.last)) {
			t.Errorf("Older(%d, %d): %d messages, want the lobby's %d..%d", tt.before, tt.limit, len(got), tt.first, tt.last)
		}
	}
	if _, err := m.Recent(ctx, other.ID); !errors.Is(err, ErrNoConversation) {
		t.Errorf("Recent of a channel the reader is not in = %v, want ErrNoConversation", err)
	}
	r.Close()
	if _, err := m.Recent(ctx, lobby(r)); !errors.Is(err, ErrRoomClosed) {
		t.Errorf("Recent after Close = %v, want ErrRoomClosed", err)
	}
}

// A member that joins, then reads Recent, then receives, sees every message
// from the start of Recent on: duplicates are possible, gaps are not.
func TestJoinThenRecentHasNoGap(t *testing.T) {
	const posts, joiners = 300, 10
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 3, HistorySize: 20})
	ctx := testCtx(t)
	poster := join(t, r, "poster")
	for k := range joiners {
		dir(r).addAccount(fmt.Sprint("joiner", k))
	}
	var posterReader sync.WaitGroup
	defer posterReader.Wait()
	posterReader.Go(func() { receiveUntil(t, poster, body("end")) }) // keep its outbox moving

	reached := make([]chan struct{}, joiners)
	for i := range reached {
		reached[i] = make(chan struct{})
	}
	views := make([][]Message, joiners)
	var joined, done sync.WaitGroup
	joined.Add(joiners)
	for k := range joiners {
		done.Go(func() {
			<-reached[k]
			m, err := r.Join(ctx, fmt.Sprint("joiner", k))
			if err != nil {
				t.Error(err)
				joined.Done()
				return
			}
			defer m.Leave()
			recent, err := m.Recent(ctx, lobby(r))
			joined.Done()
			if err != nil {
				t.Error(err)
				return
			}
			last := int64(0)
			if len(recent) > 0 {
				last = recent[len(recent)-1].ID
			}
			view := recent
			for _, msg := range receiveUntil(t, m, body("end")) {
				if msg.ID > last {
					view = append(view, msg)
					last = msg.ID
				} else if len(view) > len(recent) {
					t.Errorf("joiner%d: ID %d after %d", k, msg.ID, last)
				}
			}
			views[k] = view
		})
	}
	for i := range posts {
		if err := poster.Post(ctx, KindText, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		if i%(posts/joiners) == 0 {
			close(reached[i/(posts/joiners)])
		}
	}
	joined.Wait()
	if err := poster.Post(ctx, KindText, "end"); err != nil {
		t.Fatal(err)
	}
	done.Wait()
	var end int64
	for _, m := range h.all() {
		if m.Body == "end" {
			end = m.ID
		}
	}
	for k, view := range views {
		who := fmt.Sprint("joiner", k)
		checkConsecutive(t, who, view)
		if len(view) == 0 || view[len(view)-1].ID < end {
			t.Errorf("%s did not see up to ID %d", who, end)
		}
	}
}

func TestPostValidation(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{})
	ctx := testCtx(t)
	m := join(t, r, "alice")
	waitFor(t, "the join notice", func() bool { return h.len() == 1 })
	x := strings.Repeat
	tests := []struct {
		name    string
		kind    Kind
		body    string
		err     error
		tooLong int    // > 0: want a *TooLongError with these Runes
		stored  string // on success
	}{
		{"empty", KindText, "", ErrEmpty, 0, ""},
		{"spaces", KindText, " \t\r\n\u2028 ", ErrEmpty, 0, ""},
		{"controls only", KindText, "\x1b\x07\u200b\u202e", ErrEmpty, 0, ""},
		{"1000 runes", KindText, x("é", 1000), nil, 0, x("é", 1000)},
		{"1000 runes in spaces", KindText, "  " + x("a", 1000) + " \n", nil, 0, x("a", 1000)},
		{"1001 runes", KindText, x("a", 1001), nil, 1001, ""},
		{"5000 runes", KindText, x("a", 5000), nil, 5000, ""},
		{"space then more", KindText, x("a", 1000) + " b", nil, 1002, ""},
		{"escapes stripped", KindText, "hi \x1b[31mred\x1b[0m\x1b]52;c;eA==\x07\r\n", nil, 0, "hi [31mred[0m]52;c;eA=="},
		{"action", KindAction, "waves", nil, 0, "waves"},
		{"join", KindJoin, "sneaky", errors.New("any"), 0, ""},
		{"leave", KindLeave, "sneaky", errors.New("any"), 0, ""},
		{"system", KindSystem, "sneaky", errors.New("any"), 0, ""},
		{"zero kind", 0, "sneaky", errors.New("any"), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.len()
			err := m.Post(ctx, tt.kind, tt.body)
			var long *TooLongError
			switch {
			case tt.tooLong > 0:
				if !errors.As(err, &long) || long.Runes != tt.tooLong || long.Max != 1000 {
					t.Fatalf("Post = %v, want *TooLongError{%d, 1000}", err, tt.tooLong)
				}
			case tt.err == ErrEmpty:
				if !errors.Is(err, ErrEmpty) {
					t.Fatalf("Post = %v, want ErrEmpty", err)
				}
			case tt.err != nil:
				if err == nil || errors.Is(err, ErrEmpty) {
					t.Fatalf("Post of kind %d = %v, want an error", tt.kind, err)
				}
			default:
				if err != nil {
					t.Fatalf("Post = %v", err)
				}
				stored := h.all()
				if len(stored) != before+1 {
					t.Fatalf("stored %d messages, want 1", len(stored)-before)
				}
				last := stored[len(stored)-1]
				if last.Body != tt.stored || last.Kind != tt.kind || last.Author != "alice" {
					t.Errorf("stored %+v, want body %q", last, tt.stored)
				}
				return
			}
			if h.len() != before {
				t.Error("a refused message was stored")
			}
		})
	}
	err := m.Post(ctx, KindText, x("a", 5000))
	if want := "message is 5000 characters long; the limit is 1000"; err == nil || err.Error() != want {
		t.Errorf("TooLongError says %q, want %q", err, want)
	}
}

func TestClose(t *testing.T) {
	const posts = 5
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 2})
	ctx := testCtx(t)
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	waitFor(t, "the join notices", func() bool { return h.len() == 2 })
	calls := h.appendCalls()

	// One post held in Append, the rest accepted and waiting: Close must
	// store them all.
	release := h.hold()
	defer release()
	errs := make(chan error, posts)
	go func() { errs <- alice.Post(ctx, KindText, "p0") }()
	waitFor(t, "the first Append", func() bool { return h.appendCalls() == calls+1 })
	for i := 1; i < posts; i++ {
		go func() { errs <- alice.Post(ctx, KindText, fmt.Sprint("p", i)) }()
	}
	waitFor(t, "the posts to queue", func() bool { return len(r.posts) == posts-1 })
	closed := make(chan struct{})
	go func() { r.Close(); close(closed) }()
	select {
	case <-r.quit:
	case <-time.After(testTimeout):
		t.Fatal("Close did not start")
	}
	release()
	select {
	case <-closed:
	case <-time.After(testTimeout):
		t.Fatal("Close did not return")
	}
	r.Close() // idempotent
	for range posts {
		if err := <-errs; err != nil {
			t.Errorf("Post accepted before Close = %v", err)
		}
	}
	if n := h.len(); n != 2+posts {
		t.Errorf("stored %d messages, want %d", n, 2+posts)
	}
	for _, m := range []*Member{alice, bob} {
		got, err := drainUntilError(t, m)
		if !errors.Is(err, ErrRoomClosed) {
			t.Errorf("%s: Receive after Close = %v, want ErrRoomClosed", m.Name(), err)
		}
		texts := 0
		for _, msg := range got {
			if msg.Kind == KindText {
				texts++
			}
		}
		if texts != posts {
			t.Errorf("%s: got %d of %d posts before ErrRoomClosed", m.Name(), texts, posts)
		}
		checkConsecutive(t, m.Name(), got)
	}
	if err := alice.Post(ctx, KindText, "late"); !errors.Is(err, ErrRoomClosed) && !errors.Is(err, ErrLeft) {
		t.Errorf("Post after Close = %v, want ErrRoomClosed or ErrLeft", err)
	}
	if _, err := r.Join(ctx, "carol"); !errors.Is(err, ErrRoomClosed) {
		t.Errorf("Join after Close = %v, want ErrRoomClosed", err)
	}
}

func TestCloseEndsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	h := &memHistory{}
	r := openRoom(t, h, RoomConfig{Workers: 4})
	ctx := testCtx(t)
	var members []*Member
	for i := range 8 {
		dir(r).addAccount(fmt.Sprint("user", i))
		m, err := r.Join(ctx, fmt.Sprint("user", i))
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	if err := members[0].Post(ctx, KindText, "hello"); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	for _, m := range members {
		readers.Go(func() { drainUntilError(t, m) })
	}
	r.Close()
	readers.Wait()
	for _, m := range members {
		m.Leave()
	}
	waitFor(t, "the room's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestDeliveryPanicCostsOnlyThatMember(t *testing.T) {
	const posts = 10
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 1})
	ctx := testCtx(t)
	alice := join(t, r, "alice")
	bomb := join(t, r, "bomb") // same worker as everyone: Workers is 1
	// A fault in delivering to bomb: the worker's next send to its outbox
	// panics. Once bomb has its own join notice the worker owes it nothing
	// until bob's join, whose registration orders the close before that
	// send (a close racing a send is a data race, not the fault wanted).
	receiveUntil(t, bomb, func(m Message) bool { return m.Kind == KindJoin && m.Author == "bomb" })
	close(bomb.outbox)
	bob := join(t, r, "bob")
	var got []Message
	var reader sync.WaitGroup
	reader.Go(func() { got = receiveUntil(t, bob, body(fmt.Sprint(posts-1))) })
	for i := range posts {
		if err := alice.Post(ctx, KindText, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	reader.Wait()
	texts := 0
	for _, m := range got {
		if m.Kind == KindText {
			texts++
		}
	}
	if texts != posts {
		t.Errorf("bob received %d of %d posts", texts, posts)
	}
	checkConsecutive(t, "bob", got)
	select {
	case <-bomb.Done():
	default:
		t.Error("the member whose delivery panicked was not evicted")
	}
	if online := onlineNames(r, lobby(r)); slices.Contains(online, "bomb") {
		t.Errorf("online: %v, want bomb gone", online)
	}
}

func TestFloodLimitIsPerPersonAndRefusesWithoutPosting(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h := &memHistory{}
	r := openRoom(t, h, RoomConfig{MsgBurst: 5, MsgPerSec: 1, Now: clock}, "alice", "bob")
	defer r.Close()
	ctx := context.Background()
	a1, _ := r.Join(ctx, "alice")
	a2, _ := r.Join(ctx, "Alice") // a second terminal buys no extra messages
	for i := range 4 {            // the fifth of the burst went on alice's join notice
		if err := []*Member{a1, a2}[i%2].Post(ctx, KindText, "burst"); err != nil {
			t.Fatalf("post %d of the burst: %v", i+1, err)
		}
	}
	err := a1.Post(ctx, KindText, "one too many")
	var slow *SlowDownError
	if !errors.As(err, &slow) || slow.Wait <= 0 || slow.Wait > time.Second {
		t.Fatalf("sixth post: %v, want a SlowDownError of at most 1s", err)
	}
	if !strings.Contains(err.Error(), "slow down") {
		t.Errorf("error %q is not written for the user", err)
	}
	if err := a2.Post(ctx, KindText, "still too many"); !errors.As(err, &slow) {
		t.Fatalf("other session of the same person: %v, want SlowDownError", err)
	}
	advance(time.Second)
	if err := a1.Post(ctx, KindText, "after a second"); err != nil {
		t.Fatalf("post after a second: %v", err)
	}
	for _, m := range h.all() {
		if strings.Contains(m.Body, "too many") {
			t.Errorf("a refused post was stored: %q", m.Body)
		}
	}
	bob, _ := r.Join(ctx, "bob")
	if err := bob.Post(ctx, KindText, "bob has his own limit"); err != nil {
		t.Errorf("bob limited by alice's flood: %v", err)
	}
	// Reconnecting does not refill the bucket.
	a1.Leave()
	a2.Leave()
	a3, _ := r.Join(ctx, "alice")
	if err := a3.Post(ctx, KindText, "fresh session, same person"); !errors.As(err, &slow) {
		t.Errorf("a new session after leaving: %v, want SlowDownError", err)
	}
}

func TestSendKeepsTheOrderAndNeverBlocks(t *testing.T) {
	h := &memHistory{}
	r := openRoom(t, h, RoomConfig{}, "alice")
	defer r.Close()
	ctx := context.Background()
	m, err := r.Join(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var receipts []*Receipt
	for i := range 300 {
		rc, err := m.Send(lobby(r), KindText, fmt.Sprintf("line %03d", i))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		receipts = append(receipts, rc)
	}
	for _, rc := range receipts {
		if err := rc.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var lines []string
	for _, msg := range h.all() {
		if msg.Kind == KindText {
			lines = append(lines, msg.Body)
		}
	}
	if !slices.IsSorted(lines) || len(lines) != 300 {
		t.Errorf("stored %d lines, in order: %v", len(lines), slices.IsSorted(lines))
	}

	// With the store stuck, the queue fills and Send says so instead of
	// blocking.
	release := h.hold()
	defer release()
	for i := 0; ; i++ {
		_, err := m.Send(lobby(r), KindText, "more")
		if errors.Is(err, ErrBusy) {
			break
		}
		if err != nil || i > 5000 {
			t.Fatalf("after %d sends into a stuck room: %v, want ErrBusy", i, err)
		}
	}
}

func TestReconnectingInALoopCannotFloodTheRoomWithNotices(t *testing.T) {
	h := &memHistory{}
	r := openRoom(t, h, RoomConfig{MsgBurst: 3, MsgPerSec: 0.001}, "mallory")
	ctx := context.Background()
	for range 20 {
		m, err := r.Join(ctx, "mallory")
		if err != nil {
			t.Fatal(err)
		}
		m.Leave()
	}
	r.Close()
	joins, leaves := 0, 0
	for _, m := range h.all() {
		switch m.Kind {
		case KindJoin:
			joins++
		case KindLeave:
			leaves++
		}
	}
	if joins != 3 || leaves != 3 {
		t.Errorf("20 reconnects gave %d join and %d leave notices, want 3 of each (the flood burst)", joins, leaves)
	}
}

// A member ends once, in one of three ways; Err and Receive say which, and
// a second way afterwards (Leave after eviction, eviction after Leave, Leave
// after Close) changes nothing: no panic, and the session counts once, so
// its twin keeps the name online and the name gets one leave notice.
func TestAMemberEndsOnceAndSaysWhy(t *testing.T) {
	leave := func(t *testing.T, r *Room, m *Member) { m.Leave() }
	// evictLate evicts m as its worker would had it not seen the Leave
	// yet: a worker of the test's own, so that no running one is touched.
	evictLate := func(t *testing.T, r *Room, m *Member) {
		w := &worker{room: r, members: map[uint64]*slot{m.id: {m: m}}, stalled: map[uint64]*slot{}}
		w.evict(w.members[m.id], "too far behind")
	}
	// evict: slow's outbox (1) holds its join notice, its overflow (1)
	// bob's; bob's post is one too many.
	evict := func(t *testing.T, r *Room, m *Member) {
		bob := join(t, r, "bob")
		if err := bob.Post(testCtx(t), KindText, "one too many"); err != nil {
			t.Fatal(err)
		}
	}
	closeRoom := func(t *testing.T, r *Room, m *Member) { r.Close() }
	tests := []struct {
		name      string
		end, then func(t *testing.T, r *Room, m *Member)
		want      error  // from Err and Receive; nil: an *EvictedError with reason
		reason    string // of the *EvictedError
		postErr   error
		leaves    int // leave notices stored for slow
	}{
		{"left", leave, evictLate, ErrLeft, "", ErrLeft, 1},
		{"left twice", leave, leave, ErrLeft, "", ErrLeft, 1},
		{"evicted, then left", evict, leave, nil, "too far behind", ErrLeft, 1},
		{"room closed, then left", closeRoom, leave, ErrRoomClosed, "", ErrRoomClosed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &memHistory{}
			r := newTestRoom(t, h, RoomConfig{OutboxSize: 1, MaxPending: 1, EvictAfter: time.Hour})
			ctx := testCtx(t)
			slow := join(t, r, "slow")
			twin := join(t, r, "SLOW") // another session of the same person, reading
			var reader sync.WaitGroup
			reader.Go(func() { drainUntilError(t, twin) })
			defer reader.Wait()
			defer twin.Leave()
			waitFor(t, "slow's join notice", func() bool { return h.len() == 1 })
			if err := slow.Err(); err != nil {
				t.Fatalf("Err before the end = %v, want nil", err)
			}
			select {
			case <-slow.Done():
				t.Fatal("Done closed before the end")
			default:
			}

			tt.end(t, r, slow)
			select {
			case <-slow.Done():
			case <-ctx.Done():
				t.Fatal("Done not closed after the end")
			}
			if tt.leaves > 0 { // after Close, only Leave departs
				waitFor(t, "slow to depart", func() bool {
					r.mu.Lock()
					defer r.mu.Unlock()
					return !slow.present
				})
			}
			tt.then(t, r, slow)
			if online := onlineNames(r, lobby(r)); !slices.Contains(online, "slow") {
				t.Errorf("Online() = %q: its twin's session no longer counts", online)
			}
			twin.Leave()
			if online := onlineNames(r, lobby(r)); slices.Contains(online, "slow") {
				t.Errorf("Online() = %q after both sessions ended", online)
			}

			check := func(what string, err error) {
				t.Helper()
				if tt.want != nil {
					if err != tt.want {
						t.Errorf("%s = %v, want %v", what, err, tt.want)
					}
					return
				}
				var ev *EvictedError
				if !errors.As(err, &ev) || ev.Reason != tt.reason {
					t.Errorf("%s = %#v, want an *EvictedError with reason %q", what, err, tt.reason)
				}
			}
			check("Err", slow.Err())
			_, err := drainUntilError(t, slow)
			check("Receive", err)
			if err := slow.Post(ctx, KindText, "hello?"); err != tt.postErr {
				t.Errorf("Post = %v, want %v", err, tt.postErr)
			}

			if tt.leaves > 0 { // a post committed after the ends: any leave notice is stored before it
				carol := join(t, r, "carol")
				if err := carol.Post(ctx, KindText, "mark"); err != nil {
					t.Fatal(err)
				}
			}
			leaves := 0
			for _, m := range h.all() {
				if m.Kind == KindLeave && m.Author == "slow" {
					leaves++
				}
			}
			if leaves != tt.leaves {
				t.Errorf("%d leave notices for slow, want %d", leaves, tt.leaves)
			}
		})
	}
}
