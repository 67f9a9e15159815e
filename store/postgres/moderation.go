package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"messaging/chat"
	"messaging/store"
)

// SetRole gives account role; store.ErrNotFound if there is no such
// account. A role chat does not know is refused: the column has no CHECK
// (see migrations/0001_init.sql), so this is the only guard.
func (s *Store) SetRole(ctx context.Context, account string, role chat.Role) error {
	err := validRole(role)
	if err == nil {
		var tag pgconn.CommandTag
		tag, err = s.pool.Exec(ctx, "UPDATE accounts SET role = $1 WHERE name_key = $2", int(role), nameKey(account))
		if err == nil {
			err = mustChange(tag, store.ErrNotFound)
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
	err := s.pool.QueryRow(ctx, "SELECT role FROM accounts WHERE name_key = $1", nameKey(account)).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return chat.RoleMember, fmt.Errorf("role of %q: %w", account, err)
	}
	return role, nil
}

// Accounts lists every account by name (in any case, as bytes), with its
// role, its times and how many keys it has, in one query: accounts are
// people, so few, and the key counts search the index keys_account.
func (s *Store) Accounts(ctx context.Context) ([]store.AccountSummary, error) {
	list, err := query(ctx, s, func(row pgx.Row) (store.AccountSummary, error) {
		var (
			a        store.AccountSummary
			lastSeen *time.Time
		)
		err := row.Scan(&a.Name, &a.Role, &a.Created, &lastSeen, &a.Keys)
		a.LastSeen = fromNull(lastSeen)
		return a, err
	}, `SELECT a.name, a.role, a.created_at, a.last_seen,
		(SELECT count(*) FROM keys k WHERE k.account_key = a.name_key)
	FROM accounts a ORDER BY a.name_key COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return list, nil
}

// SetMustChangePassword marks or clears that account must set a new
// password at its next login; store.ErrNotFound if there is no such
// account. SetPasswordHash clears it too.
func (s *Store) SetMustChangePassword(ctx context.Context, account string, must bool) error {
	tag, err := s.pool.Exec(ctx, "UPDATE accounts SET must_change = $1 WHERE name_key = $2", must, nameKey(account))
	if err == nil {
		err = mustChange(tag, store.ErrNotFound)
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
		_, err = s.pool.Exec(ctx, `INSERT INTO sanctions (account_key, kind, by_name, reason, at, until, address)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (account_key, kind) DO UPDATE SET by_name = excluded.by_name, reason = excluded.reason,
			at = excluded.at, until = excluded.until, address = excluded.address`,
			nameKey(sn.Account), sn.Kind, sn.By, sn.Reason, ms(sn.At), nullTime(sn.Until), sn.Address)
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
	var until *time.Time
	err := s.pool.QueryRow(ctx,
		"DELETE FROM sanctions WHERE account_key = $1 AND kind = $2 RETURNING until",
		nameKey(account), kind).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && until != nil && !until.After(ms(time.Now())) {
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
	list, err := query(ctx, s, func(row pgx.Row) (store.Sanction, error) {
		var (
			sn    store.Sanction
			until *time.Time
		)
		err := row.Scan(&sn.Kind, &sn.Account, &sn.By, &sn.Reason, &sn.At, &until, &sn.Address)
		sn.Until = fromNull(until)
		return sn, err
	}, `SELECT s.kind, a.name, s.by_name, s.reason, s.at, s.until, s.address
	FROM sanctions s JOIN accounts a ON a.name_key = s.account_key
	WHERE s.until IS NULL OR s.until > $1
	ORDER BY s.at, s.seq`, ms(now))
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
		_, err = s.pool.Exec(ctx, "DELETE FROM settings WHERE key = $1", motdKey)
	} else {
		_, err = s.pool.Exec(ctx,
			"INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
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
	err := s.pool.QueryRow(ctx, "SELECT value FROM settings WHERE key = $1", motdKey).Scan(&text)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("message of the day: %w", err)
	}
	return text, nil
}

// Audit appends e with the caller's At (to the millisecond) and the next
// ID; e.ID is ignored. Entries are appended one at a time (an advisory
// lock, then the insert, in one batch's implicit transaction): an ID drawn
// later commits later, so the server's poll of LastAudit, seeing an ID,
// has seen every smaller one.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock($1, 0)", lockAudit)
	b.Queue("INSERT INTO audit (at, actor, action, target, reason) VALUES ($1, $2, $3, $4, $5)",
		ms(e.At), e.Actor, e.Action, e.Target, e.Reason)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
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
	log, err := query(ctx, s, func(row pgx.Row) (store.AuditEntry, error) {
		var e store.AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &e.Reason)
		return e, err
	}, "SELECT id, at, actor, action, target, reason FROM audit ORDER BY id DESC LIMIT $1", n)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return log, nil
}

// LastAudit is the newest audit entry's ID, 0 if there is none: the last
// entry of the primary key's index, so the server may poll it often.
func (s *Store) LastAudit(ctx context.Context) (int64, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM audit").Scan(&id); err != nil {
		return 0, fmt.Errorf("last audit entry: %w", err)
	}
	return id, nil
}

// Purge hides author's messages (its name in any case) of since and later
// (to the millisecond; the zero time: all), in every conversation: each is
// marked removed and its body emptied, so the words are gone from the
// database, not only from the screens. It returns how many it hid; ones
// hidden before are not counted.
//
// Only the kinds whose body is the author's own words are hidden: text,
// /me actions, topics and away reasons. Joins, leaves, returns and purge
// notices are the server's words about the author, and stay.
//
// One statement. It scans the whole history, as DeleteAccount does (no
// index on lower(author)), which a purge, rare, can afford.
func (s *Store) Purge(ctx context.Context, author string, since time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE messages SET removed = true, body = ''
	WHERE lower(author) = $1 AND ($2::timestamptz IS NULL OR at >= $2) AND NOT removed AND kind = ANY($3)`,
		nameKey(author), nullTime(since), []int16{int16(chat.KindText), int16(chat.KindAction), int16(chat.KindTopic), int16(chat.KindAway)})
	if err != nil {
		return 0, fmt.Errorf("purge messages of %q since %v: %w", author, since, err)
	}
	return int(tag.RowsAffected()), nil
}
