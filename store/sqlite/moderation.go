package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"messaging/chat"
	"messaging/store"
)

// SetRole gives account role; store.ErrNotFound if there is no such
// account. A role chat does not know is refused: the column has no CHECK
// (see migrations/0005_moderation.sql), so this is the only guard.
func (s *Store) SetRole(ctx context.Context, account string, role chat.Role) error {
	err := validRole(role)
	if err == nil {
		var res sql.Result
		res, err = s.writer.ExecContext(ctx, "UPDATE accounts SET role = ? WHERE name_key = ?", int64(role), nameKey(account))
		if err == nil {
			err = mustChange(res, store.ErrNotFound)
		}
	}
	if err != nil {
		return fmt.Errorf("set role of %q to %s: %w", account, role, err)
	}
	return nil
}

func validRole(r chat.Role) error {
	switch r {
	case chat.RoleMember, chat.RoleModerator, chat.RoleAdmin:
		return nil
	}
	return fmt.Errorf("unknown role %d", int(r))
}

// Role reads account's role (chat.RoleMember if it was never given one);
// store.ErrNotFound if there is no such account.
func (s *Store) Role(ctx context.Context, account string) (chat.Role, error) {
	var role chat.Role
	err := s.db.QueryRowContext(ctx, "SELECT role FROM accounts WHERE name_key = ?", nameKey(account)).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return chat.RoleMember, fmt.Errorf("role of %q: %w", account, err)
	}
	return role, nil
}

// Accounts lists every account by name (in any case), with its role, its
// times and how many keys it has, in one query: accounts are people, so
// few, and the key counts search the index keys_account.
func (s *Store) Accounts(ctx context.Context) ([]store.AccountSummary, error) {
	list, err := query(ctx, s.db, func(row scanner) (store.AccountSummary, error) {
		var (
			a        store.AccountSummary
			created  int64
			lastSeen sql.NullInt64
		)
		err := row.Scan(&a.Name, &a.Role, &created, &lastSeen, &a.Keys)
		a.Created = time.UnixMilli(created)
		a.LastSeen = fromNull(lastSeen)
		return a, err
	}, `SELECT a.name, a.role, a.created_at, a.last_seen,
		(SELECT count(*) FROM keys k WHERE k.account_key = a.name_key)
	FROM accounts a ORDER BY a.name_key`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return list, nil
}

// SetMustChangePassword marks or clears that account must set a new
// password at its next login; store.ErrNotFound if there is no such
// account. SetPasswordHash clears it too.
func (s *Store) SetMustChangePassword(ctx context.Context, account string, must bool) error {
	res, err := s.writer.ExecContext(ctx, "UPDATE accounts SET must_change = ? WHERE name_key = ?", must, nameKey(account))
	if err == nil {
		err = mustChange(res, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set must change password of %q to %v: %w", account, must, err)
	}
	return nil
}

// Sanction sets sn on sn.Account, replacing any sanction of the same kind
// there (in force or expired); store.ErrNotFound if there is no such
// account, an error for a kind other than store.Ban and store.Mute. One
// statement; the foreign key on accounts decides whether the account
// exists.
func (s *Store) Sanction(ctx context.Context, sn store.Sanction) error {
	var err error
	if sn.Kind != store.Ban && sn.Kind != store.Mute {
		err = fmt.Errorf("unknown sanction kind %q", sn.Kind)
	} else {
		_, err = s.writer.ExecContext(ctx, `INSERT INTO sanctions (account_key, kind, by_name, reason, at, until, address)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_key, kind) DO UPDATE SET by_name = excluded.by_name, reason = excluded.reason,
			at = excluded.at, until = excluded.until, address = excluded.address`,
			nameKey(sn.Account), sn.Kind, sn.By, sn.Reason, sn.At.UnixMilli(), nullTime(sn.Until), sn.Address)
		if isForeignKey(err) {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("%s %q: %w", sn.Kind, sn.Account, err)
	}
	return nil
}

// Lift removes account's sanction of kind; store.ErrNotFound if none is
// in force now (an expired one is removed all the same).
func (s *Store) Lift(ctx context.Context, account, kind string) error {
	var until sql.NullInt64
	err := s.db.QueryRowContext(ctx,
		"DELETE FROM sanctions WHERE account_key = ? AND kind = ? RETURNING until",
		nameKey(account), kind).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) || err == nil && until.Valid && until.Int64 <= time.Now().UnixMilli() {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("lift %s of %q: %w", kind, account, err)
	}
	return nil
}

// Sanctions lists the sanctions in force at now (to the millisecond):
// until lifted, or until after now. Oldest first (by At, then in the order
// they were first set), each with the account as it spells its name.
func (s *Store) Sanctions(ctx context.Context, now time.Time) ([]store.Sanction, error) {
	list, err := query(ctx, s.db, func(row scanner) (store.Sanction, error) {
		var (
			sn    store.Sanction
			at    int64
			until sql.NullInt64
		)
		err := row.Scan(&sn.Kind, &sn.Account, &sn.By, &sn.Reason, &at, &until, &sn.Address)
		sn.At = time.UnixMilli(at)
		sn.Until = fromNull(until)
		return sn, err
	}, `SELECT s.kind, a.name, s.by_name, s.reason, s.at, s.until, s.address
	FROM sanctions s JOIN accounts a ON a.name_key = s.account_key
	WHERE s.until IS NULL OR s.until > ?
	ORDER BY s.at, s.rowid`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("sanctions at %v: %w", now, err)
	}
	return list, nil
}

// motdKey is the message of the day's row in settings.
const motdKey = "motd"

// SetMOTD stores the message of the day; "" removes it.
func (s *Store) SetMOTD(ctx context.Context, text string) error {
	var err error
	if text == "" {
		_, err = s.writer.ExecContext(ctx, "DELETE FROM settings WHERE key = ?", motdKey)
	} else {
		_, err = s.writer.ExecContext(ctx,
			"INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			motdKey, text)
	}
	if err != nil {
		return fmt.Errorf("set message of the day: %w", err)
	}
	return nil
}

// MOTD reads the message of the day; "" if there is none.
func (s *Store) MOTD(ctx context.Context) (string, error) {
	var text string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", motdKey).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("message of the day: %w", err)
	}
	return text, nil
}

// Audit appends e with the caller's At (to the millisecond) and the next
// ID; e.ID is ignored.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if _, err := s.writer.ExecContext(ctx,
		"INSERT INTO audit (at, actor, action, target, reason) VALUES (?, ?, ?, ?, ?)",
		e.At.UnixMilli(), e.Actor, e.Action, e.Target, e.Reason); err != nil {
		return fmt.Errorf("audit %s of %q by %q: %w", e.Action, e.Target, e.Actor, err)
	}
	return nil
}

// maxAuditLog bounds AuditLog: n <= 0, or more than this, returns this
// many at most.
const maxAuditLog = 1000

// AuditLog returns the n newest entries (see maxAuditLog), newest first.
func (s *Store) AuditLog(ctx context.Context, n int) ([]store.AuditEntry, error) {
	if n <= 0 || n > maxAuditLog {
		n = maxAuditLog
	}
	log, err := query(ctx, s.db, func(row scanner) (store.AuditEntry, error) {
		var (
			e  store.AuditEntry
			at int64
		)
		err := row.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Reason)
		e.At = time.UnixMilli(at)
		return e, err
	}, "SELECT id, at, actor, action, target, reason FROM audit ORDER BY id DESC LIMIT ?", n)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return log, nil
}

// LastAudit is the newest audit entry's ID, 0 if there is none: the last
// row of the primary key, so the server may poll it often.
func (s *Store) LastAudit(ctx context.Context) (int64, error) {
	var id int64
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM audit").Scan(&id); err != nil {
		return 0, fmt.Errorf("last audit entry: %w", err)
	}
	return id, nil
}

// Purge hides author's messages (its name in any case) of since and later
// (to the millisecond), in every conversation: each is marked removed and
// its body emptied, so the words are gone from the file, not only from the
// screens. It returns how many it hid; ones hidden before are not counted.
//
// Only the kinds whose body is the author's own words are hidden: text,
// /me actions, topics and away reasons. Joins, leaves, returns and purge
// notices are the server's words about the author (a leave's body may
// name the moderator who removed it, a purge notice's does), and stay.
//
// One statement, so one transaction. It scans the whole history, as
// DeleteAccount does (no index on lower(author)), which a purge, rare, can
// afford.
func (s *Store) Purge(ctx context.Context, author string, since time.Time) (int, error) {
	from := since.UnixMilli()
	if since.IsZero() {
		from = math.MinInt64 // every message; UnixMilli of the zero time is only very old
	}
	res, err := s.writer.ExecContext(ctx, `UPDATE messages SET removed = 1, body = ''
	WHERE lower(author) = ? AND at >= ? AND removed = 0 AND kind IN (?, ?, ?, ?)`,
		nameKey(author), from, chat.KindText, chat.KindAction, chat.KindTopic, chat.KindAway)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		return 0, fmt.Errorf("purge messages of %q since %v: %w", author, since, err)
	}
	return int(n), nil
}
