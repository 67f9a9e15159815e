package app

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
	"messaging/store"
	"messaging/store/sqlite"
)

// newTestAccounts is the account service over a new SQLite store holding
// alice and bob (passwords "password1"), with maxKeys keys each.
func newTestAccounts(t *testing.T, maxKeys int) (*accountService, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "messaging.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := testConfig(t)
	log := slog.New(slog.DiscardHandler)
	auth, err := newAuthenticator(st, log, cfg, newLimits(cfg, time.Now))
	if err != nil {
		t.Fatal(err)
	}
	hash, err := store.HashPassword("password1")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		if err := st.CreateAccount(ctx, store.Account{Name: name, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return newAccountService(st, auth, log, maxKeys), st
}

// refusal is err's text if it is a Refusal; it fails the test otherwise.
func refusal(t *testing.T, err error) string {
	t.Helper()
	var r chat.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error %v is not a refusal", err)
	}
	return string(r)
}

// Every wrong form of /key add is refused with a sentence that says what
// to paste instead, and nothing is stored.
func TestKeyAddRefusesEveryWrongForm(t *testing.T) {
	a, st := newTestAccounts(t, 2)
	ctx := context.Background()
	_, good := newKey(t, "ed25519", 0, "")
	_, short := newKey(t, "rsa", 1024, "")
	certSigner, _ := newKey(t, "ed25519", 0, "")
	cert := &gossh.Certificate{Key: certSigner.PublicKey(), CertType: gossh.UserCert, ValidPrincipals: []string{"alice"}, ValidBefore: gossh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, certSigner); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, text, want string }{
		{"empty", "", "That is not a public key"},
		{"words", "hello there", "That is not a public key"},
		{"a private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", "That is a PRIVATE key"},
		{"options", `command="ls" ` + good, "Paste the key without options"},
		{"two lines", good + "\n" + good, "Paste one key at a time."},
		{"two keys on one line", good + " laptop " + good, "Paste one key at a time."},
		{"DSA", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "DSA keys (ssh-dss) are not accepted"},
		{"short RSA", short, "That RSA key is too short"},
		{"a certificate", string(gossh.MarshalAuthorizedKey(cert)), "Keys of type ssh-ed25519-cert-v01@openssh.com are not accepted"},
		{"too long", "ssh-ed25519 " + strings.Repeat("A", 9000), "That is too long for a public key"},
		{"broken base64", "ssh-ed25519 AAAA!!!!", "That is not a public key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.AddKey(ctx, "alice", tt.text)
			if got := refusal(t, err); !strings.HasPrefix(got, tt.want) {
				t.Errorf("refused with %q, want %q…", got, tt.want)
			}
		})
	}
	if keys, err := st.Keys(ctx, "alice"); err != nil || len(keys) != 0 {
		t.Fatalf("keys stored after refusals: %v, %v", keys, err)
	}

	// The same key twice, another's key, one key too many.
	k, err := a.AddKey(ctx, "alice", good+" laptop\x1b[31m")
	if err != nil {
		t.Fatal(err)
	}
	if k.Comment != "laptop[31m" {
		t.Errorf("comment %q: escapes are not stripped", k.Comment)
	}
	if got := refusal(t, second(a.AddKey(ctx, "ALICE", good))); got != "You added that key already (/key list)." {
		t.Errorf("the same key again: %q", got)
	}
	if got := refusal(t, second(a.AddKey(ctx, "bob", good))); !strings.Contains(got, "belongs to another account") || strings.Contains(got, "alice") {
		t.Errorf("alice's key for bob: %q (must not say whose)", got)
	}
	_, another := newKey(t, "ed25519", 0, "")
	_, third := newKey(t, "ed25519", 0, "")
	if _, err := a.AddKey(ctx, "alice", another); err != nil {
		t.Fatal(err)
	}
	if got := refusal(t, second(a.AddKey(ctx, "alice", third))); got != "You have 2 keys, the most an account may have: /key remove one first." {
		t.Errorf("a third key: %q", got)
	}
}

func second[T any](_ T, err error) error { return err }

// /key remove takes a number from /key list or a fingerprint, with or
// without its SHA256: prefix, and refuses anything else.
func TestKeyRemoveByNumberOrFingerprint(t *testing.T) {
	a, _ := newTestAccounts(t, 10)
	ctx := context.Background()
	var fingerprints []string
	for range 3 {
		_, line := newKey(t, "ed25519", 0, "")
		k, err := a.AddKey(ctx, "alice", line)
		if err != nil {
			t.Fatal(err)
		}
		fingerprints = append(fingerprints, k.Fingerprint)
	}
	for _, which := range []string{"0", "4", "-1", "SHA256:nope", "nope", "1.5"} {
		if got := refusal(t, second(a.RemoveKey(ctx, "alice", which))); !strings.HasPrefix(got, "You have no key ") {
			t.Errorf("remove %q: %q", which, got)
		}
	}
	if got := refusal(t, second(a.RemoveKey(ctx, "bob", "1"))); !strings.HasPrefix(got, "You have no key 1") {
		t.Errorf("bob removing key 1 of alice's: %q", got)
	}
	for _, which := range []string{"2", strings.TrimPrefix(fingerprints[2], "SHA256:"), fingerprints[0]} {
		if _, err := a.RemoveKey(ctx, "alice", which); err != nil {
			t.Fatalf("remove %q: %v", which, err)
		}
	}
	if keys, _ := a.Keys(ctx, "alice"); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
}

// /passwd: the rules, the repeat, the current password, then the change;
// and a budget of checks so that a terminal left open is no oracle.
func TestChangePasswordChecksEverythingThenChanges(t *testing.T) {
	a, st := newTestAccounts(t, 10)
	ctx := context.Background()
	for _, tt := range []struct{ current, next, repeat, want string }{
		{"password1", "short", "short", "The new password must be 8 to 15 characters long."},
		{"password1", "new password", "new pasword", "The two new passwords differ."},
		{"wrong one", "new password", "new password", "The current password is wrong."},
		{"password1", "password1", "password1", "The new password is the one you have."},
	} {
		if got := refusal(t, a.ChangePassword(ctx, "alice", tt.current, tt.next, tt.repeat)); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%q -> %q/%q: %q, want %q…", tt.current, tt.next, tt.repeat, got, tt.want)
		}
	}
	if err := a.ChangePassword(ctx, "alice", "password1", "new password", "new password"); err != nil {
		t.Fatal(err)
	}
	acct, err := st.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := store.CheckPassword(acct.PasswordHash, "new password"); !ok {
		t.Fatal("the new password is not the account's")
	}
	// Three checks are spent (the wrong one, the same one, the change);
	// three more, then a refusal without a check.
	for range 3 {
		_ = a.ChangePassword(ctx, "alice", "guess", "another one", "another one")
	}
	if got := refusal(t, a.ChangePassword(ctx, "alice", "new password", "another one", "another one")); !strings.HasPrefix(got, "Too many password checks: try again in ") {
		t.Errorf("past the budget: %q", got)
	}
}

// /account delete checks the password, then deletes and ends the
// account's sessions.
func TestDeleteNeedsThePasswordThenEndsTheSessions(t *testing.T) {
	a, st := newTestAccounts(t, 10)
	ctx := context.Background()
	var ended []string
	a.disconnect = func(account, reason string) { ended = append(ended, account+": "+reason) }
	if got := refusal(t, a.Delete(ctx, "alice", "wrong one")); got != "The password is wrong. Your account is not deleted." {
		t.Errorf("wrong password: %q", got)
	}
	if _, err := st.Account(ctx, "alice"); err != nil || len(ended) > 0 {
		t.Fatalf("after a wrong password: %v, ended %q", err, ended)
	}
	if err := a.Delete(ctx, "alice", "password1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Account(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after deletion: %v", err)
	}
	if len(ended) != 1 || !strings.HasPrefix(ended[0], "alice: Your account alice is deleted") {
		t.Fatalf("sessions ended: %q", ended)
	}
	if err := st.NameAvailable(ctx, "alice"); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("alice's name right after: %v, want held", err)
	}
}

// parseKey takes anything a user pastes: it never panics, and what it
// accepts is a key of an accepted type with a sanitised, bounded comment.
func FuzzParseKey(f *testing.F) {
	_, line := newKey(f, "ed25519", 0, "laptop")
	f.Add(line)
	f.Add(`command="ls" ` + line)
	f.Add("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQ")
	f.Add("-----BEGIN OPENSSH PRIVATE KEY-----")
	f.Fuzz(func(t *testing.T, text string) {
		key, comment, err := parseKey(text)
		if err != nil {
			var r chat.Refusal
			if !errors.As(err, &r) {
				t.Fatalf("error %v is not a refusal", err)
			}
			return
		}
		if !keyTypes[key.Type()] || comment != chat.Sanitize(comment, 100) {
			t.Fatalf("accepted %q as %s with comment %q", text, key.Type(), comment)
		}
	})
}
