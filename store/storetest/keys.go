package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"messaging/store"
)

// SetPasswordHash changes the hash of the account named in any case, and
// of no other.
func testSetPasswordHash(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob")
	if err := s.SetPasswordHash(ctx, "ALICE", "new hash"); err != nil {
		t.Fatalf("SetPasswordHash(ALICE): %v", err)
	}
	for name, want := range map[string]string{"alice": "new hash", "bob": hash} {
		if a, err := s.Account(ctx, name); err != nil || a.PasswordHash != want {
			t.Errorf("Account(%s).PasswordHash = %q, %v; want %q", name, a.PasswordHash, err, want)
		}
	}
	if a, _ := s.Account(ctx, "alice"); a.Name != "Alice" {
		t.Errorf("Account(alice).Name after SetPasswordHash = %q, want Alice", a.Name)
	}
	if err := s.SetPasswordHash(ctx, "nobody", "new hash"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPasswordHash(nobody) = %v, want ErrNotFound", err)
	}
}

// Keys lists an account's keys oldest first, ties in the order they were
// added, each with every field as stored (times to the millisecond) and
// the owner spelled as it spells its name; KeyByFingerprint finds each.
func testKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "Alice", "bob")
	at := time.Date(2025, 3, 4, 5, 6, 7, 891_234_567, time.UTC)
	second := newKey("SHA256:second", "alice", at.Add(time.Second))
	first := newKey("SHA256:first", "ALICE", at)
	third := newKey("SHA256:third", "aLiCe", at.Add(time.Second))
	third.Type, third.Comment, third.Data = "ssh-rsa", "", []byte{0, 1, 2, 0xff}
	for _, k := range []store.Key{second, first, third} {
		addKey(t, s, k)
	}
	var want []store.Key
	for _, k := range []store.Key{first, second, third} {
		k.Account = "Alice"
		k.Added = k.Added.Truncate(time.Millisecond)
		want = append(want, k)
	}
	for _, name := range []string{"alice", "ALICE"} {
		if got, err := s.Keys(ctx, name); err != nil || !slices.EqualFunc(got, want, sameKey) {
			t.Errorf("Keys(%s) = %+v, %v; want %+v", name, got, err, want)
		}
	}
	for _, k := range want {
		if got, err := s.KeyByFingerprint(ctx, k.Fingerprint); err != nil || !sameKey(got, k) {
			t.Errorf("KeyByFingerprint(%s) = %+v, %v; want %+v", k.Fingerprint, got, err, k)
		}
	}
	for _, name := range []string{"bob", "nobody"} {
		if got, err := s.Keys(ctx, name); err != nil || len(got) != 0 {
			t.Errorf("Keys(%s) = %+v, %v; want none", name, got, err)
		}
	}
	if _, err := s.KeyByFingerprint(ctx, "SHA256:none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeyByFingerprint(SHA256:none) = %v, want ErrNotFound", err)
	}
}

// AddKey refuses a key that any account has, a key for no account, and a
// key over the limit; what it refuses leaves the keys as they were.
func testAddKeyRefusals(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob")
	now := time.Now()
	addKey(t, s, newKey("SHA256:alice", "alice", now))
	addKey(t, s, newKey("SHA256:bob", "bob", now))
	tests := []struct {
		name    string
		key     store.Key
		max     int
		want    error
		owner   string // of key.Fingerprint afterwards
		bobKeys int    // afterwards
	}{
		{"the same key again for the same account", newKey("SHA256:alice", "ALICE", now), 0, store.ErrKeyTaken, "alice", 1},
		{"the same key for another account", newKey("SHA256:alice", "bob", now), 0, store.ErrKeyTaken, "alice", 1},
		{"a key for no account", newKey("SHA256:ghost", "nobody", now), 0, store.ErrNotFound, "", 1},
		{"a new key at the limit", newKey("SHA256:new", "bob", now), 1, store.ErrTooManyKeys, "", 1},
		{"a new key below the limit", newKey("SHA256:new", "BOB", now), 2, nil, "bob", 2},
		{"a new key with no limit", newKey("SHA256:zero", "bob", now), 0, nil, "bob", 3},
		{"a new key with a negative limit", newKey("SHA256:negative", "bob", now), -1, nil, "bob", 4},
		{"a key just added, again", newKey("SHA256:negative", "alice", now), 0, store.ErrKeyTaken, "bob", 4},
	}
	for _, tt := range tests {
		if err := s.AddKey(ctx, tt.key, tt.max); !errors.Is(err, tt.want) {
			t.Errorf("AddKey of %s = %v, want %v", tt.name, err, tt.want)
		}
		k, err := s.KeyByFingerprint(ctx, tt.key.Fingerprint)
		switch {
		case tt.owner == "" && !errors.Is(err, store.ErrNotFound):
			t.Errorf("after AddKey of %s, KeyByFingerprint = %+v, %v; want ErrNotFound", tt.name, k, err)
		case tt.owner != "" && (err != nil || k.Account != tt.owner):
			t.Errorf("after AddKey of %s, KeyByFingerprint = %+v, %v; want %s's key", tt.name, k, err, tt.owner)
		}
		if n := len(keys(t, s, "bob")); n != tt.bobKeys {
			t.Errorf("after AddKey of %s, bob has %d keys, want %d", tt.name, n, tt.bobKeys)
		}
	}
	if got := keys(t, s, "alice"); len(got) != 1 || got[0].Fingerprint != "SHA256:alice" {
		t.Errorf("alice's keys = %+v, want SHA256:alice alone", got)
	}
}

// Two accounts adding one key at the same moment: the store decides, and
// exactly one has it.
func testAddKeyConcurrently(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob")
	owners := []string{"alice", "bob"}
	for round := range 10 {
		fp := fmt.Sprintf("SHA256:round%d", round)
		won := concurrently(t, 8, store.ErrKeyTaken, func(i int) error {
			return s.AddKey(ctx, newKey(fp, owners[i%2], time.Now()), 0)
		})
		if won != 1 {
			t.Errorf("round %d: %d racing AddKey calls succeeded, want 1", round, won)
		}
		k, err := s.KeyByFingerprint(ctx, fp)
		if err != nil || !slices.Contains(owners, k.Account) {
			t.Errorf("round %d: KeyByFingerprint = %+v, %v; want alice's or bob's", round, k, err)
		}
	}
	if a, b := len(keys(t, s, "alice")), len(keys(t, s, "bob")); a+b != 10 {
		t.Errorf("alice has %d keys and bob %d, want 10 together", a, b)
	}
}

// Of many keys added at once to one account, only as many as the limit
// allows are stored.
func testAddKeyLimitConcurrently(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice")
	const limit, tries = 3, 12
	added := concurrently(t, tries, store.ErrTooManyKeys, func(i int) error {
		return s.AddKey(ctx, newKey(fmt.Sprintf("SHA256:k%02d", i), "alice", time.Now()), limit)
	})
	if n := len(keys(t, s, "alice")); added != limit || n != limit {
		t.Errorf("%d racing AddKey calls succeeded and alice has %d keys; want %d of each", added, n, limit)
	}
}

// RemoveKey removes the account's own key, which then is free for anyone;
// a key of another account, or none, is ErrNotFound and stays.
func testRemoveKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob")
	now := time.Now()
	addKey(t, s, newKey("SHA256:a1", "alice", now))
	addKey(t, s, newKey("SHA256:a2", "alice", now.Add(time.Second)))
	addKey(t, s, newKey("SHA256:b1", "bob", now))
	for _, tt := range []struct{ account, fingerprint string }{
		{"alice", "SHA256:b1"}, // bob's
		{"nobody", "SHA256:a1"},
		{"alice", "SHA256:none"},
	} {
		if err := s.RemoveKey(ctx, tt.account, tt.fingerprint); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RemoveKey(%s, %s) = %v, want ErrNotFound", tt.account, tt.fingerprint, err)
		}
	}
	if k, err := s.KeyByFingerprint(ctx, "SHA256:b1"); err != nil || k.Account != "bob" {
		t.Errorf("bob's key after alice tried to remove it = %+v, %v", k, err)
	}
	if err := s.RemoveKey(ctx, "ALICE", "SHA256:a1"); err != nil {
		t.Fatalf("RemoveKey(ALICE, SHA256:a1): %v", err)
	}
	if err := s.RemoveKey(ctx, "alice", "SHA256:a1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveKey of a key removed already = %v, want ErrNotFound", err)
	}
	if _, err := s.KeyByFingerprint(ctx, "SHA256:a1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeyByFingerprint of a removed key = %v, want ErrNotFound", err)
	}
	if got := keys(t, s, "alice"); len(got) != 1 || got[0].Fingerprint != "SHA256:a2" {
		t.Errorf("alice's keys after RemoveKey = %+v, want SHA256:a2 alone", got)
	}
	if err := s.AddKey(ctx, newKey("SHA256:a1", "bob", now), 0); err != nil {
		t.Errorf("AddKey to bob of the key alice removed = %v, want nil", err)
	}
}

// KeyUsed records the time of the key's last login, on that key only, and
// is no error for a key that is gone.
func testKeyUsed(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice")
	added := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	addKey(t, s, newKey("SHA256:used", "alice", added))
	addKey(t, s, newKey("SHA256:idle", "alice", added))
	lastUsed := func(fp string) time.Time {
		t.Helper()
		k, err := s.KeyByFingerprint(ctx, fp)
		if err != nil {
			t.Fatalf("KeyByFingerprint(%s): %v", fp, err)
		}
		return k.LastUsed
	}
	if got := lastUsed("SHA256:used"); !got.IsZero() {
		t.Errorf("LastUsed of a new key = %v, want zero", got)
	}
	for _, at := range []time.Time{added.Add(time.Hour + 123_456_789), added.Add(2 * time.Hour)} {
		if err := s.KeyUsed(ctx, "SHA256:used", at); err != nil {
			t.Fatalf("KeyUsed: %v", err)
		}
		if got, want := lastUsed("SHA256:used"), at.Truncate(time.Millisecond); !got.Equal(want) {
			t.Errorf("LastUsed after KeyUsed(%v) = %v, want %v", at, got, want)
		}
	}
	if got := lastUsed("SHA256:idle"); !got.IsZero() {
		t.Errorf("LastUsed of the other key = %v, want zero", got)
	}
	if err := s.RemoveKey(ctx, "alice", "SHA256:used"); err != nil {
		t.Fatal(err)
	}
	for _, fp := range []string{"SHA256:used", "SHA256:none"} {
		if err := s.KeyUsed(ctx, fp, time.Now()); err != nil {
			t.Errorf("KeyUsed(%s), a key that is gone = %v, want nil", fp, err)
		}
	}
	if _, err := s.KeyByFingerprint(ctx, "SHA256:used"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeyByFingerprint after KeyUsed of a removed key = %v, want ErrNotFound", err)
	}
}

// RecordLogin keeps each account's store.KeepLogins newest logins, and
// Logins lists them newest first.
func testLogins(t *testing.T, s store.Store) {
	ctx := t.Context()
	accounts(t, s, "alice", "bob")
	if got, err := s.Logins(ctx, "alice"); err != nil || len(got) != 0 {
		t.Errorf("Logins of a new account = %+v, %v; want none", got, err)
	}
	at := time.Date(2025, 6, 7, 8, 9, 10, 111_222_333, time.UTC)
	methods := []string{"password", "key", "signup"}
	var all []store.Login
	for i := range store.KeepLogins + 2 {
		l := store.Login{At: at.Add(time.Duration(i) * time.Minute), Address: fmt.Sprintf("192.0.2.%d", i), Method: methods[i%3]}
		if err := s.RecordLogin(ctx, "ALICE", l); err != nil {
			t.Fatalf("RecordLogin %d: %v", i, err)
		}
		l.At = l.At.Truncate(time.Millisecond)
		all = append(all, l)
	}
	want := slices.Clone(all[len(all)-store.KeepLogins:])
	slices.Reverse(want)
	check := func(when string) {
		t.Helper()
		if got, err := s.Logins(ctx, "alice"); err != nil || !slices.EqualFunc(got, want, sameLogin) {
			t.Errorf("Logins(alice) %s = %+v, %v; want %+v", when, got, err, want)
		}
	}
	check("after 7 logins")
	// A login older than the five kept is recorded and trimmed at once.
	if err := s.RecordLogin(ctx, "alice", store.Login{At: at.Add(-time.Hour), Address: "198.51.100.1", Method: "key"}); err != nil {
		t.Fatalf("RecordLogin of an old login: %v", err)
	}
	check("after an older login")
	bobs := store.Login{At: at.Add(time.Hour).Truncate(time.Millisecond), Address: "2001:db8::1", Method: "key"}
	if err := s.RecordLogin(ctx, "bob", bobs); err != nil {
		t.Fatalf("RecordLogin(bob): %v", err)
	}
	check("after bob's login")
	if got, err := s.Logins(ctx, "BOB"); err != nil || !slices.EqualFunc(got, []store.Login{bobs}, sameLogin) {
		t.Errorf("Logins(BOB) = %+v, %v; want %+v", got, err, bobs)
	}
	if err := s.RecordLogin(ctx, "nobody", bobs); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordLogin(nobody) = %v, want ErrNotFound", err)
	}
	if got, err := s.Logins(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Errorf("Logins(nobody) = %+v, %v; want none", got, err)
	}
}

// newKey is a key of account with a made-up type, comment and data.
func newKey(fingerprint, account string, added time.Time) store.Key {
	return store.Key{
		Fingerprint: fingerprint,
		Account:     account,
		Type:        "ssh-ed25519",
		Data:        []byte("wire form of " + fingerprint),
		Comment:     "me@laptop " + fingerprint,
		Added:       added,
	}
}

// addKey adds k without a limit.
func addKey(t *testing.T, s store.Store, k store.Key) {
	t.Helper()
	if err := s.AddKey(t.Context(), k, 0); err != nil {
		t.Fatalf("AddKey(%s to %s): %v", k.Fingerprint, k.Account, err)
	}
}

func keys(t *testing.T, s store.Store, account string) []store.Key {
	t.Helper()
	list, err := s.Keys(t.Context(), account)
	if err != nil {
		t.Fatalf("Keys(%s): %v", account, err)
	}
	return list
}

// sameKey compares with time.Time.Equal, which ignores the location.
func sameKey(a, b store.Key) bool {
	return a.Fingerprint == b.Fingerprint && a.Account == b.Account && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && a.Comment == b.Comment && a.Added.Equal(b.Added) && a.LastUsed.Equal(b.LastUsed)
}

func sameLogin(a, b store.Login) bool {
	return a.At.Equal(b.At) && a.Address == b.Address && a.Method == b.Method
}
