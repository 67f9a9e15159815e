// Package store is the persistence contract of Messaging: accounts, the
// message history (chat.History), conversations and memberships
// (chat.Directory), the errors every implementation returns, and the
// account rules (names, password hashing) they all share.
package store

import (
	"context"
	"errors"
	"time"

	"messaging/chat"
)

var (
	// ErrNotFound: no account has that name (in any letter case).
	ErrNotFound = errors.New("not found")
	// ErrNameTaken: an account with that name exists, perhaps in another case.
	ErrNameTaken = errors.New("name taken")
	// ErrNameSimilar: no account has that name in any case, but one has a
	// look-alike name, the same Skeleton ("B0B" when "bob" exists).
	ErrNameSimilar = errors.New("name too similar to an existing one")
	// ErrKeyTaken: the public key is registered already, to this account
	// or another (which one is not said).
	ErrKeyTaken = errors.New("key already registered")
	// ErrTooManyKeys: the account has as many keys as AddKey allows.
	ErrTooManyKeys = errors.New("too many keys")
)

// Key is a public key registered to an account: a key login as Account
// with it needs no password.
type Key struct {
	Fingerprint string // ssh.FingerprintSHA256 ("SHA256:..."): unique in the store
	Account     string // the owner's name, as the account spells it
	Type        string // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
	Data        []byte // the key in SSH wire format (ssh.PublicKey.Marshal)
	Comment     string // sanitised, at most 100 characters
	Added       time.Time
	LastUsed    time.Time // zero: never used to log in
}

// Login is one successful login of an account.
type Login struct {
	At      time.Time
	Address string // remote IP address
	Method  string // "password", "key" or "signup"
}

// KeepLogins is how many logins RecordLogin keeps per account (the newest).
const KeepLogins = 5

// Sanction kinds.
const (
	Ban  = "ban"  // no login (password, key, script), no signup from Address
	Mute = "mute" // reads but does not post
)

// Sanction is a ban or a mute in force on an account.
type Sanction struct {
	Kind    string // Ban or Mute
	Account string // the account's spelling
	By      string // who set it
	Reason  string
	At      time.Time
	Until   time.Time // zero: until lifted
	Address string    // a ban: the address the account last logged in from ("" if none), refused at signup too
}

// AuditEntry is one moderation action or role change.
type AuditEntry struct {
	ID     int64 // increasing; 0 when appending
	At     time.Time
	Actor  string // who did it ("" for the command line: "cli")
	Action string // "kick", "mute", "unmute", "ban", "unban", "purge", "motd", "role", "delete", "reset-password"
	Target string // whom ("" for motd)
	Reason string // why, or the detail ("moderator", "2h", "60 min")
}

// AccountSummary is an account as the admin command line lists it.
type AccountSummary struct {
	Name     string
	Role     chat.Role
	Created  time.Time
	LastSeen time.Time // zero: never seen
	Keys     int
}

// Account is one user. Name keeps the case it was created with; lookups
// ignore case, so "Alice" and "alice" are the same account.
type Account struct {
	Name               string
	PasswordHash       string // PHC-encoded argon2id, see HashPassword
	CreatedAt          time.Time
	MustChangePassword bool // an admin reset it: the next login must set a new one
}

// Store is what the server needs from a database. Implementations translate
// their driver's errors into ErrNotFound, ErrNameTaken and ErrNameSimilar, and
// into chat's errors of conversations (chat.ErrNoConversation and the rest),
// and are checked by storetest.Run.
type Store interface {
	chat.History
	chat.Directory
	// CreateAccount stores a new account. It returns ErrNameTaken if the name
	// exists in any case, otherwise ErrNameSimilar if an account's name has
	// the same Skeleton. The store decides atomically: of two concurrent
	// calls for "bob" and "B0B" at most one succeeds. Accounts that already
	// share a skeleton (created before the rule) stay as they are.
	CreateAccount(ctx context.Context, a Account) error
	// NameAvailable reports whether CreateAccount would accept name now:
	// ErrNameTaken if it exists in any case, ErrNameSimilar if an account
	// has the same Skeleton, nil otherwise. Only CreateAccount decides.
	NameAvailable(ctx context.Context, name string) error
	// Account finds an account by name, ignoring case; ErrNotFound if none.
	Account(ctx context.Context, name string) (Account, error)
	// SetPasswordHash replaces account's password hash; ErrNotFound if
	// there is no such account.
	SetPasswordHash(ctx context.Context, account, hash string) error
	// DeleteAccount removes account (ErrNotFound if none) with its keys,
	// logins, memberships, invitations and ignores (its own and others' of
	// it), in one transaction. Its messages stay, their author renamed
	// chat.DeletedName(name); direct conversations with it keep their
	// other member, the peer renamed the same way (so a later account of
	// that name never finds them); channels it owned have no owner. The
	// name, and names of the same Skeleton, stay unavailable to
	// CreateAccount and NameAvailable (ErrNameTaken, ErrNameSimilar) until
	// heldUntil.
	DeleteAccount(ctx context.Context, account string, heldUntil time.Time) error

	// AddKey registers k to k.Account unless the key is registered already
	// (ErrKeyTaken, whoever has it) or the account has max keys already
	// (ErrTooManyKeys; max <= 0: no limit); ErrNotFound if there is no such
	// account. Decided atomically.
	AddKey(ctx context.Context, k Key, max int) error
	// Keys lists account's keys, oldest first (empty if none or no account).
	Keys(ctx context.Context, account string) ([]Key, error)
	// KeyByFingerprint finds a registered key; ErrNotFound if none.
	KeyByFingerprint(ctx context.Context, fingerprint string) (Key, error)
	// RemoveKey removes account's key with that fingerprint; ErrNotFound if
	// account has no such key.
	RemoveKey(ctx context.Context, account, fingerprint string) error
	// KeyUsed records that the key logged in at at (no error if the key
	// is gone meanwhile).
	KeyUsed(ctx context.Context, fingerprint string, at time.Time) error
	// RecordLogin records a successful login of account, keeping its
	// KeepLogins newest; Logins lists them, newest first.
	RecordLogin(ctx context.Context, account string, l Login) error
	Logins(ctx context.Context, account string) ([]Login, error)

	// SetRole gives account role (ErrNotFound if none); Role reads it
	// (RoleMember for an account never given one). Accounts lists every
	// account, by name.
	SetRole(ctx context.Context, account string, role chat.Role) error
	Role(ctx context.Context, account string) (chat.Role, error)
	Accounts(ctx context.Context) ([]AccountSummary, error)
	// SetMustChangePassword marks (or clears) that account must change its
	// password at its next login (after an admin's reset); ErrNotFound if
	// none. Account reports it in Account.MustChangePassword.
	SetMustChangePassword(ctx context.Context, account string, must bool) error

	// Sanction sets s, replacing any of the same kind on the same account
	// (ErrNotFound if no such account); Lift removes account's sanction
	// of kind (ErrNotFound if none in force); Sanctions lists those in
	// force at now (Until zero or after now), oldest first.
	Sanction(ctx context.Context, s Sanction) error
	Lift(ctx context.Context, account, kind string) error
	Sanctions(ctx context.Context, now time.Time) ([]Sanction, error)

	// SetMOTD stores the message of the day ("": none); MOTD reads it.
	SetMOTD(ctx context.Context, text string) error
	MOTD(ctx context.Context) (string, error)
	// Audit appends e (its ID and At set by the caller's At, ID by the
	// store) ; AuditLog returns the last n entries, newest first; LastAudit
	// is the newest entry's ID (0 if none): the server polls it to see
	// changes made by the command line.
	Audit(ctx context.Context, e AuditEntry) error
	AuditLog(ctx context.Context, n int) ([]AuditEntry, error)
	LastAudit(ctx context.Context) (int64, error)

	// Purge hides author's messages of since and later from history: they
	// are read back with Removed set and an empty body. It returns how
	// many it hid.
	Purge(ctx context.Context, author string, since time.Time) (int, error)
	Close() error
}
