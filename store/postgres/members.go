package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"messaging/chat"
)

// AddMember makes account a member of conv (see chat.Directory);
// chat.ErrNoConversation or chat.ErrNoAccount if either does not exist. For
// a channel, chat.ErrTooManyChannels if account is in maxChannels (> 0)
// channels already, direct conversations not counted; a member already is
// no error, even at the limit. The count and the insert run with the
// account's row locked (lockAccount), so concurrent joins cannot pass the
// limit together.
func (s *Store) AddMember(ctx context.Context, conv int64, account string, maxChannels int) error {
	if err := s.addMember(ctx, conv, account, maxChannels); err != nil {
		return fmt.Errorf("add %q to conversation %d: %w", account, conv, err)
	}
	return nil
}

func (s *Store) addMember(ctx context.Context, conv int64, account string, maxChannels int) error {
	key := nameKey(account)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		exists, err := lockAccount(ctx, tx, key)
		if err != nil {
			return err
		}
		var (
			kind     chat.ConvKind
			member   bool
			channels int
		)
		err = tx.QueryRow(ctx, `SELECT c.kind,
				EXISTS (SELECT 1 FROM members m WHERE m.conv = c.id AND m.account_key = $2),
				(SELECT count(*) FROM members m JOIN conversations k ON k.id = m.conv
					WHERE m.account_key = $2 AND k.kind = $3)
			FROM conversations c WHERE c.id = $1`,
			conv, key, chat.Channel).Scan(&kind, &member, &channels)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return chat.ErrNoConversation
		case err != nil:
			return err
		case member:
			return nil
		case !exists:
			return chat.ErrNoAccount
		case kind == chat.Channel && maxChannels > 0 && channels >= maxChannels:
			return chat.ErrTooManyChannels
		}
		// A new member has read what was said before it came: Recent shows
		// it; only what comes after counts as unread.
		_, err = tx.Exec(ctx,
			`INSERT INTO members (conv, account_key, joined_at, last_read)
			VALUES ($1, $2, $3, (SELECT coalesce(max(id), 0) FROM messages WHERE conv = $1))
			ON CONFLICT DO NOTHING`,
			conv, key, ms(time.Now()))
		return err
	})
}

// RemoveMember ends account's membership of conv, and with it its read
// pointer there; no effect if it has none.
func (s *Store) RemoveMember(ctx context.Context, conv int64, account string) error {
	if _, err := s.pool.Exec(ctx,
		"DELETE FROM members WHERE conv = $1 AND account_key = $2", conv, nameKey(account)); err != nil {
		return fmt.Errorf("remove %q from conversation %d: %w", account, conv, err)
	}
	return nil
}

// IsMember reports whether account is a member of conv.
func (s *Store) IsMember(ctx context.Context, conv int64, account string) (bool, error) {
	ok, err := s.has(ctx, "members", conv, account)
	if err != nil {
		return false, fmt.Errorf("is %q in conversation %d: %w", account, conv, err)
	}
	return ok, nil
}

// has reports whether table (members or invites) holds account in conv.
func (s *Store) has(ctx context.Context, table string, conv int64, account string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM "+table+" WHERE conv = $1 AND account_key = $2)",
		conv, nameKey(account)).Scan(&ok)
	return ok, err
}

// SetInvited invites account to conv, or takes the invitation back (no
// effect if there is none). An invitation needs conv and account to exist:
// chat.ErrNoConversation, chat.ErrNoAccount.
func (s *Store) SetInvited(ctx context.Context, conv int64, account string, invited bool) error {
	q := "DELETE FROM invites WHERE conv = $1 AND account_key = $2"
	if invited {
		q = "INSERT INTO invites (conv, account_key) VALUES ($1, $2) ON CONFLICT DO NOTHING"
	}
	if _, err := s.pool.Exec(ctx, q, conv, nameKey(account)); err != nil {
		return fmt.Errorf("set invitation of %q to conversation %d: %w", account, conv, s.missing(ctx, err, conv, account))
	}
	return nil
}

// Invited reports whether account is invited to conv.
func (s *Store) Invited(ctx context.Context, conv int64, account string) (bool, error) {
	ok, err := s.has(ctx, "invites", conv, account)
	if err != nil {
		return false, fmt.Errorf("is %q invited to conversation %d: %w", account, conv, err)
	}
	return ok, nil
}

// SetRead moves read pointers forward, all in one transaction: a pointer
// never moves back, and one for a conversation the account is not in is
// ignored. The updates are sent as one batch (its implicit transaction),
// sorted by conversation and account, so that two calls touching the same
// rows lock them in the same order and cannot deadlock.
func (s *Store) SetRead(ctx context.Context, reads []chat.Read) error {
	if len(reads) == 0 {
		return nil
	}
	type row struct {
		conv int64
		key  string
	}
	newest := make(map[row]int64, len(reads))
	for _, r := range reads {
		k := row{r.Conv, nameKey(r.Account)}
		newest[k] = max(newest[k], r.ID)
	}
	b := &pgx.Batch{}
	for _, k := range slices.SortedFunc(maps.Keys(newest), func(a, b row) int {
		return cmp.Or(cmp.Compare(a.conv, b.conv), cmp.Compare(a.key, b.key))
	}) {
		b.Queue("UPDATE members SET last_read = greatest(last_read, $1) WHERE conv = $2 AND account_key = $3",
			newest[k], k.conv, k.key)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("set %d read pointers: %w", len(reads), err)
	}
	return nil
}

// Ignored lists the accounts account ignores, as they spell their names,
// in the order of their lower-case names (as bytes, as in SQLite).
func (s *Store) Ignored(ctx context.Context, account string) ([]string, error) {
	names, err := query(ctx, s, func(row pgx.Row) (string, error) {
		var name string
		err := row.Scan(&name)
		return name, err
	}, `SELECT a.name FROM ignores i JOIN accounts a ON a.name_key = i.other_key
		WHERE i.account_key = $1 ORDER BY a.name_key COLLATE "C"`, nameKey(account))
	if err != nil {
		return nil, fmt.Errorf("ignored by %q: %w", account, err)
	}
	return names, nil
}

// SetIgnored makes account ignore other, or stop ignoring it (no effect if
// it does not). Ignoring needs both accounts to exist: chat.ErrNoAccount.
func (s *Store) SetIgnored(ctx context.Context, account, other string, ignored bool) error {
	q := "DELETE FROM ignores WHERE account_key = $1 AND other_key = $2"
	if ignored {
		q = "INSERT INTO ignores (account_key, other_key) VALUES ($1, $2) ON CONFLICT DO NOTHING"
	}
	if _, err := s.pool.Exec(ctx, q, nameKey(account), nameKey(other)); err != nil {
		return fmt.Errorf("set %q ignoring %q: %w", account, other, s.missing(ctx, err, 0, account, other))
	}
	return nil
}

// missing explains a FOREIGN KEY violation by what is missing:
// chat.ErrNoConversation if conv (unless 0) does not exist, otherwise
// chat.ErrNoAccount for the first of accounts that does not. It returns
// any other error, or one it cannot explain, as it is.
func (s *Store) missing(ctx context.Context, err error, conv int64, accounts ...string) error {
	if !isForeignKey(err) {
		return err
	}
	var ok bool
	if conv != 0 {
		if s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1)", conv).Scan(&ok) == nil && !ok {
			return chat.ErrNoConversation
		}
	}
	for _, a := range accounts {
		if s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM accounts WHERE name_key = $1)", nameKey(a)).Scan(&ok) == nil && !ok {
			return fmt.Errorf("account %q: %w", a, chat.ErrNoAccount)
		}
	}
	return err
}
