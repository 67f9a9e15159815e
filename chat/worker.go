package chat

import (
	"errors"
	"runtime/debug"
	"sync"
	"time"
)

// worker delivers the committed stream to the members whose ID mod
// RoomConfig.Workers is its index. It never blocks on a member.
type worker struct {
	room *Room
	in   chan []*Message // committed batches (and presence events), in order; closed by the sequencer
	kick chan struct{}   // cap 1: a member made room in its outbox

	mu     sync.Mutex
	closed bool
	joined []*Member // registered since the last pass
	left   []*Member // left since the last pass

	// Owned by the worker goroutine.
	members map[uint64]*slot
	stalled map[uint64]*slot // members with a non-empty pending overflow
	scratch []*Message       // what one member sees of a batch (see visible)
}

// slot is a member's delivery state, owned by its worker.
type slot struct {
	m       *Member
	pending []*Message // in order, behind everything already in the outbox
	since   time.Time  // when pending became non-empty
}

func (w *worker) run() {
	defer w.room.running.Done()
	tick := time.NewTicker(w.room.tick())
	defer tick.Stop()
	for !w.loop(tick.C) {
	}
}

// loop returns true once the sequencer has closed w.in, false after it
// recovered from a panic (the caller runs it again).
func (w *worker) loop(tick <-chan time.Time) (stopped bool) {
	defer func() {
		if v := recover(); v != nil {
			w.room.log.Error("chat: worker panic", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	for {
		select {
		case batch, ok := <-w.in:
			if !ok {
				w.shutdown()
				return true
			}
			w.sync()
			now := w.room.cfg.Now()
			for _, s := range w.members {
				if mine := w.visible(s.m, batch); len(mine) > 0 {
					w.deliver(s, mine, now)
				}
			}
		case <-tick:
			w.retry()
		case <-w.kick:
			w.retry()
		}
	}
}

// sync takes in the members that joined or left since the last pass.
func (w *worker) sync() {
	w.mu.Lock()
	joined, left := w.joined, w.left
	w.joined, w.left = nil, nil
	w.mu.Unlock()
	for _, m := range joined {
		w.members[m.id] = &slot{m: m}
	}
	for _, m := range left {
		delete(w.members, m.id)
		delete(w.stalled, m.id)
	}
}

// visible is the part of batch that m sees (account.sees): batch itself
// when m sees all of it, else the worker's scratch slice, valid until the
// next call (deliver copies what it keeps).
func (w *worker) visible(m *Member, batch []*Message) []*Message {
	a := m.acct
	i := 0
	for i < len(batch) && a.sees(batch[i]) {
		i++
	}
	if i == len(batch) {
		return batch
	}
	mine := append(w.scratch[:0], batch[:i]...)
	for j := i + 1; j < len(batch); j++ {
		if a.sees(batch[j]) {
			mine = append(mine, batch[j])
		}
	}
	w.scratch = mine[:0]
	return mine
}

// retry flushes the stalled members' overflow and evicts those stalled for
// too long.
func (w *worker) retry() {
	w.sync()
	now := w.room.cfg.Now()
	for _, s := range w.stalled {
		w.deliver(s, nil, now)
	}
}

// deliver gives batch to one member. A panic here costs only that member,
// which is evicted; the worker goes on with the others.
func (w *worker) deliver(s *slot, batch []*Message, now time.Time) {
	defer func() {
		if v := recover(); v != nil {
			w.room.log.Error("chat: delivery panic", "name", s.m.name, "id", s.m.id,
				"panic", v, "stack", string(debug.Stack()))
			w.evict(s, "delivery failed")
		}
	}()
	if s.m.ended() { // left (eviction and Close never leave it here)
		delete(w.members, s.m.id)
		delete(w.stalled, s.m.id)
		return
	}
	sent := 0
	if w.flush(s) {
		sent = s.m.offer(batch)
		if sent > 0 {
			w.room.cfg.Observe.delivered(sent, batch[0], w.room.cfg.Now)
		}
		if sent == len(batch) {
			return
		}
	}
	rest := batch[sent:]
	cfg := &w.room.cfg
	if len(s.pending)+len(rest) > cfg.MaxPending {
		w.evict(s, "too far behind")
		return
	}
	if len(s.pending) == 0 {
		s.since = now
		w.stalled[s.m.id] = s
	}
	s.pending = append(s.pending, rest...)
	if now.Sub(s.since) > cfg.EvictAfter {
		w.evict(s, "outbox full too long")
	}
}

// flush moves what fits of s's overflow into its outbox and reports whether
// the overflow is now empty.
func (w *worker) flush(s *slot) bool {
	if len(s.pending) == 0 {
		return true
	}
	n := s.m.offer(s.pending)
	if n > 0 {
		w.room.cfg.Observe.delivered(n, s.pending[0], w.room.cfg.Now)
	}
	if n == len(s.pending) {
		s.pending = nil
		delete(w.stalled, s.m.id)
		return true
	}
	if n > 0 {
		k := copy(s.pending, s.pending[n:])
		clear(s.pending[k:])
		s.pending = s.pending[:k]
	}
	return false
}

// evict drops s: nothing more reaches it, its Receive reports the eviction
// once the outbox is drained, and the others see it leave.
func (w *worker) evict(s *slot, reason string) {
	delete(w.members, s.m.id)
	delete(w.stalled, s.m.id)
	s.pending = nil
	s.m.end(&EvictedError{Reason: reason}) // no effect if it left first
	if errors.As(s.m.Err(), new(*EvictedError)) {
		w.room.log.Info("chat: member evicted", "name", s.m.name, "id", s.m.id, "reason", reason)
		w.room.cfg.Observe.evicted(reason)
	}
	w.room.depart(s.m)
}

// shutdown runs once w.in is closed: it refuses new members, gives each
// member what still fits, closes every outbox and then ends the member with
// ErrRoomClosed (after the close, so that Receive returns what was queued
// first).
func (w *worker) shutdown() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.sync()
	for id, s := range w.members {
		delete(w.members, id) // first, so a panic and a rerun cannot close twice
		w.flush(s)
		close(s.m.outbox)
		s.m.end(ErrRoomClosed) // no effect if it left first
	}
	clear(w.stalled)
}
