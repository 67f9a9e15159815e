package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"messaging/chat"
)

// Append stores msgs in one transaction, the room's group commit: a single
// fsync for the whole batch. It sets msgs[i].ID only once the commit has
// succeeded; on error every ID is 0 and nothing was stored.
func (s *Store) Append(ctx context.Context, msgs []chat.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ids, err := s.insert(ctx, msgs)
	for i := range msgs {
		msgs[i].ID = ids[i] // all zero on error
	}
	if err != nil {
		return fmt.Errorf("append %d messages: %w", len(msgs), err)
	}
	return nil
}

// insert returns the new IDs, or zeros and an error.
func (s *Store) insert(ctx context.Context, msgs []chat.Message) ([]int64, error) {
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		// Conversation 0 does not exist: such a message would be stored
		// where nobody ever reads it.
		if m.Conv <= 0 {
			return ids, fmt.Errorf("message %d of the batch has no conversation", i)
		}
	}
	if len(msgs) == 1 {
		// One statement is its own transaction (and its own fsync): no
		// BEGIN and COMMIT to run, which cost more than the insert. The
		// usual case when the room is not busy.
		id, err := insertOne(ctx, s.appendMessage, msgs[0])
		ids[0] = id
		return ids, err
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return ids, err
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, s.appendMessage) // prepared once per connection
	defer stmt.Close()
	for i, m := range msgs {
		if ids[i], err = insertOne(ctx, stmt, m); err != nil {
			clear(ids)
			return ids, err
		}
	}
	if err := tx.Commit(); err != nil {
		clear(ids)
		return ids, err
	}
	return ids, nil
}

// insertOne runs the prepared insert for m and returns its ID (0 on error).
func insertOne(ctx context.Context, stmt *sql.Stmt, m chat.Message) (int64, error) {
	res, err := stmt.ExecContext(ctx, m.Conv, m.Time.UnixMilli(), m.Author, int64(m.Kind), m.Body, m.To, nullTime(m.Since))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
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
	// Rows are collected as they arrive: limit comes from the caller and
	// may be large.
	msgs, err := query(ctx, s.db, scanMessage, beforeQuery, conv, upper, limit)
	if err != nil {
		return nil, fmt.Errorf("history of conversation %d before %d: %w", conv, before, err)
	}
	slices.Reverse(msgs)
	return msgs, nil
}

// beforeQuery selects a page of one conversation (conv, before, limit) on
// the index messages_conv.
const beforeQuery = "SELECT id, conv, at, author, kind, body, recipient, removed, since FROM messages WHERE conv = ? AND id < ? ORDER BY id DESC LIMIT ?"

// scanMessage reads the columns Before selects. A kind out of chat.Kind's
// range is an error. A purged message comes back Removed, its body empty
// (Purge emptied it).
func scanMessage(row scanner) (chat.Message, error) {
	var (
		m     chat.Message
		at    int64
		since sql.NullInt64
	)
	if err := row.Scan(&m.ID, &m.Conv, &at, &m.Author, &m.Kind, &m.Body, &m.To, &m.Removed, &since); err != nil {
		return chat.Message{}, err
	}
	m.Time = time.UnixMilli(at)
	m.Since = fromNull(since)
	return m, nil
}
