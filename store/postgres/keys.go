package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"messaging/store"
)

// AddKey registers k to k.Account (see store.Store): store.ErrNotFound if
// there is no such account, store.ErrKeyTaken if any account has the key
// already, store.ErrTooManyKeys if k.Account has max (> 0) keys already, in
// that order. The checks and the insert run with the account's row locked
// (lockAccount), so concurrent calls cannot pass the limit together; the
// primary key on the fingerprint decides between accounts adding one key.
func (s *Store) AddKey(ctx context.Context, k store.Key, max int) error {
	if err := s.addKey(ctx, k, max); err != nil {
		return fmt.Errorf("add key %s to %q: %w", k.Fingerprint, k.Account, err)
	}
	return nil
}

func (s *Store) addKey(ctx context.Context, k store.Key, max int) error {
	key := nameKey(k.Account)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		exists, err := lockAccount(ctx, tx, key)
		if err != nil {
			return err
		}
		var (
			taken bool
			keys  int
		)
		if exists {
			err = tx.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM keys WHERE fingerprint = $1),
				(SELECT count(*) FROM keys WHERE account_key = $2)`,
				k.Fingerprint, key).Scan(&taken, &keys)
		}
		switch {
		case err != nil:
			return err
		case !exists:
			return store.ErrNotFound
		case taken:
			return store.ErrKeyTaken
		case max > 0 && keys >= max:
			return store.ErrTooManyKeys
		}
		data := k.Data
		if data == nil {
			data = []byte{} // the column is NOT NULL; nil would bind as NULL
		}
		_, err = tx.Exec(ctx,
			"INSERT INTO keys (fingerprint, account_key, type, data, comment, added_at, last_used) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			k.Fingerprint, key, k.Type, data, k.Comment, ms(k.Added), nullTime(k.LastUsed))
		if isUnique(err) { // another account's AddKey of this key committed first
			return store.ErrKeyTaken
		}
		return err
	})
}

// keyColumns are the columns of keys k (joined with its account a) that
// scanKey reads, in its order.
const keyColumns = "k.fingerprint, a.name, k.type, k.data, k.comment, k.added_at, k.last_used"

func scanKey(row pgx.Row) (store.Key, error) {
	var (
		k        store.Key
		lastUsed *time.Time
	)
	if err := row.Scan(&k.Fingerprint, &k.Account, &k.Type, &k.Data, &k.Comment, &k.Added, &lastUsed); err != nil {
		return store.Key{}, err
	}
	k.LastUsed = fromNull(lastUsed)
	return k, nil
}

// Keys lists account's keys, oldest first (by the time they were added,
// then in the order they were stored); none if there is no such account.
func (s *Store) Keys(ctx context.Context, account string) ([]store.Key, error) {
	keys, err := query(ctx, s, scanKey,
		"SELECT "+keyColumns+" FROM keys k JOIN accounts a ON a.name_key = k.account_key WHERE k.account_key = $1 ORDER BY k.added_at, k.seq",
		nameKey(account))
	if err != nil {
		return nil, fmt.Errorf("keys of %q: %w", account, err)
	}
	return keys, nil
}

// KeyByFingerprint finds a registered key; store.ErrNotFound if none. The
// fingerprint is compared exactly: its base64 is case-sensitive.
func (s *Store) KeyByFingerprint(ctx context.Context, fingerprint string) (store.Key, error) {
	k, err := scanKey(s.pool.QueryRow(ctx,
		"SELECT "+keyColumns+" FROM keys k JOIN accounts a ON a.name_key = k.account_key WHERE k.fingerprint = $1",
		fingerprint))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Key{}, fmt.Errorf("key %s: %w", fingerprint, err)
	}
	return k, nil
}

// RemoveKey removes account's key with that fingerprint; store.ErrNotFound
// if account has no such key (another account's key stays).
func (s *Store) RemoveKey(ctx context.Context, account, fingerprint string) error {
	tag, err := s.pool.Exec(ctx,
		"DELETE FROM keys WHERE fingerprint = $1 AND account_key = $2", fingerprint, nameKey(account))
	if err == nil {
		err = mustChange(tag, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("remove key %s of %q: %w", fingerprint, account, err)
	}
	return nil
}

// KeyUsed records that the key logged in at at (to the millisecond); no
// error if it is gone. The time only moves forward: of two logins recorded
// out of order, the later one stays.
func (s *Store) KeyUsed(ctx context.Context, fingerprint string, at time.Time) error {
	if _, err := s.pool.Exec(ctx,
		// greatest ignores a NULL (never used).
		"UPDATE keys SET last_used = greatest(last_used, $1) WHERE fingerprint = $2",
		ms(at), fingerprint); err != nil {
		return fmt.Errorf("key %s used: %w", fingerprint, err)
	}
	return nil
}

// RecordLogin records a login of account and deletes all but its
// store.KeepLogins newest, in one transaction with the account's row
// locked (so two logins at once cannot both keep six); store.ErrNotFound
// if there is no such account.
func (s *Store) RecordLogin(ctx context.Context, account string, l store.Login) error {
	if err := s.recordLogin(ctx, account, l); err != nil {
		return fmt.Errorf("record login of %q: %w", account, err)
	}
	return nil
}

func (s *Store) recordLogin(ctx context.Context, account string, l store.Login) error {
	key := nameKey(account)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		exists, err := lockAccount(ctx, tx, key)
		if err != nil {
			return err
		}
		if !exists {
			return store.ErrNotFound
		}
		if _, err := tx.Exec(ctx,
			"INSERT INTO logins (account_key, at, address, method) VALUES ($1, $2, $3, $4)",
			key, ms(l.At), l.Address, l.Method); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM logins WHERE account_key = $1 AND seq NOT IN
			(SELECT seq FROM logins WHERE account_key = $1 ORDER BY at DESC, seq DESC LIMIT $2)`,
			key, store.KeepLogins)
		return err
	})
}

// Logins lists account's logins, newest first (of equal times, the one
// recorded last first); none if there is no such account. RecordLogin
// keeps no more than store.KeepLogins.
func (s *Store) Logins(ctx context.Context, account string) ([]store.Login, error) {
	logins, err := query(ctx, s, func(row pgx.Row) (store.Login, error) {
		var l store.Login
		err := row.Scan(&l.At, &l.Address, &l.Method)
		return l, err
	}, "SELECT at, address, method FROM logins WHERE account_key = $1 ORDER BY at DESC, seq DESC",
		nameKey(account))
	if err != nil {
		return nil, fmt.Errorf("logins of %q: %w", account, err)
	}
	return logins, nil
}
