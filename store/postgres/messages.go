package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"messaging/chat"
)

// Append stores msgs in one transaction, the room's group commit. It sets
// msgs[i].ID and msgs[i].Prev only once the commit has succeeded; on error
// both are 0 and nothing was stored. A message of a conversation that does
// not exist is an error (chat.ErrNoConversation) and fails the batch.
//
// The batch is sent at once, one round trip: first the lock on the rows of
// the batch's conversations, which reads their newest message, then one
// INSERT per message, then each conversation's newest message, all in the
// implicit transaction that pgx gives a batch. Each INSERT draws its ID
// from the sequence after the lock is held, so IDs increase in the batch's
// order and, within a conversation, in commit order (see the package
// comment); and the newest message read under the lock is the one before
// the batch's first, whichever node stored it.
func (s *Store) Append(ctx context.Context, msgs []chat.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ids, newest, err := s.insert(ctx, msgs)
	for i := range msgs {
		msgs[i].ID, msgs[i].Prev = ids[i], 0 // all zero on error
		if err == nil {
			msgs[i].Prev = newest[msgs[i].Conv]
			newest[msgs[i].Conv] = ids[i]
		}
	}
	if isForeignKey(err) {
		err = chat.ErrNoConversation
	}
	if err != nil {
		return fmt.Errorf("append %d messages: %w", len(msgs), err)
	}
	return nil
}

// insert returns the new IDs and, by conversation, the newest message
// before them (0: none); or zeros and an error.
func (s *Store) insert(ctx context.Context, msgs []chat.Message) ([]int64, map[int64]int64, error) {
	ids := make([]int64, len(msgs))
	convs := make([]int64, 0, 1)
	for i, m := range msgs {
		// Conversation 0 does not exist: such a message would be stored
		// where nobody ever reads it.
		if m.Conv <= 0 {
			return ids, nil, fmt.Errorf("message %d of the batch has no conversation", i)
		}
		if !slices.Contains(convs, m.Conv) {
			convs = append(convs, m.Conv)
		}
	}
	newest := make(map[int64]int64, len(convs))
	b := &pgx.Batch{}
	// In ID order, so that two batches of several conversations cannot
	// deadlock. FOR NO KEY UPDATE, not FOR UPDATE: appends to one
	// conversation queue behind each other, but inserts that merely
	// reference it (members, invites, these messages' own foreign key)
	// do not wait for them.
	b.Queue("SELECT id, last_msg FROM conversations WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE", convs).
		Query(func(rows pgx.Rows) error {
			var conv, last int64
			_, err := pgx.ForEachRow(rows, []any{&conv, &last}, func() error {
				newest[conv] = last
				return nil
			})
			return err
		})
	for i, m := range msgs {
		b.Queue(`INSERT INTO messages (conv, at, author, kind, body, recipient, since)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			m.Conv, ms(m.Time), m.Author, m.Kind, m.Body, m.To, nullTime(m.Since),
		).QueryRow(func(row pgx.Row) error { return row.Scan(&ids[i]) })
	}
	// The rows are locked: nobody else's message lands between.
	b.Queue("UPDATE conversations c SET last_msg = (SELECT max(id) FROM messages WHERE conv = c.id) WHERE c.id = ANY($1)", convs)
	// Close reads every result; the last arrives after the commit.
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		clear(ids) // some may have been read before the failure
		return ids, nil, err
	}
	return ids, newest, nil
}

// Heads lists every conversation's newest message ID (conversations with
// none are left out): where each conversation's history ends now. A node
// that may have missed another's messages compares it with what it has
// delivered.
func (s *Store) Heads(ctx context.Context) (map[int64]int64, error) {
	heads := make(map[int64]int64)
	var conv, last int64
	rows, err := s.pool.Query(ctx, "SELECT id, last_msg FROM conversations WHERE last_msg > 0")
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&conv, &last}, func() error {
			heads[conv] = last
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("conversation heads: %w", err)
	}
	return heads, nil
}

// Before returns up to limit messages of conversation conv with ID < before
// (before <= 0: the newest), oldest first.
func (s *Store) Before(ctx context.Context, conv, before int64, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	upper := before
	if upper <= 0 {
		upper = math.MaxInt64
	}
	msgs, err := query(ctx, s, scanMessage, beforeQuery, conv, upper, limit)
	if err != nil {
		return nil, fmt.Errorf("history of conversation %d before %d: %w", conv, before, err)
	}
	slices.Reverse(msgs)
	return msgs, nil
}

// beforeQuery selects a page of one conversation (conv, before, limit) on
// the index messages_conv.
const beforeQuery = "SELECT id, conv, at, author, kind, body, recipient, removed, since FROM messages WHERE conv = $1 AND id < $2 ORDER BY id DESC LIMIT $3"

// scanMessage reads the columns Before selects. A kind out of chat.Kind's
// range is an error. A purged message comes back
// Removed, its body empty (Purge emptied it).
func scanMessage(row pgx.Row) (chat.Message, error) {
	var (
		m     chat.Message
		since *time.Time
	)
	if err := row.Scan(&m.ID, &m.Conv, &m.Time, &m.Author, &m.Kind, &m.Body, &m.To, &m.Removed, &since); err != nil {
		return chat.Message{}, err
	}
	m.Since = fromNull(since)
	return m, nil
}
