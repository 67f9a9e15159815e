// Package store is the persistence contract of Messaging: accounts, the
// message history (chat.History), the errors every implementation returns,
// and the account rules (names, password hashing) they all share.
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
)

// Account is one user. Name keeps the case it was created with; lookups
// ignore case, so "Alice" and "alice" are the same account.
type Account struct {
	Name         string
	PasswordHash string // PHC-encoded argon2id, see HashPassword
	CreatedAt    time.Time
}

// Store is what the server needs from a database. Implementations translate
// their driver's errors into ErrNotFound and ErrNameTaken and are checked by
// storetest.Run.
type Store interface {
	chat.History
	// CreateAccount stores a new account; ErrNameTaken if the name exists in
	// any case.
	CreateAccount(ctx context.Context, a Account) error
	// Account finds an account by name, ignoring case; ErrNotFound if none.
	Account(ctx context.Context, name string) (Account, error)
	Close() error
}
