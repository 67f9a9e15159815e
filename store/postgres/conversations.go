package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"messaging/chat"
)

// convColumns are the columns of conversations c that scanConv reads, in
// its order.
const convColumns = "c.id, c.kind, coalesce(c.name, ''), c.peer_a, c.peer_b, c.topic, c.private, c.owner, c.created_at"

// scanConv reads convColumns, then the columns after them into more.
func scanConv(row pgx.Row, more ...any) (chat.Conversation, error) {
	var c chat.Conversation
	dest := append([]any{&c.ID, &c.Kind, &c.Name, &c.Peers[0], &c.Peers[1], &c.Topic, &c.Private, &c.Owner, &c.Created}, more...)
	if err := row.Scan(dest...); err != nil {
		return chat.Conversation{}, err
	}
	return c, nil
}

// oneConv finds the conversation where (a condition on c) holds;
// chat.ErrNoConversation if none.
func (s *Store) oneConv(ctx context.Context, where string, args ...any) (chat.Conversation, error) {
	c, err := scanConv(s.pool.QueryRow(ctx, "SELECT "+convColumns+" FROM conversations c WHERE "+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Conversation{}, chat.ErrNoConversation
	}
	return c, err
}

// Channel finds a channel by name, in any case; chat.ErrNoConversation if
// none.
func (s *Store) Channel(ctx context.Context, name string) (chat.Conversation, error) {
	c, err := s.oneConv(ctx, "c.name = $1", strings.ToLower(name))
	if err != nil {
		return chat.Conversation{}, fmt.Errorf("channel %q: %w", name, err)
	}
	return c, nil
}

// Conversation finds a conversation by ID; chat.ErrNoConversation if none.
func (s *Store) Conversation(ctx context.Context, id int64) (chat.Conversation, error) {
	c, err := s.oneConv(ctx, "c.id = $1", id)
	if err != nil {
		return chat.Conversation{}, fmt.Errorf("conversation %d: %w", id, err)
	}
	return c, nil
}

// CreateChannel creates the channel c (see chat.Directory). The name is
// checked and lower-cased by chat.ChannelName; the owner, if any, must be an
// account (chat.ErrNoAccount) and is stored as it spells its name.
//
// The checks and the inserts run under one advisory lock that every
// CreateChannel takes: each sees the channels the others created, so no
// more than maxTotal channels ever exist. The owner becomes a member
// without a check of how many channels it is in: the caller decides that
// before.
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
	created := chat.Conversation{Kind: chat.Channel, Name: name, Topic: c.Topic, Private: c.Private, Created: ms(time.Now())}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, 0)", lockChannels); err != nil {
			return err
		}
		var (
			exists   bool
			channels int
			owner    *string
		)
		// Channels are the conversations with a name; those nobody is in
		// any more do not count, so that creating and leaving channels
		// cannot use the limit up for good.
		err := tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM conversations WHERE name = $1),
			(SELECT count(*) FROM conversations c WHERE name IS NOT NULL AND EXISTS (SELECT 1 FROM members m WHERE m.conv = c.id)),
			(SELECT name FROM accounts WHERE name_key = $2)`,
			name, nameKey(c.Owner)).Scan(&exists, &channels, &owner)
		switch {
		case err != nil:
			return err
		case exists:
			return chat.ErrChannelExists
		case maxTotal > 0 && channels >= maxTotal:
			return chat.ErrTooManyChannels
		case c.Owner != "" && owner == nil:
			return fmt.Errorf("owner %q: %w", c.Owner, chat.ErrNoAccount)
		}
		if owner != nil {
			created.Owner = *owner
		}
		err = tx.QueryRow(ctx,
			"INSERT INTO conversations (kind, name, topic, private, owner, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
			chat.Channel, name, c.Topic, c.Private, created.Owner, created.Created).Scan(&created.ID)
		if isUnique(err) { // the lock makes this unlikely; the index decides
			return chat.ErrChannelExists
		}
		if err != nil || owner == nil {
			return err
		}
		_, err = tx.Exec(ctx,
			"INSERT INTO members (conv, account_key, joined_at) VALUES ($1, $2, $3)",
			created.ID, nameKey(*owner), created.Created)
		if isForeignKey(err) { // the owner's deletion committed meanwhile
			return fmt.Errorf("owner %q: %w", c.Owner, chat.ErrNoAccount)
		}
		return err
	})
	if err != nil {
		return chat.Conversation{}, err
	}
	return created, nil
}

// errSelf refuses a direct conversation of an account with itself.
var errSelf = errors.New("an account has no direct conversation with itself")

// Direct returns the direct conversation of a and b, creating it if needed,
// with both as members (see chat.Directory). Peers are spelled as the
// accounts spell their names, Peers[0] the one whose lower-case name sorts
// first. Direct(a, a) is an error.
//
// Two calls for one pair at once both insert the conversation ON CONFLICT
// DO NOTHING: the second waits for the first's commit and then reads its
// row. An account deleted meanwhile fails the members' foreign key:
// chat.ErrNoAccount.
func (s *Store) Direct(ctx context.Context, a, b string) (chat.Conversation, error) {
	c, err := s.direct(ctx, a, b)
	if isForeignKey(err) {
		err = chat.ErrNoAccount
	}
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
	// Usually both are in it already: then a read answers, without a
	// transaction. Only these two are ever members.
	var members int
	c, err := scanConv(s.pool.QueryRow(ctx,
		"SELECT "+convColumns+", (SELECT count(*) FROM members m WHERE m.conv = c.id) FROM conversations c WHERE c.dm_key = $1",
		dmKey), &members)
	switch {
	case err == nil && members == 2:
		return c, nil
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return chat.Conversation{}, err
	}

	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var peers [2]*string
		if err := tx.QueryRow(ctx,
			"SELECT (SELECT name FROM accounts WHERE name_key = $1), (SELECT name FROM accounts WHERE name_key = $2)",
			keys[0], keys[1]).Scan(&peers[0], &peers[1]); err != nil {
			return err
		}
		for i, p := range peers {
			if p == nil {
				return fmt.Errorf("account %q: %w", names[i], chat.ErrNoAccount)
			}
		}
		now := ms(time.Now())
		if _, err := tx.Exec(ctx,
			`INSERT INTO conversations (kind, dm_key, peer_a, peer_b, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (dm_key) DO NOTHING`,
			chat.Direct, dmKey, *peers[0], *peers[1], now); err != nil {
			return err
		}
		var err error
		c, err = scanConv(tx.QueryRow(ctx, "SELECT "+convColumns+" FROM conversations c WHERE c.dm_key = $1", dmKey))
		if err != nil {
			return err
		}
		// A member added back starts with what was said before read.
		_, err = tx.Exec(ctx,
			`INSERT INTO members (conv, account_key, joined_at, last_read)
			SELECT $1, k, $4, (SELECT coalesce(max(id), 0) FROM messages WHERE conv = $1)
			FROM unnest(ARRAY[$2, $3]::text[]) AS k
			ON CONFLICT DO NOTHING`,
			c.ID, keys[0], keys[1], now)
		return err
	})
	if err != nil {
		return chat.Conversation{}, err
	}
	return c, nil
}

// SetChannel stores channel c's Topic and Private; chat.ErrNoConversation
// if there is no channel c.ID.
func (s *Store) SetChannel(ctx context.Context, c chat.Conversation) error {
	tag, err := s.pool.Exec(ctx,
		"UPDATE conversations SET topic = $1, private = $2 WHERE id = $3 AND kind = $4",
		c.Topic, c.Private, c.ID, chat.Channel)
	if err == nil {
		err = mustChange(tag, chat.ErrNoConversation)
	}
	if err != nil {
		return fmt.Errorf("set channel %d: %w", c.ID, err)
	}
	return nil
}

// Channels lists the channels viewer may see, by name, with their member
// counts: the public ones and the private ones viewer is in or invited to.
// At most limit; none if limit <= 0. Names sort as bytes (COLLATE "C"), as
// in SQLite, whatever the database's collation.
func (s *Store) Channels(ctx context.Context, viewer string, limit int) ([]chat.ChannelInfo, error) {
	if limit <= 0 {
		return nil, nil
	}
	list, err := query(ctx, s, func(row pgx.Row) (chat.ChannelInfo, error) {
		var info chat.ChannelInfo
		var err error
		info.Conv, err = scanConv(row, &info.Members)
		return info, err
	}, `SELECT `+convColumns+`, (SELECT count(*) FROM members m WHERE m.conv = c.id)
		FROM conversations c
		WHERE c.name IS NOT NULL AND (NOT c.private
			OR EXISTS (SELECT 1 FROM members m WHERE m.conv = c.id AND m.account_key = $1)
			OR EXISTS (SELECT 1 FROM invites i WHERE i.conv = c.id AND i.account_key = $1))
		ORDER BY c.name COLLATE "C" LIMIT $2`,
		nameKey(viewer), limit)
	if err != nil {
		return nil, fmt.Errorf("channels seen by %q: %w", viewer, err)
	}
	return list, nil
}

// maxUnread caps Membership.Unread, so that counting stays cheap however
// far behind an account is.
const maxUnread = 999

// membershipsQuery lists the memberships of account_key $1 with their
// unread counts: messages of kind $2 or $3, at most $4. Both subqueries
// search the index messages_conv. Kind 1 (channels) sorts before 2.
const membershipsQuery = `SELECT ` + convColumns + `, m.last_read,
		(SELECT count(*) FROM (SELECT 1 FROM messages g
			WHERE g.conv = c.id AND g.id > m.last_read AND g.kind IN ($2, $3) AND lower(g.author) <> m.account_key
				AND lower(g.author) NOT IN (SELECT other_key FROM ignores WHERE account_key = $1)
			LIMIT $4) AS unread)
	FROM members m JOIN conversations c ON c.id = m.conv
	WHERE m.account_key = $1
	ORDER BY c.kind, c.name COLLATE "C",
		(SELECT max(g.id) FROM messages g WHERE g.conv = c.id) DESC NULLS LAST,
		c.id DESC`

// Memberships lists account's conversations: channels by name, then direct
// ones by their newest message, newest first (those without a message
// last, the newest created first). Unread counts the texts and actions
// after the read pointer by authors other than account and those it
// ignores, up to maxUnread.
func (s *Store) Memberships(ctx context.Context, account string) ([]chat.Membership, error) {
	list, err := query(ctx, s, func(row pgx.Row) (chat.Membership, error) {
		var m chat.Membership
		var err error
		m.Conv, err = scanConv(row, &m.LastRead, &m.Unread)
		return m, err
	}, membershipsQuery, nameKey(account), chat.KindText, chat.KindAction, maxUnread)
	if err != nil {
		return nil, fmt.Errorf("memberships of %q: %w", account, err)
	}
	return list, nil
}
