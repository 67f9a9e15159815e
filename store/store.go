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
)

// Account is one user. Name keeps the case it was created with; lookups
// ignore case, so "Alice" and "alice" are the same account.
type Account struct {
	Name         string
	PasswordHash string // PHC-encoded argon2id, see HashPassword
	CreatedAt    time.Time
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
	Close() error
}
