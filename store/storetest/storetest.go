// Package storetest is the conformance suite every store.Store
// implementation runs, so that SQLite and PostgreSQL behave alike.
package storetest

import (
	"context"
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

// hash stands in for a PHC string: stores keep it opaque, and real argon2
// hashing would only slow the suite down.
const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"

// Run runs the suite as subtests. open must return a new, empty store for
// each call; the suite closes it when the subtest ends, so open must not.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"CreateAndLookUp", testCreateAndLookUp},
		{"NameTaken", testNameTaken},
		{"NameSimilar", testNameSimilar},
		{"NotFound", testNotFound},
		{"CreateConcurrently", testCreateConcurrently},
		{"CreateSimilarConcurrently", testCreateSimilarConcurrently},
		{"AppendAssignsIDs", testAppendAssignsIDs},
		{"AppendNothing", testAppendNothing},
		{"AppendFailed", testAppendFailed},
		{"BeforeEmpty", testBeforeEmpty},
		{"BeforeLimit", testBeforeLimit},
		{"BeforePaging", testBeforePaging},
		{"AppendConcurrently", testAppendConcurrently},
		{"AppendWithoutAConversationStoresNothing", testAppendWithoutConversation},
		{"MessagesStayInTheirConversation", testMessagesStayInTheirConversation},
		{"LobbyExistsFromTheStart", testLobbyExists},
		{"NoSuchConversation", testNoSuchConversation},
		{"CreateChannelReturnsWhatItStored", testCreateChannel},
		{"ChannelNamesAreUniqueInAnyCase", testChannelNamesUnique},
		{"ChannelLimitHoldsUnderConcurrentCreation", testChannelLimitConcurrently},
		{"SetChannelStoresTopicAndPrivacy", testSetChannel},
		{"AddMemberLimitCountsChannelsOnly", testAddMemberLimit},
		{"AddMemberLimitHoldsUnderConcurrentJoins", testAddMemberLimitConcurrently},
		{"MembershipEndsAndComesBack", testRemoveMember},
		{"DirectIsOneConversationEitherWay", testDirect},
		{"InvitationsAreGivenAndTakenBack", testInvites},
		{"PrivateChannelsAreListedOnlyToMembersAndInvitees", testChannelsPrivacy},
		{"MembershipsListChannelsByNameThenDirectOnesByNewestMessage", testMembershipsOrder},
		{"UnreadCountsOthersPostsAfterTheReadPointer", testUnread},
		{"IgnoresAreKeptPerAccount", testIgnores},
		{"ProfilesShowCreationAndLastSeen", testProfiles},
		{"SetPasswordHashChangesThatAccountOnly", testSetPasswordHash},
		{"KeysAreListedOldestFirstWithTheirOwnersName", testKeys},
		{"AddKeyRefusesTakenKeysMissingAccountsAndTheLimit", testAddKeyRefusals},
		{"OfTwoAccountsAddingOneKeyAtOnceExactlyOneHasIt", testAddKeyConcurrently},
		{"KeyLimitHoldsUnderConcurrentAdds", testAddKeyLimitConcurrently},
		{"RemoveKeyRemovesOnlyTheAccountsOwnKey", testRemoveKey},
		{"KeyUsedRecordsTheLastLoginAndIgnoresAKeyThatIsGone", testKeyUsed},
		{"LoginsKeepTheNewestFiveNewestFirst", testLogins},
		{"DeleteAccountTakesItsKeysLoginsMembershipsInvitationsAndIgnores", testDeleteAccountTakesWhatWasItsOwn},
		{"DeleteAccountOfNoAccountIsNotFound", testDeleteAccountOfNoAccount},
		{"DeletedAccountsMessagesAndDirectConversationsStayRenamed", testDeleteAccountRenames},
		{"ANewAccountOfADeletedNameGetsANewDirectConversation", testNewAccountOfADeletedName},
		{"DeletedNamesAndLookAlikesAreHeldUntilTheHoldEnds", testDeletedNamesAreHeld},
		{"ANameIsNeverFreeWhileItsAccountIsBeingDeleted", testNameNeverFreeDuringDeletion},
		{"RolesAreMemberUntilSetAndNeedAnAccount", testRoles},
		{"MustChangePasswordIsSetAndClearedByANewPassword", testMustChangePassword},
		{"ASanctionReplacesOneOfTheSameKind", testSanctionReplaces},
		{"SanctionsPastTheirEndAreNotInForce", testSanctionsExpire},
		{"LiftOfNoSanctionInForceIsNotFound", testLift},
		{"DeleteAccountTakesItsSanctions", testDeleteAccountTakesSanctions},
		{"TheMessageOfTheDayIsSetAndCleared", testMOTD},
		{"TheAuditLogIsNewestFirstAndBounded", testAuditLog},
		{"PurgeHidesExactlyTheAuthorsMessagesSinceTheTime", testPurge},
		{"PurgeNoticesKeepTheirStart", testPurgeNoticeSince},
		{"AccountsListsEveryAccountByNameWithItsKeyCount", testAccounts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.test(t, s)
		})
	}
}

func testCreateAndLookUp(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Sub-millisecond digits are dropped: stores keep milliseconds.
	created := time.Date(2024, 2, 29, 23, 59, 58, 123_456_789, time.UTC)
	want := store.Account{Name: "Alice", PasswordHash: hash, CreatedAt: created}
	if err := s.CreateAccount(ctx, want); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
		got, err := s.Account(ctx, name)
		if err != nil {
			t.Fatalf("Account(%q): %v", name, err)
		}
		if got.Name != "Alice" || got.PasswordHash != hash {
			t.Errorf("Account(%q) = %q, %q; want %q, %q", name, got.Name, got.PasswordHash, "Alice", hash)
		}
		if wantAt := created.Truncate(time.Millisecond); !got.CreatedAt.Equal(wantAt) {
			t.Errorf("Account(%q).CreatedAt = %v, want %v", name, got.CreatedAt, wantAt)
		}
	}

	now := time.Now()
	if err := s.CreateAccount(ctx, store.Account{Name: "bob", PasswordHash: "other", CreatedAt: now}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	got, err := s.Account(ctx, "Bob")
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	if got.Name != "bob" || got.PasswordHash != "other" || !got.CreatedAt.Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("Account(%q) = %+v, want bob, other, %v", "Bob", got, now.Truncate(time.Millisecond))
	}
}

func testNameTaken(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := store.Account{Name: "Carol", PasswordHash: hash, CreatedAt: time.UnixMilli(1_700_000_000_000)}
	if err := s.CreateAccount(ctx, first); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	for _, name := range []string{"Carol", "carol", "CAROL"} {
		err := s.CreateAccount(ctx, store.Account{Name: name, PasswordHash: "intruder", CreatedAt: time.Now()})
		if !errors.Is(err, store.ErrNameTaken) {
			t.Errorf("CreateAccount(%q) = %v, want ErrNameTaken", name, err)
		}
	}
	got, err := s.Account(ctx, "carol")
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	if got.Name != first.Name || got.PasswordHash != first.PasswordHash || !got.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("after duplicates Account = %+v, want %+v", got, first)
	}
}

// A look-alike of an existing name is refused with ErrNameSimilar; the same
// name in another case is still ErrNameTaken, although its skeleton is the
// same too; names that merely resemble one another are fine.
func testNameSimilar(t *testing.T, s store.Store) {
	ctx := t.Context()
	existing := []string{"Iris", "mallory", "bob", "walter", "alice"}
	for _, name := range existing {
		if err := s.CreateAccount(ctx, store.Account{Name: name, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
			t.Fatalf("CreateAccount(%q): %v", name, err)
		}
	}
	tests := []struct {
		name string
		want error // nil: created
	}{
		{"lris", store.ErrNameSimilar},
		{"1RIS", store.ErrNameSimilar},
		{"IRIS", store.ErrNameTaken},
		{"iris", store.ErrNameTaken},
		{"rnalIory", store.ErrNameSimilar},
		{"MALL0RY", store.ErrNameSimilar},
		{"Mallory", store.ErrNameTaken},
		{"B0B", store.ErrNameSimilar},
		{"b0b", store.ErrNameSimilar},
		{"BOB", store.ErrNameTaken},
		{"vvalter", store.ErrNameSimilar},
		{"VVALTER", store.ErrNameSimilar},
		{"a1ice", store.ErrNameSimilar},
		{"alicia", nil},
		{"rob", nil},
		{"bobby", nil},
		{"wa1ter2", nil},
	}
	for _, tt := range tests {
		// NameAvailable foretells what CreateAccount then says.
		if err := s.NameAvailable(ctx, tt.name); !errors.Is(err, tt.want) {
			t.Errorf("NameAvailable(%q) = %v, want %v", tt.name, err, tt.want)
		}
		err := s.CreateAccount(ctx, store.Account{Name: tt.name, PasswordHash: "intruder", CreatedAt: time.Now()})
		if !errors.Is(err, tt.want) {
			t.Errorf("CreateAccount(%q) = %v, want %v", tt.name, err, tt.want)
		}
		if tt.want == nil {
			if err := s.NameAvailable(ctx, tt.name); !errors.Is(err, store.ErrNameTaken) {
				t.Errorf("NameAvailable(%q) once created = %v, want ErrNameTaken", tt.name, err)
			}
		}
	}
	for _, name := range []string{"lris", "rnalIory", "B0B", "vvalter", "a1ice"} {
		if _, err := s.Account(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Account(%q) after a refused signup = %v, want ErrNotFound", name, err)
		}
	}
	for _, name := range existing {
		got, err := s.Account(ctx, name)
		if err != nil || got.Name != name || got.PasswordHash != hash {
			t.Errorf("Account(%q) = %q, %q, %v; want it unchanged", name, got.Name, got.PasswordHash, err)
		}
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.Account(ctx, "dave"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Account on empty store = %v, want ErrNotFound", err)
	}
	if err := s.CreateAccount(ctx, store.Account{Name: "dave", PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	for _, name := range []string{"davey", "dav", "", "eve"} {
		if _, err := s.Account(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Account(%q) = %v, want ErrNotFound", name, err)
		}
	}
}

// Two signups racing for one name in different cases: the store, not the
// caller, must decide, and exactly one wins.
func testCreateConcurrently(t *testing.T, s store.Store) {
	ctx := t.Context()
	names := []string{"frank", "Frank", "FRANK", "fRANK", "frAnk", "franK", "FrAnK", "fRaNk"}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			errs[i] = s.CreateAccount(ctx, store.Account{Name: name, PasswordHash: hash, CreatedAt: time.Now()})
		})
	}
	wg.Wait()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != "" {
				t.Errorf("both %q and %q were created", winner, names[i])
			}
			winner = names[i]
		case !errors.Is(err, store.ErrNameTaken):
			t.Errorf("CreateAccount(%q) = %v, want nil or ErrNameTaken", names[i], err)
		}
	}
	if winner == "" {
		t.Fatal("no CreateAccount succeeded")
	}
	got, err := s.Account(ctx, "FRANK")
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	if got.Name != winner {
		t.Errorf("Account.Name = %q, want the winner %q", got.Name, winner)
	}
}

// Signups racing for look-alike names: exactly one wins, the others are
// refused as taken (the winner's name in another case) or similar. "bo8"
// races too but is no look-alike (8 is not folded), so it is created. Each
// round's signups wait at a barrier, so that they overlap.
func testCreateSimilarConcurrently(t *testing.T, s store.Store) {
	ctx := t.Context()
	for round := range 10 {
		var names []string
		for _, name := range []string{"bob", "B0B", "Bob", "b0b", "BOB", "bOB", "B0b", "bo8"} {
			names = append(names, fmt.Sprint(name, round))
		}
		errs := make([]error, len(names))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, name := range names {
			wg.Go(func() {
				<-start
				errs[i] = s.CreateAccount(ctx, store.Account{Name: name, PasswordHash: hash, CreatedAt: time.Now()})
			})
		}
		close(start)
		wg.Wait()
		last := len(names) - 1
		if errs[last] != nil {
			t.Errorf("CreateAccount(%q) = %v, want nil", names[last], errs[last])
		}
		winner := ""
		for i, err := range errs[:last] {
			if err == nil {
				if winner != "" {
					t.Errorf("both %q and %q were created", winner, names[i])
				}
				winner = names[i]
			}
		}
		if winner == "" {
			t.Fatalf("none of %q was created", names[:last])
		}
		for i, err := range errs[:last] {
			want := store.ErrNameSimilar
			if strings.EqualFold(names[i], winner) {
				want = store.ErrNameTaken
			}
			if names[i] != winner && !errors.Is(err, want) {
				t.Errorf("CreateAccount(%q) after %q won = %v, want %v", names[i], winner, err, want)
			}
		}
		got, err := s.Account(ctx, winner)
		if err != nil || got.Name != winner {
			t.Errorf("Account(%q) = %q, %v; want the winner", winner, got.Name, err)
		}
	}
}

func testAppendAssignsIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	lobby := lobbyID(t, s)
	at := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	first := []chat.Message{
		{Conv: lobby, Time: at, Author: "alice", Kind: chat.KindText, Body: "hello"},
		{Conv: lobby, Time: at.Add(time.Second), Author: "bob", Kind: chat.KindAction, Body: "waves 👋"},
		{Conv: lobby, Time: at.Add(2 * time.Second), Author: "", Kind: chat.KindSystem, Body: "server restarts at noon"},
	}
	second := []chat.Message{
		{Conv: lobby, Time: at.Add(3 * time.Second), Author: "carol", Kind: chat.KindJoin, Body: ""},
		{Conv: lobby, Time: at.Add(4 * time.Second), Author: "carol", Kind: chat.KindLeave, Body: "ünïcödé", To: "carol"},
		{Conv: lobby, Time: at.Add(5 * time.Second), Author: "carol", Kind: chat.KindTopic, Body: "a topic"},
		{Conv: lobby, Time: at.Add(6 * time.Second), Author: "carol", Kind: chat.KindAway, Body: "lunch"},
		{Conv: lobby, Time: at.Add(7 * time.Second), Author: "carol", Kind: chat.KindBack},
	}
	for _, batch := range [][]chat.Message{first, second} {
		if err := s.Append(ctx, batch); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	want := append(append([]chat.Message(nil), first...), second...)
	for i, m := range want {
		if m.ID <= 0 || i > 0 && m.ID <= want[i-1].ID {
			t.Fatalf("IDs not strictly increasing across batches: %v", ids(want))
		}
	}
	got, err := s.Before(ctx, lobby, 0, 10)
	if err != nil {
		t.Fatalf("Before: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Before returned %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		w.Time = w.Time.Truncate(time.Millisecond)
		if !sameMessage(got[i], w) {
			t.Errorf("message %d = %+v, want %+v", i, got[i], w)
		}
	}
}

func testAppendNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.Append(ctx, nil); err != nil {
		t.Errorf("Append(nil) = %v", err)
	}
	if err := s.Append(ctx, []chat.Message{}); err != nil {
		t.Errorf("Append(empty) = %v", err)
	}
	got, err := s.Before(ctx, lobbyID(t, s), 0, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("Before after empty appends = %v, %v; want nothing", got, err)
	}
}

// A failed Append stores nothing and leaves no ID that looks assigned.
func testAppendFailed(t *testing.T, s store.Store) {
	lobby := lobbyID(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	msgs := []chat.Message{
		{ID: 41, Conv: lobby, Time: time.Now(), Author: "alice", Kind: chat.KindText, Body: "lost"},
		{ID: 42, Conv: lobby, Time: time.Now(), Author: "alice", Kind: chat.KindText, Body: "lost too"},
	}
	if err := s.Append(ctx, msgs); err == nil {
		t.Fatal("Append with a cancelled context succeeded")
	}
	for i, m := range msgs {
		if m.ID != 0 {
			t.Errorf("after failed Append msgs[%d].ID = %d, want 0", i, m.ID)
		}
	}
	got, err := s.Before(t.Context(), lobby, 0, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("Before after failed Append = %v, %v; want nothing", got, err)
	}
}

func testBeforeEmpty(t *testing.T, s store.Store) {
	lobby := lobbyID(t, s)
	for _, before := range []int64{0, -1, 1, 100} {
		got, err := s.Before(t.Context(), lobby, before, 10)
		if err != nil || len(got) != 0 {
			t.Errorf("Before(%d, 10) on empty store = %v, %v; want nothing", before, got, err)
		}
	}
}

func testBeforeLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	lobby := lobbyID(t, s)
	msgs := texts(lobby, 5)
	if err := s.Append(ctx, msgs); err != nil {
		t.Fatalf("Append: %v", err)
	}
	for _, limit := range []int{0, -1} {
		got, err := s.Before(ctx, lobby, 0, limit)
		if err != nil || len(got) != 0 {
			t.Errorf("Before(0, %d) = %v, %v; want nothing", limit, got, err)
		}
	}
	got, err := s.Before(ctx, lobby, 0, 2)
	if err != nil {
		t.Fatalf("Before: %v", err)
	}
	if want := ids(msgs[3:]); !equalIDs(got, want) {
		t.Errorf("Before(0, 2) IDs = %v, want the newest two oldest first %v", ids(got), want)
	}
	got, err = s.Before(ctx, lobby, msgs[2].ID, 100)
	if err != nil {
		t.Fatalf("Before: %v", err)
	}
	if want := ids(msgs[:2]); !equalIDs(got, want) {
		t.Errorf("Before(%d, 100) IDs = %v, want %v", msgs[2].ID, ids(got), want)
	}
	got, err = s.Before(ctx, lobby, msgs[0].ID, 100)
	if err != nil || len(got) != 0 {
		t.Errorf("Before(first ID, 100) = %v, %v; want nothing", got, err)
	}
}

// Walking back page by page, as a client scrolling up does, sees every
// message once.
func testBeforePaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n, batch, page = 250, 50, 100
	lobby := lobbyID(t, s)
	msgs := texts(lobby, n)
	for i := 0; i < n; i += batch {
		if err := s.Append(ctx, msgs[i:i+batch]); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	var walked []chat.Message
	before := int64(0)
	for pages := 0; ; pages++ {
		if pages > n/page+1 {
			t.Fatalf("paging did not end after %d pages", pages)
		}
		got, err := s.Before(ctx, lobby, before, page)
		if err != nil {
			t.Fatalf("Before(%d, %d): %v", before, page, err)
		}
		if len(got) == 0 {
			break
		}
		if len(got) > page {
			t.Fatalf("Before(%d, %d) returned %d messages", before, page, len(got))
		}
		walked = append(got, walked...)
		before = got[0].ID
	}
	if len(walked) != n {
		t.Fatalf("paging saw %d messages, want %d", len(walked), n)
	}
	for i, m := range walked {
		if m.ID != msgs[i].ID || m.Body != msgs[i].Body {
			t.Fatalf("paging message %d = ID %d %q, want ID %d %q", i, m.ID, m.Body, msgs[i].ID, msgs[i].Body)
		}
	}
}

// Writers racing each other (several nodes, or a sequencer and a signup)
// still get distinct IDs, increasing within each batch.
func testAppendConcurrently(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, batches, size = 8, 10, 3
	lobby := lobbyID(t, s)
	got := make([][]chat.Message, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range batches {
				msgs := texts(lobby, size)
				if err := s.Append(ctx, msgs); err != nil {
					t.Errorf("writer %d: Append: %v", w, err)
					return
				}
				got[w] = append(got[w], msgs...)
			}
		})
	}
	wg.Wait()
	seen := make(map[int64]bool)
	for w, msgs := range got {
		for i, m := range msgs {
			if m.ID <= 0 || seen[m.ID] {
				t.Fatalf("writer %d got ID %d twice or unset", w, m.ID)
			}
			seen[m.ID] = true
			if i%size > 0 && m.ID <= msgs[i-1].ID {
				t.Errorf("writer %d: IDs within a batch not increasing: %d after %d", w, m.ID, msgs[i-1].ID)
			}
		}
	}
	all, err := s.Before(ctx, lobby, 0, 2*writers*batches*size)
	if err != nil {
		t.Fatalf("Before: %v", err)
	}
	if len(all) != writers*batches*size {
		t.Errorf("stored %d messages, want %d", len(all), writers*batches*size)
	}
	for _, m := range all {
		if !seen[m.ID] {
			t.Errorf("stored message %d was not reported to any writer", m.ID)
		}
	}
}

// texts returns n text messages of conversation conv with distinct bodies
// and no IDs.
func texts(conv int64, n int) []chat.Message {
	now := time.Now()
	msgs := make([]chat.Message, n)
	for i := range msgs {
		msgs[i] = chat.Message{Conv: conv, Time: now, Author: "tester", Kind: chat.KindText, Body: fmt.Sprintf("message %d", i)}
	}
	return msgs
}

// lobbyID is the ID of #lobby, which every store has from the start.
func lobbyID(t *testing.T, s store.Store) int64 {
	t.Helper()
	c, err := s.Channel(t.Context(), chat.Lobby)
	if err != nil {
		t.Fatalf("Channel(%q): %v", chat.Lobby, err)
	}
	return c.ID
}

func ids(msgs []chat.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func equalIDs(msgs []chat.Message, want []int64) bool {
	return slices.Equal(ids(msgs), want)
}

// sameMessage compares with time.Time.Equal, which ignores the location.
func sameMessage(a, b chat.Message) bool {
	return a.ID == b.ID && a.Conv == b.Conv && a.Time.Equal(b.Time) && a.Author == b.Author &&
		a.Kind == b.Kind && a.Body == b.Body && a.To == b.To && a.Removed == b.Removed && a.Since.Equal(b.Since)
}
