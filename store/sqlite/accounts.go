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
// otherwise store.ErrNameSimilar if an account has the same skeleton. The
// names of deleted accounts count as accounts until their hold ends (see
// DeleteAccount).
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
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UnixMilli()
	// Holds that have ended mean nothing: drop them while the write lock
	// is held anyway.
	if _, err := tx.ExecContext(ctx, "DELETE FROM held_names WHERE until <= ?", now); err != nil {
		return err
	}
	if err := nameAvailable(ctx, tx, key, skeleton, now); err != nil {
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
	if err := nameAvailable(ctx, s.db, nameKey(name), store.Skeleton(name), time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("name %q: %w", name, err)
	}
	return nil
}

// nameAvailable checks equal names first: ErrNameTaken wins over
// ErrNameSimilar, also where old accounts share a skeleton with each other.
// The names of deleted accounts held at now (unix milliseconds) count as
// accounts.
func nameAvailable(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, key, skeleton string, now int64) error {
	var taken, similar bool
	err := q.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM accounts WHERE name_key = ?1)
			OR EXISTS (SELECT 1 FROM held_names WHERE name_key = ?1 AND until > ?3),
		EXISTS (SELECT 1 FROM accounts WHERE skeleton = ?2)
			OR EXISTS (SELECT 1 FROM held_names WHERE skeleton = ?2 AND until > ?3)`,
		key, skeleton, now).Scan(&taken, &similar)
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
		"SELECT name, password_hash, created_at, must_change FROM accounts WHERE name_key = ?",
		nameKey(name)).Scan(&a.Name, &a.PasswordHash, &created, &a.MustChangePassword)
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
	res, err := s.writer.ExecContext(ctx,
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
	tx, err := s.writer.BeginTx(ctx, nil)
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

// SetPasswordHash replaces account's password hash and clears its
// MustChangePassword (this is the new password); store.ErrNotFound if there
// is no such account.
func (s *Store) SetPasswordHash(ctx context.Context, account, hash string) error {
	res, err := s.writer.ExecContext(ctx,
		"UPDATE accounts SET password_hash = ?, must_change = 0 WHERE name_key = ?", hash, nameKey(account))
	if err == nil {
		err = mustChange(res, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set password hash of %q: %w", account, err)
	}
	return nil
}

// DeleteAccount removes account and everything that was its own (its
// sanctions too: a ban's address ban ends with it), renames it in what
// stays, and holds its name until heldUntil (see store.Store);
// store.ErrNotFound if there is no such account. One immediate
// transaction: nothing can join, invite or ignore the account halfway
// through, and the foreign keys to accounts make the final DELETE fail if
// a row that names it was missed.
//
// Messages store their author as the session spelled it, so the rename
// compares case-insensitively. It scans the whole history (no index on
// lower(author): every Append would pay for it), which a deletion, rare,
// can afford.
func (s *Store) DeleteAccount(ctx context.Context, account string, heldUntil time.Time) error {
	if err := s.deleteAccount(ctx, account, heldUntil); err != nil {
		return fmt.Errorf("delete account %q: %w", account, err)
	}
	return nil
}

func (s *Store) deleteAccount(ctx context.Context, account string, heldUntil time.Time) error {
	key := nameKey(account)
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var name string
	err = tx.QueryRowContext(ctx, "SELECT name FROM accounts WHERE name_key = ?", key).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	deleted := chat.DeletedName(name)
	for _, step := range []struct {
		q    string
		args []any
	}{
		{"DELETE FROM keys WHERE account_key = ?", []any{key}},
		{"DELETE FROM logins WHERE account_key = ?", []any{key}},
		{"DELETE FROM members WHERE account_key = ?", []any{key}},
		{"DELETE FROM invites WHERE account_key = ?", []any{key}},
		{"DELETE FROM ignores WHERE account_key = ?1 OR other_key = ?1", []any{key}},
		{"DELETE FROM sanctions WHERE account_key = ?", []any{key}},
		// Author and To both: the screens tell a /part (To = Author) from
		// a removal by comparing them.
		{`UPDATE messages SET
			author = CASE WHEN lower(author) = ?1 THEN ?2 ELSE author END,
			recipient = CASE WHEN lower(recipient) = ?1 THEN ?2 ELSE recipient END
		WHERE lower(author) = ?1 OR lower(recipient) = ?1`, []any{key, deleted}},
		// The other member keeps the conversation; the new dm_key (see
		// migrations/0004_keys.sql) lets Direct create a new one for a
		// later account of the name.
		{`UPDATE conversations SET
			peer_a = CASE WHEN lower(peer_a) = ?1 THEN ?2 ELSE peer_a END,
			peer_b = CASE WHEN lower(peer_b) = ?1 THEN ?2 ELSE peer_b END,
			dm_key = '#' || id
		WHERE kind = ?3 AND (lower(peer_a) = ?1 OR lower(peer_b) = ?1)`, []any{key, deleted, chat.Direct}},
		{"UPDATE conversations SET owner = '' WHERE kind = ? AND lower(owner) = ?", []any{chat.Channel, key}},
		{"DELETE FROM accounts WHERE name_key = ?", []any{key}},
		{"DELETE FROM held_names WHERE until <= ?", []any{time.Now().UnixMilli()}},
		// Any hold of the name left is still running (an earlier
		// account's, with a later heldUntil): it is not shortened.
		{`INSERT INTO held_names (name_key, skeleton, until) VALUES (?, ?, ?)
		ON CONFLICT (name_key) DO UPDATE SET skeleton = excluded.skeleton, until = max(until, excluded.until)`,
			[]any{key, store.Skeleton(name), heldUntil.UnixMilli()}},
	} {
		if _, err := tx.ExecContext(ctx, step.q, step.args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}
