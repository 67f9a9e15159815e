package chat

import "context"

// Post is Send and Wait in one call in #lobby, for tests: while the room's
// queue is full it waits instead of returning ErrBusy.
func (m *Member) Post(ctx context.Context, kind Kind, body string) error {
	return m.PostTo(ctx, m.room.lobby.ID, kind, body)
}

// PostTo is Post in conversation conv.
func (m *Member) PostTo(ctx context.Context, conv int64, kind Kind, body string) error {
	q, err := m.prepare(conv, kind, body)
	if err != nil {
		return err
	}
	return m.room.submit(ctx, m, q)
}

// submit hands q to the sequencer and waits for its commit.
func (r *Room) submit(ctx context.Context, m *Member, q *request) error {
	select {
	case <-r.quit:
		return ErrRoomClosed
	default:
	}
	q.seq = r.seq.Add(1)
	select {
	case r.posts <- q:
	case <-r.quit:
		return ErrRoomClosed
	case <-m.Done(): // left or evicted
		return ErrLeft
	case <-ctx.Done():
		return ctx.Err()
	}
	return r.wait(ctx, q)
}
