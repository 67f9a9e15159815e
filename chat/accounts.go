package chat

import (
	"context"
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

// Question is one thing Session.Ask asks, in the input line.
type Question struct {
	Prompt string // "Current password: "
	Secret bool   // typed characters show as •, and the answer is never kept or recalled
}
