package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"messaging/chat"
	"messaging/store"
)

// A message without a conversation would be stored where nobody reads it:
// Append refuses the whole batch.
func testAppendWithoutConversation(t *testing.T, s store.Store) {
	ctx := t.Context()
	lobby := lobbyID(t, s)
	for _, msgs := range [][]chat.Message{texts(0, 1), texts(lobby, 3)} {
		msgs[len(msgs)-1].Conv = 0
		if err := s.Append(ctx, msgs); err == nil {
			t.Errorf("Append of %d messages, one without a conversation, succeeded", len(msgs))
		}
		for i, m := range msgs {
			if m.ID != 0 {
				t.Errorf("after a failed Append msgs[%d].ID = %d, want 0", i, m.ID)
			}
		}
	}
	if got, err := s.Before(ctx, lobby, 0, 10); err != nil || len(got) != 0 {
		t.Errorf("Before after failed Appends = %v, %v; want nothing", got, err)
	}
}

// Conv and To round-trip, and Before pages through one conversation only,
// whatever the others hold between its messages.
func testMessagesStayInTheirConversation(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob")
	convs := []int64{lobbyID(t, s), newChannel(t, s, "#other", "alice").ID, direct(t, s, "alice", "bob").ID}
	at := time.UnixMilli(1_700_000_000_000)
	var all []chat.Message
	for i := range 30 {
		m := chat.Message{Conv: convs[i%3], Time: at.Add(time.Duration(i) * time.Second), Author: "alice", Kind: chat.KindText, Body: fmt.Sprint(i)}
		if i%4 == 0 {
			m.To = "bob"
		}
		all = append(all, m)
	}
	// A batch, then one at a time: a store may insert a single message
	// another way.
	appendAll(t, s, all[:20])
	for i := 20; i < len(all); i++ {
		appendAll(t, s, all[i:i+1])
	}
	for _, conv := range convs {
		var want []chat.Message
		for _, m := range all {
			if m.Conv == conv {
				want = append(want, m)
			}
		}
		got, err := s.Before(ctx, conv, 0, 100)
		if err != nil {
			t.Fatalf("Before(%d, 0, 100): %v", conv, err)
		}
		if !slices.EqualFunc(got, want, sameMessage) {
			t.Errorf("Before(%d, 0, 100) = %+v, want %+v", conv, got, want)
		}
		got, err = s.Before(ctx, conv, want[5].ID, 2)
		if err != nil || !equalIDs(got, ids(want[3:5])) {
			t.Errorf("Before(%d, %d, 2) = IDs %v, %v; want %v", conv, want[5].ID, ids(got), err, ids(want[3:5]))
		}
		// The ID of another conversation's message bounds the page as well.
		other := all[slices.IndexFunc(all, func(m chat.Message) bool { return m.Conv != conv && m.ID > want[5].ID })]
		got, err = s.Before(ctx, conv, other.ID, 100)
		if err != nil || !equalIDs(got, ids(want[:6])) {
			t.Errorf("Before(%d, %d, 100) = IDs %v, %v; want %v", conv, other.ID, ids(got), err, ids(want[:6]))
		}
	}
	if got, err := s.Before(ctx, 1_000_000, 0, 100); err != nil || len(got) != 0 {
		t.Errorf("Before of no conversation = %v, %v; want nothing", got, err)
	}
}

// #lobby is there before anything else, public and without an owner; a new
// account is not in it until it is added.
func testLobbyExists(t *testing.T, s store.Store) {
	ctx := t.Context()
	c, err := s.Channel(ctx, "#LoBbY")
	if err != nil {
		t.Fatalf("Channel(#LoBbY): %v", err)
	}
	if c.ID <= 0 || c.Kind != chat.Channel || c.Name != chat.Lobby || c.Owner != "" || c.Private || c.Peers != [2]string{} {
		t.Errorf("Channel(#LoBbY) = %+v, want the public, ownerless #lobby", c)
	}
	byID, err := s.Conversation(ctx, c.ID)
	if err != nil || !sameConv(byID, c) {
		t.Errorf("Conversation(%d) = %+v, %v; want %+v", c.ID, byID, err, c)
	}
	accounts(t, s, "alice")
	if ms, err := s.Memberships(ctx, "alice"); err != nil || len(ms) != 0 {
		t.Errorf("Memberships of a new account = %+v, %v; want none", ms, err)
	}
	addMember(t, s, c.ID, "alice")
	if got := titles(t, s, "alice"); !slices.Equal(got, []string{chat.Lobby}) {
		t.Errorf("Memberships after AddMember(#lobby) = %q, want [#lobby]", got)
	}
}

func testNoSuchConversation(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice")
	const none = 1_000_000
	if _, err := s.Conversation(ctx, none); !errors.Is(err, chat.ErrNoConversation) {
		t.Errorf("Conversation(%d) = %v, want ErrNoConversation", none, err)
	}
	if _, err := s.Channel(ctx, "#nope"); !errors.Is(err, chat.ErrNoConversation) {
		t.Errorf("Channel(#nope) = %v, want ErrNoConversation", err)
	}
	if err := s.SetChannel(ctx, chat.Conversation{ID: none, Kind: chat.Channel, Topic: "t"}); !errors.Is(err, chat.ErrNoConversation) {
		t.Errorf("SetChannel(%d) = %v, want ErrNoConversation", none, err)
	}
	if err := s.AddMember(ctx, none, "alice", 0); !errors.Is(err, chat.ErrNoConversation) {
		t.Errorf("AddMember(%d) = %v, want ErrNoConversation", none, err)
	}
	if err := s.SetInvited(ctx, none, "alice", true); !errors.Is(err, chat.ErrNoConversation) {
		t.Errorf("SetInvited(%d) = %v, want ErrNoConversation", none, err)
	}
	if ok, err := s.IsMember(ctx, none, "alice"); ok || err != nil {
		t.Errorf("IsMember(%d) = %v, %v; want false", none, ok, err)
	}
	if ok, err := s.Invited(ctx, none, "alice"); ok || err != nil {
		t.Errorf("Invited(%d) = %v, %v; want false", none, ok, err)
	}
}

// CreateChannel sets ID and Created, keeps the rest, and makes the owner a
// member; a channel needs no owner, but an owner must be an account.
func testCreateChannel(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice")
	lobby := lobbyID(t, s)
	before := time.Now().Truncate(time.Millisecond)
	c, err := s.CreateChannel(ctx, chat.Conversation{Kind: chat.Channel, Name: "#tea", Owner: "Alice", Topic: "green or black", Private: true}, 0)
	after := time.Now()
	if err != nil {
		t.Fatalf("CreateChannel(#tea): %v", err)
	}
	if c.ID <= 0 || c.ID == lobby || c.Kind != chat.Channel || c.Name != "#tea" || c.Owner != "Alice" ||
		c.Topic != "green or black" || !c.Private || c.Peers != [2]string{} {
		t.Errorf("CreateChannel(#tea) = %+v", c)
	}
	if c.Created.Before(before) || c.Created.After(after) {
		t.Errorf("CreateChannel(#tea).Created = %v, want between %v and %v", c.Created, before, after)
	}
	if got, err := s.Channel(ctx, "#TEA"); err != nil || !sameConv(got, c) {
		t.Errorf("Channel(#TEA) = %+v, %v; want %+v", got, err, c)
	}
	if got, err := s.Conversation(ctx, c.ID); err != nil || !sameConv(got, c) {
		t.Errorf("Conversation(%d) = %+v, %v; want %+v", c.ID, got, err, c)
	}
	if got := titles(t, s, "alice"); !slices.Equal(got, []string{"#tea"}) {
		t.Errorf("the owner's Memberships = %q, want [#tea]", got)
	}

	news := newChannel(t, s, "#news", "")
	if news.Owner != "" || news.ID == c.ID {
		t.Errorf("CreateChannel(#news) without an owner = %+v", news)
	}
	if got := listed(t, s, "alice")["#news"]; got != 0 {
		t.Errorf("#news without an owner has %d members, want 0", got)
	}

	_, err = s.CreateChannel(ctx, chat.Conversation{Kind: chat.Channel, Name: "#ghost", Owner: "nobody"}, 0)
	if !errors.Is(err, chat.ErrNoAccount) {
		t.Errorf("CreateChannel owned by no account = %v, want ErrNoAccount", err)
	}
	if _, err := s.Channel(ctx, "#ghost"); !errors.Is(err, chat.ErrNoConversation) {
		t.Errorf("Channel(#ghost) after a refused CreateChannel = %v, want ErrNoConversation", err)
	}
}

// A channel's name is taken in every case, #lobby's too, and of creations
// racing for one name exactly one wins.
func testChannelNamesUnique(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice")
	c := newChannel(t, s, "#Go", "alice")
	if c.Name != "#go" {
		t.Errorf("CreateChannel(#Go).Name = %q, want it in lower case", c.Name)
	}
	for _, name := range []string{"#go", "#GO", "#gO", "#lobby", "#LOBBY"} {
		_, err := s.CreateChannel(ctx, chat.Conversation{Kind: chat.Channel, Name: name, Owner: "alice"}, 0)
		if !errors.Is(err, chat.ErrChannelExists) {
			t.Errorf("CreateChannel(%s) = %v, want ErrChannelExists", name, err)
		}
	}
	if got, err := s.Channel(ctx, "#GO"); err != nil || got.ID != c.ID {
		t.Errorf("Channel(#GO) = %+v, %v; want %+v", got, err, c)
	}

	names := []string{"#race", "#RACE", "#Race", "#rAcE", "#race", "#raCE", "#RAce", "#racE"}
	won := concurrently(t, len(names), chat.ErrChannelExists, func(i int) error {
		_, err := s.CreateChannel(ctx, chat.Conversation{Kind: chat.Channel, Name: names[i]}, 0)
		return err
	})
	if won != 1 {
		t.Errorf("%d of the racing CreateChannel calls for one name succeeded, want 1", won)
	}
}

// Of many concurrent creations, only as many succeed as the total limit
// allows; #lobby is one of the channels it counts, and a channel nobody is
// in any more is not.
func testChannelLimitConcurrently(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "owner")
	if err := s.AddMember(ctx, lobbyID(t, s), "owner", 0); err != nil {
		t.Fatal(err)
	}
	empty, err := s.CreateChannel(ctx, chat.Conversation{Kind: chat.Channel, Name: "#empty", Owner: "owner"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, empty.ID, "owner"); err != nil {
		t.Fatal(err)
	}
	const maxTotal, tries = 5, 16
	created := concurrently(t, tries, chat.ErrTooManyChannels, func(i int) error {
		_, err := s.CreateChannel(ctx, chat.Conversation{Kind: chat.Channel, Name: fmt.Sprintf("#c%02d", i), Owner: "owner"}, maxTotal)
		return err
	})
	if got := len(listed(t, s, "")) - 1; got != maxTotal || created != maxTotal-1 { // less #empty
		t.Errorf("%d racing creations succeeded, and %d channels exist with a limit of %d; want %d and %d",
			created, got, maxTotal, maxTotal-1, maxTotal)
	}
	_, err = s.CreateChannel(ctx, chat.Conversation{Kind: chat.Channel, Name: "#late", Owner: "owner"}, maxTotal)
	if !errors.Is(err, chat.ErrTooManyChannels) {
		t.Errorf("CreateChannel at the limit = %v, want ErrTooManyChannels", err)
	}
	if _, err := s.CreateChannel(ctx, chat.Conversation{Kind: chat.Channel, Name: "#late"}, 0); err != nil {
		t.Errorf("CreateChannel without a limit = %v", err)
	}
}

// SetChannel changes the topic and the privacy, and nothing else.
func testSetChannel(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice")
	c := newChannel(t, s, "#tea", "alice")
	for _, private := range []bool{true, false} {
		change := c
		change.Topic = fmt.Sprintf("private: %v", private)
		change.Private = private
		change.Owner, change.Name = "", "#other" // not stored
		if err := s.SetChannel(ctx, change); err != nil {
			t.Fatalf("SetChannel: %v", err)
		}
		want := c
		want.Topic, want.Private = change.Topic, private
		if got, err := s.Channel(ctx, "#tea"); err != nil || !sameConv(got, want) {
			t.Errorf("Channel after SetChannel = %+v, %v; want %+v", got, err, want)
		}
	}
}

// The per-account limit counts the channels an account is in, not its
// direct conversations; adding a member again is no error even at the
// limit; the owner of a new channel is its member whatever the limit.
func testAddMemberLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob", "carol")
	const limit = 3
	lobby := lobbyID(t, s)
	a, b, c := newChannel(t, s, "#ant", ""), newChannel(t, s, "#bee", ""), newChannel(t, s, "#cat", "")
	withBob := direct(t, s, "alice", "bob")
	direct(t, s, "carol", "alice")
	for _, conv := range []int64{lobby, a.ID, b.ID} {
		if err := s.AddMember(ctx, conv, "alice", limit); err != nil {
			t.Fatalf("AddMember(%d) below the limit: %v", conv, err)
		}
	}
	if err := s.AddMember(ctx, c.ID, "alice", limit); !errors.Is(err, chat.ErrTooManyChannels) {
		t.Errorf("AddMember(#cat) at the limit = %v, want ErrTooManyChannels", err)
	}
	if isMember(t, s, c.ID, "alice") {
		t.Error("alice is in #cat after a refused AddMember")
	}
	if err := s.AddMember(ctx, b.ID, "ALICE", limit); err != nil {
		t.Errorf("AddMember(#bee) again at the limit = %v, want nil", err)
	}
	if err := s.RemoveMember(ctx, withBob.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, withBob.ID, "alice", 1); err != nil {
		t.Errorf("AddMember of a direct conversation over the channel limit = %v, want nil", err)
	}
	if err := s.AddMember(ctx, c.ID, "alice", 0); err != nil {
		t.Errorf("AddMember(#cat) without a limit = %v, want nil", err)
	}
	d := newChannel(t, s, "#dog", "alice")
	if !isMember(t, s, d.ID, "alice") {
		t.Error("the owner of a new channel is not its member when over the per-account limit")
	}
	if err := s.AddMember(ctx, a.ID, "nobody", 0); !errors.Is(err, chat.ErrNoAccount) {
		t.Errorf("AddMember of no account = %v, want ErrNoAccount", err)
	}
	want := []string{"#ant", "#bee", "#cat", "#dog", "#lobby", "@bob", "@carol"}
	if got := titles(t, s, "alice"); !slices.Equal(sorted(got), want) {
		t.Errorf("alice's memberships = %q, want %q in some order", got, want)
	}
}

// Joins racing for many channels: the limit still holds.
func testAddMemberLimitConcurrently(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice")
	const limit, tries = 4, 12
	convs := make([]int64, tries)
	for i := range convs {
		convs[i] = newChannel(t, s, fmt.Sprintf("#c%02d", i), "").ID
	}
	joined := concurrently(t, tries, chat.ErrTooManyChannels, func(i int) error {
		return s.AddMember(ctx, convs[i], "alice", limit)
	})
	if ms := titles(t, s, "alice"); joined != limit || len(ms) != limit {
		t.Errorf("%d racing joins succeeded and alice is in %q; want %d of each", joined, ms, limit)
	}
}

// RemoveMember ends a membership (and is no error where there is none);
// AddMember brings it back.
func testRemoveMember(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "Bob")
	c := newChannel(t, s, "#tea", "alice")
	addMember(t, s, c.ID, "bob")
	if !isMember(t, s, c.ID, "BOB") {
		t.Fatal("IsMember(BOB) after AddMember(bob) = false")
	}
	for range 2 {
		if err := s.RemoveMember(ctx, c.ID, "bOB"); err != nil {
			t.Errorf("RemoveMember: %v", err)
		}
	}
	if err := s.RemoveMember(ctx, c.ID, "nobody"); err != nil {
		t.Errorf("RemoveMember of no account = %v, want nil", err)
	}
	if isMember(t, s, c.ID, "bob") {
		t.Error("bob is a member after RemoveMember")
	}
	if got := listed(t, s, "alice")["#tea"]; got != 1 {
		t.Errorf("#tea has %d members after bob left, want 1", got)
	}
	addMember(t, s, c.ID, "Bob")
	if !isMember(t, s, c.ID, "bob") || listed(t, s, "alice")["#tea"] != 2 {
		t.Error("bob is not back in #tea after AddMember")
	}
}

// Direct(a, b) and Direct(b, a) are one conversation whose Peers are spelled
// as the accounts spell their names; it brings back a member who left.
func testDirect(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "zed", "Amy", "carol")
	c := direct(t, s, "ZED", "amy")
	if c.ID <= 0 || c.Kind != chat.Direct || c.Name != "" || c.Peers != [2]string{"Amy", "zed"} || c.Owner != "" {
		t.Errorf("Direct(ZED, amy) = %+v, want a direct conversation with Peers [Amy zed]", c)
	}
	if c.Title("zed") != "@Amy" || c.Title("AMY") != "@zed" {
		t.Errorf("titles of %+v: %q, %q", c, c.Title("zed"), c.Title("AMY"))
	}
	if again := direct(t, s, "Amy", "zed"); !sameConv(again, c) {
		t.Errorf("Direct(Amy, zed) = %+v, want %+v", again, c)
	}
	if byID, err := s.Conversation(ctx, c.ID); err != nil || !sameConv(byID, c) {
		t.Errorf("Conversation(%d) = %+v, %v; want %+v", c.ID, byID, err, c)
	}
	for _, name := range []string{"zed", "amy"} {
		if !isMember(t, s, c.ID, name) {
			t.Errorf("%s is not a member of the direct conversation", name)
		}
	}
	if other := direct(t, s, "amy", "carol"); other.ID == c.ID {
		t.Errorf("Direct(amy, carol) is Direct(zed, amy): %+v", other)
	}
	if err := s.RemoveMember(ctx, c.ID, "zed"); err != nil {
		t.Fatal(err)
	}
	if back := direct(t, s, "amy", "zed"); back.ID != c.ID || !isMember(t, s, c.ID, "zed") {
		t.Errorf("Direct after zed left = %+v, zed a member: %v; want %d with zed back", back, isMember(t, s, c.ID, "zed"), c.ID)
	}
	if got := listed(t, s, "zed"); len(got) != 1 {
		t.Errorf("Channels lists %v, want #lobby alone: a direct conversation is no channel", got)
	}
	for _, pair := range [][2]string{{"amy", "nobody"}, {"nobody", "amy"}} {
		if _, err := s.Direct(ctx, pair[0], pair[1]); !errors.Is(err, chat.ErrNoAccount) {
			t.Errorf("Direct(%s, %s) = %v, want ErrNoAccount", pair[0], pair[1], err)
		}
	}
}

func testInvites(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "Bob")
	c := newChannel(t, s, "#tea", "alice")
	for _, invited := range []bool{true, true, false, false, true} {
		if err := s.SetInvited(ctx, c.ID, "bob", invited); err != nil {
			t.Fatalf("SetInvited(%v): %v", invited, err)
		}
		if got, err := s.Invited(ctx, c.ID, "BOB"); got != invited || err != nil {
			t.Errorf("Invited after SetInvited(%v) = %v, %v", invited, got, err)
		}
	}
	if isMember(t, s, c.ID, "bob") {
		t.Error("an invitation made bob a member")
	}
	if got, err := s.Invited(ctx, c.ID, "alice"); got || err != nil {
		t.Errorf("Invited(alice), never invited = %v, %v; want false", got, err)
	}
	if err := s.SetInvited(ctx, c.ID, "nobody", true); !errors.Is(err, chat.ErrNoAccount) {
		t.Errorf("SetInvited of no account = %v, want ErrNoAccount", err)
	}
}

// Channels shows a private channel to its members and those invited, and
// to nobody else; it lists by name with member counts, up to limit.
func testChannelsPrivacy(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob", "carol", "dave")
	secret := newChannel(t, s, "#secret", "alice")
	secret.Private = true
	if err := s.SetChannel(ctx, secret); err != nil {
		t.Fatal(err)
	}
	newChannel(t, s, "#open", "alice")
	addMember(t, s, lobbyID(t, s), "carol")
	addMember(t, s, secret.ID, "dave")
	if err := s.SetInvited(ctx, secret.ID, "bob", true); err != nil {
		t.Fatal(err)
	}
	all := []string{"#lobby", "#open", "#secret"}
	for viewer, want := range map[string][]string{
		"alice": all, "Bob": all, "DAVE": all,
		"carol": {"#lobby", "#open"}, "nobody": {"#lobby", "#open"}, "": {"#lobby", "#open"},
	} {
		list, err := s.Channels(ctx, viewer, 100)
		if err != nil {
			t.Fatalf("Channels(%q): %v", viewer, err)
		}
		var got []string
		for _, ch := range list {
			got = append(got, ch.Conv.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Channels(%q) = %q, want %q", viewer, got, want)
		}
	}
	counts := listed(t, s, "alice")
	if counts["#lobby"] != 1 || counts["#open"] != 1 || counts["#secret"] != 2 {
		t.Errorf("member counts = %v, want #lobby 1, #open 1, #secret 2", counts)
	}
	if err := s.SetInvited(ctx, secret.ID, "bob", false); err != nil {
		t.Fatal(err)
	}
	if _, ok := listed(t, s, "bob")["#secret"]; ok {
		t.Error("Channels lists #secret to bob after his invitation was taken back")
	}
	list, err := s.Channels(ctx, "alice", 2)
	if err != nil || len(list) != 2 || list[0].Conv.Name != "#lobby" || list[1].Conv.Name != "#open" {
		t.Errorf("Channels(alice, 2) = %+v, %v; want #lobby and #open", list, err)
	}
	if list, err := s.Channels(ctx, "alice", 0); err != nil || len(list) != 0 {
		t.Errorf("Channels(alice, 0) = %+v, %v; want none", list, err)
	}
}

func testMembershipsOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob", "carol", "dave")
	zeta := newChannel(t, s, "#zeta", "alice")
	newChannel(t, s, "#alpha", "alice")
	addMember(t, s, lobbyID(t, s), "alice")
	withBob, withCarol, withDave := direct(t, s, "alice", "bob"), direct(t, s, "carol", "alice"), direct(t, s, "alice", "dave")
	for _, conv := range []int64{withBob.ID, withCarol.ID, withDave.ID, withBob.ID, zeta.ID} {
		appendAll(t, s, texts(conv, 1))
	}
	want := []string{"#alpha", "#lobby", "#zeta", "@bob", "@dave", "@carol"}
	if got := titles(t, s, "ALICE"); !slices.Equal(got, want) {
		t.Errorf("Memberships(ALICE) = %q, want %q", got, want)
	}
	if got := titles(t, s, "bob"); !slices.Equal(got, []string{"@alice"}) {
		t.Errorf("Memberships(bob) = %q, want [@alice]", got)
	}
	if _, err := s.Memberships(ctx, "nobody"); err != nil {
		t.Errorf("Memberships(nobody) = %v", err)
	}
}

// Unread counts the texts and actions of others after the read pointer, in
// that conversation only; the pointer moves only forward, and only for a
// member.
func testUnread(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob", "carol")
	lobby := lobbyID(t, s)
	addMember(t, s, lobby, "alice", "bob")
	other := newChannel(t, s, "#other", "alice")
	addMember(t, s, other.ID, "bob")
	now := time.Now()
	msgs := []chat.Message{
		{Conv: lobby, Time: now, Author: "bob", Kind: chat.KindText, Body: "1"},
		{Conv: lobby, Time: now, Author: "BOB", Kind: chat.KindAction, Body: "2"},
		{Conv: lobby, Time: now, Author: "alice", Kind: chat.KindText, Body: "3"},
		{Conv: lobby, Time: now, Author: "ALICE", Kind: chat.KindAction, Body: "4"},
		{Conv: lobby, Time: now, Author: "bob", Kind: chat.KindJoin},
		{Conv: lobby, Time: now, Author: "", Kind: chat.KindSystem, Body: "a notice"},
		{Conv: lobby, Time: now, Author: "bob", Kind: chat.KindTopic, Body: "a topic"},
		{Conv: lobby, Time: now, Author: "bob", Kind: chat.KindAway, Body: "lunch"},
		{Conv: lobby, Time: now, Author: "bob", Kind: chat.KindBack},
		{Conv: lobby, Time: now, Author: "bob", Kind: chat.KindLeave, To: "alice"},
		{Conv: other.ID, Time: now, Author: "bob", Kind: chat.KindText, Body: "elsewhere"},
	}
	appendAll(t, s, msgs)
	wantRead := func(account string, conv, lastRead int64, unread int) {
		t.Helper()
		m := membership(t, s, account, conv)
		if m.LastRead != lastRead || m.Unread != unread {
			t.Errorf("%s in %d: LastRead %d, Unread %d; want %d, %d", account, conv, m.LastRead, m.Unread, lastRead, unread)
		}
	}
	wantRead("alice", lobby, 0, 2)
	wantRead("bob", lobby, 0, 2)
	wantRead("alice", other.ID, 0, 1)

	if err := s.SetRead(ctx, []chat.Read{
		{Account: "ALICE", Conv: lobby, ID: msgs[0].ID},
		{Account: "bob", Conv: lobby, ID: msgs[3].ID},
		{Account: "carol", Conv: lobby, ID: msgs[3].ID},
	}); err != nil {
		t.Fatalf("SetRead: %v", err)
	}
	wantRead("alice", lobby, msgs[0].ID, 1)
	wantRead("bob", lobby, msgs[3].ID, 0)
	wantRead("alice", other.ID, 0, 1)
	if isMember(t, s, lobby, "carol") {
		t.Error("SetRead made carol a member")
	}

	for _, back := range [][]chat.Read{
		{{Account: "alice", Conv: lobby, ID: msgs[1].ID}, {Account: "alice", Conv: lobby, ID: msgs[0].ID}},
		{{Account: "alice", Conv: lobby, ID: msgs[0].ID}},
	} {
		if err := s.SetRead(ctx, back); err != nil {
			t.Fatalf("SetRead: %v", err)
		}
		wantRead("alice", lobby, msgs[1].ID, 0)
	}
	if err := s.SetRead(ctx, nil); err != nil {
		t.Errorf("SetRead(nil) = %v", err)
	}

	flood := texts(lobby, 1001)
	for i := range flood {
		flood[i].Author = "bob"
	}
	appendAll(t, s, flood)
	if m := membership(t, s, "alice", lobby); m.Unread < 999 || m.Unread > 1001 {
		t.Errorf("Unread after 1001 unread messages = %d, want it capped at 999 or more", m.Unread)
	}

	// A newcomer has read what was said before it came (it is shown the
	// recent history); only what comes after is unread. So has a member
	// of a direct conversation added back.
	addMember(t, s, lobby, "carol")
	wantRead("carol", lobby, flood[len(flood)-1].ID, 0)
	dm, err := s.Direct(ctx, "alice", "carol")
	if err != nil {
		t.Fatal(err)
	}
	said := []chat.Message{{Conv: dm.ID, Time: now, Author: "alice", Kind: chat.KindText, Body: "hi"}}
	appendAll(t, s, said)
	wantRead("carol", dm.ID, 0, 1)
	if err := s.RemoveMember(ctx, dm.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Direct(ctx, "carol", "alice"); err != nil {
		t.Fatal(err)
	}
	wantRead("alice", dm.ID, said[0].ID, 0)
	wantRead("carol", dm.ID, 0, 1)

	// What someone ignored wrote is not unread.
	if err := s.SetIgnored(ctx, "carol", "ALICE", true); err != nil {
		t.Fatal(err)
	}
	wantRead("carol", dm.ID, 0, 0)
	wantRead("alice", dm.ID, said[0].ID, 0)
}

func testIgnores(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "Bob", "carol")
	set := func(account, other string, ignored bool) {
		t.Helper()
		if err := s.SetIgnored(ctx, account, other, ignored); err != nil {
			t.Fatalf("SetIgnored(%s, %s, %v): %v", account, other, ignored, err)
		}
	}
	want := func(account string, names ...string) {
		t.Helper()
		got, err := s.Ignored(ctx, account)
		if err != nil || !slices.Equal(sorted(got), names) {
			t.Errorf("Ignored(%s) = %q, %v; want %q", account, got, err, names)
		}
	}
	want("alice")
	set("alice", "bob", true)
	set("ALICE", "carol", true)
	set("alice", "BOB", true)
	want("alice", "Bob", "carol")
	want("bob")
	set("alice", "carol", false)
	set("alice", "carol", false)
	want("alice", "Bob")
	set("carol", "alice", true)
	want("carol", "alice")
	for _, pair := range [][2]string{{"alice", "nobody"}, {"nobody", "alice"}} {
		if err := s.SetIgnored(ctx, pair[0], pair[1], true); !errors.Is(err, chat.ErrNoAccount) {
			t.Errorf("SetIgnored(%s, %s) = %v, want ErrNoAccount", pair[0], pair[1], err)
		}
	}
}

func testProfiles(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := time.Date(2024, 5, 6, 7, 8, 9, 123_456_789, time.UTC)
	if err := s.CreateAccount(ctx, store.Account{Name: "Alice", PasswordHash: hash, CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	want := chat.Profile{Name: "Alice", Created: created.Truncate(time.Millisecond)}
	check := func() {
		t.Helper()
		p, err := s.Profile(ctx, "aLICE")
		if err != nil || p.Name != want.Name || !p.Created.Equal(want.Created) || !p.LastSeen.Equal(want.LastSeen) {
			t.Errorf("Profile = %+v, %v; want %+v", p, err, want)
		}
	}
	check()
	for _, seen := range []time.Time{created.Add(time.Hour + 1), created.Add(2 * time.Hour)} {
		if err := s.SetLastSeen(ctx, "alice", seen); err != nil {
			t.Fatalf("SetLastSeen: %v", err)
		}
		want.LastSeen = seen.Truncate(time.Millisecond)
		check()
	}
	if _, err := s.Profile(ctx, "nobody"); !errors.Is(err, chat.ErrNoAccount) {
		t.Errorf("Profile(nobody) = %v, want ErrNoAccount", err)
	}
	if err := s.SetLastSeen(ctx, "nobody", time.Now()); !errors.Is(err, chat.ErrNoAccount) {
		t.Errorf("SetLastSeen(nobody) = %v, want ErrNoAccount", err)
	}
}

// concurrently calls f(0) to f(n-1) in n goroutines released together and
// returns how many succeeded; the others must fail with want.
func concurrently(t *testing.T, n int, want error, f func(i int) error) int {
	t.Helper()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	succeeded := 0
	for i, err := range errs {
		switch {
		case err == nil:
			succeeded++
		case !errors.Is(err, want):
			t.Errorf("concurrent call %d = %v, want nil or %v", i, err, want)
		}
	}
	return succeeded
}

// accounts creates accounts with the given names.
func accounts(t *testing.T, s store.Store, names ...string) {
	t.Helper()
	for _, name := range names {
		if err := s.CreateAccount(t.Context(), store.Account{Name: name, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
			t.Fatalf("CreateAccount(%q): %v", name, err)
		}
	}
}

// newChannel creates a public channel, without a limit.
func newChannel(t *testing.T, s store.Store, name, owner string) chat.Conversation {
	t.Helper()
	c, err := s.CreateChannel(t.Context(), chat.Conversation{Kind: chat.Channel, Name: name, Owner: owner}, 0)
	if err != nil {
		t.Fatalf("CreateChannel(%s): %v", name, err)
	}
	return c
}

func direct(t *testing.T, s store.Store, a, b string) chat.Conversation {
	t.Helper()
	c, err := s.Direct(t.Context(), a, b)
	if err != nil {
		t.Fatalf("Direct(%s, %s): %v", a, b, err)
	}
	return c
}

// addMember adds accounts to conv, without a limit.
func addMember(t *testing.T, s store.Store, conv int64, accounts ...string) {
	t.Helper()
	for _, a := range accounts {
		if err := s.AddMember(t.Context(), conv, a, 0); err != nil {
			t.Fatalf("AddMember(%d, %s): %v", conv, a, err)
		}
	}
}

func isMember(t *testing.T, s store.Store, conv int64, account string) bool {
	t.Helper()
	ok, err := s.IsMember(t.Context(), conv, account)
	if err != nil {
		t.Fatalf("IsMember(%d, %s): %v", conv, account, err)
	}
	return ok
}

func appendAll(t *testing.T, s store.Store, msgs []chat.Message) {
	t.Helper()
	if err := s.Append(t.Context(), msgs); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// titles lists account's memberships as account sees their titles.
func titles(t *testing.T, s store.Store, account string) []string {
	t.Helper()
	ms, err := s.Memberships(t.Context(), account)
	if err != nil {
		t.Fatalf("Memberships(%s): %v", account, err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Conv.Title(account))
	}
	return out
}

func membership(t *testing.T, s store.Store, account string, conv int64) chat.Membership {
	t.Helper()
	ms, err := s.Memberships(t.Context(), account)
	if err != nil {
		t.Fatalf("Memberships(%s): %v", account, err)
	}
	i := slices.IndexFunc(ms, func(m chat.Membership) bool { return m.Conv.ID == conv })
	if i < 0 {
		t.Fatalf("%s is not in conversation %d", account, conv)
	}
	return ms[i]
}

// listed maps the channels viewer sees to their member counts.
func listed(t *testing.T, s store.Store, viewer string) map[string]int {
	t.Helper()
	list, err := s.Channels(t.Context(), viewer, 1000)
	if err != nil {
		t.Fatalf("Channels(%q): %v", viewer, err)
	}
	counts := make(map[string]int, len(list))
	for _, c := range list {
		counts[c.Conv.Name] = c.Members
	}
	return counts
}

// sameConv compares with time.Time.Equal, which ignores the location.
func sameConv(a, b chat.Conversation) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.Name == b.Name && a.Peers == b.Peers &&
		a.Topic == b.Topic && a.Private == b.Private && a.Owner == b.Owner && a.Created.Equal(b.Created)
}

func sorted(names []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}
