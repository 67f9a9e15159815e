package chat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrRoomClosed is returned by Join, Post, Receive, Recent and Older once
// the room has been closed.
var ErrRoomClosed = errors.New("room closed")

// Bounds that are not worth configuring.
const (
	postQueue     = 1024             // posts waiting for the sequencer
	maxBatch      = 256              // posts in one group commit
	workerQueue   = 64               // committed batches waiting for one worker
	maxNotices    = 1024             // join and leave notices waiting for the sequencer
	maxOlder      = 500              // most messages one Older call returns
	commitTimeout = 30 * time.Second // one History.Append, so Close cannot hang forever
	maxTick       = 200 * time.Millisecond
	minTick       = 10 * time.Millisecond
)

// RoomConfig tunes a Room. Zero fields take the defaults given below.
type RoomConfig struct {
	Workers     int              // NUM_TH delivery workers, >= 1 (default 1)
	HistorySize int              // messages Recent returns to a joining member (default 100)
	MaxMessage  int              // max runes of a posted body (default 1000)
	OutboxSize  int              // per-member outbox capacity in messages (default 256)
	MaxPending  int              // per-member overflow held by its worker while the outbox is full (default 1024)
	EvictAfter  time.Duration    // a member whose outbox stays full this long is evicted (default 5s)
	MsgBurst    int              // flood limit per person: messages at once (0: no limit)
	MsgPerSec   float64          // flood limit per person: messages per second after the burst
	Now         func() time.Time // clock; default time.Now
}

func (c RoomConfig) withDefaults() RoomConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Workers, 1)
	def(&c.HistorySize, 100)
	def(&c.MaxMessage, 1000)
	def(&c.OutboxSize, 256)
	def(&c.MaxPending, 1024)
	if c.EvictAfter <= 0 {
		c.EvictAfter = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Room is the one shared conversation: every member sees every message in
// the same order, and a message is shown to anyone only once it is stored.
//
// # Concurrency contract
//
// Who owns what:
//   - The sequencer goroutine owns the order. Posts reach it through a
//     bounded channel, join and leave notices through a bounded queue under
//     the room's mutex; both are stamped as they are handed in, so a notice
//     and a post keep the order in which they happened. It takes what is
//     waiting (one group commit, at most 256 posts), stamps the time (never
//     earlier than the previous batch's), calls History.Append once for the
//     batch, and only after the commit hands the batch to every worker. If
//     Append fails, every post of the batch gets ErrNotSaved and nobody sees
//     it; a failed notice is only logged.
//   - Worker i (of RoomConfig.Workers) owns the members whose ID mod Workers
//     is i: their delivery state (the pending overflow, since when the
//     outbox has been full). It never blocks: it puts messages into a
//     member's outbox with a non-blocking send.
//   - A member's outbox has one consumer: whoever calls Receive (the
//     session). Only the owning worker sends to it and closes it.
//   - A member's life is one context, ended once, with a cause that says
//     why: ErrLeft (Leave, from any goroutine), an *EvictedError with the
//     reason (its worker, after its last send), or ErrRoomClosed (its
//     worker at Close, after closing the outbox, so that Receive returns
//     what was queued first). The first end wins; later ones change
//     nothing. The worker checks it before every delivery and drops a
//     member that has left.
//   - The room's mutex guards who is online (name -> sessions, and whether
//     each member still counts there), the queue of notices and the closed
//     flag. A member stops counting once, at Leave or its eviction,
//     whichever comes first: one leave notice per person, never two. The
//     flood limits per person have their own lock, so that posts never wait
//     on the room's. Each worker's mutex guards only the members joining or
//     leaving it since its last pass.
//
// Order: every member receives messages in ID order, its own included, and
// receives every message stored after its Join returned, until it leaves,
// is evicted or the room closes. Members differ only in where they start
// and stop.
//
// Bounds: the post channel (1024), each worker's channel (64 batches), each
// outbox (OutboxSize), each member's pending overflow (MaxPending), the
// notice queue (1024; a notice that does not fit is logged and dropped).
// There is no goroutine per message or per member: the room runs one
// sequencer and Workers workers, and Close ends them all.
//
// A slow member: when its outbox is full its worker keeps later messages in
// order in the member's pending overflow and retries on every batch, every
// tick (at most 200ms) and whenever the member's Receive takes a large
// batch. If the overflow stays non-empty for longer
// than EvictAfter, or grows past MaxPending, the member is evicted: it gets
// nothing more, its Receive returns what is already in its outbox and then
// an *EvictedError (its Err too), and the others see it leave. A slow member never slows
// the room or the other members.
//
// Lock order: Room.mu before worker.mu, and before the flood limits' lock,
// which is a leaf; no code holds a worker's mutex while taking the room's.
// A member's context is ended with none of them held. No lock is held
// while sending on a channel that can block.
type Room struct {
	history History
	cfg     RoomConfig
	log     *slog.Logger

	posts     chan *request // to the sequencer
	wake      chan struct{} // cap 1: notices are waiting
	quit      chan struct{} // closed by Close: accept nothing new
	seqDone   chan struct{} // closed once the sequencer has stopped
	workers   []*worker
	running   sync.WaitGroup // the workers
	closeOnce sync.Once
	nextID    atomic.Uint64 // member IDs
	seq       atomic.Uint64 // stamps requests as they are handed in

	// Owned by the sequencer goroutine.
	lastTime time.Time
	lastID   int64

	mu      sync.Mutex
	closed  bool
	online  map[string]*presence // by foldName(name)
	notices []*request           // join and leave notices, oldest first

	floods *floodLimits // per person; its own lock
}

// presence counts the live sessions of one name.
type presence struct {
	name      string // as its first live session spelled it
	sessions  int
	announced bool // its join was announced, so its leave will be
}

// maxFloodBuckets bounds the flood limits remembered.
const maxFloodBuckets = 100_000

// allow applies the flood limit to a post by name. The limit is per person
// and outlives their sessions: neither more terminals nor reconnecting buys
// more messages.
func (r *Room) allow(name string) error { return r.floods.allow(name, r.cfg.Now()) }

// request is a message on its way to the sequencer.
type request struct {
	msg  Message
	seq  uint64     // from Room.seq when handed in: orders notices among posts
	done chan error // cap 1; nil for notices, whose failure is only logged
}

func (q *request) reply(err error) {
	if q.done == nil {
		return
	}
	select {
	case q.done <- err:
	default: // already answered
	}
}

// NewRoom starts a room over history: its sequencer and cfg.Workers delivery
// workers. history MUST NOT be nil, and MUST be linearizable: a Before that
// starts after an Append returned sees that Append's messages (Join relies
// on it). log may be nil. Callers MUST call Close to stop the goroutines.
func NewRoom(history History, cfg RoomConfig, log *slog.Logger) *Room {
	if history == nil {
		panic("chat.NewRoom: nil History")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Room{
		history: history,
		cfg:     cfg.withDefaults(),
		log:     log,
		posts:   make(chan *request, postQueue),
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		seqDone: make(chan struct{}),
		online:  make(map[string]*presence),
		floods:  newFloodLimits(cfg.MsgBurst, cfg.MsgPerSec, maxFloodBuckets),
	}
	r.workers = make([]*worker, r.cfg.Workers)
	for i := range r.workers {
		r.workers[i] = &worker{
			room:    r,
			in:      make(chan []Message, workerQueue),
			kick:    make(chan struct{}, 1),
			members: make(map[uint64]*slot),
			stalled: make(map[uint64]*slot),
		}
	}
	r.running.Add(len(r.workers))
	for _, w := range r.workers {
		go w.run()
	}
	go r.sequence()
	return r
}

// Close stops accepting posts and joins, commits and delivers the posts
// already accepted, stops the workers and closes every member's outbox:
// Receive then returns what is queued and after that ErrRoomClosed. Leave
// notices after Close are not stored. Close is idempotent, safe to call
// concurrently, and returns once every goroutine of the room has ended.
// It waits for the last commits: each History.Append has a 30s deadline.
func (r *Room) Close() {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		close(r.quit)
	})
	<-r.seqDone
	r.running.Wait()
}

// Join registers a session of user name and returns its Member. If it is
// the first live session of that name (names compare case-insensitively),
// a KindJoin notice is posted (Join does not wait for it to be stored); the
// new member receives it too.
//
// To show a joining user the conversation without a gap, callers MUST call
// Join first and Recent second, then drop every received message whose ID
// is <= the last ID Recent returned: a message committed around the join
// may arrive both ways (a duplicate), but none is missed.
//
// Callers MUST call Leave when the session ends, and MUST keep calling
// Receive: a member that stops reading is evicted (see Room). Join returns
// ErrRoomClosed after Close.
func (r *Room) Join(ctx context.Context, name string) (*Member, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("join: empty name")
	}
	id := r.nextID.Add(1)
	w := r.workers[id%uint64(len(r.workers))]
	m := newMember(r, w, id, name)

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrRoomClosed
	}
	// Register with the worker before anything else: every batch the
	// sequencer hands out from now on reaches m, including m's own notice.
	w.mu.Lock()
	if w.closed { // cannot happen while r.closed is false; kept as a guard
		w.mu.Unlock()
		return nil, ErrRoomClosed
	}
	w.joined = append(w.joined, m)
	w.mu.Unlock()

	key := foldName(name)
	p := r.online[key]
	if p == nil {
		p = &presence{name: name}
		r.online[key] = p
	}
	p.sessions++
	m.present = true
	// A join notice costs the person a message of their flood limit, so
	// that reconnecting in a loop cannot flood the room with notices: past
	// the limit, they come and go quietly.
	if p.sessions == 1 && r.allow(name) == nil {
		p.announced = true
		r.noticeLocked(Message{Author: name, Kind: KindJoin})
	}
	return m, nil
}

// depart ends m's presence, whether it left or was evicted, and reports
// whether this call did (false: it had already departed). The last session
// of a name posts a KindLeave notice.
func (r *Room) depart(m *Member) bool {
	key := foldName(m.name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !m.present {
		return false
	}
	m.present = false
	p := r.online[key]
	if p == nil {
		return true
	}
	if p.sessions--; p.sessions > 0 {
		return true
	}
	delete(r.online, key)
	if p.announced {
		r.noticeLocked(Message{Author: p.name, Kind: KindLeave}) // spelled as in the join notice
	}
	return true
}

// noticeLocked queues a join or leave notice for the sequencer. r.mu held.
func (r *Room) noticeLocked(msg Message) {
	if r.closed {
		return
	}
	if len(r.notices) >= maxNotices {
		r.log.Warn("chat: notice dropped, the room is behind", "kind", msg.Kind, "name", msg.Author)
		return
	}
	r.notices = append(r.notices, &request{msg: msg, seq: r.seq.Add(1)})
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Recent returns the last HistorySize messages, oldest first. See Join for
// how to combine it with Receive.
func (r *Room) Recent(ctx context.Context) ([]Message, error) {
	return r.before(ctx, 0, r.cfg.HistorySize)
}

// Older returns up to limit messages with ID < before, oldest first: a page
// of history above what the caller shows. limit <= 0 means HistorySize; it
// is capped at 500.
func (r *Room) Older(ctx context.Context, before int64, limit int) ([]Message, error) {
	if limit <= 0 {
		limit = r.cfg.HistorySize
	}
	return r.before(ctx, before, min(limit, maxOlder))
}

func (r *Room) before(ctx context.Context, before int64, limit int) ([]Message, error) {
	select {
	case <-r.quit:
		return nil, ErrRoomClosed
	default:
	}
	msgs, err := r.history.Before(ctx, before, limit)
	if err != nil {
		return nil, fmt.Errorf("room history: %w", err)
	}
	return msgs, nil
}

// Online returns the distinct names of the members online, each once (as
// its first live session spelled it), sorted case-insensitively.
func (r *Room) Online() []string {
	type entry struct{ key, name string }
	r.mu.Lock()
	list := make([]entry, 0, len(r.online))
	for key, p := range r.online {
		list = append(list, entry{key, p.name})
	}
	r.mu.Unlock()
	slices.SortFunc(list, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.name, b.name))
	})
	names := make([]string, len(list))
	for i, e := range list {
		names[i] = e.name
	}
	return names
}

func foldName(name string) string { return strings.ToLower(name) }

// handIn gives q to the sequencer without blocking: ErrBusy if its queue
// is full. The seq taken here and the channel's order keep one member's
// posts in the order handed in.
func (r *Room) handIn(m *Member, q *request) error {
	r.mu.Lock() // seq and the send together: no other hand-in between them
	defer r.mu.Unlock()
	if r.closed {
		return ErrRoomClosed
	}
	q.seq = r.seq.Add(1)
	select {
	case r.posts <- q:
		return nil
	default:
		return ErrBusy
	}
}

// wait waits for q's commit.
func (r *Room) wait(ctx context.Context, q *request) error {
	select {
	case err := <-q.done:
		return err
	case <-r.seqDone:
		select {
		case err := <-q.done:
			return err
		default: // sent after the sequencer's last look: never stored
			return ErrRoomClosed
		}
	case <-ctx.Done():
		return ctx.Err() // the message may still be stored and delivered
	}
}

// sequence is the sequencer goroutine.
func (r *Room) sequence() {
	defer close(r.seqDone)
	for !r.runSequencer() {
	}
	for _, w := range r.workers {
		close(w.in)
	}
}

// runSequencer returns true once the room is closed and drained, false after
// it recovered from a panic (the caller runs it again).
func (r *Room) runSequencer() (stopped bool) {
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("chat: sequencer panic", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	for {
		var first *request
		select {
		case first = <-r.posts:
		case <-r.wake:
		case <-r.quit:
			for {
				batch := r.collect(nil)
				if len(batch) == 0 {
					return true
				}
				r.commit(batch)
			}
		}
		r.commit(r.collect(first))
	}
}

// collect makes one group commit: first, whatever posts are waiting (at
// most maxBatch posts), and the waiting notices, in the order they were
// handed in. The notices are taken after the posts, so a notice queued
// before one of these posts was sent (a join, then a post) is never left to
// a later batch.
func (r *Room) collect(first *request) []*request {
	batch := make([]*request, 0, 1+min(len(r.posts), maxBatch))
	if first != nil {
		batch = append(batch, first)
	}
drain:
	for len(batch) < maxBatch {
		select {
		case q := <-r.posts:
			batch = append(batch, q)
		default:
			break drain
		}
	}
	r.mu.Lock()
	notices := r.notices
	r.notices = nil
	r.mu.Unlock()
	if len(notices) > 0 {
		batch = append(batch, notices...)
		slices.SortStableFunc(batch, func(a, b *request) int { return cmp.Compare(a.seq, b.seq) })
	}
	return batch
}

// commit stores batch in one History.Append and, only if that succeeded,
// hands it to every worker; then it answers the posters.
func (r *Room) commit(batch []*request) {
	if len(batch) == 0 {
		return
	}
	answered := false
	defer func() {
		if !answered { // a panic on the way: nobody may wait forever
			for _, q := range batch {
				q.reply(fmt.Errorf("%w: internal error", ErrNotSaved))
			}
		}
	}()
	now := r.cfg.Now().Round(0) // no monotonic reading in stored times
	if now.Before(r.lastTime) {
		now = r.lastTime // times never go backwards in ID order
	}
	r.lastTime = now
	msgs := make([]Message, len(batch))
	for i, q := range batch {
		msgs[i] = q.msg
		msgs[i].Time = now
	}
	if err := r.append(msgs); err != nil {
		r.log.Error("chat: messages not saved", "count", len(msgs), "err", err)
		err = fmt.Errorf("%w: %w", ErrNotSaved, err)
		for _, q := range batch {
			q.reply(err)
		}
		answered = true
		return
	}
	for _, m := range msgs {
		if m.ID <= r.lastID {
			r.log.Error("chat: history assigned IDs out of order", "id", m.ID, "after", r.lastID)
		}
		r.lastID = max(r.lastID, m.ID)
	}
	// msgs is shared read-only by every worker from here on.
	for _, w := range r.workers {
		w.in <- msgs // workers never block, so neither does this for long
	}
	for _, q := range batch {
		q.reply(nil)
	}
	answered = true
}

// append calls History.Append with a deadline, turning a panic into an error.
func (r *Room) append(msgs []Message) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("chat: history panic", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("history panic: %v", v)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	return r.history.Append(ctx, msgs)
}

// tick is how often a worker retries its stalled members.
func (r *Room) tick() time.Duration {
	return min(max(r.cfg.EvictAfter/4, minTick), maxTick)
}
