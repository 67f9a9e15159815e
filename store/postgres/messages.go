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
// msgs[i].ID only once the commit has succeeded; on error every ID is 0 and
// nothing was stored. A message of a conversation that does not exist is an
// error (chat.ErrNoConversation) and fails the batch.
//
// The batch is sent at once, one round trip: first the lock on the rows of
// the batch's conversations, then one INSERT per message, all in the
// implicit transaction that pgx gives a batch. Each INSERT draws its ID
// from the sequence after the lock is held, so IDs increase in the batch's
// order and, within a conversation, in commit order (see the package
// comment).
func (s *Store) Append(ctx context.Context, msgs []chat.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ids, err := s.insert(ctx, msgs)
	for i := range msgs {
		msgs[i].ID = ids[i] // all zero on error
	}
	if isForeignKey(err) {
		err = chat.ErrNoConversation
	}
	if err != nil {
		return fmt.Errorf("append %d messages: %w", len(msgs), err)
	}
	return nil
}

// insert returns the new IDs, or zeros and an error.
func (s *Store) insert(ctx context.Context, msgs []chat.Message) ([]int64, error) {
	ids := make([]int64, len(msgs))
	convs := make([]int64, 0, 1)
	for i, m := range msgs {
		// Conversation 0 does not exist: such a message would be stored
		// where nobody ever reads it.
		if m.Conv <= 0 {
			return ids, fmt.Errorf("message %d of the batch has no conversation", i)
		}
		if !slices.Contains(convs, m.Conv) {
			convs = append(convs, m.Conv)
		}
	}
	b := &pgx.Batch{}
	// In ID order, so that two batches of several conversations cannot
	// deadlock. FOR NO KEY UPDATE, not FOR UPDATE: appends to one
	// conversation queue behind each other, but inserts that merely
	// reference it (members, invites, these messages' own foreign key)
	// do not wait for them.
	b.Queue("SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE", convs)
	for i, m := range msgs {
		b.Queue(`INSERT INTO messages (conv, at, author, kind, body, recipient, since)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			m.Conv, ms(m.Time), m.Author, m.Kind, m.Body, m.To, nullTime(m.Since),
		).QueryRow(func(row pgx.Row) error { return row.Scan(&ids[i]) })
	}
	// Close reads every result; the last arrives after the commit.
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		clear(ids) // some may have been read before the failure
		return ids, err
	}
	return ids, nil
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
