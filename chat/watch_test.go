package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// watch creates the account name if needed and joins a hidden member of
// it, which leaves when the test ends.
func watch(t testing.TB, r *Room, name string) *Member {
	t.Helper()
	dir(r).addAccount(name)
	m, err := r.Watch(testCtx(t), name)
	if err != nil {
		t.Fatalf("Watch(%q): %v", name, err)
	}
	t.Cleanup(m.Leave)
	return m
}

// notices counts the stored notices of kind by author.
func notices(h *memHistory, kind Kind, author string) int {
	n := 0
	for _, m := range h.all() {
		if m.Kind == kind && foldName(m.Author) == foldName(author) {
			n++
		}
	}
	return n
}

// routed reports whether the room holds a routing state for name.
func routed(r *Room, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accounts[foldName(name)] != nil
}

func TestAWatcherSeesEveryMessageInOrderAndIsNeverOnline(t *testing.T) {
	const posts = 200
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 3})
	ctx := testCtx(t)
	bot := watch(t, r, "bot")
	alice := join(t, r, "alice")

	if got, want := onlineNames(r, lobby(r)), []string{"alice"}; !slices.Equal(got, want) {
		t.Errorf("Online() = %q, want %q", got, want)
	}
	if p, online := r.Presence("bot"); online {
		t.Errorf("Presence(bot) = %+v, online; want offline", p)
	}
	if w, err := alice.Whois(ctx, "bot"); err != nil || w.Online {
		t.Errorf("Whois(bot) = online %v, %v; want offline", w.Online, err)
	}
	var posters sync.WaitGroup
	for _, m := range []*Member{alice, bot} {
		posters.Go(func() {
			for i := range posts / 2 {
				if err := m.Post(ctx, KindText, fmt.Sprint(m.Name(), i)); err != nil {
					t.Errorf("Post: %v", err)
					return
				}
			}
		})
	}
	posters.Wait()
	if err := alice.Post(ctx, KindText, "end"); err != nil {
		t.Fatal(err)
	}
	got := receiveUntil(t, bot, body("end"))
	checkConsecutive(t, "bot", got)
	texts := 0
	for _, m := range got {
		if m.Kind == KindText {
			texts++
		}
		if m.Author == "bot" && m.Kind != KindText {
			t.Errorf("a notice about the watcher: %+v", m)
		}
	}
	if texts != posts+1 {
		t.Errorf("the watcher received %d posts, want %d", texts, posts+1)
	}
	bot.Leave()
	if err := alice.Post(ctx, KindText, "after"); err != nil { // any notice is stored before it
		t.Fatal(err)
	}
	if n := notices(h, KindJoin, "bot") + notices(h, KindLeave, "bot"); n != 0 {
		t.Errorf("%d join or leave notices for the watcher, want none", n)
	}
	if routed(r, "bot") {
		t.Error("the watcher's account is still routed after it left")
	}
}

// A visible session of an account coming and going while a hidden member of
// it runs gives exactly the usual notices, and the hidden member goes on
// receiving throughout.
func TestSessionsBesideAWatcherGiveTheUsualNotices(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 2})
	ctx := testCtx(t)
	bob := join(t, r, "bob")
	tail := watch(t, r, "alice")
	reader := tail // receives every mark
	mark := func(b string) {
		t.Helper()
		if err := bob.Post(ctx, KindText, b); err != nil {
			t.Fatal(err)
		}
		receiveUntil(t, reader, body(b))
	}
	online := func(want ...string) {
		t.Helper()
		if got := onlineNames(r, lobby(r)); !slices.Equal(got, want) {
			t.Errorf("Online() = %q, want %q", got, want)
		}
	}
	mark("1")
	online("bob")

	alice := join(t, r, "Alice")
	online("Alice", "bob")
	if p, ok := r.Presence("alice"); !ok || p.Name != "Alice" {
		t.Errorf("Presence(alice) = %+v, %v; want online as Alice", p, ok)
	}
	alice.SetAway("lunch")
	tail.SetAway("never") // a hidden member changes nobody's presence
	if p, _ := r.Presence("alice"); p.Away != "lunch" {
		t.Errorf("away %q, want lunch", p.Away)
	}
	mark("2")
	alice.Leave()
	online("bob")
	if _, ok := r.Presence("alice"); ok {
		t.Error("alice online with only a hidden member left")
	}
	mark("3") // still routed: the watcher still receives
	if !routed(r, "alice") {
		t.Error("alice's routing ended while a hidden member runs")
	}

	again := join(t, r, "alice")
	if p, _ := r.Presence("alice"); p.IsAway {
		t.Errorf("back online still away: %+v", p)
	}
	tail.Leave() // quietly: alice stays online
	reader = bob
	online("alice", "bob")
	mark("4")
	again.Leave()
	online("bob")
	mark("5")

	var got []string
	for _, m := range h.all() {
		if foldName(m.Author) == "alice" {
			got = append(got, fmt.Sprintf("%d %s", m.Kind, m.Author))
		}
	}
	want := []string{
		fmt.Sprint(KindJoin, " Alice"),
		fmt.Sprint(KindAway, " Alice"),
		fmt.Sprint(KindLeave, " Alice"),
		fmt.Sprint(KindJoin, " alice"),
		fmt.Sprint(KindLeave, " alice"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("alice's notices: %q, want %q", got, want)
	}
	if routed(r, "alice") {
		t.Error("alice still routed after her last member left")
	}
}

// The routing of an account with only hidden members follows changes made
// by others: a direct conversation opened with it reaches its watcher.
func TestAWatcherIsRoutedLikeASession(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{})
	ctx := testCtx(t)
	bot := watch(t, r, "bot")
	alice := join(t, r, "alice")
	c := direct(t, alice, "bot")
	post(t, alice, c.ID, "for the bot")
	got := receiveUntil(t, bot, body("for the bot"))
	if last := got[len(got)-1]; last.Conv != c.ID {
		t.Errorf("received in conversation %d, want %d", last.Conv, c.ID)
	}
	if !bot.In(c.ID) {
		t.Error("the watcher is not routed to the direct conversation")
	}
	if got := onlineNames(r, c.ID); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("Online(direct) = %q, want only alice", got)
	}
	recent, err := bot.Recent(ctx, c.ID)
	if err != nil || len(recent) != 1 {
		t.Errorf("Recent = %v, %v; want the one message", recent, err)
	}
}

func TestASlowWatcherIsEvictedQuietly(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{OutboxSize: 2, MaxPending: 2, EvictAfter: time.Hour})
	ctx := testCtx(t)
	slow := watch(t, r, "bot") // never reads
	alice := join(t, r, "alice")
	for i := range 10 { // alice reads each post: only bot falls behind
		if err := alice.Post(ctx, KindText, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		receiveUntil(t, alice, body(fmt.Sprint(i)))
	}
	waitFor(t, "the eviction", func() bool { return evicted(slow) })
	queued, err := drainUntilError(t, slow)
	if !errors.As(err, new(*EvictedError)) {
		t.Errorf("Receive = %v, want an *EvictedError", err)
	}
	if len(queued) != 2 {
		t.Errorf("%d messages queued, want the outbox's 2", len(queued))
	}
	waitFor(t, "the watcher to depart", func() bool { return !routed(r, "bot") })
	if err := alice.Post(ctx, KindText, "after"); err != nil { // any notice is stored before it
		t.Fatal(err)
	}
	if n := notices(h, KindLeave, "bot"); n != 0 {
		t.Errorf("%d leave notices for an evicted watcher, want none", n)
	}
}

func TestDisconnectEndsEveryMemberOfTheAccount(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 2})
	ctx := testCtx(t)
	bob := join(t, r, "bob")
	one, two := join(t, r, "alice"), join(t, r, "ALICE")
	tail := watch(t, r, "Alice")
	gone := join(t, r, "alice")
	gone.Leave() // ended already: not counted
	if err := bob.Post(ctx, KindText, "before"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Member{one, two, tail} {
		receiveUntil(t, m, body("before"))
	}
	if err := bob.Post(ctx, KindText, "queued"); err != nil {
		t.Fatal(err)
	}
	const reason = "Your account was deleted."
	if n := r.Disconnect("aLiCe", reason); n != 3 {
		t.Errorf("Disconnect = %d, want 3", n)
	}
	for _, m := range []*Member{one, two, tail} {
		var removed *RemovedError
		if !errors.As(m.Err(), &removed) || removed.Reason != reason {
			t.Errorf("Err = %v, want a *RemovedError with the reason", m.Err())
		}
		msgs, err := drainUntilError(t, m)
		if !errors.As(err, &removed) || err.Error() != reason {
			t.Errorf("Receive = %v, want the *RemovedError %q", err, reason)
		}
		// "queued" was committed before Disconnect; it may have been
		// received already, and nothing comes after it.
		if len(msgs) > 1 || len(msgs) == 1 && msgs[0].Body != "queued" {
			t.Errorf("after removal, received %+v, want at most the message queued", msgs)
		}
		if err := m.Post(ctx, KindText, "still here?"); !errors.Is(err, ErrLeft) {
			t.Errorf("Post after removal = %v, want ErrLeft", err)
		}
		m.Leave() // changes nothing
		if !errors.As(m.Err(), &removed) {
			t.Errorf("Err after Leave = %v, still want the *RemovedError", m.Err())
		}
	}
	if got := onlineNames(r, lobby(r)); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("Online() = %q, want only bob", got)
	}
	if routed(r, "alice") {
		t.Error("alice still routed after Disconnect")
	}
	if n := r.Disconnect("alice", reason); n != 0 {
		t.Errorf("a second Disconnect = %d, want 0", n)
	}
	if n := r.Disconnect("nobody", reason); n != 0 {
		t.Errorf("Disconnect(nobody) = %d, want 0", n)
	}
	if err := bob.Post(ctx, KindText, "after"); err != nil {
		t.Fatal(err)
	}
	// alice came online once, and went offline once: at Disconnect
	if j, l := notices(h, KindJoin, "alice"), notices(h, KindLeave, "alice"); j != 1 || l != 1 {
		t.Errorf("%d join and %d leave notices for alice, want 1 and 1", j, l)
	}
	leaves := 0
	for _, m := range receiveUntil(t, bob, body("after")) {
		if foldName(m.Author) == "alice" && m.Kind == KindLeave {
			leaves++
		}
	}
	if leaves != 1 {
		t.Errorf("bob saw %d leave notices of alice, want 1", leaves)
	}
}

// Disconnect ends a session whose Join was in progress when it was called:
// it waits for the Join to register.
func TestDisconnectWaitsForAJoinInProgress(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{}, "alice")
	d := dir(r)
	loading := make(chan struct{})
	proceed := make(chan struct{})
	var once sync.Once
	d.mu.Lock()
	d.hook = func(method, account string) {
		if method == "Ignored" && account == "alice" {
			once.Do(func() { close(loading); <-proceed })
		}
	}
	d.mu.Unlock()
	joined := make(chan *Member, 1)
	go func() {
		m, err := r.Watch(testCtx(t), "alice")
		if err != nil {
			t.Error(err)
		}
		joined <- m
	}()
	<-loading
	disconnected := make(chan int, 1)
	go func() { disconnected <- r.Disconnect("alice", "gone") }()
	// Had Disconnect not waited, it would find nobody and return 0.
	close(proceed)
	if n := <-disconnected; n != 1 {
		t.Errorf("Disconnect = %d, want 1", n)
	}
	m := <-joined
	if m == nil {
		return
	}
	if !errors.As(m.Err(), new(*RemovedError)) {
		t.Errorf("the member joining meanwhile: Err = %v, want a *RemovedError", m.Err())
	}
}

func TestDisconnectAfterCloseEndsNothing(t *testing.T) {
	r := openRoom(t, &memHistory{}, RoomConfig{})
	m := join(t, r, "alice")
	r.Close()
	if n := r.Disconnect("alice", "gone"); n != 0 {
		t.Errorf("Disconnect after Close = %d, want 0", n)
	}
	if !errors.Is(m.Err(), ErrRoomClosed) {
		t.Errorf("Err = %v, want ErrRoomClosed", m.Err())
	}
}

// Hidden members, sessions, Disconnect and eviction racing (run with
// -race): once every member has ended, no account is routed, and each
// name went offline as many times as it came online.
func TestWatchersJoinAndDisconnectConcurrently(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 4, OutboxSize: 4, MaxPending: 4, EvictAfter: 20 * time.Millisecond})
	names := []string{"alice", "bob"}
	for _, name := range names {
		dir(r).addAccount(name)
	}
	ctx, stop := context.WithCancel(testCtx(t))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := 0; ctx.Err() == nil; j++ {
				name := names[(i+j)%2]
				join := r.Join
				if i%2 == 0 {
					join = r.Watch
				}
				m, err := join(ctx, name)
				if err != nil {
					return
				}
				_, _ = m.Receive(ctx)
				if j%3 == 0 {
					r.Disconnect(name, "again")
				}
				m.Leave()
			}
		})
	}
	carol := join(t, r, "carol") // never reads: evicted now and then
	for i := range 200 {
		err := carol.Post(ctx, KindText, fmt.Sprint(i))
		if errors.Is(err, ErrLeft) {
			carol = join(t, r, "carol")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	stop()
	wg.Wait()
	// Every notice is queued by now: stored before this post.
	if err := join(t, r, "dave").Post(testCtx(t), KindText, "sync"); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if routed(r, name) {
			t.Errorf("%s still routed after every member ended", name)
		}
		if j, l := notices(h, KindJoin, name), notices(h, KindLeave, name); j != l || j == 0 {
			t.Errorf("%s: %d join notices and %d leave notices, want as many, and some", name, j, l)
		}
	}
}
