package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

var (
	// ErrEmpty: the posted text was empty once sanitised and trimmed.
	ErrEmpty = errors.New("message is empty")
	// ErrLeft: the member has left the room or was evicted.
	ErrLeft = errors.New("member has left the room")
	// ErrBusy: the room's queue of posts is full; try again shortly.
	ErrBusy = errors.New("the room is busy")
	// ErrNotSaved: the store failed, so the message was neither stored nor
	// shown to anyone. Errors wrapping it also wrap the store's error.
	ErrNotSaved = errors.New("message not saved")
)

// TooLongError is returned by Post for text longer than RoomConfig.MaxMessage
// runes. Its Error is written for the user who typed it.
type TooLongError struct{ Runes, Max int }

func (e *TooLongError) Error() string {
	return fmt.Sprintf("message is %d characters long; the limit is %d", e.Runes, e.Max)
}

// EvictedError is returned by Receive once an evicted member's outbox is
// drained, and by Err from the eviction on. Its Error is written for the
// user; Reason is for logs and tests.
type EvictedError struct {
	Reason string // why the worker evicted it: "too far behind", "outbox full too long", "delivery failed"
}

func (*EvictedError) Error() string {
	return "you were disconnected because your connection could not keep up"
}

// RemovedError ends a member whose account was removed from the room
// (Room.Disconnect): deleted by its owner, or (later) kicked or banned. It
// is returned by Receive once the member's outbox is drained, and by Err
// from the removal on. Its Error is the reason, written for the user whose
// sessions it ends.
type RemovedError struct{ Reason string }

func (e *RemovedError) Error() string { return e.Reason }

// Member is one session in the room: visible (Room.Join) or hidden
// (Room.Watch). Its methods are safe for concurrent use, but Receive is
// meant for a single consumer.
//
// A member ends once, in one of four ways, and its life's cause says
// which: ErrLeft (Leave), a *RemovedError (Room.Disconnect), an
// *EvictedError (its worker evicted it) or ErrRoomClosed (the room closed).
// The first way wins; the others then change nothing.
type Member struct {
	room   *Room
	w      *worker
	id     uint64
	name   string
	hidden bool // from Room.Watch: never online; set before the member is shared
	// outbox is sent to and closed only by w. It holds pointers into the
	// committed batches, which every worker shares read-only: 8 bytes a
	// slot instead of a Message's 130, allocated whole at Join.
	outbox chan *Message
	// wake, if set (OnDelivery), is called by w after it has put messages
	// into the outbox.
	wake atomic.Pointer[func()]

	life context.Context         // done once the member has ended; its cause says why
	end  context.CancelCauseFunc // ends life; only the first call sets the cause

	present     bool         // guarded by room.mu: counted in its account (acct.members) until depart
	acct        *account     // set by Join under room.mu; the account's routing state
	memberships []Membership // as loaded by Join: read-only
}

func newMember(r *Room, w *worker, id uint64, name string) *Member {
	// Not derived from Join's ctx: that one bounds the call, not the
	// membership (callers end it with Leave).
	life, end := context.WithCancelCause(context.Background())
	return &Member{
		room:   r,
		w:      w,
		id:     id,
		name:   name,
		outbox: make(chan *Message, r.cfg.OutboxSize),
		life:   life,
		end:    end,
	}
}

// Name returns the name the member joined with.
func (m *Member) Name() string { return m.name }

// ID returns the member's session ID, unique in the room.
func (m *Member) ID() uint64 { return m.id }

// Hidden reports whether the member came from Room.Watch: it is never
// online.
func (m *Member) Hidden() bool { return m.hidden }

// ended reports whether the member has ended; its worker asks before every
// delivery. Err of a cancel context is an atomic load, not a mutex: an
// atomic.Bool beside outbox made no measurable difference to
// BenchmarkDeliver.
func (m *Member) ended() bool { return m.life.Err() != nil }

// gone returns nil while the member is in the room, then ErrLeft (it left,
// was removed or was evicted) or ErrRoomClosed.
func (m *Member) gone() error {
	switch err := m.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, ErrRoomClosed):
		return ErrRoomClosed
	default:
		return ErrLeft
	}
}

// Done is closed once the member has ended: it left, was removed or
// evicted, or the room closed. Err then says which.
func (m *Member) Done() <-chan struct{} { return m.life.Done() }

// AfterEnd arranges for f to run in its own goroutine once the member has
// ended (Err then says why), as context.AfterFunc does; stop undoes it and
// reports whether it did so before f started.
func (m *Member) AfterEnd(f func()) (stop func() bool) { return context.AfterFunc(m.life, f) }

// Err returns nil while the member is in the room; once Done is closed it
// returns ErrLeft after Leave, a *RemovedError after Room.Disconnect, an
// *EvictedError after eviction, or ErrRoomClosed after Room.Close,
// whichever came first.
func (m *Member) Err() error { return context.Cause(m.life) }

// Send sanitises body (see Sanitize), trims surrounding space, and hands it
// to the room as kind, which MUST be KindText or KindAction, in
// conversation conv, without blocking: ErrBusy when the room's queue is
// full. Text that is empty after trimming gives ErrEmpty, text longer than
// MaxMessage runes a *TooLongError, a post over the person's flood limit a
// *SlowDownError, a conversation the member's account is not in
// ErrNoConversation, a post by a muted account a *MutedError (whose text
// says until when, and why); none of them is posted. After Leave or eviction it
// returns ErrLeft, after Room.Close ErrRoomClosed. Sending brings an away
// member back. Lines one member Sends are stored in the order sent. Send is
// safe to call from a Bubble Tea Update.
//
// The Receipt's Wait returns once the message is stored (nil), or the
// store failed (an error wrapping ErrNotSaved; nobody saw the message), or
// ctx ended (the message may still be stored and shown). Wait blocks for a
// commit: it MUST NOT be called from a Bubble Tea Update.
func (m *Member) Send(conv int64, kind Kind, body string) (*Receipt, error) {
	q, err := m.prepare(conv, kind, body)
	if err != nil {
		return nil, err
	}
	if err := m.room.handIn(m, q); err != nil {
		return nil, err
	}
	return &Receipt{room: m.room, q: q}, nil
}

// Receipt is a message handed to the room by Send.
type Receipt struct {
	room *Room
	q    *request
}

// Wait blocks until the message is stored (nil) or refused (ErrNotSaved,
// ErrRoomClosed), or ctx ends (the message may still be stored).
func (rc *Receipt) Wait(ctx context.Context) error { return rc.room.wait(ctx, rc.q) }

// prepare checks and cleans a post and applies the flood limit.
func (m *Member) prepare(conv int64, kind Kind, body string) (*request, error) {
	if kind != KindText && kind != KindAction {
		return nil, fmt.Errorf("post: kind %d is not text or action", kind)
	}
	if err := m.gone(); err != nil {
		return nil, err
	}
	if !m.acct.in(conv) {
		return nil, ErrNoConversation
	}
	if err := m.room.muted(m.name); err != nil {
		return nil, err
	}
	limit := m.room.cfg.MaxMessage
	text := clean(body, limit)
	if text == "" {
		return nil, ErrEmpty
	}
	if n := utf8.RuneCountInString(text); n > limit {
		return nil, &TooLongError{Runes: n, Max: limit}
	}
	if err := m.room.allow(m.name); err != nil {
		return nil, err
	}
	m.back(false) // the post is charged already; its back notice goes first
	return &request{
		msg:  Message{Conv: conv, Author: m.name, Kind: kind, Body: text},
		done: make(chan error, 1),
	}, nil
}

// clean sanitises and trims body. The result is exact up to limit runes;
// longer text is sanitised whole, so that its length is reported right.
func clean(body string, limit int) string {
	text := Sanitize(body, limit+1)
	if utf8.RuneCountInString(text) > limit {
		// Cut (or one over): only the whole text tells whether trimming
		// brings it under the limit, and how long it really is.
		text = Sanitize(body, 0)
	}
	return strings.TrimSpace(text)
}

// Receive blocks until the member's outbox holds at least one message, then
// returns it with whatever else is queued right now (at most OutboxSize):
// one batch per wake-up, in ID order. It MUST NOT be called from a Bubble
// Tea Update; run it in the session's own goroutine (see tui.Deliver).
//
// After eviction it returns the messages still queued and then an
// *EvictedError; after Room.Disconnect, the queued messages and then a
// *RemovedError; after Room.Close, the queued messages and then
// ErrRoomClosed; after Leave, whatever was queued and then ErrLeft; when
// ctx ends, ctx.Err().
func (m *Member) Receive(ctx context.Context) ([]Message, error) {
	select {
	case msg, ok := <-m.outbox:
		return m.batch(msg, ok)
	case <-m.life.Done():
	case <-ctx.Done():
	}
	// Ended or cancelled: what was queued still comes first (select picks
	// at random among ready cases). Nothing more comes once the member has
	// ended: its worker ends it only after its last send (eviction, Close),
	// or drops it (Leave).
	select {
	case msg, ok := <-m.outbox:
		return m.batch(msg, ok)
	default:
	}
	if err := m.Err(); err != nil {
		return nil, err
	}
	return nil, ctx.Err()
}

// OnDelivery arranges for wake to be called whenever the member's worker
// has put messages into its outbox, and once the member has ended: a
// consumer that takes them with Take then needs no goroutine waiting in
// Receive, and an idle session holds none. wake runs on the worker's
// goroutine (at the end, on one of its own) and MUST NOT block: it starts
// what takes. It may be called when there is nothing to take. stop undoes
// it; only one wake is kept.
func (m *Member) OnDelivery(wake func()) (stop func()) {
	m.wake.Store(&wake)
	stopEnd := m.AfterEnd(wake)
	return func() {
		m.wake.Store(nil)
		stopEnd()
	}
}

// Take is Receive without the wait: what the outbox holds now, in one
// batch; once it is empty and the member has ended, why (as Receive); nil
// and nil if the outbox is empty and the member is in the room.
func (m *Member) Take() ([]Message, error) {
	select {
	case msg, ok := <-m.outbox:
		return m.batch(msg, ok)
	default:
	}
	return nil, m.Err()
}

// Pending reports whether Take would return something now: messages, or
// why the member ended.
func (m *Member) Pending() bool { return len(m.outbox) > 0 || m.ended() }

// batch returns first and what else is queued now.
func (m *Member) batch(first *Message, ok bool) ([]Message, error) {
	if !ok {
		return nil, ErrRoomClosed
	}
	msgs := make([]Message, 1, 1+len(m.outbox))
	msgs[0] = *first
drain:
	for len(msgs) < cap(m.outbox) {
		select {
		case msg, ok := <-m.outbox:
			if !ok {
				break drain // ErrRoomClosed on the next call
			}
			msgs = append(msgs, *msg)
		default:
			break drain
		}
	}
	if len(msgs) > cap(m.outbox)/2 {
		// The outbox was at least half full: the worker may be holding
		// more; let it refill now rather than at its next tick.
		select {
		case m.w.kick <- struct{}{}:
		default:
		}
	}
	return msgs, nil
}

// offer puts msgs into the outbox without blocking, wakes the consumer
// (OnDelivery) if any fit, and returns how many fit. Only m's worker calls
// it.
func (m *Member) offer(msgs []*Message) int {
	n := 0
fill:
	for _, msg := range msgs {
		select {
		case m.outbox <- msg:
			n++
		default:
			break fill // full
		}
	}
	if wake := m.wake.Load(); wake != nil && n > 0 {
		(*wake)()
	}
	return n
}

// Leave ends the session: the member receives nothing more and its Post and
// Receive return ErrLeft. If it was the last visible session of its name, a
// KindLeave notice is posted. Leave is idempotent, never blocks for long,
// and is safe after eviction or removal (which already posted the notice)
// and after Room.Close (when the notice is no longer stored).
func (m *Member) Leave() { m.stop(ErrLeft) }

// stop ends the member with cause, unless it has ended already, and takes
// it out of its account and its worker. It reports whether cause is why the
// member ended (false: it had ended another way first). No lock is held.
func (m *Member) stop(cause error) bool {
	m.end(cause) // no effect if it had ended already
	won := context.Cause(m.life) == cause
	if !m.room.depart(m) {
		return won // an earlier stop or the eviction did the rest
	}
	w := m.w
	w.mu.Lock()
	if !w.closed {
		w.left = append(w.left, m) // so that w lets go of m before its next batch
	}
	w.mu.Unlock()
	return won
}
