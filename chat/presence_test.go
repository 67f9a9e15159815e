package chat

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// presenceSeen is what one member received of presence: the login notices
// and the names they carry, the logout notices, the events.
type presenceSeen struct {
	joins, leaves, events int
	joined, left          []string // every name named, "+N" counted as N "?"
	posts                 []Message
}

func (p *presenceSeen) add(msgs []Message) {
	for _, msg := range msgs {
		switch {
		case msg.Kind == KindPresence:
			p.events++
		case msg.Kind == KindJoin && msg.To == "":
			p.joins++
			p.joined = append(p.joined, named(msg)...)
		case msg.Kind == KindLeave && msg.To == "":
			p.leaves++
			p.left = append(p.left, named(msg)...)
		default:
			p.posts = append(p.posts, msg)
		}
	}
}

// named lists who a login or logout notice names, the ones it counts as
// "?".
func named(msg Message) []string {
	names, more := msg.Names()
	for range more {
		names = append(names, "?")
	}
	return names
}

// receiveWhile receives into seen until done holds, within the test's
// deadline.
func receiveWhile(t *testing.T, m *Member, seen *presenceSeen, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for !done() {
		msgs, err := m.Receive(ctx)
		if err != nil {
			t.Fatalf("%s: Receive: %v (seen %d joins naming %d, %d events)", m.Name(), err, seen.joins, len(seen.joined), seen.events)
		}
		seen.add(msgs)
	}
}

// receiveFor receives into seen for d.
func receiveFor(t *testing.T, m *Member, seen *presenceSeen, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		msgs, err := m.Receive(ctx)
		if err != nil {
			if ctx.Err() == nil {
				t.Fatalf("%s: Receive: %v", m.Name(), err)
			}
			return
		}
		seen.add(msgs)
	}
}

func accountNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return names
}

// The bound: within a burst lasting d, a channel's login notices are one
// posted at once, then at most one per PresenceWindow, and one more for
// the window the burst ends in; the presence events at most one per
// presence tick, and one more.
func TestABurstOfJoinsGivesEachMemberABoundedNumberOfPresenceUpdates(t *testing.T) {
	const joining = 500
	window := 20 * time.Millisecond // short, so that the burst spans several
	names := accountNames("user", joining)
	r := newTestRoom(t, &memHistory{}, RoomConfig{Workers: 2, PresenceWindow: window, PresenceQuiet: -1}, append(names, "bob")...)
	bob := join(t, r, "bob")
	var seen presenceSeen
	receiveWhile(t, bob, &seen, func() bool { return seen.joins > 0 }) // bob's own

	seen = presenceSeen{}
	began := time.Now()
	for _, name := range names {
		join(t, r, name)
	}
	burst := time.Since(began)
	receiveWhile(t, bob, &seen, func() bool { return len(seen.joined) >= joining })
	if len(seen.joined) != joining {
		t.Errorf("the notices named %d people, want %d", len(seen.joined), joining)
	}
	for i, name := range seen.joined[:min(len(seen.joined), maxNamed)] {
		if name != names[i] {
			t.Fatalf("name %d in the notices is %q, want %q (in the order they came)", i, name, names[i])
		}
	}
	maxJoins := 2 + int(burst/window)
	if seen.joins > maxJoins {
		t.Errorf("%d joins in %v gave bob %d login notices, want at most %d", joining, burst, seen.joins, maxJoins)
	}
	want := append([]string{"bob"}, names...)
	waitFor(t, "everyone in the member list", func() bool { return slices.Equal(onlineNames(r, lobby(r)), want) })
	// The last event comes at the first tick after the last join.
	receiveFor(t, bob, &seen, 2*presenceTick)
	maxEvents := 2 + int((burst+2*presenceTick)/presenceTick)
	if seen.events > maxEvents {
		t.Errorf("%d joins in %v gave bob %d presence events, want at most %d", joining, burst, seen.events, maxEvents)
	}
	if seen.events == 0 {
		t.Error("no presence event told bob that the member list changed")
	}
	t.Logf("%d joins in %v: bob got %d login notices (bound %d) and %d presence events (bound %d)",
		joining, burst.Round(time.Millisecond), seen.joins, maxJoins, seen.events, maxEvents)
}

func TestAQuietChannelPostsNoLoginNoticesAndItsMemberListIsRight(t *testing.T) {
	const quiet = 10
	names := accountNames("user", 30)
	r := newTestRoom(t, &memHistory{}, RoomConfig{PresenceQuiet: quiet}, append(names, "bob")...)
	bob := join(t, r, "bob")
	members := []*Member{}
	for _, name := range names {
		members = append(members, join(t, r, name))
	}
	for _, m := range members[:5] {
		m.Leave()
	}
	bob.Send(lobby(r), KindText, "marker")
	var seen presenceSeen
	receiveWhile(t, bob, &seen, func() bool { return len(seen.posts) > 0 })
	// bob, then user000 to user009 make 11 online: quiet from there on.
	if len(seen.joined) != quiet || seen.leaves != 0 {
		t.Errorf("bob saw logins of %v and %d logout notices, want the first %d logins and no logout", seen.joined, seen.leaves, quiet)
	}
	want := append([]string{"bob"}, names[5:]...)
	if got := onlineNames(r, lobby(r)); !slices.Equal(got, want) {
		t.Errorf("online: %v, want %v", got, want)
	}
}

func TestComingAndGoingWithinTheWindowIsNotAnnounced(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{PresenceWindow: 400 * time.Millisecond}, "alice", "bob", "carol", "dave")
	alice := join(t, r, "alice")
	bob := join(t, r, "bob") // within alice's window: held
	bob.Leave()              // gone before it was said: nothing to say
	join(t, r, "carol")
	dave := join(t, r, "dave")
	var seen presenceSeen
	receiveWhile(t, alice, &seen, func() bool { return len(seen.joined) >= 3 })
	dave.Leave()
	join(t, r, "dave") // back before its logout was said
	alice.Send(lobby(r), KindText, "marker")
	receiveWhile(t, alice, &seen, func() bool { return len(seen.posts) > 0 })
	if want := []string{"alice", "carol", "dave"}; !slices.Equal(seen.joined, want) || seen.leaves != 0 {
		t.Errorf("alice saw logins of %v and %d logouts (%v), want %v and none", seen.joined, seen.leaves, seen.left, want)
	}
	if seen.joins != 2 {
		t.Errorf("%d login notices, want 2: alice's at once, carol and dave's together", seen.joins)
	}
}

func TestAPostBySomeoneWhoseLoginIsHeldComesAfterTheirLogin(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{PresenceWindow: time.Hour}, "alice", "bob")
	alice := join(t, r, "alice")
	bob := join(t, r, "bob")
	rc, err := bob.Send(lobby(r), KindText, "hi, I'm here")
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	got := receiveUntil(t, alice, body("hi, I'm here"))
	var order []string
	for _, msg := range got {
		order = append(order, fmt.Sprint(msg.Kind, " ", msg.Author))
	}
	want := []string{fmt.Sprint(KindJoin, " alice"), fmt.Sprint(KindJoin, " bob"), fmt.Sprint(KindText, " bob")}
	if !slices.Equal(order, want) {
		t.Errorf("alice saw %v, want %v", order, want)
	}
}

func TestOnlineIsOneSharedListUntilItChanges(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{}, "alice", "bob", "carol")
	alice := join(t, r, "alice")
	join(t, r, "bob")
	first, second := r.Online(lobby(r)), r.Online(lobby(r))
	if len(first) != 2 || &first[0] != &second[0] {
		t.Fatalf("two reads gave %v and %v, want one shared list of two", first, second)
	}
	alice.SetAway("lunch")
	after := r.Online(lobby(r))
	if &after[0] == &first[0] || !after[0].IsAway || first[0].IsAway {
		t.Errorf("after away: %+v (before %+v), want a new list with alice away and the old one unchanged", after[0], first[0])
	}
	join(t, r, "carol")
	if got := onlineNames(r, lobby(r)); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Errorf("online %v", got)
	}
	if appended := append(after, Presence{Name: "mallory"}); &appended[0] == &after[0] {
		t.Error("an append to the shared list writes into it")
	}
}

func TestWhoNamesEveryoneANoticeCarries(t *testing.T) {
	for _, tc := range []struct {
		msg  Message
		want string
	}{
		{Message{Kind: KindJoin, Author: "alice"}, "alice"},
		{Message{Kind: KindJoin, Author: "alice", Body: "bob"}, "alice and bob"},
		{Message{Kind: KindLeave, Author: "alice", Body: "bob carol"}, "alice, bob and carol"},
		{Message{Kind: KindJoin, Author: "alice", Body: "bob carol dave"}, "alice, bob, carol and 1 other"},
		{Message{Kind: KindJoin, Author: "alice", Body: "bob carol dave +36"}, "alice, bob, carol and 37 others"},
		{Message{Kind: KindJoin, Author: "alice", Body: "+2"}, "alice and 2 others"},
		{Message{Kind: KindLeave, Author: "alice", To: "alice", Body: "removed by bob"}, "alice"}, // a removal
		{Message{Kind: KindText, Author: "alice", Body: "bob carol"}, "alice"},
	} {
		if got := tc.msg.Who(); got != tc.want {
			t.Errorf("%+v: Who() = %q, want %q", tc.msg, got, tc.want)
		}
	}
	long := presenceNotice(1, true, accountNames("u", 120))
	if got, want := long.Who(), "u000, u001, u002 and 117 others"; got != want {
		t.Errorf("120 names: %q, want %q", got, want)
	}
	if n := len(strings.Fields(long.Body)); n != maxNamed {
		t.Errorf("120 names: the body holds %d fields, want %d (%d names and a count)", n, maxNamed, maxNamed-1)
	}
}

// Notices still waiting for their window when the room closes are posted
// as it closes: a server that stops tells who left with it (a clean stop
// of one of several nodes posted the first logout only).
func TestWaitingNoticesArePostedOnClose(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{PresenceWindow: time.Second}, "alice", "bob", "carol")
	names := []string{"alice", "bob", "carol"}
	var members []*Member
	for _, name := range names {
		members = append(members, join(t, r, name))
	}
	// alice's login is told at once, bob's and carol's when the window
	// after it ends; the logouts then wait for the window after that.
	waitFor(t, "the login notices", func() bool {
		return countNotices(h, KindJoin, "bob") == 1 && countNotices(h, KindJoin, "carol") == 1
	})
	for _, m := range members {
		m.Leave()
	}
	r.Close()
	for _, name := range names {
		if joins, leaves := countNotices(h, KindJoin, name), countNotices(h, KindLeave, name); joins != 1 || leaves != 1 {
			t.Errorf("%s: %d login and %d logout notices stored, want 1 each", name, joins, leaves)
		}
	}
}
