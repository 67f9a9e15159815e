package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"messaging/store"
)

// AddKey registers k to k.Account (see store.Store): store.ErrNotFound if
// there is no such account, store.ErrKeyTaken if any account has the key
// already, store.ErrTooManyKeys if k.Account has max (> 0) keys already, in
// that order. The checks and the insert share one immediate transaction
// (see pragmas), so concurrent calls cannot pass the limit together; the
// primary key on the fingerprint stays the last word on a key registered
// twice.
func (s *Store) AddKey(ctx context.Context, k store.Key, max int) error {
	if err := s.addKey(ctx, k, max); err != nil {
		return fmt.Errorf("add key %s to %q: %w", k.Fingerprint, k.Account, err)
	}
	return nil
}

func (s *Store) addKey(ctx context.Context, k store.Key, max int) error {
	key := nameKey(k.Account)
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var (
		exists, taken bool
		keys          int
	)
	err = tx.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM accounts WHERE name_key = ?1),
		EXISTS (SELECT 1 FROM keys WHERE fingerprint = ?2),
		(SELECT count(*) FROM keys WHERE account_key = ?1)`,
		key, k.Fingerprint).Scan(&exists, &taken, &keys)
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
	var lastUsed sql.NullInt64
	if !k.LastUsed.IsZero() {
		lastUsed = sql.NullInt64{Int64: k.LastUsed.UnixMilli(), Valid: true}
	}
	_, err = tx.ExecContext(ctx,
		"INSERT INTO keys (fingerprint, account_key, type, data, comment, added_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?)",
		k.Fingerprint, key, k.Type, data, k.Comment, k.Added.UnixMilli(), lastUsed)
	switch {
	case isUnique(err): // the lock makes this unlikely; the key decides
		return store.ErrKeyTaken
	case err != nil:
		return err
	}
	return tx.Commit()
}

// keyColumns are the columns of keys k (joined with its account a) that
// scanKey reads, in its order.
const keyColumns = "k.fingerprint, a.name, k.type, k.data, k.comment, k.added_at, k.last_used"

func scanKey(row scanner) (store.Key, error) {
	var (
		k        store.Key
		added    int64
		lastUsed sql.NullInt64
	)
	if err := row.Scan(&k.Fingerprint, &k.Account, &k.Type, &k.Data, &k.Comment, &added, &lastUsed); err != nil {
		return store.Key{}, err
	}
	k.Added = time.UnixMilli(added)
	if lastUsed.Valid {
		k.LastUsed = time.UnixMilli(lastUsed.Int64)
	}
	return k, nil
}

// Keys lists account's keys, oldest first (by the time they were added,
// then in the order they were stored); none if there is no such account.
func (s *Store) Keys(ctx context.Context, account string) ([]store.Key, error) {
	keys, err := query(ctx, s.db, scanKey,
		"SELECT "+keyColumns+" FROM keys k JOIN accounts a ON a.name_key = k.account_key WHERE k.account_key = ? ORDER BY k.added_at, k.rowid",
		nameKey(account))
	if err != nil {
		return nil, fmt.Errorf("keys of %q: %w", account, err)
	}
	return keys, nil
}

// KeyByFingerprint finds a registered key; store.ErrNotFound if none. The
// fingerprint is compared exactly: its base64 is case-sensitive.
func (s *Store) KeyByFingerprint(ctx context.Context, fingerprint string) (store.Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx,
		"SELECT "+keyColumns+" FROM keys k JOIN accounts a ON a.name_key = k.account_key WHERE k.fingerprint = ?",
		fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
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
	res, err := s.writer.ExecContext(ctx,
		"DELETE FROM keys WHERE fingerprint = ? AND account_key = ?", fingerprint, nameKey(account))
	if err == nil {
		err = mustChange(res, store.ErrNotFound)
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
	if _, err := s.writer.ExecContext(ctx,
		// SQLite's max of several arguments is NULL if one is NULL.
		"UPDATE keys SET last_used = max(coalesce(last_used, ?1), ?1) WHERE fingerprint = ?2",
		at.UnixMilli(), fingerprint); err != nil {
		return fmt.Errorf("key %s used: %w", fingerprint, err)
	}
	return nil
}

// RecordLogin records a login of account and deletes all but its
// store.KeepLogins newest, in one transaction; store.ErrNotFound if there is
// no such account.
func (s *Store) RecordLogin(ctx context.Context, account string, l store.Login) error {
	if err := s.recordLogin(ctx, account, l); err != nil {
		return fmt.Errorf("record login of %q: %w", account, err)
	}
	return nil
}

func (s *Store) recordLogin(ctx context.Context, account string, l store.Login) error {
	key := nameKey(account)
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx,
		"INSERT INTO logins (account_key, at, address, method) VALUES (?, ?, ?, ?)",
		key, l.At.UnixMilli(), l.Address, l.Method)
	switch {
	case isForeignKey(err):
		return store.ErrNotFound
	case err != nil:
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM logins WHERE account_key = ?1 AND rowid NOT IN
		(SELECT rowid FROM logins WHERE account_key = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2)`,
		key, store.KeepLogins); err != nil {
		return err
	}
	return tx.Commit()
}

// Logins lists account's logins, newest first (of equal times, the one
// recorded last first); none if there is no such account. RecordLogin
// keeps no more than store.KeepLogins.
func (s *Store) Logins(ctx context.Context, account string) ([]store.Login, error) {
	logins, err := query(ctx, s.db, func(row scanner) (store.Login, error) {
		var (
			l  store.Login
			at int64
		)
		err := row.Scan(&at, &l.Address, &l.Method)
		l.At = time.UnixMilli(at)
		return l, err
	}, "SELECT at, address, method FROM logins WHERE account_key = ? ORDER BY at DESC, rowid DESC",
		nameKey(account))
	if err != nil {
		return nil, fmt.Errorf("logins of %q: %w", account, err)
	}
	return logins, nil
}
