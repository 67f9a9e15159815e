package chat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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
	maxNotices    = 8192             // notices waiting for the sequencer (a login posts one per channel)
	maxOlder      = 500              // most messages one Older call returns
	commitTimeout = 30 * time.Second // one History.Append, so Close cannot hang forever
	maxTick       = 200 * time.Millisecond
	minTick       = 10 * time.Millisecond
)

// RoomConfig tunes a Room. Zero fields take the defaults given below.
type RoomConfig struct {
	Workers     int           // NUM_TH delivery workers, >= 1 (default 1)
	HistorySize int           // messages Recent returns to a joining member (default 100)
	MaxMessage  int           // max runes of a posted body (default 1000)
	OutboxSize  int           // per-member outbox capacity in messages (default 256)
	MaxPending  int           // per-member overflow held by its worker while the outbox is full (default 1024)
	EvictAfter  time.Duration // a member whose outbox stays full this long is evicted (default 5s)
	MsgBurst    int           // flood limit per person: messages at once (0: no limit)
	MsgPerSec   float64       // flood limit per person: messages per second after the burst
	// MaxChannels bounds the channels in all, ChannelsPerAccount those one
	// account is in, #lobby included (0: no limit).
	MaxChannels        int
	ChannelsPerAccount int
	Now                func() time.Time // clock; default time.Now
	// Accounts serves /key, /passwd and /account; nil: those commands
	// say they are not available.
	Accounts Accounts
	// Moderation serves the moderation commands and gives each account
	// its role as it comes online; nil: those commands say they are not
	// available, and everyone is a member.
	Moderation Moderation
	// Observe, if not nil, is told of commits, deliveries, evictions and
	// flood refusals (metrics).
	Observe *Observer
	// PresenceWindow: login and logout notices in a channel less than
	// this apart are posted together (presence.go; default 2s, negative:
	// each at once). PresenceQuiet: a channel with more accounts online
	// than this gets no login or logout notices (default 200, negative:
	// no limit).
	PresenceWindow time.Duration
	PresenceQuiet  int
	// Cluster, if not nil, is told what the room commits and changes, for
	// the other nodes sharing its History and Directory, and the room
	// takes theirs through Deliver and Reload (cluster.go). The History
	// must then tell its heads (Heads).
	Cluster Cluster
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
	switch {
	case c.PresenceWindow == 0:
		c.PresenceWindow = 2 * time.Second
	case c.PresenceWindow < 0:
		c.PresenceWindow = 0
	}
	if c.PresenceQuiet == 0 {
		c.PresenceQuiet = 200
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Room is the chat: every conversation (channels and direct ones) and the
// members online in them. All conversations share one order: every message
// has its place in the room's single sequence, and a member receives the
// messages of the conversations it is in (and those addressed To it) in that
// order. A message is shown to anyone only once it is stored.
//
// # Concurrency contract
//
// Who owns what:
//   - The sequencer goroutine owns the order. Posts reach it through a
//     bounded channel, notices (join, leave, topic, away...) through a
//     bounded queue under the room's mutex; both are stamped as they are
//     handed in, so a notice and a post keep the order in which they
//     happened. It takes what is waiting (one group commit, at most 256
//     posts), stamps the time (never earlier than the previous batch's),
//     calls History.Append once for the batch, and only after the commit
//     hands the batch to every worker. If Append fails, every post of the
//     batch gets ErrNotSaved and nobody sees it; a failed notice is only
//     logged.
//   - Routing: each account with a live member, visible (Join) or hidden
//     (Watch), has one routing state (account.go), shared by its members:
//     the set of conversations it is in and the set of accounts it
//     ignores. Each set is an immutable map, replaced whole under the
//     room's mutex and read by the workers with one atomic load, so a
//     delivery never takes a lock. The room's mutex also guards the live
//     accounts and each one's members, which accounts are online in each
//     conversation (Room.Online), away statuses and roles shown, the queue
//     of notices and the closed flag. The muted accounts (moderation.go)
//     are one more immutable map, replaced whole under the mutex and read
//     by every post with one atomic load.
//   - Presence depends only on visible members: an account is online
//     while it has one (Online, Presence, join and leave notices, away,
//     last seen). A hidden member keeps its account routed, and nothing
//     else: it comes and goes without a notice, and an account that has
//     only hidden members is offline.
//   - Login and logout notices are coalesced per channel and left out of
//     crowded ones, and sessions learn that a member list changed from
//     KindPresence events (presence.go). The waiting notices and the set
//     of changed lists are guarded by the room's mutex; the sequencer
//     posts what is due and hands the events out, after the batch
//     committed with them, every presenceTick. Room.Online returns one
//     immutable list per conversation, built after a change by the first
//     reader and shared by all.
//   - The Directory is the truth about memberships and ignores; the routing
//     sets of an account online are equal to it. Every change of them
//     (Join's load, JoinChannel, Part, Direct, Uninvite, Ignore), and every
//     read-modify-write of a channel (SetTopic, SetPrivate), holds the
//     room's changes lock across its Directory calls and the routing update,
//     so that no change is lost between a Join's load and its registration,
//     none is applied to an account that has gone, and none undoes
//     another. The lock is taken with the caller's context, and refused once
//     the room is closed. It serialises these changes on one node; nodes
//     sharing a Directory are not yet kept in step (a later issue).
//   - Worker i (of RoomConfig.Workers) owns the members whose ID mod Workers
//     is i: their delivery state (the pending overflow, since when the
//     outbox has been full). For each batch it gives each member what that
//     member's account sees of it (account.sees). It never blocks: it puts
//     messages into a member's outbox with a non-blocking send.
//   - A member's outbox has one consumer: whoever calls Receive (the
//     session). Only the owning worker sends to it and closes it.
//   - A member's life is one context, ended once, with a cause that says
//     why: ErrLeft (Leave, from any goroutine), a *RemovedError
//     (Disconnect, from any goroutine), an *EvictedError with the reason
//     (its worker, after its last send), or ErrRoomClosed (its worker at
//     Close, after closing the outbox, so that Receive returns what was
//     queued first). The first end wins; later ones change nothing. The
//     worker checks it before every delivery and drops a member that has
//     left or was removed. A member stops counting in its account once, at
//     Leave, removal or eviction, whichever comes first; the account's last
//     visible one posts one leave notice per channel, never two, and its
//     last one of all ends the routing state.
//   - The bookkeeper goroutine stores the read pointers (MarkRead) and
//     last-seen times every 5 seconds; Join stores the account's own read
//     pointers before loading it, Close everything after its last
//     delivery. The flood limits per person have their own lock, so that
//     posts never wait on the room's.
//
// Order: every member receives the messages it sees in ID order, its own
// included, so all the members of a conversation see its messages in the
// same order. A member receives every message of a conversation stored
// after it entered the conversation (Join returned, or JoinChannel, Direct
// returned) until it leaves the conversation (Part, Uninvite returned) or
// the room, is evicted or the room closes; then nothing more of it, except
// the messages already in its outbox or overflow. Members differ only in
// where they start and stop.
//
// Privacy: a member receives a message only if its account is in the
// message's conversation or the message is addressed To it, and reads the
// history (Recent, Older) and posts only in conversations its account is
// in. Posts by accounts it ignores reach it neither live nor in history.
//
// Bounds: the post channel (1024), each worker's channel (64 batches), each
// outbox (OutboxSize), each member's pending overflow (MaxPending), the
// notice queue (8192; a notice that does not fit is logged and dropped),
// the channels (MaxChannels, ChannelsPerAccount; #lobby counts). An action
// that posts notices (a login, a join, a topic, away...) costs its person
// one message of the flood limit, as a post does: past it the action is
// refused with a *SlowDownError or, for a login and away or back, goes
// unannounced. There is no goroutine per message, per member or per
// conversation: the room runs one sequencer, Workers workers and the
// bookkeeper, and Close ends them all.
//
// A slow member: when its outbox is full its worker keeps later messages in
// order in the member's pending overflow and retries on every batch, every
// tick (at most 200ms) and whenever the member's Receive takes a large
// batch. If the overflow stays non-empty for longer than EvictAfter, or
// grows past MaxPending, the member is evicted: it gets nothing more, its
// Receive returns what is already in its outbox and then an *EvictedError
// (its Err too), and the others see it leave if it was its account's last
// visible session. Hidden members are bounded and evicted alike. A slow
// member never slows the room or the other members.
//
// Lock order: the changes lock, then the books lock, then Room.mu, then
// worker.mu; the flood limits' lock is a leaf. No code holds a worker's
// mutex while taking the room's. A member's context is ended with none of
// them held (Disconnect takes the changes lock and Room.mu to list an
// account's members, and gives both back before it ends them). Only the
// changes and books locks are held across a Directory call; no lock is
// held while sending on a channel that can block.
type Room struct {
	history History
	dir     Directory
	cfg     RoomConfig
	log     *slog.Logger
	lobby   Conversation

	posts     chan *request // to the sequencer
	wake      chan struct{} // cap 1: notices are waiting
	quit      chan struct{} // closed by Close: accept nothing new
	seqDone   chan struct{} // closed once the sequencer has stopped
	workers   []*worker
	running   sync.WaitGroup // the workers and the bookkeeper
	closeOnce sync.Once
	nextID    atomic.Uint64 // member IDs
	seq       atomic.Uint64 // stamps requests as they are handed in
	changes   chan struct{} // cap 1: the changes lock (see lockChanges)

	// Owned by the sequencer goroutine.
	lastTime time.Time
	lastID   int64
	cluster  *clusterState // nil: one node

	remote chan []Message // from other nodes (Deliver), to the sequencer
	resync atomic.Bool    // the sequencer should compare with the store's heads (Resync)

	booksMu sync.Mutex // held by storeBooks across the Directory calls

	mu       sync.Mutex
	closed   bool
	accounts map[string]*account        // online, by foldName(name)
	convs    map[int64]*convState       // conversations with a member online
	notices  []*request                 // notices, oldest first
	books    bookkeeping                // read pointers and last-seen times not yet stored
	presence map[int64]*channelPresence // login and logout notices by channel (presence.go)
	changed  map[int64]struct{}         // conversations whose online list changed since the last presence tick

	// Other nodes' people (nodes.go): by node, then by foldName; and by
	// conversation, then foldName, whatever the node.
	nodes     map[string]map[string]NodePresence
	elsewhere map[int64]map[string]Presence

	// mutes are the muted accounts, by foldName: an immutable map replaced
	// whole under mu and read by posts with one atomic load (moderation.go).
	mutes atomic.Pointer[map[string]Mute]

	floods *floodLimits // per person; its own lock
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

// NewRoom starts a room over history and dir: its sequencer, cfg.Workers
// delivery workers and the bookkeeper that stores read pointers. history
// MUST NOT be nil, and MUST be linearizable: a Before that starts after an
// Append returned sees that Append's messages (Join relies on it). dir MUST
// hold the channel #lobby. log may be nil. Callers MUST call Close to stop
// the goroutines.
func NewRoom(ctx context.Context, history History, dir Directory, cfg RoomConfig, log *slog.Logger) (*Room, error) {
	if history == nil || dir == nil {
		panic("chat.NewRoom: nil History or Directory")
	}
	lobby, err := dir.Channel(ctx, Lobby)
	if err != nil {
		return nil, fmt.Errorf("room: %s: %w", Lobby, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Room{
		history:  history,
		dir:      dir,
		cfg:      cfg.withDefaults(),
		log:      log,
		lobby:    lobby,
		posts:    make(chan *request, postQueue),
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		seqDone:  make(chan struct{}),
		changes:  make(chan struct{}, 1),
		accounts: make(map[string]*account),
		convs:    make(map[int64]*convState),
		presence: make(map[int64]*channelPresence),
		changed:  make(map[int64]struct{}),
		nodes:    make(map[string]map[string]NodePresence),
		floods:   newFloodLimits(cfg.MsgBurst, cfg.MsgPerSec, maxFloodBuckets),
	}
	r.floods.observe = r.cfg.Observe
	if cfg.Cluster != nil {
		if r.cluster, err = newClusterState(ctx, history); err != nil {
			return nil, fmt.Errorf("room: %w", err)
		}
		r.remote = make(chan []Message, remoteQueue)
	}
	r.workers = make([]*worker, r.cfg.Workers)
	for i := range r.workers {
		r.workers[i] = &worker{
			room:    r,
			in:      make(chan []*Message, workerQueue),
			kick:    make(chan struct{}, 1),
			members: make(map[uint64]*slot),
			stalled: make(map[uint64]*slot),
		}
	}
	r.running.Add(len(r.workers) + 1)
	for _, w := range r.workers {
		go w.run()
	}
	go r.keepBooks()
	go r.sequence()
	return r, nil
}

// Accounts is the account self-service (RoomConfig.Accounts), nil if none.
func (r *Room) Accounts() Accounts { return r.cfg.Accounts }

// Lobby is the channel every account is in.
func (r *Room) Lobby() Conversation { return r.lobby }

// Close stops accepting posts, joins and changes of memberships, commits
// and delivers the posts already accepted, stops the workers and closes
// every member's outbox: Receive then returns what is queued and after that
// ErrRoomClosed. Notices after Close are not stored. Then it stores the
// read pointers and, for every account online, that it was last seen now.
// Close is idempotent, safe to call concurrently, and returns once every
// goroutine of the room has ended. It waits for the last commits and the
// bookkeeping: each has a 30s deadline.
func (r *Room) Close() {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.postAllPresenceLocked() // who left before, waiting or not: committed as the room closes
		r.closed = true
		now := r.cfg.Now()
		for _, a := range r.accounts {
			if a.sessions > 0 {
				r.books.seen(a.name, now)
			}
		}
		r.mu.Unlock()
		close(r.quit)
	})
	<-r.seqDone
	r.running.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	r.storeBooks(ctx)
}

// Join registers a session of account name and returns its Member, which
// receives the messages of every conversation the account is in (see
// Member.Memberships). If it is the account's first live member (names
// compare case-insensitively), Join routes the account's conversations and
// ignores as the Directory holds them (adding it to #lobby on its first
// login). If it is the account's first visible session, the account comes
// online and Join posts a KindJoin notice in each of its channels (Join
// does not wait for them to be stored); the new member receives them too.
// The account must exist in the Directory.
//
// To show a joining user a conversation without a gap, callers MUST call
// Join first and Member.Recent second, then drop every received message
// of that conversation whose ID is <= the last ID Recent returned: a
// message committed around the join may arrive both ways (a duplicate),
// but none is missed.
//
// Callers MUST call Leave when the session ends, and MUST keep calling
// Receive: a member that stops reading is evicted (see Room). Join returns
// ErrRoomClosed after Close.
func (r *Room) Join(ctx context.Context, name string) (*Member, error) {
	return r.join(ctx, name, false)
}

// Watch registers a hidden member of account name: one that receives and
// may post exactly as a session from Join does, but never counts as
// online. Its coming and going posts no notice; it is not in Online or
// Presence (so neither /who nor /whois shows it); it does not make the
// account online, nor keep it online once the account's last visible
// session has gone; it never changes the account's away status (a post
// from it brings nobody back). It is what scripts and bots use. Like any
// member it is bounded (outbox, eviction of a slow one), ended by Leave,
// Disconnect and Close; everything said of Join applies, notices aside.
func (r *Room) Watch(ctx context.Context, name string) (*Member, error) {
	return r.join(ctx, name, true)
}

func (r *Room) join(ctx context.Context, name string, hidden bool) (*Member, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("join: empty name")
	}
	unlock, err := r.lockChanges(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	loaded, err := r.load(ctx, name)
	if err != nil {
		return nil, err
	}
	id := r.nextID.Add(1)
	w := r.workers[id%uint64(len(r.workers))]
	m := newMember(r, w, id, name)
	m.hidden = hidden
	m.memberships = loaded.memberships

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrRoomClosed
	}
	key := foldName(name)
	a := r.accounts[key]
	if a == nil {
		// Routed from now on; online in its conversations only once it
		// has a visible session (arriveLocked).
		a = newAccount(name, r.cfg.Now(), loaded)
		r.accounts[key] = a
	}
	if a.role != loaded.role { // read afresh: the newest
		a.role = loaded.role
		r.restyledLocked(a)
	}
	// m's routing state is set before its worker can see m.
	m.acct = a
	// Register with the worker before any notice: every batch the
	// sequencer hands out from now on reaches m, including m's own notices.
	w.mu.Lock()
	if w.closed { // cannot happen while r.closed is false; kept as a guard
		w.mu.Unlock()
		if len(a.members) == 0 {
			delete(r.accounts, key)
		}
		return nil, ErrRoomClosed
	}
	w.joined = append(w.joined, m)
	w.mu.Unlock()

	a.members[m.id] = m
	m.present = true
	if hidden {
		a.hidden++
		return m, nil
	}
	if a.sessions++; a.sessions == 1 {
		r.arriveLocked(a, name)
	}
	return m, nil
}

// arriveLocked brings a online: its first visible session (spelling its
// name name) has joined. r.mu held.
func (r *Room) arriveLocked(a *account, name string) {
	a.name, a.since = name, r.cfg.Now()
	for conv := range a.conversations() {
		r.onlineLocked(a, conv)
	}
	// Join notices cost the person a message of their flood limit, so
	// that reconnecting in a loop cannot flood the room with notices: past
	// the limit, they come and go quietly. Online on another node already,
	// they were announced there, and the last of their nodes they leave
	// says so.
	if _, elsewhere := r.onlineElsewhereLocked(a.key); elsewhere {
		a.announced = true
	} else if r.allow(name) == nil {
		a.announced = true
		for conv, kind := range a.conversations() {
			if kind == Channel {
				r.announceLocked(a, conv, true)
			}
		}
	}
}

// goneLocked takes a offline: its last visible session has departed
// (hidden members may remain, and keep its routing). r.mu held.
func (r *Room) goneLocked(a *account) {
	_, elsewhere := r.onlineElsewhereLocked(a.key) // still online there: no logout
	for conv, kind := range a.conversations() {
		if kind == Channel && a.announced && !elsewhere {
			r.announceLocked(a, conv, false) // spelled as in the join notice
		}
		r.offlineLocked(a, conv)
	}
	a.announced = false
	a.away, a.isAway = "", false
	r.books.seen(a.name, r.cfg.Now())
}

// Disconnect ends every live member of the account name (compared
// case-insensitively), visible and hidden, with a *RemovedError giving
// reason, and returns how many it ended (members that had already ended,
// or were ended meanwhile another way, are not counted). Each member's
// Receive returns what was queued and then the *RemovedError, its Err
// returns it from now on, and the account's departure gives the usual
// leave notices. Every Join of name that began before Disconnect is ended
// by it; to keep later ones out, callers remove the account first (a
// deleted account cannot join). Disconnect waits for Joins in progress (at
// most 30s); after Close it returns 0. With a Cluster, the other nodes end
// the account's members there too (Cluster.Disconnected); the count is
// this node's.
func (r *Room) Disconnect(name, reason string) int {
	if r.cfg.Cluster != nil {
		r.cfg.Cluster.Disconnected(name, reason)
	}
	return r.DisconnectHere(name, reason)
}

// DisconnectHere is Disconnect of this node's members only: what another
// node's Disconnect asks of this one, or what each node does by itself
// (a ban each reads from the store).
func (r *Room) DisconnectHere(name, reason string) int {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	// The changes lock, taken and given back: a Join that holds it has
	// registered its member once Disconnect has it.
	unlock, err := r.lockChanges(ctx)
	switch {
	case errors.Is(err, ErrRoomClosed):
		return 0 // every member has ended
	case err != nil:
		r.log.Warn("chat: disconnect without waiting for joins in progress", "name", name, "err", err)
	}
	r.mu.Lock()
	var members []*Member
	if a := r.accounts[foldName(name)]; a != nil {
		members = slices.Collect(maps.Values(a.members))
	}
	r.mu.Unlock()
	if unlock != nil {
		unlock()
	}
	// Every member ends before any departs: the logout notice that the
	// last visible one's departure posts must reach none of them (a
	// hidden member ended after it could receive it).
	removed := &RemovedError{Reason: reason}
	for _, m := range members {
		m.end(removed)
	}
	n := 0
	for _, m := range members {
		if m.stop(removed) {
			n++
		}
	}
	if n > 0 {
		r.log.Info("chat: account disconnected", "name", name, "members", n)
	}
	return n
}

// lockChanges takes the changes lock (see Room): it serialises every change
// of memberships and ignores with the routing update that follows it. It
// waits no longer than ctx, and not once the room is closed.
func (r *Room) lockChanges(ctx context.Context) (unlock func(), err error) {
	select {
	case <-r.quit:
		return nil, ErrRoomClosed
	default:
	}
	select {
	case r.changes <- struct{}{}:
		return func() { <-r.changes }, nil
	case <-r.quit:
		return nil, ErrRoomClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// loaded is what the Directory keeps of an account, read as a session
// starts.
type loaded struct {
	memberships []Membership
	ignored     []string
	role        Role // as Moderation holds it; RoleMember without one
}

// load reads name's conversations and ignores, first making it a member of
// #lobby and storing the read pointers not yet stored, so that its unread
// counts are right. The changes lock is held.
func (r *Room) load(ctx context.Context, name string) (loaded, error) {
	if err := r.dir.AddMember(ctx, r.lobby.ID, name, 0); err != nil {
		return loaded{}, fmt.Errorf("join %s: %w", Lobby, err)
	}
	r.storeBooksOf(ctx, name)
	ms, err := r.dir.Memberships(ctx, name)
	if err != nil {
		return loaded{}, fmt.Errorf("join: memberships: %w", err)
	}
	ignored, err := r.dir.Ignored(ctx, name)
	if err != nil {
		return loaded{}, fmt.Errorf("join: ignored: %w", err)
	}
	role := RoleMember
	if mod := r.cfg.Moderation; mod != nil {
		// Only shown (Presence.Role): the commands read the role afresh.
		if role, err = mod.Role(ctx, name); err != nil {
			r.log.Warn("chat: role not loaded", "name", name, "err", err)
			role = RoleMember
		}
	}
	return loaded{ms, ignored, role}, nil
}

// depart takes m out of its account, whether it left, was removed or was
// evicted, and reports whether this call did (false: it had already
// departed). The account's last visible session takes it offline (a
// KindLeave notice in each of its channels); its last member of all ends
// its routing.
func (r *Room) depart(m *Member) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !m.present {
		return false
	}
	m.present = false
	a := m.acct
	delete(a.members, m.id)
	if m.hidden {
		a.hidden--
	} else if a.sessions--; a.sessions == 0 {
		r.goneLocked(a)
	}
	if len(a.members) == 0 {
		// a's own sets stay as they are: all its members have ended, so
		// none receives anything more, and a is never routed again (a
		// later Join makes a new account).
		delete(r.accounts, a.key)
	}
	return true
}

// noticeLocked queues a notice for the sequencer. r.mu held.
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

// Online returns who is online in conversation conv, each account once (as
// its first visible session spelled it), sorted case-insensitively. Hidden
// members (Watch) are never online. The list is shared by every caller
// until it changes: callers MUST NOT modify it.
func (r *Room) Online(conv int64) []Presence {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.convs[conv]
	if c != nil && c.list != nil {
		return c.list
	}
	var local map[string]*account
	if c != nil {
		local = c.online
	}
	elsewhere := r.elsewhere[conv]
	if len(local)+len(elsewhere) == 0 {
		return nil
	}
	list := make([]Presence, 0, len(local)+len(elsewhere))
	for _, a := range local {
		list = append(list, a.presence())
	}
	for key, p := range elsewhere {
		if local[key] == nil { // here too: as here
			list = append(list, p)
		}
	}
	slices.SortFunc(list, func(a, b Presence) int {
		return cmp.Or(cmp.Compare(foldName(a.Name), foldName(b.Name)), cmp.Compare(a.Name, b.Name))
	})
	list = slices.Clip(list) // no spare capacity: an append by a caller copies
	if c != nil {
		c.list = list
	}
	return list
}

// Presence returns whether the account name is online (has a visible
// session), and how.
func (r *Room) Presence(name string) (Presence, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.accounts[foldName(name)]
	if a == nil || a.sessions == 0 { // hidden members are never online
		return r.onlineElsewhereLocked(foldName(name))
	}
	return a.presence(), true
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
	// Seen to arrive before speaking (presence.go).
	r.arrivingLocked(q.msg.Conv, q.msg.Author)
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
	tick := time.NewTicker(presenceTick)
	defer tick.Stop()
	for !r.runSequencer(tick.C) {
	}
	for _, w := range r.workers {
		close(w.in)
	}
}

// runSequencer returns true once the room is closed and drained, false after
// it recovered from a panic (the caller runs it again).
func (r *Room) runSequencer(presence <-chan time.Time) (stopped bool) {
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
			if r.resync.Load() {
				r.handOut(r.resyncNow())
			}
		case batch := <-r.remote: // nil while one node
			r.chargeFloods(batch)
			r.handOut(r.inOrder(batch))
			continue
		case <-presence:
			events := r.tickPresence()
			r.commit(r.collect(nil)) // the notices that were due
			r.handOut(events)
			if cs := r.cluster; cs != nil && (r.resync.Load() || time.Since(cs.lastSync) >= resyncEvery) {
				r.handOut(r.resyncNow())
			}
			continue
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
	started := time.Now()
	if err := r.append(msgs); err != nil {
		r.log.Error("chat: messages not saved", "count", len(msgs), "err", err)
		err = fmt.Errorf("%w: %w", ErrNotSaved, err)
		for _, q := range batch {
			q.reply(err)
		}
		answered = true
		return
	}
	r.cfg.Observe.committed(msgs, time.Since(started))
	for _, m := range msgs {
		if m.ID <= r.lastID {
			r.log.Error("chat: history assigned IDs out of order", "id", m.ID, "after", r.lastID)
		}
		r.lastID = max(r.lastID, m.ID)
	}
	if r.cluster != nil {
		r.cfg.Cluster.Committed(msgs)
		r.handOut(r.inOrder(msgs))
	} else {
		r.handOut(msgs)
	}
	for _, q := range batch {
		q.reply(nil)
	}
	answered = true
}

// handOut gives every worker msgs: a committed batch, or events that are
// not stored (KindPresence). msgs is shared read-only by every worker and
// outbox from here on.
func (r *Room) handOut(msgs []Message) {
	if len(msgs) == 0 {
		return
	}
	shared := make([]*Message, len(msgs))
	for i := range msgs {
		shared[i] = &msgs[i]
	}
	for _, w := range r.workers {
		w.in <- shared // workers never block, so neither does this for long
	}
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
