package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"messaging/chat"
	"messaging/store"
)

// held is a heldUntil still to come while a test runs; over is one past.
func held() time.Time { return time.Now().Add(time.Hour) }
func over() time.Time { return time.Now().Add(-time.Minute) }

// DeleteAccount takes the account with its keys, logins, memberships,
// invitations and ignores, its own and others' of it; the others keep
// theirs.
func testDeleteAccountTakesWhatWasItsOwn(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob", "carol")
	lobby := lobbyID(t, s)
	addMember(t, s, lobby, "alice", "bob")
	tea := newChannel(t, s, "#tea", "bob")
	addMember(t, s, tea.ID, "alice")
	secret := newChannel(t, s, "#secret", "bob")
	for _, set := range []func() error{
		func() error { return s.SetInvited(ctx, secret.ID, "alice", true) },
		func() error { return s.SetInvited(ctx, secret.ID, "carol", true) },
		func() error { return s.SetIgnored(ctx, "alice", "bob", true) },
		func() error { return s.SetIgnored(ctx, "carol", "alice", true) },
		func() error { return s.SetIgnored(ctx, "carol", "bob", true) },
		func() error {
			return s.RecordLogin(ctx, "alice", store.Login{At: time.Now(), Address: "192.0.2.1", Method: "password"})
		},
		func() error {
			return s.RecordLogin(ctx, "bob", store.Login{At: time.Now(), Address: "192.0.2.2", Method: "key"})
		},
	} {
		if err := set(); err != nil {
			t.Fatal(err)
		}
	}
	addKey(t, s, newKey("SHA256:alice", "alice", time.Now()))
	addKey(t, s, newKey("SHA256:bob", "bob", time.Now()))
	direct(t, s, "alice", "bob")

	if err := s.DeleteAccount(ctx, "ALICE", held()); err != nil {
		t.Fatalf("DeleteAccount(ALICE): %v", err)
	}
	if _, err := s.Account(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Account(alice) after DeleteAccount = %v, want ErrNotFound", err)
	}
	if _, err := s.Profile(ctx, "alice"); !errors.Is(err, chat.ErrNoAccount) {
		t.Errorf("Profile(alice) after DeleteAccount = %v, want ErrNoAccount", err)
	}
	if got := keys(t, s, "alice"); len(got) != 0 {
		t.Errorf("Keys(alice) after DeleteAccount = %+v, want none", got)
	}
	if _, err := s.KeyByFingerprint(ctx, "SHA256:alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeyByFingerprint of the deleted account's key = %v, want ErrNotFound", err)
	}
	if got, err := s.Logins(ctx, "alice"); err != nil || len(got) != 0 {
		t.Errorf("Logins(alice) after DeleteAccount = %+v, %v; want none", got, err)
	}
	if ms, err := s.Memberships(ctx, "alice"); err != nil || len(ms) != 0 {
		t.Errorf("Memberships(alice) after DeleteAccount = %+v, %v; want none", ms, err)
	}
	for _, conv := range []int64{lobby, tea.ID} {
		if isMember(t, s, conv, "alice") {
			t.Errorf("alice is still a member of %d", conv)
		}
	}
	if ok, err := s.Invited(ctx, secret.ID, "alice"); ok || err != nil {
		t.Errorf("Invited(alice) after DeleteAccount = %v, %v; want false", ok, err)
	}
	for account, want := range map[string][]string{"alice": nil, "carol": {"bob"}} {
		if got, err := s.Ignored(ctx, account); err != nil || !slices.Equal(got, want) {
			t.Errorf("Ignored(%s) after DeleteAccount = %q, %v; want %q", account, got, err, want)
		}
	}

	// The others keep theirs.
	if counts := listed(t, s, "bob"); counts["#lobby"] != 1 || counts["#tea"] != 1 {
		t.Errorf("member counts after DeleteAccount = %v, want bob alone in #lobby and #tea", counts)
	}
	if ok, err := s.Invited(ctx, secret.ID, "carol"); !ok || err != nil {
		t.Errorf("Invited(carol) after alice's deletion = %v, %v; want true", ok, err)
	}
	if got := keys(t, s, "bob"); len(got) != 1 {
		t.Errorf("Keys(bob) after alice's deletion = %+v, want his one key", got)
	}
	if got, err := s.Logins(ctx, "bob"); err != nil || len(got) != 1 {
		t.Errorf("Logins(bob) after alice's deletion = %+v, %v; want his one login", got, err)
	}
	if _, err := s.Profile(ctx, "bob"); err != nil {
		t.Errorf("Profile(bob) after alice's deletion: %v", err)
	}
	// The deleted account's key is free.
	if err := s.AddKey(ctx, newKey("SHA256:alice", "bob", time.Now()), 0); err != nil {
		t.Errorf("AddKey to bob of the deleted account's key = %v, want nil", err)
	}
}

// A deletion that finds no account is ErrNotFound, and so is a change of
// the deleted account.
func testDeleteAccountOfNoAccount(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice")
	if err := s.DeleteAccount(ctx, "nobody", held()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAccount(nobody) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteAccount(ctx, "alice", held()); err != nil {
		t.Fatalf("DeleteAccount(alice): %v", err)
	}
	if err := s.DeleteAccount(ctx, "alice", held()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAccount(alice) twice = %v, want ErrNotFound", err)
	}
	if err := s.SetPasswordHash(ctx, "alice", hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPasswordHash of a deleted account = %v, want ErrNotFound", err)
	}
	if err := s.AddKey(ctx, newKey("SHA256:late", "alice", time.Now()), 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddKey to a deleted account = %v, want ErrNotFound", err)
	}
}

// The deleted account's messages stay, with it renamed as author and as
// recipient (in any case it was written); direct conversations with it
// stay with their other member, the peer renamed, and count unread as
// before; channels it owned have no owner.
func testDeleteAccountRenames(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob", "carol")
	lobby := lobbyID(t, s)
	addMember(t, s, lobby, "alice", "bob")
	tea := newChannel(t, s, "#tea", "alice")
	addMember(t, s, tea.ID, "bob")
	withBob, withCarol := direct(t, s, "alice", "bob"), direct(t, s, "carol", "ALICE")
	now := time.Now()
	msgs := []chat.Message{
		{Conv: lobby, Time: now, Author: "Alice", Kind: chat.KindText, Body: "hello, I am Alice"},
		{Conv: lobby, Time: now, Author: "alice", Kind: chat.KindAction, Body: "waves"},
		{Conv: lobby, Time: now, Author: "bob", Kind: chat.KindText, Body: "hi alice"},
		{Conv: tea.ID, Time: now, Author: "bob", Kind: chat.KindLeave, To: "ALICE", Body: "removed by bob"},
		{Conv: tea.ID, Time: now, Author: "Alice", Kind: chat.KindLeave, To: "Alice"},
		{Conv: lobby, Time: now, Author: "", Kind: chat.KindSystem, Body: "a notice"},
		{Conv: withBob.ID, Time: now, Author: "Alice", Kind: chat.KindText, Body: "psst"},
		{Conv: withBob.ID, Time: now, Author: "bob", Kind: chat.KindText, Body: "what"},
	}
	appendAll(t, s, msgs)
	if m := membership(t, s, "bob", withBob.ID); m.Unread != 1 {
		t.Fatalf("bob's unread with alice before the deletion = %d, want 1", m.Unread)
	}

	if err := s.DeleteAccount(ctx, "alice", held()); err != nil {
		t.Fatalf("DeleteAccount(alice): %v", err)
	}
	gone := chat.DeletedName("Alice")
	want := slices.Clone(msgs)
	for i := range want {
		for _, name := range []*string{&want[i].Author, &want[i].To} {
			if *name != "" && *name != "bob" {
				*name = gone
			}
		}
		want[i].Time = want[i].Time.Truncate(time.Millisecond)
	}
	for _, conv := range []int64{lobby, tea.ID, withBob.ID} {
		got, err := s.Before(ctx, conv, 0, 100)
		if err != nil {
			t.Fatalf("Before(%d): %v", conv, err)
		}
		var wantHere []chat.Message
		for _, m := range want {
			if m.Conv == conv {
				wantHere = append(wantHere, m)
			}
		}
		if !slices.EqualFunc(got, wantHere, sameMessage) {
			t.Errorf("conversation %d after DeleteAccount = %+v, want %+v", conv, got, wantHere)
		}
	}

	for _, tt := range []struct {
		conv  chat.Conversation
		other string
	}{{withBob, "bob"}, {withCarol, "carol"}} {
		c, err := s.Conversation(ctx, tt.conv.ID)
		if err != nil {
			t.Fatalf("Conversation(%d): %v", tt.conv.ID, err)
		}
		if c.Kind != chat.Direct || !slices.Contains(c.Peers[:], gone) || !slices.Contains(c.Peers[:], tt.other) {
			t.Errorf("direct conversation with %s after DeleteAccount = %+v, want Peers %q and %q", tt.other, c, gone, tt.other)
		}
		if got := titles(t, s, tt.other); !slices.Contains(got, "@"+gone) {
			t.Errorf("%s's memberships after DeleteAccount = %q, want @%s among them", tt.other, got, gone)
		}
	}
	if m := membership(t, s, "bob", withBob.ID); m.Unread != 1 || m.Conv.Title("bob") != "@"+gone {
		t.Errorf("bob's membership with the deleted account = %+v, want Unread 1, titled @%s", m, gone)
	}
	if got := titles(t, s, "bob"); !slices.Equal(got, []string{"#lobby", "#tea", "@" + gone}) {
		t.Errorf("bob's memberships after DeleteAccount = %q", got)
	}
	if _, err := s.Direct(ctx, "bob", "alice"); !errors.Is(err, chat.ErrNoAccount) {
		t.Errorf("Direct(bob, alice) after DeleteAccount = %v, want ErrNoAccount", err)
	}

	c, err := s.Channel(ctx, "#tea")
	if err != nil || c.Owner != "" || c.IsOwner("alice") {
		t.Errorf("Channel(#tea) owned by the deleted account = %+v, %v; want no owner", c, err)
	}
	if !isMember(t, s, tea.ID, "bob") {
		t.Error("bob left #tea when its owner was deleted")
	}
}

// A new account of a deleted account's name (once the hold is over) is
// someone else: it gets a new direct conversation with the deleted
// account's peer, not the old one, each time the name is deleted and taken
// again.
func testNewAccountOfADeletedName(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob")
	var old []chat.Conversation
	for round, name := range []string{"ALICE", "Alice", "aLICE"} {
		dm := direct(t, s, "bob", "alice")
		appendAll(t, s, []chat.Message{{Conv: dm.ID, Time: time.Now(), Author: "alice", Kind: chat.KindText, Body: "secret"}})
		if err := s.DeleteAccount(ctx, "alice", over()); err != nil {
			t.Fatalf("round %d: DeleteAccount: %v", round, err)
		}
		old = append(old, dm)
		accounts(t, s, name)
		again := direct(t, s, name, "bob")
		for _, o := range old {
			if again.ID == o.ID {
				t.Fatalf("round %d: Direct(%s, bob) = the deleted account's conversation %d", round, name, o.ID)
			}
			if isMember(t, s, o.ID, name) {
				t.Errorf("round %d: the new %s is a member of the deleted account's conversation %d", round, name, o.ID)
			}
			if !isMember(t, s, o.ID, "bob") {
				t.Errorf("round %d: bob is no longer in conversation %d with a deleted account", round, o.ID)
			}
		}
		if again.Peers != [2]string{name, "bob"} {
			t.Errorf("round %d: Direct(%s, bob).Peers = %q", round, name, again.Peers)
		}
		if got, err := s.Before(ctx, again.ID, 0, 10); err != nil || len(got) != 0 {
			t.Errorf("round %d: the new direct conversation holds %+v, %v; want nothing", round, got, err)
		}
		if got := titles(t, s, name); !slices.Equal(got, []string{"@bob"}) {
			t.Errorf("round %d: the new %s's memberships = %q, want [@bob]", round, name, got)
		}
		if got := titles(t, s, "bob"); len(got) != round+2 || !slices.Contains(got, "@"+name) {
			t.Errorf("round %d: bob's memberships = %q, want @%s and %d with deleted accounts", round, got, name, round+1)
		}
	}
}

// The name of a deleted account, in any case, is taken until heldUntil, and
// its look-alikes are too similar; after heldUntil both are free.
func testDeletedNamesAreHeld(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob", "carol")
	if err := s.DeleteAccount(ctx, "alice", held()); err != nil {
		t.Fatalf("DeleteAccount(alice): %v", err)
	}
	if err := s.DeleteAccount(ctx, "bob", over()); err != nil {
		t.Fatalf("DeleteAccount(bob): %v", err)
	}
	tests := []struct {
		name string
		want error // nil: created
	}{
		{"alice", store.ErrNameTaken},
		{"ALICE", store.ErrNameTaken},
		{"a1ice", store.ErrNameSimilar},
		{"AL1CE", store.ErrNameSimilar},
		{"alicia", nil},
		{"B0B", nil}, // bob's hold is over
		{"bob", store.ErrNameSimilar},
		{"CAROL", store.ErrNameTaken},
	}
	for _, tt := range tests {
		if err := s.NameAvailable(ctx, tt.name); !errors.Is(err, tt.want) {
			t.Errorf("NameAvailable(%q) = %v, want %v", tt.name, err, tt.want)
		}
		err := s.CreateAccount(ctx, store.Account{Name: tt.name, PasswordHash: hash, CreatedAt: time.Now()})
		if !errors.Is(err, tt.want) {
			t.Errorf("CreateAccount(%q) = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := s.Account(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Account(alice) while its name is held = %v, want ErrNotFound", err)
	}
	// The look-alike that took a name whose hold was over is held in its
	// turn once deleted.
	if err := s.DeleteAccount(ctx, "b0b", held()); err != nil {
		t.Fatalf("DeleteAccount(b0b): %v", err)
	}
	for name, want := range map[string]error{"B0B": store.ErrNameTaken, "bob": store.ErrNameSimilar} {
		if err := s.NameAvailable(ctx, name); !errors.Is(err, want) {
			t.Errorf("NameAvailable(%q) with B0B held = %v, want %v", name, err, want)
		}
	}
}

// Signups for a name racing with the deletion of its account: none wins,
// whichever comes first.
func testNameNeverFreeDuringDeletion(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		accounts(t, s, name)
		succeeded := concurrently(t, 8, store.ErrNameTaken, func(i int) error {
			if i == 0 {
				return s.DeleteAccount(ctx, name, held())
			}
			return s.CreateAccount(ctx, store.Account{Name: name, PasswordHash: "intruder", CreatedAt: time.Now()})
		})
		if succeeded != 1 {
			t.Errorf("%d of DeleteAccount(%s) and the signups racing it succeeded, want the deletion alone", succeeded, name)
		}
		if _, err := s.Account(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Account(%s) after its deletion raced with signups = %v, want ErrNotFound", name, err)
		}
	}
}
