package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// post posts body as text in conv and waits for its commit.
func post(t testing.TB, m *Member, conv int64, body string) {
	t.Helper()
	if err := m.PostTo(testCtx(t), conv, KindText, body); err != nil {
		t.Fatalf("%s posts %q: %v", m.Name(), body, err)
	}
}

// enterChannel joins (or creates) the channel name.
func enterChannel(t testing.TB, m *Member, name string) Conversation {
	t.Helper()
	c, err := m.JoinChannel(testCtx(t), name)
	if err != nil {
		t.Fatalf("%s joins %s: %v", m.Name(), name, err)
	}
	return c
}

// direct opens the direct conversation of m with name.
func direct(t testing.TB, m *Member, name string) Conversation {
	t.Helper()
	c, err := m.Direct(testCtx(t), name)
	if err != nil {
		t.Fatalf("%s opens a direct conversation with %s: %v", m.Name(), name, err)
	}
	return c
}

// inConv keeps the messages of conv.
func inConv(msgs []Message, conv int64) []Message {
	return slices.DeleteFunc(slices.Clone(msgs), func(m Message) bool { return m.Conv != conv })
}

// bodies are the bodies of the texts among msgs.
func bodies(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Kind == KindText {
			out = append(out, m.Body)
		}
	}
	return out
}

// Every member of a conversation sees its messages in the same order, the
// order stored, and never a message of a conversation it is not in: 50
// channels of 20 members each, 100 accounts in 10 channels each, posting
// at once.
func TestOrderingPerConversation(t *testing.T) {
	const channels, perChannel, accounts, posts = 50, 20, 100, 10
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 4, OutboxSize: 512, MaxPending: 4096})
	ctx := testCtx(t)
	members := make([]*Member, accounts)
	got := make([][]Message, accounts)
	var readers sync.WaitGroup
	for i := range members {
		members[i] = join(t, r, fmt.Sprintf("u%03d", i))
		readers.Go(func() {
			got[i] = receiveUntil(t, members[i], func(m Message) bool { return m.Conv == lobby(r) && m.Body == "end" })
		})
	}
	// Channel c's members are the accounts 2c, 2c+1, ... 2c+19 (mod 100).
	in := make([]map[int64]bool, accounts) // the conversations each account is in
	for i := range in {
		in[i] = map[int64]bool{lobby(r): true}
	}
	convs := make([]Conversation, channels)
	chanMembers := make([][]*Member, channels)
	for c := range channels {
		for j := range perChannel {
			i := (2*c + j) % accounts
			convs[c] = enterChannel(t, members[i], fmt.Sprintf("#ch%02d", c))
			in[i][convs[c].ID] = true
			chanMembers[c] = append(chanMembers[c], members[i])
		}
	}
	var writers sync.WaitGroup
	for c := range channels {
		writers.Go(func() {
			for k := range posts {
				m := chanMembers[c][k%perChannel]
				if err := m.PostTo(ctx, convs[c].ID, KindText, fmt.Sprintf("ch%02d-%d", c, k)); err != nil {
					t.Errorf("%s posts in #ch%02d: %v", m.Name(), c, err)
				}
			}
		})
	}
	writers.Wait()
	post(t, members[0], lobby(r), "end") // delivered after everything stored before it
	readers.Wait()
	if t.Failed() {
		return
	}

	stored := make(map[int64][]int64) // conv -> the IDs of its posts, in order
	for _, m := range h.all() {
		if m.Kind == KindText {
			stored[m.Conv] = append(stored[m.Conv], m.ID)
		}
	}
	for c := range channels {
		if n := len(stored[convs[c].ID]); n != posts {
			t.Fatalf("#ch%02d has %d posts stored, want %d", c, n, posts)
		}
	}
	for i, msgs := range got {
		name := members[i].Name()
		received := make(map[int64][]int64)
		for k, m := range msgs {
			if k > 0 && m.ID <= msgs[k-1].ID {
				t.Errorf("%s: ID %d after %d", name, m.ID, msgs[k-1].ID)
			}
			if !in[i][m.Conv] {
				t.Errorf("%s received message %d (%q) of conversation %d, which it is not in", name, m.ID, m.Body, m.Conv)
			}
			if m.Kind == KindText {
				received[m.Conv] = append(received[m.Conv], m.ID)
			}
		}
		for conv := range in[i] {
			if !slices.Equal(received[conv], stored[conv]) {
				t.Errorf("%s: conversation %d: received posts %v, stored %v", name, conv, received[conv], stored[conv])
			}
		}
	}
}

// A direct conversation reaches its two accounts (every session of each)
// and nobody else, who cannot read, post or even name it, however they
// guess its ID.
func TestDirectMessagesReachOnlyTheTwo(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 2})
	ctx := testCtx(t)
	alice, bob, carol := join(t, r, "alice"), join(t, r, "bob"), join(t, r, "carol")
	bob2 := join(t, r, "Bob") // a second session of bob
	dm := direct(t, alice, "BOB")
	if dm.Kind != Direct || dm.Peers != [2]string{"alice", "bob"} || dm.Title("alice") != "@bob" || dm.Title("Bob") != "@alice" {
		t.Errorf("Direct = %+v: want a direct conversation of alice and bob", dm)
	}
	if again := direct(t, bob2, "alice"); again.ID != dm.ID {
		t.Errorf("bob's Direct with alice is conversation %d, alice's with bob %d: want one", again.ID, dm.ID)
	}
	post(t, alice, dm.ID, "hi bob")
	post(t, bob, dm.ID, "hi alice")
	post(t, carol, lobby(r), "end")

	for _, m := range []*Member{alice, bob, bob2} {
		got := bodies(inConv(receiveUntil(t, m, body("end")), dm.ID))
		if want := []string{"hi bob", "hi alice"}; !slices.Equal(got, want) {
			t.Errorf("%s received %q in the direct conversation, want %q", m.Name(), got, want)
		}
	}
	for _, m := range receiveUntil(t, carol, body("end")) {
		if m.Conv == dm.ID || strings.HasPrefix(m.Body, "hi ") {
			t.Errorf("carol received %+v", m)
		}
	}

	// carol guesses every conversation ID there is, and some that are not.
	channel := enterChannel(t, alice, "#elsewhere")
	for id := int64(-1); id <= channel.ID+2; id++ {
		if id == lobby(r) {
			continue
		}
		what := fmt.Sprint("conversation ", id)
		if _, err := carol.Recent(ctx, id); !errors.Is(err, ErrNoConversation) {
			t.Errorf("carol reads %s: Recent = %v, want ErrNoConversation", what, err)
		}
		if _, err := carol.Older(ctx, id, 0, 500); !errors.Is(err, ErrNoConversation) {
			t.Errorf("carol reads %s: Older = %v, want ErrNoConversation", what, err)
		}
		if _, err := carol.Send(id, KindText, "let me in"); !errors.Is(err, ErrNoConversation) {
			t.Errorf("carol posts in %s: Send = %v, want ErrNoConversation", what, err)
		}
		if err := carol.Part(ctx, id); !errors.Is(err, ErrNoConversation) {
			t.Errorf("carol leaves %s: Part = %v, want ErrNoConversation", what, err)
		}
		c, err := carol.Conversation(ctx, id)
		if public := id == channel.ID; public != (err == nil) || (err != nil && !errors.Is(err, ErrNoConversation)) {
			t.Errorf("carol looks up %s: %+v, %v", what, c, err)
		}
		carol.MarkRead(id, 1_000_000)
	}
	if carol.In(dm.ID) {
		t.Error("carol is in the direct conversation")
	}
	if names := onlineNames(r, dm.ID); !slices.Equal(names, []string{"alice", "bob"}) {
		t.Errorf("online in the direct conversation: %q", names)
	}
	for _, m := range h.all() {
		if m.Body == "let me in" {
			t.Error("carol's post was stored")
		}
	}
	if _, member := dir(r).lastRead(dm.ID, "carol"); member {
		t.Error("carol became a member of the direct conversation")
	}
}

// A direct message to an account offline is stored, counted unread in its
// Memberships and shown by Recent when it joins; then it arrives live, and
// what it marked read stays read.
func TestDirectMessageToAnOfflineAccount(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{}, "bob")
	ctx := testCtx(t)
	alice := join(t, r, "alice")
	dm := direct(t, alice, "bob")
	for _, b := range []string{"one", "two", "three"} {
		post(t, alice, dm.ID, b)
	}

	bob := join(t, r, "bob")
	i := slices.IndexFunc(bob.Memberships(), func(ms Membership) bool { return ms.Conv.ID == dm.ID })
	if i < 0 {
		t.Fatalf("bob's memberships %+v lack the direct conversation", bob.Memberships())
	}
	if ms := bob.Memberships()[i]; ms.Unread != 3 || ms.LastRead != 0 || ms.Conv.Peer("bob") != "alice" {
		t.Errorf("bob's membership of the direct conversation: %+v, want 3 unread from alice", ms)
	}
	recent, err := bob.Recent(ctx, dm.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bodies(recent), []string{"one", "two", "three"}; !slices.Equal(got, want) {
		t.Errorf("bob's Recent: %q, want %q", got, want)
	}
	post(t, alice, dm.ID, "four")
	got := receiveUntil(t, bob, body("four"))
	bob.MarkRead(dm.ID, got[len(got)-1].ID)
	bob.Leave()

	bob = join(t, r, "bob")
	i = slices.IndexFunc(bob.Memberships(), func(ms Membership) bool { return ms.Conv.ID == dm.ID })
	if ms := bob.Memberships()[i]; ms.Unread != 0 || ms.LastRead != got[len(got)-1].ID {
		t.Errorf("bob's membership after reading up to %d: %+v, want nothing unread", got[len(got)-1].ID, ms)
	}
}

// After Part or Uninvite returns, nothing more of the channel reaches any
// session of the account that left it, which reads it no more; the
// KindLeave addressed to it reaches its other sessions.
func TestLeavingAChannelStopsItsMessages(t *testing.T) {
	tests := []struct {
		name     string
		private  bool
		leave    func(t *testing.T, owner, leaver *Member, team Conversation)
		rejoinOK bool
	}{
		{"part", false, func(t *testing.T, owner, leaver *Member, team Conversation) {
			if err := leaver.Part(testCtx(t), team.ID); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"part an invite-only one", true, func(t *testing.T, owner, leaver *Member, team Conversation) {
			if err := leaver.Part(testCtx(t), team.ID); err != nil {
				t.Fatal(err)
			}
		}, true}, // still invited
		{"uninvite", true, func(t *testing.T, owner, leaver *Member, team Conversation) {
			if err := owner.Uninvite(testCtx(t), team.ID, "BOB"); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &memHistory{}
			r := newTestRoom(t, h, RoomConfig{Workers: 3})
			ctx := testCtx(t)
			alice, carol := join(t, r, "alice"), join(t, r, "carol")
			bob1, bob2 := join(t, r, "bob"), join(t, r, "bob")
			team := enterChannel(t, alice, "#team")
			enterChannel(t, carol, "#team")
			if tt.private {
				if _, err := alice.SetPrivate(ctx, team.ID, true); err != nil {
					t.Fatal(err)
				}
				if err := alice.Invite(ctx, team.ID, "bob"); err != nil {
					t.Fatal(err)
				}
			}
			enterChannel(t, bob1, "#team")
			post(t, alice, team.ID, "before")
			for _, m := range []*Member{bob1, bob2} {
				receiveUntil(t, m, body("before"))
			}

			tt.leave(t, alice, bob1, team)
			for _, m := range []*Member{bob1, bob2} {
				receiveUntil(t, m, func(msg Message) bool {
					return msg.Kind == KindLeave && msg.Conv == team.ID && msg.To == "bob"
				})
			}
			post(t, alice, team.ID, "after")
			post(t, alice, lobby(r), "end")
			for _, m := range []*Member{bob1, bob2} {
				for _, msg := range receiveUntil(t, m, body("end")) {
					if msg.Conv == team.ID {
						t.Errorf("%s received %+v after leaving", m.Name(), msg)
					}
				}
				if _, err := m.Recent(ctx, team.ID); !errors.Is(err, ErrNoConversation) {
					t.Errorf("Recent after leaving = %v, want ErrNoConversation", err)
				}
				if _, err := m.Send(team.ID, KindText, "still here?"); !errors.Is(err, ErrNoConversation) {
					t.Errorf("Send after leaving = %v, want ErrNoConversation", err)
				}
			}
			if got := bodies(receiveUntil(t, carol, body("after"))); !slices.Contains(got, "after") {
				t.Errorf("carol, still in, did not receive the post after bob left: %q", got)
			}
			if names := onlineNames(r, team.ID); !slices.Equal(names, []string{"alice", "carol"}) {
				t.Errorf("online in #team: %q", names)
			}
			if member, _ := dir(r).IsMember(ctx, team.ID, "bob"); member {
				t.Error("bob is still a member in the Directory")
			}
			_, err := bob2.JoinChannel(ctx, "#team")
			if tt.rejoinOK != (err == nil) {
				t.Errorf("joining again: %v", err)
			}
			if err == nil && (!bob1.In(team.ID) || !bob2.In(team.ID)) {
				t.Error("after joining again, not every session of bob is in #team")
			}
		})
	}
}

// An invite-only channel takes its members and those invited; to anyone
// else it does not exist.
func TestInviteOnlyChannel(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{})
	ctx := testCtx(t)
	alice, bob, carol := join(t, r, "alice"), join(t, r, "bob"), join(t, r, "carol")
	secret := enterChannel(t, alice, "#secret")
	enterChannel(t, carol, "#secret") // a member before it became invite-only stays
	if _, err := alice.SetPrivate(ctx, secret.ID, true); err != nil {
		t.Fatal(err)
	}

	var refusal Refusal
	if _, err := bob.JoinChannel(ctx, "#Secret"); !errors.As(err, &refusal) || !strings.Contains(err.Error(), "not available") {
		t.Errorf("bob, not invited, joins: %v, want a refusal that says no more than a taken name", err)
	}
	if _, err := bob.Conversation(ctx, secret.ID); !errors.Is(err, ErrNoConversation) {
		t.Errorf("bob looks it up: %v, want ErrNoConversation", err)
	}
	list, err := bob.Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(list, func(c ChannelInfo) bool { return c.Conv.ID == secret.ID }) {
		t.Error("bob's /list shows the invite-only channel")
	}
	if !carol.In(secret.ID) {
		t.Error("carol, a member, was dropped when it became invite-only")
	}

	if err := alice.Invite(ctx, secret.ID, "BOB"); err != nil {
		t.Fatal(err)
	}
	invitation := receiveUntil(t, bob, func(m Message) bool { return m.Kind == KindSystem && m.To == "bob" })
	if last := invitation[len(invitation)-1]; last.Conv != secret.ID || !strings.Contains(last.Body, "/join #secret") {
		t.Errorf("bob's invitation: %+v", last)
	}
	if c, err := bob.Conversation(ctx, secret.ID); err != nil || c.Name != "#secret" {
		t.Errorf("bob, invited, looks it up: %+v, %v", c, err)
	}
	if _, err := bob.Recent(ctx, secret.ID); !errors.Is(err, ErrNoConversation) {
		t.Errorf("bob, invited but not in, reads its history: %v, want ErrNoConversation", err)
	}
	enterChannel(t, bob, "#secret")
	post(t, alice, secret.ID, "welcome")
	receiveUntil(t, bob, body("welcome"))

	dave := join(t, r, "dave")
	if _, err := dave.JoinChannel(ctx, "#secret"); !errors.As(err, &refusal) {
		t.Errorf("dave, not invited, joins: %v, want a refusal", err)
	}
	post(t, alice, lobby(r), "end")
	for _, m := range receiveUntil(t, dave, body("end")) {
		if m.Conv == secret.ID {
			t.Errorf("dave received %+v", m)
		}
	}
}

// The limits on channels, per account and in all, refuse in words and
// change nothing.
func TestChannelLimits(t *testing.T) {
	tests := []struct {
		name      string
		cfg       RoomConfig
		bobMakes  []string // channels bob creates first
		aliceJoin []string // alice joins these, all accepted
		refused   string   // then this one is refused
		says      string
	}{
		{"per account, creating", RoomConfig{ChannelsPerAccount: 3}, nil, []string{"#aa", "#bb"}, "#cc",
			"You are in 3 channels, the most one account may be in: /part one first."},
		{"per account, joining", RoomConfig{ChannelsPerAccount: 3}, []string{"#xx"}, []string{"#aa", "#bb"}, "#xx",
			"You are in 3 channels, the most one account may be in: /part one first."},
		{"in all", RoomConfig{MaxChannels: 3}, []string{"#aa", "#bb"}, []string{"#aa"}, "#cc",
			"Cannot create #cc: the server has its limit of 3 channels. Join one from /list."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRoom(t, &memHistory{}, tt.cfg)
			ctx := testCtx(t)
			alice, bob := join(t, r, "alice"), join(t, r, "bob")
			for _, name := range tt.bobMakes {
				enterChannel(t, bob, name)
			}
			var first Conversation
			for i, name := range tt.aliceJoin {
				c := enterChannel(t, alice, name)
				if i == 0 {
					first = c
				}
			}
			_, err := alice.JoinChannel(ctx, tt.refused)
			var refusal Refusal
			if !errors.As(err, &refusal) || err.Error() != tt.says {
				t.Fatalf("joining %s: %v, want %q", tt.refused, err, tt.says)
			}
			if c, err := r.dir.Channel(ctx, tt.refused); err == nil && c.Owner == "alice" {
				t.Errorf("the refused channel was created: %+v", c)
			}
			if slices.ContainsFunc(alice.Memberships(), func(ms Membership) bool { return ms.Conv.Name == tt.refused }) {
				t.Error("alice is in the refused channel")
			}
			if tt.cfg.ChannelsPerAccount > 0 { // leaving one makes room
				if err := alice.Part(ctx, first.ID); err != nil {
					t.Fatal(err)
				}
				enterChannel(t, alice, tt.refused)
			}
		})
	}
}

// Ignoring an account hides its posts and direct messages from the one
// who ignores it, live and in history, from every session and the next
// ones, and from nobody else.
func TestIgnoreHidesPostsFromTheIgnorerOnly(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{Workers: 2})
	ctx := testCtx(t)
	alice, bob, carol := join(t, r, "alice"), join(t, r, "bob"), join(t, r, "carol")
	dm := direct(t, bob, "alice")
	post(t, bob, lobby(r), "bob before")
	if who, err := alice.Ignore(ctx, "BOB", true); err != nil || who != "bob" {
		t.Fatalf("Ignore = %q, %v", who, err)
	}
	if names, _ := alice.Ignored(ctx); !slices.Equal(names, []string{"bob"}) {
		t.Errorf("Ignored = %q", names)
	}
	post(t, bob, lobby(r), "bob in the lobby")
	post(t, bob, dm.ID, "bob in private")
	if err := bob.PostTo(ctx, lobby(r), KindAction, "waves"); err != nil {
		t.Fatal(err)
	}
	post(t, carol, lobby(r), "carol")
	post(t, alice, lobby(r), "end")

	// bob's first post, committed before the ignore, may arrive live
	// before it or after; history hides it.
	hidden := func(who string, msgs []Message) {
		t.Helper()
		for _, m := range msgs {
			if m.Author == "bob" && (m.Kind == KindText || m.Kind == KindAction) && (m.Body != "bob before" || who != "live") {
				t.Errorf("%s: %+v shown though bob is ignored", who, m)
			}
		}
	}
	got := receiveUntil(t, alice, body("end"))
	hidden("live", got)
	if !slices.Contains(bodies(got), "carol") {
		t.Error("alice did not receive carol's post")
	}
	for _, conv := range []int64{lobby(r), dm.ID} {
		recent, err := alice.Recent(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		hidden("Recent", recent)
		older, err := alice.Older(ctx, conv, 1<<40, 500)
		if err != nil {
			t.Fatal(err)
		}
		hidden("Older", older)
	}
	if got := bodies(receiveUntil(t, carol, body("end"))); !slices.Contains(got, "bob in the lobby") {
		t.Errorf("carol received %q: want bob's post, which only alice ignores", got)
	}
	if recent, _ := carol.Recent(ctx, lobby(r)); !slices.Contains(bodies(recent), "bob in the lobby") {
		t.Error("carol's Recent lacks bob's post")
	}

	// A new session of alice, alone, loads the ignore from the Directory.
	alice.Leave()
	alice = join(t, r, "alice")
	post(t, bob, dm.ID, "bob again")
	post(t, carol, lobby(r), "end2")
	hidden("next session", receiveUntil(t, alice, body("end2")))

	if _, err := alice.Ignore(ctx, "bob", false); err != nil {
		t.Fatal(err)
	}
	post(t, bob, dm.ID, "bob unignored")
	receiveUntil(t, alice, body("bob unignored"))
	if recent, _ := alice.Recent(ctx, dm.ID); !slices.Equal(bodies(recent), []string{"bob in private", "bob again", "bob unignored"}) {
		t.Errorf("Recent after unignoring: %q", bodies(recent))
	}

	if _, err := alice.Ignore(ctx, "alice", true); err == nil {
		t.Error("alice ignored herself")
	}
	if _, err := alice.Ignore(ctx, "nobody", true); err == nil {
		t.Error("alice ignored an account that does not exist")
	}
}

// Away and back are told in each channel of the account, once, and shown
// by Presence and Online; a post brings its author back, the notice first.
func TestAwayAndBack(t *testing.T) {
	tests := []struct {
		name string
		back func(t *testing.T, m *Member, conv int64)
		post bool // the back notices come just before this post
	}{
		{"Back", func(t *testing.T, m *Member, conv int64) { m.Back() }, false},
		{"posting", func(t *testing.T, m *Member, conv int64) { post(t, m, conv, "I'm back") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &memHistory{}
			r := newTestRoom(t, h, RoomConfig{Workers: 2})
			alice, bob := join(t, r, "alice"), join(t, r, "bob")
			dev := enterChannel(t, alice, "#dev")
			enterChannel(t, bob, "#dev")
			direct(t, alice, "bob")
			// notices of kind in the messages bob receives up to his post
			// mark (notices queued before a post are stored before it)
			notices := func(kind Kind, mark string) (convs []int64, msgs []Message) {
				t.Helper()
				post(t, bob, lobby(r), mark)
				msgs = receiveUntil(t, bob, body(mark))
				for _, m := range msgs {
					if m.Kind == kind {
						if m.Author != "alice" {
							t.Errorf("notice %+v", m)
						}
						convs = append(convs, m.Conv)
					}
				}
				slices.Sort(convs)
				return convs, msgs
			}
			channels := []int64{lobby(r), dev.ID}

			alice.SetAway("out\x1b[2J for lunch ")
			aways, msgs := notices(KindAway, "mark1")
			if !slices.Equal(aways, channels) {
				t.Errorf("away notices in %v, want one in each channel %v, none elsewhere", aways, channels)
			}
			for _, m := range msgs {
				if m.Kind == KindAway && m.Body != "out[2J for lunch" {
					t.Errorf("away notice %+v: want the reason sanitised", m)
				}
			}
			if p, ok := r.Presence("ALICE"); !ok || !p.IsAway || p.Away != "out[2J for lunch" {
				t.Errorf("Presence = %+v, %v", p, ok)
			}
			if ps := r.Online(dev.ID); len(ps) != 2 || !ps[0].IsAway || ps[1].IsAway {
				t.Errorf("Online(#dev) = %+v, want alice away, bob here", ps)
			}

			tt.back(t, alice, dev.ID)
			backs, msgs := notices(KindBack, "mark2")
			if !slices.Equal(backs, channels) {
				t.Errorf("back notices in %v, want one in each channel %v", backs, channels)
			}
			if tt.post {
				i := slices.IndexFunc(msgs, func(m Message) bool { return m.Body == "I'm back" })
				j := slices.IndexFunc(msgs, func(m Message) bool { return m.Kind == KindBack && m.Conv == dev.ID })
				if i < 0 || j < 0 || j > i {
					t.Errorf("the back notice (at %d) does not come before the post (at %d)", j, i)
				}
			}
			if p, _ := r.Presence("alice"); p.IsAway || p.Away != "" {
				t.Errorf("Presence after coming back = %+v", p)
			}

			alice.Back() // not away: nothing to tell
			if backs, _ := notices(KindBack, "mark3"); len(backs) != 0 {
				t.Errorf("Back when not away posted notices in %v", backs)
			}
		})
	}
}

// Read pointers are stored by the bookkeeper within bookInterval, and by Close
// at the latest; last-seen times when the account goes and at Close.
func TestReadPointersAndLastSeenAreStored(t *testing.T) {
	h := &memHistory{}
	r := openRoom(t, h, RoomConfig{})
	defer r.Close()
	d := dir(r)
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	post(t, alice, lobby(r), "one")
	first := h.all()[h.len()-1].ID
	alice.MarkRead(lobby(r), first)
	bob.Leave()
	waitFor(t, "the bookkeeper to store alice's read pointer and when bob left", func() bool {
		id, _ := d.lastRead(lobby(r), "alice")
		return id == first && !d.lastSeen("bob").IsZero()
	})

	post(t, alice, lobby(r), "two")
	second := h.all()[h.len()-1].ID
	alice.MarkRead(lobby(r), second)
	alice.MarkRead(lobby(r), second-1) // a pointer never moves back
	r.Close()
	if id, _ := d.lastRead(lobby(r), "alice"); id != second {
		t.Errorf("after Close, alice's read pointer is %d, want %d", id, second)
	}
	if d.lastSeen("alice").IsZero() {
		t.Error("Close did not store when alice, online, was last seen")
	}
}

// Whois lists the channels both are in, and never one the asker is not
// in, public or not.
func TestWhoisListsOnlyChannelsInCommon(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{}, "dave")
	ctx := testCtx(t)
	alice, bob, carol := join(t, r, "alice"), join(t, r, "bob"), join(t, r, "carol")
	a := enterChannel(t, alice, "#aa")
	enterChannel(t, bob, "#aa")
	p := enterChannel(t, alice, "#pp")
	if _, err := alice.SetPrivate(ctx, p.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := alice.Invite(ctx, p.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	enterChannel(t, bob, "#pp")
	q := enterChannel(t, bob, "#qq")
	if _, err := bob.SetPrivate(ctx, q.ID, true); err != nil {
		t.Fatal(err)
	}
	enterChannel(t, bob, "#rr")
	direct(t, alice, "bob")

	tests := []struct {
		asker  *Member
		about  string
		common []string
		online bool
	}{
		{alice, "bob", []string{"#aa", "#lobby", "#pp"}, true},
		{bob, "ALICE", []string{"#aa", "#lobby", "#pp"}, true},
		{carol, "bob", []string{"#lobby"}, true},
		{bob, "carol", []string{"#lobby"}, true},
		{alice, "dave", nil, false}, // never logged in: in no channel
	}
	for _, tt := range tests {
		w, err := tt.asker.Whois(ctx, tt.about)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(w.Common, tt.common) || w.Online != tt.online || w.Name != strings.ToLower(tt.about) {
			t.Errorf("%s's whois of %s: %+v, want channels in common %q, online %v", tt.asker.Name(), tt.about, w, tt.common, tt.online)
		}
		if tt.online && w.Presence.Name != w.Name {
			t.Errorf("%s's whois of %s: presence %+v", tt.asker.Name(), tt.about, w.Presence)
		}
	}
	if _, err := alice.Whois(ctx, "nobody"); !errors.As(err, new(Refusal)) {
		t.Errorf("whois of nobody: %v, want a refusal", err)
	}
	_ = a
}

// The routing of an account that is joining follows every change the
// Directory makes meanwhile: none is lost between the Join's load and its
// registration. A hook in the Directory starts the change while the Join
// loads.
func TestRoutingFollowsChangesMadeWhileJoining(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, r *Room, alice *Member) int64 // the conversation concerned
		change func(ctx context.Context, alice *Member, conv int64) error
		in     bool // bob is in it afterwards
	}{
		{"uninvited", func(t *testing.T, r *Room, alice *Member) int64 {
			s := enterChannel(t, alice, "#ss")
			if _, err := alice.SetPrivate(testCtx(t), s.ID, true); err != nil {
				t.Fatal(err)
			}
			if err := alice.Invite(testCtx(t), s.ID, "bob"); err != nil {
				t.Fatal(err)
			}
			bob := join(t, r, "bob")
			enterChannel(t, bob, "#ss")
			bob.Leave()
			return s.ID
		}, func(ctx context.Context, alice *Member, conv int64) error {
			return alice.Uninvite(ctx, conv, "bob")
		}, false},
		{"written to", func(t *testing.T, r *Room, alice *Member) int64 {
			return 0 // created by the change
		}, func(ctx context.Context, alice *Member, conv int64) error {
			_, err := alice.Direct(ctx, "bob")
			return err
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 {
				r := newTestRoom(t, &memHistory{}, RoomConfig{}, "bob")
				d := dir(r)
				ctx := testCtx(t)
				alice := join(t, r, "alice")
				conv := tt.setup(t, r, alice)
				changed := make(chan error, 1)
				var once sync.Once
				d.mu.Lock()
				d.hook = func(method, account string) {
					if method == "Ignored" && account == "bob" { // load has read the memberships
						once.Do(func() { go func() { changed <- tt.change(ctx, alice, conv) }() })
					}
				}
				d.mu.Unlock()
				bob := join(t, r, "bob")
				if err := <-changed; err != nil {
					t.Fatal(err)
				}
				if conv == 0 {
					conv = direct(t, alice, "bob").ID
				}
				member, _ := d.IsMember(ctx, conv, "bob")
				if bob.In(conv) != member || member != tt.in {
					t.Fatalf("bob routed to conversation %d: %v; a member in the Directory: %v; want %v", conv, bob.In(conv), member, tt.in)
				}
			}
		})
	}
}

// A member that has left changes nothing more: not the routing of its
// account's next session, nor who is online.
func TestALeftMemberChangesNothing(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{})
	ctx := testCtx(t)
	bob := join(t, r, "bob")
	dev := enterChannel(t, bob, "#dev")
	old := join(t, r, "alice")
	enterChannel(t, old, "#dev")
	old.Leave()
	alice := join(t, r, "alice") // the account's next session
	if _, err := old.JoinChannel(ctx, "#other"); !errors.Is(err, ErrLeft) {
		t.Errorf("JoinChannel after Leave = %v, want ErrLeft", err)
	}
	if err := old.Part(ctx, dev.ID); !errors.Is(err, ErrLeft) {
		t.Errorf("Part after Leave = %v, want ErrLeft", err)
	}
	if _, err := old.Direct(ctx, "bob"); !errors.Is(err, ErrLeft) {
		t.Errorf("Direct after Leave = %v, want ErrLeft", err)
	}
	if _, err := old.Recent(ctx, dev.ID); !errors.Is(err, ErrLeft) {
		t.Errorf("Recent after Leave = %v, want ErrLeft", err)
	}
	old.SetAway("gone")
	if p, _ := r.Presence("alice"); p.IsAway {
		t.Error("a left session set its account's next session away")
	}
	if !alice.In(dev.ID) {
		t.Error("the next session is not in #dev")
	}
	if names := onlineNames(r, dev.ID); !slices.Equal(names, []string{"alice", "bob"}) {
		t.Errorf("online in #dev: %q", names)
	}
	if ms := alice.Memberships(); len(ms) != 2 {
		t.Errorf("alice's memberships: %+v", ms)
	}
}

// A topic set while the channel becomes invite-only does not make it
// public again: each stores the whole channel as it read it.
func TestTopicAndAccessChangesDoNotUndoEachOther(t *testing.T) {
	for i := range 20 {
		r := newTestRoom(t, &memHistory{}, RoomConfig{})
		ctx := testCtx(t)
		alice := join(t, r, "alice")
		team := enterChannel(t, alice, "#team")
		var changes sync.WaitGroup
		changes.Go(func() {
			if _, err := alice.SetTopic(ctx, team.ID, fmt.Sprint("topic ", i)); err != nil {
				t.Error(err)
			}
		})
		changes.Go(func() {
			if _, err := alice.SetPrivate(ctx, team.ID, true); err != nil {
				t.Error(err)
			}
		})
		changes.Wait()
		c, err := r.dir.Conversation(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Private || c.Topic != fmt.Sprint("topic ", i) {
			t.Fatalf("after SetTopic and SetPrivate at once: %+v, want both", c)
		}
	}
}
