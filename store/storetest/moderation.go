package storetest

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"messaging/chat"
	"messaging/store"
)

// ms is now to the millisecond, as stores keep times.
func ms() time.Time { return time.UnixMilli(time.Now().UnixMilli()) }

// An account is a member until given a role; roles are set and read with
// the name in any case; an unknown account, or a role chat does not know,
// is refused.
func testRoles(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob")
	for _, name := range []string{"alice", "bob"} {
		if r, err := s.Role(ctx, name); err != nil || r != chat.RoleMember {
			t.Errorf("Role(%s) of a new account = %v, %v; want member", name, r, err)
		}
	}
	for _, step := range []struct {
		account string
		role    chat.Role
	}{{"ALICE", chat.RoleAdmin}, {"bob", chat.RoleModerator}, {"Bob", chat.RoleMember}, {"bob", chat.RoleModerator}} {
		if err := s.SetRole(ctx, step.account, step.role); err != nil {
			t.Fatalf("SetRole(%s, %s): %v", step.account, step.role, err)
		}
	}
	for name, want := range map[string]chat.Role{"alice": chat.RoleAdmin, "BOB": chat.RoleModerator} {
		if r, err := s.Role(ctx, name); err != nil || r != want {
			t.Errorf("Role(%s) = %v, %v; want %s", name, r, err, want)
		}
	}
	if err := s.SetRole(ctx, "nobody", chat.RoleAdmin); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetRole(nobody) = %v, want ErrNotFound", err)
	}
	if _, err := s.Role(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Role(nobody) = %v, want ErrNotFound", err)
	}
	if err := s.SetRole(ctx, "alice", chat.Role(7)); err == nil {
		t.Error("SetRole(alice, 7) succeeded, want a role chat does not know refused")
	}
	if r, err := s.Role(ctx, "alice"); err != nil || r != chat.RoleAdmin {
		t.Errorf("Role(alice) after a refused SetRole = %v, %v; want admin still", r, err)
	}
}

// MustChangePassword is false for a new account, set and cleared by
// SetMustChangePassword (that account's only), and cleared by a new
// password.
func testMustChangePassword(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob")
	must := func(name string) bool {
		t.Helper()
		a, err := s.Account(ctx, name)
		if err != nil {
			t.Fatalf("Account(%s): %v", name, err)
		}
		return a.MustChangePassword
	}
	if must("alice") {
		t.Error("a new account must change its password")
	}
	if err := s.SetMustChangePassword(ctx, "ALICE", true); err != nil {
		t.Fatalf("SetMustChangePassword(ALICE, true): %v", err)
	}
	if !must("alice") || must("bob") {
		t.Errorf("MustChangePassword after setting alice's = alice %v, bob %v; want true, false", must("alice"), must("bob"))
	}
	if err := s.SetMustChangePassword(ctx, "alice", false); err != nil {
		t.Fatalf("SetMustChangePassword(alice, false): %v", err)
	}
	if must("alice") {
		t.Error("MustChangePassword after clearing it = true")
	}
	if err := s.SetMustChangePassword(ctx, "alice", true); err != nil {
		t.Fatalf("SetMustChangePassword(alice, true): %v", err)
	}
	if err := s.SetPasswordHash(ctx, "Alice", "new hash"); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	if must("alice") {
		t.Error("MustChangePassword after a new password = true, want it cleared")
	}
	if err := s.SetMustChangePassword(ctx, "nobody", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetMustChangePassword(nobody) = %v, want ErrNotFound", err)
	}
}

// A sanction replaces the account's one of the same kind, not the other
// kind; Sanctions lists them oldest first with every field and the
// account as it spells its name. An unknown account or kind is refused.
func testSanctionReplaces(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob")
	now := ms()
	mute := store.Sanction{Kind: store.Mute, Account: "alice", By: "mod", Reason: "spam", At: now.Add(-3 * time.Minute), Until: now.Add(time.Hour)}
	ban := store.Sanction{Kind: store.Ban, Account: "ALICE", By: "admin", Reason: "abuse", At: now.Add(-2 * time.Minute), Address: "192.0.2.1"}
	again := store.Sanction{Kind: store.Mute, Account: "Alice", By: "other mod", Reason: "spam again", At: now.Add(-time.Minute)}
	bobs := store.Sanction{Kind: store.Mute, Account: "bob", By: "mod", At: now.Add(-90 * time.Second), Until: now.Add(time.Minute)}
	for _, sn := range []store.Sanction{mute, ban, bobs, again} {
		if err := s.Sanction(ctx, sn); err != nil {
			t.Fatalf("Sanction(%s %s): %v", sn.Kind, sn.Account, err)
		}
	}
	ban.Account, again.Account = "Alice", "Alice"
	want := []store.Sanction{ban, bobs, again}
	if got := sanctions(t, s, now); !slices.EqualFunc(got, want, sameSanction) {
		t.Errorf("Sanctions = %+v, want %+v", got, want)
	}

	if err := s.Sanction(ctx, store.Sanction{Kind: store.Ban, Account: "nobody", By: "admin", At: now}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Sanction of nobody = %v, want ErrNotFound", err)
	}
	if err := s.Sanction(ctx, store.Sanction{Kind: "exile", Account: "bob", By: "admin", At: now}); err == nil {
		t.Error("Sanction of kind exile succeeded, want an unknown kind refused")
	}
	if got := sanctions(t, s, now); !slices.EqualFunc(got, want, sameSanction) {
		t.Errorf("Sanctions after refused ones = %+v, want %+v", got, want)
	}
}

// A sanction is in force until its Until, not at it; one without Until
// stays in force.
func testSanctionsExpire(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob")
	now := ms()
	ended := store.Sanction{Kind: store.Mute, Account: "alice", By: "mod", At: now.Add(-time.Hour), Until: now.Add(-time.Minute)}
	ending := store.Sanction{Kind: store.Ban, Account: "alice", By: "mod", At: now.Add(-time.Hour), Until: now.Add(time.Hour)}
	forever := store.Sanction{Kind: store.Ban, Account: "bob", By: "mod", At: now.Add(-time.Minute)}
	for _, sn := range []store.Sanction{ended, ending, forever} {
		if err := s.Sanction(ctx, sn); err != nil {
			t.Fatalf("Sanction(%s %s): %v", sn.Kind, sn.Account, err)
		}
	}
	for _, tt := range []struct {
		at   time.Time
		want []store.Sanction
	}{
		{now.Add(-2 * time.Minute), []store.Sanction{ended, ending, forever}},
		{now, []store.Sanction{ending, forever}},
		{ending.Until.Add(-time.Millisecond), []store.Sanction{ending, forever}},
		{ending.Until, []store.Sanction{forever}},
		{now.AddDate(10, 0, 0), []store.Sanction{forever}},
	} {
		if got := sanctions(t, s, tt.at); !slices.EqualFunc(got, tt.want, sameSanction) {
			t.Errorf("Sanctions(now%+v) = %+v, want %+v", tt.at.Sub(now), got, tt.want)
		}
	}
}

// Lift removes the account's sanction of that kind only; with none in
// force (none at all, an ended one, another kind, no account) it is
// ErrNotFound.
func testLift(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob")
	now := ms()
	if err := s.Lift(ctx, "alice", store.Mute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lift of no mute = %v, want ErrNotFound", err)
	}
	for _, sn := range []store.Sanction{
		{Kind: store.Mute, Account: "alice", By: "mod", At: now.Add(-time.Minute)},
		{Kind: store.Ban, Account: "bob", By: "mod", At: now.Add(-time.Hour), Until: now.Add(-time.Minute)},
		{Kind: store.Mute, Account: "bob", By: "mod", At: now},
	} {
		if err := s.Sanction(ctx, sn); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Lift(ctx, "alice", store.Ban); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lift of a ban where there is a mute = %v, want ErrNotFound", err)
	}
	if err := s.Lift(ctx, "bob", store.Ban); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lift of an ended ban = %v, want ErrNotFound", err)
	}
	if err := s.Lift(ctx, "nobody", store.Mute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lift of nobody's mute = %v, want ErrNotFound", err)
	}
	if err := s.Lift(ctx, "ALICE", store.Mute); err != nil {
		t.Fatalf("Lift(ALICE, mute): %v", err)
	}
	if err := s.Lift(ctx, "alice", store.Mute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lift of a lifted mute = %v, want ErrNotFound", err)
	}
	got := sanctions(t, s, now)
	if len(got) != 1 || got[0].Account != "bob" || got[0].Kind != store.Mute {
		t.Errorf("Sanctions after lifting alice's mute = %+v, want bob's mute only", got)
	}
}

// DeleteAccount takes the account's sanctions and no one else's; a new
// account of the name starts with none.
func testDeleteAccountTakesSanctions(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob")
	now := ms()
	bobs := store.Sanction{Kind: store.Mute, Account: "bob", By: "mod", At: now}
	for _, sn := range []store.Sanction{
		{Kind: store.Ban, Account: "alice", By: "admin", At: now, Address: "192.0.2.1"},
		{Kind: store.Mute, Account: "alice", By: "mod", At: now},
		bobs,
	} {
		if err := s.Sanction(ctx, sn); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAccount(ctx, "Alice", over()); err != nil {
		t.Fatalf("DeleteAccount(Alice): %v", err)
	}
	if got := sanctions(t, s, now); !slices.EqualFunc(got, []store.Sanction{bobs}, sameSanction) {
		t.Errorf("Sanctions after DeleteAccount(alice) = %+v, want bob's only", got)
	}
	if err := s.Sanction(ctx, store.Sanction{Kind: store.Mute, Account: "alice", By: "mod", At: now}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Sanction of a deleted account = %v, want ErrNotFound", err)
	}
	accounts(t, s, "alice")
	if got := sanctions(t, s, now); len(got) != 1 {
		t.Errorf("Sanctions after a new alice = %+v, want bob's only", got)
	}
}

// The message of the day is "" until set, replaced by the next, and
// cleared by "".
func testMOTD(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, step := range []string{"", "welcome", "be kind to one another", ""} {
		if err := s.SetMOTD(ctx, step); err != nil {
			t.Fatalf("SetMOTD(%q): %v", step, err)
		}
		if got, err := s.MOTD(ctx); err != nil || got != step {
			t.Errorf("MOTD after SetMOTD(%q) = %q, %v", step, got, err)
		}
	}
}

// AuditLog returns the newest n entries newest first, as appended, with
// increasing IDs; n <= 0 or too large returns all (of few); LastAudit is
// the newest ID, 0 before any.
func testAuditLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	if id, err := s.LastAudit(ctx); err != nil || id != 0 {
		t.Errorf("LastAudit of no entries = %d, %v; want 0", id, err)
	}
	if log, err := s.AuditLog(ctx, 10); err != nil || len(log) != 0 {
		t.Errorf("AuditLog of no entries = %+v, %v; want none", log, err)
	}
	now := ms()
	entries := []store.AuditEntry{
		{At: now.Add(-4 * time.Minute), Actor: "admin", Action: "role", Target: "bob", Reason: "moderator"},
		{At: now.Add(-3 * time.Minute), Actor: "bob", Action: "mute", Target: "mallory", Reason: "2h"},
		{At: now.Add(-3 * time.Minute), Actor: "bob", Action: "purge", Target: "mallory", Reason: "60 min"},
		{At: now.Add(-2 * time.Minute), Actor: "admin", Action: "motd"},
		{At: now.Add(-time.Minute), Actor: "cli", Action: "ban", Target: "mallory", Reason: "spam"},
	}
	var last int64
	for i, e := range entries {
		if err := s.Audit(ctx, e); err != nil {
			t.Fatalf("Audit(%s): %v", e.Action, err)
		}
		id, err := s.LastAudit(ctx)
		if err != nil || id <= last {
			t.Fatalf("LastAudit after entry %d = %d, %v; want more than %d", i, id, err, last)
		}
		last, entries[i].ID = id, id
	}
	newest := slices.Clone(entries)
	slices.Reverse(newest)
	for _, tt := range []struct {
		n    int
		want []store.AuditEntry
	}{
		{1, newest[:1]},
		{3, newest[:3]},
		{5, newest},
		{6, newest},
		{0, newest},
		{-1, newest},
		{math.MaxInt, newest},
	} {
		log, err := s.AuditLog(ctx, tt.n)
		if err != nil || !slices.EqualFunc(log, tt.want, sameAudit) {
			t.Errorf("AuditLog(%d) = %+v, %v; want %+v", tt.n, log, err, tt.want)
		}
	}
}

// Purge hides the author's messages (named in any case) from the time on,
// in every conversation: read back Removed with an empty body, on every
// page. Earlier ones, others', other kinds (notices about the author) stay;
// a second purge hides none again.
func testPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "alice2", "bob")
	lobby := lobbyID(t, s)
	tea := newChannel(t, s, "#tea", "bob")
	dm := direct(t, s, "alice", "bob")
	since := ms().Add(-time.Hour)
	at := func(d time.Duration) time.Time { return since.Add(d) }
	msgs := []chat.Message{
		{Conv: lobby, Time: at(-time.Millisecond), Author: "Alice", Kind: chat.KindText, Body: "just before"},
		{Conv: lobby, Time: at(0), Author: "alice", Kind: chat.KindText, Body: "at the time"},
		{Conv: lobby, Time: at(time.Second), Author: "bob", Kind: chat.KindText, Body: "alice, stop"},
		{Conv: tea.ID, Time: at(time.Second), Author: "Alice", Kind: chat.KindJoin},
		{Conv: tea.ID, Time: at(2 * time.Second), Author: "ALICE", Kind: chat.KindAction, Body: "shouts"},
		{Conv: tea.ID, Time: at(3 * time.Second), Author: "Alice", Kind: chat.KindTopic, Body: "a rude topic"},
		{Conv: dm.ID, Time: at(4 * time.Second), Author: "Alice", Kind: chat.KindText, Body: "psst"},
		{Conv: dm.ID, Time: at(4 * time.Second), Author: "bob", Kind: chat.KindText, Body: "go away"},
		{Conv: lobby, Time: at(5 * time.Second), Author: "alice2", Kind: chat.KindText, Body: "not alice"},
		{Conv: lobby, Time: at(6 * time.Second), Author: "Alice", Kind: chat.KindAway, Body: "a rude reason"},
		{Conv: lobby, Time: at(7 * time.Second), Author: "", Kind: chat.KindSystem, Body: "Alice was warned"},
		{Conv: tea.ID, Time: at(8 * time.Second), Author: "bob", Kind: chat.KindLeave, To: "Alice", Body: "removed by bob"},
		{Conv: lobby, Time: at(9 * time.Second), Author: "Alice", Kind: chat.KindPurge, Body: "bob", Since: at(-time.Minute)},
	}
	appendAll(t, s, msgs)
	hidden := []int{1, 4, 5, 6, 9}

	n, err := s.Purge(ctx, "ALICE", since)
	if err != nil || n != len(hidden) {
		t.Fatalf("Purge(ALICE) = %d, %v; want %d", n, err, len(hidden))
	}
	want := slices.Clone(msgs)
	for _, i := range hidden {
		want[i].Removed, want[i].Body = true, ""
	}
	for _, conv := range []int64{lobby, tea.ID, dm.ID} {
		var wantHere []chat.Message
		for _, m := range want {
			if m.Conv == conv {
				wantHere = append(wantHere, m)
			}
		}
		if got := history(t, s, conv, 100); !slices.EqualFunc(got, wantHere, sameMessage) {
			t.Errorf("conversation %d after Purge = %+v, want %+v", conv, got, wantHere)
		}
		if got := history(t, s, conv, 2); !slices.EqualFunc(got, wantHere, sameMessage) {
			t.Errorf("conversation %d after Purge, in pages of 2 = %+v, want %+v", conv, got, wantHere)
		}
	}

	if n, err := s.Purge(ctx, "alice", since); err != nil || n != 0 {
		t.Errorf("Purge(alice) again = %d, %v; want 0", n, err)
	}
	if n, err := s.Purge(ctx, "nobody", time.Time{}); err != nil || n != 0 {
		t.Errorf("Purge(nobody) = %d, %v; want 0", n, err)
	}
	// The zero time is the beginning.
	if n, err := s.Purge(ctx, "alice", time.Time{}); err != nil || n != 1 {
		t.Errorf("Purge(alice) since the zero time = %d, %v; want the 1 before the first purge", n, err)
	}
}

// A purge notice is read back with its start; other messages with none.
func testPurgeNoticeSince(t *testing.T, s store.Store) {
	lobby := lobbyID(t, s)
	now := ms()
	msgs := []chat.Message{
		{Conv: lobby, Time: now, Author: "bob", Kind: chat.KindText, Body: "hi"},
		{Conv: lobby, Time: now, Author: "bob", Kind: chat.KindPurge, Body: "mod", Since: now.Add(-time.Hour)},
	}
	appendAll(t, s, msgs)
	if got := history(t, s, lobby, 10); !slices.EqualFunc(got, msgs, sameMessage) {
		t.Errorf("Before = %+v, want %+v", got, msgs)
	}
}

// Accounts lists every account by name in any case, as it spells it,
// with its role, times and key count; none in a new store.
func testAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.Accounts(ctx); err != nil || len(got) != 0 {
		t.Errorf("Accounts of a new store = %+v, %v; want none", got, err)
	}
	now := ms()
	want := []store.AccountSummary{
		{Name: "Alice", Role: chat.RoleAdmin, Created: now.Add(-3 * time.Hour), LastSeen: now.Add(-time.Minute), Keys: 2},
		{Name: "bob", Role: chat.RoleMember, Created: now.Add(-time.Hour), Keys: 1},
		{Name: "Carol", Role: chat.RoleModerator, Created: now.Add(-2 * time.Hour), LastSeen: now},
	}
	for _, a := range []store.AccountSummary{want[2], want[0], want[1]} {
		if err := s.CreateAccount(ctx, store.Account{Name: a.Name, PasswordHash: hash, CreatedAt: a.Created}); err != nil {
			t.Fatalf("CreateAccount(%s): %v", a.Name, err)
		}
		if a.Role != chat.RoleMember {
			if err := s.SetRole(ctx, a.Name, a.Role); err != nil {
				t.Fatal(err)
			}
		}
		if !a.LastSeen.IsZero() {
			if err := s.SetLastSeen(ctx, a.Name, a.LastSeen); err != nil {
				t.Fatal(err)
			}
		}
	}
	addKey(t, s, newKey("SHA256:a1", "alice", now))
	addKey(t, s, newKey("SHA256:a2", "alice", now))
	addKey(t, s, newKey("SHA256:b1", "bob", now))
	got, err := s.Accounts(ctx)
	if err != nil {
		t.Fatalf("Accounts: %v", err)
	}
	if !slices.EqualFunc(got, want, func(a, b store.AccountSummary) bool {
		return a.Name == b.Name && a.Role == b.Role && a.Created.Equal(b.Created) && a.LastSeen.Equal(b.LastSeen) && a.Keys == b.Keys
	}) {
		t.Errorf("Accounts = %+v, want %+v", got, want)
	}
}

func sanctions(t *testing.T, s store.Store, now time.Time) []store.Sanction {
	t.Helper()
	list, err := s.Sanctions(t.Context(), now)
	if err != nil {
		t.Fatalf("Sanctions: %v", err)
	}
	return list
}

// history reads all of conversation conv through Before, in pages of
// limit, oldest first.
func history(t *testing.T, s store.Store, conv int64, limit int) []chat.Message {
	t.Helper()
	var all []chat.Message
	for before := int64(0); ; {
		page, err := s.Before(t.Context(), conv, before, limit)
		if err != nil {
			t.Fatalf("Before(%d, %d, %d): %v", conv, before, limit, err)
		}
		all = append(page, all...)
		if len(page) < limit {
			return all
		}
		before = page[0].ID
	}
}

// sameSanction compares with time.Time.Equal, which ignores the location.
func sameSanction(a, b store.Sanction) bool {
	return a.Kind == b.Kind && a.Account == b.Account && a.By == b.By && a.Reason == b.Reason &&
		a.At.Equal(b.At) && a.Until.Equal(b.Until) && a.Address == b.Address
}

func sameAudit(a, b store.AuditEntry) bool {
	return a.ID == b.ID && a.At.Equal(b.At) && a.Actor == b.Actor && a.Action == b.Action &&
		a.Target == b.Target && a.Reason == b.Reason
}
