package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"messaging/chat"
	"messaging/store"
)

// lockName takes tx's advisory lock on a skeleton. Every name, in any case,
// and its look-alikes share one skeleton (store.Skeleton lower-cases
// first), so CreateAccount and DeleteAccount calls that could decide about
// each other's names run one at a time, and the later sees what the
// earlier committed. Two skeletons with one hash only wait for each other.
func lockName(ctx context.Context, tx pgx.Tx, skeleton string) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", lockSkeleton, skeleton)
	return err
}

// lockAccount locks account's row (key: its name_key) for the rest of tx
// and reports whether it exists. FOR NO KEY UPDATE: the calls that take it
// (AddKey, AddMember, RecordLogin) queue behind each other, so a per-account
// limit holds under concurrency, while rows that merely reference the
// account (its foreign keys) need not wait.
func lockAccount(ctx context.Context, tx pgx.Tx, key string) (bool, error) {
	var exists bool
	err := tx.QueryRow(ctx, "SELECT true FROM accounts WHERE name_key = $1 FOR NO KEY UPDATE", key).Scan(&exists)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return exists, err
}

// errNotText refuses a new account whose name PostgreSQL cannot store (see
// nameKey); store.ValidateUsername refuses it long before.
var errNotText = errors.New("a name must be UTF-8 text without NUL")

// CreateAccount stores a; store.ErrNameTaken if the name exists in any case,
// otherwise store.ErrNameSimilar if an account has the same skeleton. The
// names of deleted accounts count as accounts until their hold ends (see
// DeleteAccount). The check and the insert run under the skeleton's lock
// (lockName); the UNIQUE name_key stays the last word on equal names.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	if err := s.createAccount(ctx, a); err != nil {
		return fmt.Errorf("create account %q: %w", a.Name, err)
	}
	return nil
}

func (s *Store) createAccount(ctx context.Context, a store.Account) error {
	key, skeleton := nameKey(a.Name), store.Skeleton(a.Name)
	if key == noKey {
		return errNotText
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockName(ctx, tx, skeleton); err != nil {
			return err
		}
		now := ms(time.Now())
		// Holds that have ended mean nothing: drop this skeleton's, whose
		// lock is held anyway.
		if _, err := tx.Exec(ctx, "DELETE FROM held_names WHERE skeleton = $1 AND until <= $2", skeleton, now); err != nil {
			return err
		}
		if err := nameAvailable(ctx, tx, key, skeleton, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx,
			"INSERT INTO accounts (name, name_key, skeleton, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
			a.Name, key, skeleton, a.PasswordHash, ms(a.CreatedAt))
		if isUnique(err) {
			return store.ErrNameTaken
		}
		return err
	})
}

// NameAvailable says whether CreateAccount would accept name now (see
// store.Store).
func (s *Store) NameAvailable(ctx context.Context, name string) error {
	key := nameKey(name)
	err := errNotText
	if key != noKey {
		err = nameAvailable(ctx, s.pool, key, store.Skeleton(name), ms(time.Now()))
	}
	if err != nil {
		return fmt.Errorf("name %q: %w", name, err)
	}
	return nil
}

// queryRower is the pool or a transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// nameAvailable checks equal names first: ErrNameTaken wins over
// ErrNameSimilar. The names of deleted accounts held at now count as
// accounts.
func nameAvailable(ctx context.Context, q queryRower, key, skeleton string, now time.Time) error {
	var taken, similar bool
	err := q.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM accounts WHERE name_key = $1)
			OR EXISTS (SELECT 1 FROM held_names WHERE name_key = $1 AND until > $3),
		EXISTS (SELECT 1 FROM accounts WHERE skeleton = $2)
			OR EXISTS (SELECT 1 FROM held_names WHERE skeleton = $2 AND until > $3)`,
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
	var a store.Account
	err := s.pool.QueryRow(ctx,
		"SELECT name, password_hash, created_at, must_change FROM accounts WHERE name_key = $1",
		nameKey(name)).Scan(&a.Name, &a.PasswordHash, &a.CreatedAt, &a.MustChangePassword)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("account %q: %w", name, err)
	}
	return a, nil
}

// Profile returns what others may see of the account called name, in any
// letter case; chat.ErrNoAccount if there is none. LastSeen is zero if
// SetLastSeen was never called for it.
func (s *Store) Profile(ctx context.Context, name string) (chat.Profile, error) {
	var (
		p        chat.Profile
		lastSeen *time.Time
	)
	err := s.pool.QueryRow(ctx,
		"SELECT name, created_at, last_seen FROM accounts WHERE name_key = $1",
		nameKey(name)).Scan(&p.Name, &p.Created, &lastSeen)
	if errors.Is(err, pgx.ErrNoRows) {
		err = chat.ErrNoAccount
	}
	if err != nil {
		return chat.Profile{}, fmt.Errorf("profile of %q: %w", name, err)
	}
	p.LastSeen = fromNull(lastSeen)
	return p, nil
}

// SetLastSeen records when account was last online (to the millisecond);
// chat.ErrNoAccount if there is no such account.
func (s *Store) SetLastSeen(ctx context.Context, account string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, "UPDATE accounts SET last_seen = $1 WHERE name_key = $2", ms(at), nameKey(account))
	if err == nil {
		err = mustChange(tag, chat.ErrNoAccount)
	}
	if err != nil {
		return fmt.Errorf("set last seen of %q: %w", account, err)
	}
	return nil
}

// SetPasswordHash replaces account's password hash and clears its
// MustChangePassword (this is the new password); store.ErrNotFound if there
// is no such account.
func (s *Store) SetPasswordHash(ctx context.Context, account, hash string) error {
	tag, err := s.pool.Exec(ctx,
		"UPDATE accounts SET password_hash = $1, must_change = false WHERE name_key = $2", hash, nameKey(account))
	if err == nil {
		err = mustChange(tag, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set password hash of %q: %w", account, err)
	}
	return nil
}

// DeleteAccount removes account and everything that was its own (its
// sanctions too: a ban's address ban ends with it), renames it in what
// stays, and holds its name until heldUntil (see store.Store);
// store.ErrNotFound if there is no such account. One transaction, under
// the skeleton's lock (so no signup takes the name meanwhile) and with the
// account's row locked FOR UPDATE: a concurrent join, invitation, key or
// ignore that names the account waits, then fails its foreign key. Those
// that came first are committed before the lock is granted, and the
// deletes below see them. The foreign keys to accounts make the final
// DELETE fail if a row that names it was missed.
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
	key, skeleton := nameKey(account), store.Skeleton(account)
	if key == noKey {
		return store.ErrNotFound
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockName(ctx, tx, skeleton); err != nil {
			return err
		}
		var name string
		err := tx.QueryRow(ctx, "SELECT name FROM accounts WHERE name_key = $1 FOR UPDATE", key).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
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
			{"DELETE FROM keys WHERE account_key = $1", []any{key}},
			{"DELETE FROM logins WHERE account_key = $1", []any{key}},
			{"DELETE FROM members WHERE account_key = $1", []any{key}},
			{"DELETE FROM invites WHERE account_key = $1", []any{key}},
			{"DELETE FROM ignores WHERE account_key = $1 OR other_key = $1", []any{key}},
			{"DELETE FROM sanctions WHERE account_key = $1", []any{key}},
			// Author and To both: the screens tell a /part (To = Author) from
			// a removal by comparing them.
			{`UPDATE messages SET
				author = CASE WHEN lower(author) = $1 THEN $2 ELSE author END,
				recipient = CASE WHEN lower(recipient) = $1 THEN $2 ELSE recipient END
			WHERE lower(author) = $1 OR lower(recipient) = $1`, []any{key, deleted}},
			// The other member keeps the conversation; the new dm_key (see
			// migrations/0001_init.sql) lets Direct create a new one for a
			// later account of the name.
			{`UPDATE conversations SET
				peer_a = CASE WHEN lower(peer_a) = $1 THEN $2 ELSE peer_a END,
				peer_b = CASE WHEN lower(peer_b) = $1 THEN $2 ELSE peer_b END,
				dm_key = '#' || id
			WHERE kind = $3 AND (lower(peer_a) = $1 OR lower(peer_b) = $1)`, []any{key, deleted, chat.Direct}},
			{"UPDATE conversations SET owner = '' WHERE kind = $1 AND lower(owner) = $2", []any{chat.Channel, key}},
			{"DELETE FROM accounts WHERE name_key = $1", []any{key}},
			{"DELETE FROM held_names WHERE skeleton = $1 AND until <= $2", []any{skeleton, ms(time.Now())}},
			// Any hold of the name left is still running (an earlier
			// account's, with a later heldUntil): it is not shortened.
			{`INSERT INTO held_names (name_key, skeleton, until) VALUES ($1, $2, $3)
			ON CONFLICT (name_key) DO UPDATE SET skeleton = excluded.skeleton, until = greatest(held_names.until, excluded.until)`,
				[]any{key, skeleton, ms(heldUntil)}},
		} {
			if _, err := tx.Exec(ctx, step.q, step.args...); err != nil {
				return err
			}
		}
		return nil
	})
}
