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
	if len(msgs) == 1 {
		// One statement is its own transaction (and its own fsync): no
		// BEGIN and COMMIT to run, which cost more than the insert. The
		// usual case when the room is not busy.
		id, err := insertOne(ctx, s.appendMessage, msgs[0])
		ids[0] = id
		return ids, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
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
	res, err := stmt.ExecContext(ctx, m.Time.UnixMilli(), m.Author, int64(m.Kind), m.Body)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// Before returns up to limit messages with ID < before (before <= 0: the
// newest), oldest first.
func (s *Store) Before(ctx context.Context, before int64, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	upper := before
	if upper <= 0 {
		upper = math.MaxInt64
	}
	rows, err := s.db.QueryContext(ctx,
		"SELECT id, at, author, kind, body FROM messages WHERE id < ? ORDER BY id DESC LIMIT ?",
		upper, limit)
	if err != nil {
		return nil, fmt.Errorf("history before %d: %w", before, err)
	}
	defer rows.Close()
	// Grow as rows arrive: limit comes from the caller and may be large.
	var msgs []chat.Message
	for rows.Next() {
		var (
			m        chat.Message
			at, kind int64
		)
		if err := rows.Scan(&m.ID, &at, &m.Author, &kind, &m.Body); err != nil {
			return nil, fmt.Errorf("history before %d: %w", before, err)
		}
		if kind < 0 || kind > math.MaxUint8 {
			return nil, fmt.Errorf("history before %d: message %d has kind %d out of range", before, m.ID, kind)
		}
		m.Time = time.UnixMilli(at)
		m.Kind = chat.Kind(kind)
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history before %d: %w", before, err)
	}
	slices.Reverse(msgs)
	return msgs, nil
}
