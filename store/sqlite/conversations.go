package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"messaging/chat"
)

// convColumns are the columns of conversations c that scanConv reads, in
// its order.
const convColumns = "c.id, c.kind, coalesce(c.name, ''), c.peer_a, c.peer_b, c.topic, c.private, c.owner, c.created_at"

// scanConv reads convColumns, then the columns after them into more.
func scanConv(row scanner, more ...any) (chat.Conversation, error) {
	var (
		c       chat.Conversation
		created int64
	)
	dest := append([]any{&c.ID, &c.Kind, &c.Name, &c.Peers[0], &c.Peers[1], &c.Topic, &c.Private, &c.Owner, &created}, more...)
	if err := row.Scan(dest...); err != nil {
		return chat.Conversation{}, err
	}
	c.Created = time.UnixMilli(created)
	return c, nil
}

// oneConv finds the conversation where (a condition on c) holds;
// chat.ErrNoConversation if none.
func (s *Store) oneConv(ctx context.Context, where string, args ...any) (chat.Conversation, error) {
	c, err := scanConv(s.db.QueryRowContext(ctx, "SELECT "+convColumns+" FROM conversations c WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Conversation{}, chat.ErrNoConversation
	}
	return c, err
}

// Channel finds a channel by name, in any case; chat.ErrNoConversation if
// none.
func (s *Store) Channel(ctx context.Context, name string) (chat.Conversation, error) {
	c, err := s.oneConv(ctx, "c.name = ?", strings.ToLower(name))
	if err != nil {
		return chat.Conversation{}, fmt.Errorf("channel %q: %w", name, err)
	}
	return c, nil
}

// Conversation finds a conversation by ID; chat.ErrNoConversation if none.
func (s *Store) Conversation(ctx context.Context, id int64) (chat.Conversation, error) {
	c, err := s.oneConv(ctx, "c.id = ?", id)
	if err != nil {
		return chat.Conversation{}, fmt.Errorf("conversation %d: %w", id, err)
	}
	return c, nil
}

// CreateChannel creates the channel c (see chat.Directory). The name is
// checked and lower-cased by chat.ChannelName; the owner, if any, must be an
// account (chat.ErrNoAccount) and is stored as it spells its name.
//
// The checks and the inserts share one transaction, which begins IMMEDIATE
// (see pragmas): of concurrent calls, each sees the channels the others
// created, so no more than maxTotal channels ever exist. The owner becomes a
// member without a check of how many channels it is in: the caller decides
// that before.
func (s *Store) CreateChannel(ctx context.Context, c chat.Conversation, maxTotal int) (chat.Conversation, error) {
	created, err := s.createChannel(ctx, c, maxTotal)
	if err != nil {
		return chat.Conversation{}, fmt.Errorf("create channel %q: %w", c.Name, err)
	}
	return created, nil
}

func (s *Store) createChannel(ctx context.Context, c chat.Conversation, maxTotal int) (chat.Conversation, error) {
	name, err := chat.ChannelName(c.Name)
	if err != nil {
		return chat.Conversation{}, err
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return chat.Conversation{}, err
	}
	defer tx.Rollback()
	var (
		exists   bool
		channels int
		owner    sql.NullString
	)
	// Channels are the conversations with a name; those nobody is in any
	// more do not count, so that creating and leaving channels cannot use
	// the limit up for good.
	err = tx.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM conversations WHERE name = ?),
		(SELECT count(*) FROM conversations c WHERE name IS NOT NULL AND EXISTS (SELECT 1 FROM members m WHERE m.conv = c.id)),
		(SELECT name FROM accounts WHERE name_key = ?)`,
		name, nameKey(c.Owner)).Scan(&exists, &channels, &owner)
	switch {
	case err != nil:
		return chat.Conversation{}, err
	case exists:
		return chat.Conversation{}, chat.ErrChannelExists
	case maxTotal > 0 && channels >= maxTotal:
		return chat.Conversation{}, chat.ErrTooManyChannels
	case c.Owner != "" && !owner.Valid:
		return chat.Conversation{}, fmt.Errorf("owner %q: %w", c.Owner, chat.ErrNoAccount)
	}
	now := time.Now().UnixMilli()
	res, err := tx.ExecContext(ctx,
		"INSERT INTO conversations (kind, name, topic, private, owner, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		chat.Channel, name, c.Topic, c.Private, owner.String, now)
	if isUnique(err) { // the lock makes this unlikely; the index decides
		return chat.Conversation{}, chat.ErrChannelExists
	}
	if err != nil {
		return chat.Conversation{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return chat.Conversation{}, err
	}
	if owner.Valid {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO members (conv, account_key, joined_at) VALUES (?, ?, ?)",
			id, nameKey(owner.String), now); err != nil {
			return chat.Conversation{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return chat.Conversation{}, err
	}
	return chat.Conversation{
		ID: id, Kind: chat.Channel, Name: name, Topic: c.Topic, Private: c.Private,
		Owner: owner.String, Created: time.UnixMilli(now),
	}, nil
}

// errSelf refuses a direct conversation of an account with itself.
var errSelf = errors.New("an account has no direct conversation with itself")

// Direct returns the direct conversation of a and b, creating it if needed,
// with both as members (see chat.Directory). Peers are spelled as the
// accounts spell their names, Peers[0] the one whose lower-case name sorts
// first. Direct(a, a) is an error.
func (s *Store) Direct(ctx context.Context, a, b string) (chat.Conversation, error) {
	c, err := s.direct(ctx, a, b)
	if err != nil {
		return chat.Conversation{}, fmt.Errorf("direct conversation of %q and %q: %w", a, b, err)
	}
	return c, nil
}

func (s *Store) direct(ctx context.Context, a, b string) (chat.Conversation, error) {
	names, keys := [2]string{a, b}, [2]string{nameKey(a), nameKey(b)}
	if keys[0] == keys[1] {
		return chat.Conversation{}, errSelf
	}
	if keys[1] < keys[0] {
		names[0], names[1] = names[1], names[0]
		keys[0], keys[1] = keys[1], keys[0]
	}
	dmKey := keys[0] + " " + keys[1]
	// Usually both are in it already: then a read answers, without the
	// write lock. Only these two are ever members.
	var members int
	c, err := scanConv(s.db.QueryRowContext(ctx,
		"SELECT "+convColumns+", (SELECT count(*) FROM members m WHERE m.conv = c.id) FROM conversations c WHERE c.dm_key = ?",
		dmKey), &members)
	switch {
	case err == nil && members == 2:
		return c, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return chat.Conversation{}, err
	}

	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return chat.Conversation{}, err
	}
	defer tx.Rollback()
	var peers [2]sql.NullString
	if err := tx.QueryRowContext(ctx,
		"SELECT (SELECT name FROM accounts WHERE name_key = ?), (SELECT name FROM accounts WHERE name_key = ?)",
		keys[0], keys[1]).Scan(&peers[0], &peers[1]); err != nil {
		return chat.Conversation{}, err
	}
	for i, p := range peers {
		if !p.Valid {
			return chat.Conversation{}, fmt.Errorf("account %q: %w", names[i], chat.ErrNoAccount)
		}
	}
	now := time.Now().UnixMilli()
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO conversations (kind, dm_key, peer_a, peer_b, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (dm_key) DO NOTHING`,
		chat.Direct, dmKey, peers[0].String, peers[1].String, now); err != nil {
		return chat.Conversation{}, err
	}
	c, err = scanConv(tx.QueryRowContext(ctx, "SELECT "+convColumns+" FROM conversations c WHERE c.dm_key = ?", dmKey))
	if err != nil {
		return chat.Conversation{}, err
	}
	if _, err := tx.ExecContext(ctx,
		// A member added back starts with what was said before read.
		`INSERT INTO members (conv, account_key, joined_at, last_read)
		SELECT ?1, k.key, ?4, (SELECT coalesce(max(id), 0) FROM messages WHERE conv = ?1)
		FROM (SELECT ?2 AS key UNION ALL SELECT ?3) k WHERE true
		ON CONFLICT DO NOTHING`,
		c.ID, keys[0], keys[1], now); err != nil {
		return chat.Conversation{}, err
	}
	return c, tx.Commit()
}

// SetChannel stores channel c's Topic and Private; chat.ErrNoConversation
// if there is no channel c.ID.
func (s *Store) SetChannel(ctx context.Context, c chat.Conversation) error {
	res, err := s.writer.ExecContext(ctx,
		"UPDATE conversations SET topic = ?, private = ? WHERE id = ? AND kind = ?",
		c.Topic, c.Private, c.ID, chat.Channel)
	if err == nil {
		err = mustChange(res, chat.ErrNoConversation)
	}
	if err != nil {
		return fmt.Errorf("set channel %d: %w", c.ID, err)
	}
	return nil
}

// mustChange returns none if res changed no row.
func mustChange(res sql.Result, none error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}

// Channels lists the channels viewer may see, by name, with their member
// counts: the public ones and the private ones viewer is in or invited to.
// At most limit; none if limit <= 0.
func (s *Store) Channels(ctx context.Context, viewer string, limit int) ([]chat.ChannelInfo, error) {
	if limit <= 0 {
		return nil, nil
	}
	list, err := query(ctx, s.db, func(row scanner) (chat.ChannelInfo, error) {
		var info chat.ChannelInfo
		var err error
		info.Conv, err = scanConv(row, &info.Members)
		return info, err
	}, `SELECT `+convColumns+`, (SELECT count(*) FROM members m WHERE m.conv = c.id)
		FROM conversations c
		WHERE c.name IS NOT NULL AND (c.private = 0
			OR EXISTS (SELECT 1 FROM members m WHERE m.conv = c.id AND m.account_key = ?1)
			OR EXISTS (SELECT 1 FROM invites i WHERE i.conv = c.id AND i.account_key = ?1))
		ORDER BY c.name LIMIT ?2`,
		nameKey(viewer), limit)
	if err != nil {
		return nil, fmt.Errorf("channels seen by %q: %w", viewer, err)
	}
	return list, nil
}

// maxUnread caps Membership.Unread, so that counting stays cheap however
// far behind an account is.
const maxUnread = 999

// membershipsQuery lists the memberships of account_key ?1 with their
// unread counts: messages of kind ?2 or ?3, at most ?4. Both subqueries
// search the index messages_conv. Kind 1 (channels) sorts before 2.
const membershipsQuery = `SELECT ` + convColumns + `, m.last_read,
		(SELECT count(*) FROM (SELECT 1 FROM messages g
			WHERE g.conv = c.id AND g.id > m.last_read AND g.kind IN (?2, ?3) AND lower(g.author) <> m.account_key
				AND lower(g.author) NOT IN (SELECT other_key FROM ignores WHERE account_key = ?1)
			LIMIT ?4))
	FROM members m JOIN conversations c ON c.id = m.conv
	WHERE m.account_key = ?1
	ORDER BY c.kind, c.name,
		(SELECT g.id FROM messages g WHERE g.conv = c.id ORDER BY g.id DESC LIMIT 1) DESC NULLS LAST,
		c.id DESC`

// Memberships lists account's conversations: channels by name, then direct
// ones by their newest message, newest first (those without a message
// last, the newest created first). Unread counts the texts and actions
// after the read pointer by authors other than account and those it
// ignores, up to maxUnread.
func (s *Store) Memberships(ctx context.Context, account string) ([]chat.Membership, error) {
	list, err := query(ctx, s.db, func(row scanner) (chat.Membership, error) {
		var ms chat.Membership
		var err error
		ms.Conv, err = scanConv(row, &ms.LastRead, &ms.Unread)
		return ms, err
	}, membershipsQuery, nameKey(account), chat.KindText, chat.KindAction, maxUnread)
	if err != nil {
		return nil, fmt.Errorf("memberships of %q: %w", account, err)
	}
	return list, nil
}
