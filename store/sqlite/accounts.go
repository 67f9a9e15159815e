package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"messaging/chat"
	"messaging/store"
)

// CreateAccount stores a; store.ErrNameTaken if the name exists in any case,
// otherwise store.ErrNameSimilar if an account has the same skeleton.
//
// The check and the insert share one transaction, and every transaction
// begins IMMEDIATE (see pragmas), holding SQLite's single write lock from
// the check to the commit: two concurrent signups for "bob" and "B0B" run one
// after the other, and the second sees the first. The UNIQUE index on
// name_key stays the last word on equal names. The skeleton index is not
// unique (see migrations/0002_skeleton.sql), so the lock is what decides
// between look-alikes.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	if err := s.createAccount(ctx, a); err != nil {
		return fmt.Errorf("create account %q: %w", a.Name, err)
	}
	return nil
}

func (s *Store) createAccount(ctx context.Context, a store.Account) error {
	key, skeleton := nameKey(a.Name), store.Skeleton(a.Name)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := nameAvailable(ctx, tx, key, skeleton); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		"INSERT INTO accounts (name, name_key, skeleton, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
		a.Name, key, skeleton, a.PasswordHash, a.CreatedAt.UnixMilli())
	if isUnique(err) {
		return store.ErrNameTaken
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

// NameAvailable says whether CreateAccount would accept name now (see
// store.Store).
func (s *Store) NameAvailable(ctx context.Context, name string) error {
	if err := nameAvailable(ctx, s.db, nameKey(name), store.Skeleton(name)); err != nil {
		return fmt.Errorf("name %q: %w", name, err)
	}
	return nil
}

// nameAvailable checks equal names first: ErrNameTaken wins over
// ErrNameSimilar, also where old accounts share a skeleton with each other.
func nameAvailable(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, key, skeleton string) error {
	var taken, similar bool
	err := q.QueryRowContext(ctx,
		"SELECT EXISTS (SELECT 1 FROM accounts WHERE name_key = ?), EXISTS (SELECT 1 FROM accounts WHERE skeleton = ?)",
		key, skeleton).Scan(&taken, &similar)
	switch {
	case err != nil:
		return err
	case taken:
		return store.ErrNameTaken
	case similar:
		return store.ErrNameSimilar
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

// Profile returns what others may see of the account called name, in any
// letter case; chat.ErrNoAccount if there is none. LastSeen is zero if
// SetLastSeen was never called for it.
func (s *Store) Profile(ctx context.Context, name string) (chat.Profile, error) {
	var (
		p        chat.Profile
		created  int64
		lastSeen sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx,
		"SELECT name, created_at, last_seen FROM accounts WHERE name_key = ?",
		nameKey(name)).Scan(&p.Name, &created, &lastSeen)
	if errors.Is(err, sql.ErrNoRows) {
		err = chat.ErrNoAccount
	}
	if err != nil {
		return chat.Profile{}, fmt.Errorf("profile of %q: %w", name, err)
	}
	p.Created = time.UnixMilli(created)
	if lastSeen.Valid {
		p.LastSeen = time.UnixMilli(lastSeen.Int64)
	}
	return p, nil
}

// SetLastSeen records when account was last online (to the millisecond);
// chat.ErrNoAccount if there is no such account.
func (s *Store) SetLastSeen(ctx context.Context, account string, at time.Time) error {
	res, err := s.db.ExecContext(ctx,
		"UPDATE accounts SET last_seen = ? WHERE name_key = ?", at.UnixMilli(), nameKey(account))
	if err == nil {
		err = mustChange(res, chat.ErrNoAccount)
	}
	if err != nil {
		return fmt.Errorf("set last seen of %q: %w", account, err)
	}
	return nil
}

// fillSkeletons computes the skeleton of the accounts that have none: every
// account when migration 0002 has just added the column, and any that an
// older program (which does not know the column) created since. Open calls
// it before it returns, so that CreateAccount compares against every
// account; only an older program still running beside this one can add an
// account without a skeleton, and it checks nothing anyway. One transaction:
// accounts are people, so few, and the usual start finds none to fill.
func (s *Store) fillSkeletons(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT rowid, name FROM accounts WHERE skeleton IS NULL")
	if err != nil {
		return err
	}
	type account struct {
		rowid int64
		name  string
	}
	var todo []account
	for rows.Next() {
		var a account
		if err := rows.Scan(&a.rowid, &a.name); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range todo {
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET skeleton = ? WHERE rowid = ?", store.Skeleton(a.name), a.rowid); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// nameKey is the case-folded name that lookups and uniqueness use. Valid
// names are ASCII (store.ValidateUsername), where ToLower is exact.
func nameKey(name string) string { return strings.ToLower(name) }
