package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"messaging/store"
)

// CreateAccount stores a; store.ErrNameTaken if the name exists in any case.
// The UNIQUE index on name_key decides, so two concurrent signups for
// "alice" and "Alice" cannot both succeed.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := s.db.ExecContext(ctx,
		"INSERT INTO accounts (name, name_key, password_hash, created_at) VALUES (?, ?, ?, ?)",
		a.Name, nameKey(a.Name), a.PasswordHash, a.CreatedAt.UnixMilli())
	if isUnique(err) {
		return fmt.Errorf("create account %q: %w", a.Name, store.ErrNameTaken)
	}
	if err != nil {
		return fmt.Errorf("create account %q: %w", a.Name, err)
	}
	return nil
}

// Account finds the account called name in any letter case;
// store.ErrNotFound if there is none.
func (s *Store) Account(ctx context.Context, name string) (store.Account, error) {
	var (
		a       store.Account
		created int64
	)
	err := s.db.QueryRowContext(ctx,
		"SELECT name, password_hash, created_at FROM accounts WHERE name_key = ?",
		nameKey(name)).Scan(&a.Name, &a.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, fmt.Errorf("account %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("account %q: %w", name, err)
	}
	a.CreatedAt = time.UnixMilli(created)
	return a, nil
}

// nameKey is the case-folded name that lookups and uniqueness use. Valid
// names are ASCII (store.ValidateUsername), where ToLower is exact.
func nameKey(name string) string { return strings.ToLower(name) }
