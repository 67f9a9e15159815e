package chat

import (
	"context"
	"errors"
	"strings"
	"time"
)

// DeletedName is how a deleted account's name appears in history: it
// cannot be an account's name (those are letters and digits), so a later
// account of the same name is never mistaken for it.
func DeletedName(name string) string { return name + " (deleted)" }

// Accounts is the self-service a signed-in user has over their own
// account: public keys, the password, the account itself. The server
// implements it (parsing SSH keys and hashing passwords need libraries chat
// does not import) and hands it to the room (RoomConfig.Accounts); the
// commands /key, /passwd and /account call it.
//
// Errors meant for the user are a Refusal (its text is shown as it is);
// any other error is the server's trouble, and the command says so without
// its details.
type Accounts interface {
	// AddKey registers the public key written in text (a line of
	// authorized_keys or of ~/.ssh/id_ed25519.pub: type, base64, comment)
	// for account.
	AddKey(ctx context.Context, account, text string) (KeyInfo, error)
	// Keys lists account's keys, oldest first (the N of RemoveKey is the
	// place in this list, from 1).
	Keys(ctx context.Context, account string) ([]KeyInfo, error)
	// RemoveKey removes the key of account named by which: a SHA256
	// fingerprint, or its number in Keys' list.
	RemoveKey(ctx context.Context, account, which string) (KeyInfo, error)
	// CheckPassword checks account's password, within the account's
	// budget of such checks (a Refusal says when to try again).
	CheckPassword(ctx context.Context, account, password string) error
	// PasswordRules refuses a new password that breaks the signup rules.
	PasswordRules(password string) error
	// ChangePassword sets account's password to next (typed twice: next
	// and repeat) once current is checked.
	ChangePassword(ctx context.Context, account, current, next, repeat string) error
	// Delete removes account once password is checked, and ends its
	// sessions.
	Delete(ctx context.Context, account, password string) error
	// About describes account to its owner.
	About(ctx context.Context, account string) (AccountInfo, error)
}

// KeyInfo is a public key registered to an account, as its owner sees it.
type KeyInfo struct {
	Type        string // "ssh-ed25519"
	Fingerprint string // "SHA256:..."
	Comment     string
	Added       time.Time
	LastUsed    time.Time // zero: never used to log in
}

// AccountInfo is what /account shows its owner.
type AccountInfo struct {
	Name    string
	Created time.Time
	Keys    int
	Logins  []LoginInfo // newest first, at most 5
}

// LoginInfo is one successful login.
type LoginInfo struct {
	At      time.Time
	Address string // the remote IP address
	Method  string // "password", "key" or "signup"
}

// ErrWrongPassword is Accounts.CheckPassword's answer to a wrong password;
// each command says it in its own words.
var ErrWrongPassword = errors.New("wrong password")

// Question is one thing Session.Ask asks, in the input line.
type Question struct {
	Prompt string // "Current password: "
	Secret bool   // typed characters show as •, and the answer is never kept or recalled
	// Check, if set, runs on the answer as soon as it is given, where
	// commands run: a problem it returns ("The password is wrong.") is
	// shown as a notice and the same question is asked again, at most
	// MaxReasks times; then the questions end as if cancelled, without
	// "Cancelled.". "" accepts the answer.
	Check func(answer string) (problem string)
}

// MaxReasks is how many times Ask asks one question again after its
// Check refused an answer.
const MaxReasks = 2

// Sensitive reports whether a line the user typed must not be kept in the
// input after it ran, nor among the lines Up recalls: it may hold a
// secret (a private key pasted by mistake, passwords typed after /passwd).
// The user interfaces check every line they hand to Run.
func Sensitive(line string) bool {
	in := ParseInput(line)
	switch {
	case strings.Contains(line, "PRIVATE KEY"):
		return true
	case in.Command == "passwd" && in.Arg != "":
		return true
	}
	return false
}
