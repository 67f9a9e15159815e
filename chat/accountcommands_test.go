package chat

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memAccounts is Accounts for the command tests: one account's keys and
// password, in memory. A key whose text has no space is a server failure.
type memAccounts struct {
	password string
	keys     []KeyInfo
	deleted  bool
}

func (a *memAccounts) AddKey(_ context.Context, _, text string) (KeyInfo, error) {
	fields := strings.Fields(text)
	if len(fields) < 2 {
		return KeyInfo{}, errors.New("the store is on fire")
	}
	k := KeyInfo{Type: fields[0], Fingerprint: "SHA256:" + fields[1], Added: time.Now()}
	if len(fields) > 2 {
		k.Comment = fields[2]
	}
	if slices.ContainsFunc(a.keys, func(o KeyInfo) bool { return o.Fingerprint == k.Fingerprint }) {
		return KeyInfo{}, Refusal("That key is registered already.")
	}
	a.keys = append(a.keys, k)
	return k, nil
}

func (a *memAccounts) Keys(context.Context, string) ([]KeyInfo, error) { return a.keys, nil }

func (a *memAccounts) RemoveKey(_ context.Context, _, which string) (KeyInfo, error) {
	n, err := strconv.Atoi(which)
	if err != nil || n < 1 || n > len(a.keys) {
		return KeyInfo{}, Refusal("You have no key " + which + ".")
	}
	k := a.keys[n-1]
	a.keys = slices.Delete(a.keys, n-1, n)
	return k, nil
}

func (a *memAccounts) CheckPassword(_ context.Context, _, password string) error {
	if password != a.password {
		return ErrWrongPassword
	}
	return nil
}

func (a *memAccounts) PasswordRules(password string) error {
	if len(password) < 8 {
		return Refusal("Password must be 8 to 15 characters long.")
	}
	return nil
}

func (a *memAccounts) ChangePassword(_ context.Context, _, current, next, repeat string) error {
	if current != a.password {
		return Refusal("The current password is wrong.")
	}
	if next != repeat {
		return Refusal("The two new passwords differ.")
	}
	a.password = next
	return nil
}

func (a *memAccounts) Delete(_ context.Context, _, password string) error {
	if password != a.password {
		return Refusal("The password is wrong.")
	}
	a.deleted = true
	return nil
}

func (a *memAccounts) About(_ context.Context, account string) (AccountInfo, error) {
	return AccountInfo{Name: account, Created: time.Now(), Keys: len(a.keys),
		Logins: []LoginInfo{{At: time.Now(), Address: "192.0.2.1\x1b[2J", Method: "password"}}}, nil
}

// The account commands ask their questions masked, and without an
// Accounts they say they are not available.
func TestAccountCommandsAskMaskedAndNeedAccounts(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{Accounts: &memAccounts{password: "pw"}})
	s := newSession(t, r, "alice")
	Run(s, "/passwd")
	if len(s.asked) != 3 || !s.asked[0].Secret || !s.asked[1].Secret || !s.asked[2].Secret {
		t.Fatalf("/passwd asked %+v, want three secret questions", s.asked)
	}
	s.reset()
	Run(s, "/account delete")
	if len(s.asked) != 2 || !s.asked[0].Secret || s.asked[1].Secret {
		t.Fatalf("/account delete asked %+v, want the password masked, then the name shown", s.asked)
	}
	s.reset()
	Run(s, "/account")
	if len(s.notices) != 3 || strings.ContainsRune(s.notices[2], '\x1b') {
		t.Fatalf("/account said %q, want 3 lines and no escape", s.notices)
	}

	plain := newSession(t, newTestRoom(t, &memHistory{}, RoomConfig{}), "bob")
	for _, line := range []string{"/key", "/passwd", "/account"} {
		plain.reset()
		Run(plain, line)
		if len(plain.notices) != 1 || plain.notices[0] != "Account commands are not available on this server." || !plain.kept || len(plain.asked) > 0 {
			t.Errorf("%s without Accounts: notices %q, kept %v, asked %v", line, plain.notices, plain.kept, plain.asked)
		}
	}
}

// Lines that may hold a secret are neither kept nor recalled.
func TestSensitiveLines(t *testing.T) {
	for line, want := range map[string]bool{
		"/passwd":           false,
		"/passwd old new":   true,
		"  /PASSWD hunter2": true,
		"/key add -----BEGIN OPENSSH PRIVATE KEY----- x": true,
		"look: -----BEGIN RSA PRIVATE KEY-----":          true,
		"/key add ssh-ed25519 AAAA laptop":               false,
		"hello":                                          false,
		"//passwd old new":                               false,
	} {
		if got := Sensitive(line); got != want {
			t.Errorf("Sensitive(%q) = %v, want %v", line, got, want)
		}
	}
}
