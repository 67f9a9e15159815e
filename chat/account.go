package chat

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"
	"time"
)

// Presence is how an online account shows to others.
type Presence struct {
	Name   string    // as its first live session spelled it
	Since  time.Time // online since
	Away   string    // the reason it gave for being away; "" while here
	IsAway bool
	Role   Role // marked in the member column (Role.Mark)
}

// account is an account with at least one live member, visible or hidden:
// what routes its messages (the conversations it is in, whom it ignores)
// and, while it has a visible session, how it shows (online since, away or
// not). Its members share it. The room's mutex guards it, except the two
// sets the workers read on every delivery: those are immutable maps swapped
// whole (under the mutex, the changes lock held), so a delivery reads them
// with one atomic load. Once its last member has departed it is no longer
// in Room.accounts and never changes again.
//
// Presence depends only on the visible sessions: the account is online
// (Room.Online, Room.Presence, join and leave notices) while sessions > 0.
// Hidden members (Room.Watch) only keep the routing alive.
type account struct {
	key, name string
	since     time.Time          // online since: when sessions went from 0 to 1
	sessions  int                // visible members
	hidden    int                // hidden members (Room.Watch)
	members   map[uint64]*Member // every live member, visible or hidden, by ID
	announced bool               // its join was announced, so its leave will be
	away      string
	isAway    bool
	role      Role // shown in Presence: loaded at Join, changed by Room.SetRole

	convs   atomic.Pointer[map[int64]ConvKind] // the conversations it is in
	ignores atomic.Pointer[map[string]bool]    // by foldName
}

func newAccount(name string, now time.Time, l loaded) *account {
	a := &account{key: foldName(name), name: name, since: now, members: make(map[uint64]*Member)}
	convs := make(map[int64]ConvKind, len(l.memberships))
	for _, ms := range l.memberships {
		convs[ms.Conv.ID] = ms.Conv.Kind
	}
	a.convs.Store(&convs)
	ignores := make(map[string]bool, len(l.ignored))
	for _, name := range l.ignored {
		ignores[foldName(name)] = true
	}
	a.ignores.Store(&ignores)
	return a
}

func (a *account) presence() Presence {
	return Presence{Name: a.name, Since: a.since, Away: a.away, IsAway: a.isAway, Role: a.role}
}

// conversations is the set of conversations a is in: read-only.
func (a *account) conversations() map[int64]ConvKind { return *a.convs.Load() }

// in reports whether a is a member of conv.
func (a *account) in(conv int64) bool {
	_, ok := a.conversations()[conv]
	return ok
}

// channels counts the channels a is in.
func (a *account) channels() int {
	n := 0
	for _, kind := range a.conversations() {
		if kind == Channel {
			n++
		}
	}
	return n
}

// sees reports whether msg reaches a: it is in msg's conversation, or msg
// is addressed to it, and msg is not a post by someone a ignores.
func (a *account) sees(msg *Message) bool {
	if msg.To != "" && foldName(msg.To) == a.key {
		return true
	}
	if !a.in(msg.Conv) {
		return false
	}
	return !a.ignoring(msg)
}

// ignoring reports whether msg is a post by someone a ignores.
func (a *account) ignoring(msg *Message) bool {
	if msg.Kind != KindText && msg.Kind != KindAction {
		return false
	}
	ignores := *a.ignores.Load()
	return len(ignores) > 0 && ignores[foldName(msg.Author)]
}

// setIgnored changes whom a ignores. r.mu held.
func (a *account) setIgnored(other string, ignored bool) {
	next := maps.Clone(*a.ignores.Load())
	if ignored {
		next[foldName(other)] = true
	} else {
		delete(next, foldName(other))
	}
	a.ignores.Store(&next)
}

// convState is a conversation with at least one account online: one with
// a visible session (hidden members are never online).
type convState struct {
	online map[string]*account // by key
	list   []Presence          // online as Room.Online returns it; nil: build it again
}

// enterLocked routes conv's messages to a from now on, and counts a
// online in conv if it has a visible session. r.mu held.
func (r *Room) enterLocked(a *account, conv int64, kind ConvKind) {
	if !a.in(conv) {
		next := maps.Clone(a.conversations())
		next[conv] = kind
		a.convs.Store(&next)
	}
	if a.sessions > 0 {
		r.onlineLocked(a, conv)
	}
}

// onlineLocked counts a among conv's accounts online. r.mu held.
func (r *Room) onlineLocked(a *account, conv int64) {
	c := r.convs[conv]
	if c == nil {
		c = &convState{online: make(map[string]*account)}
		r.convs[conv] = c
	}
	c.online[a.key] = a
	r.changedLocked(conv)
}

// exitLocked stops routing conv's messages to a. r.mu held.
func (r *Room) exitLocked(a *account, conv int64) {
	if a.in(conv) {
		next := maps.Clone(a.conversations())
		delete(next, conv)
		a.convs.Store(&next)
	}
	r.offlineLocked(a, conv)
}

// offlineLocked takes a out of conv's accounts online. r.mu held.
func (r *Room) offlineLocked(a *account, conv int64) {
	if c := r.convs[conv]; c != nil && c.online[a.key] == a {
		delete(c.online, a.key)
		r.changedLocked(conv)
		if len(c.online) == 0 {
			delete(r.convs, conv)
		}
	}
}

// bookkeeping is what the room has to store but need not store at once:
// read pointers move with every message a member reads, so they are kept
// here and stored together every bookInterval, and when a session starts (so
// that its unread counts are right) and at Close.
type bookkeeping struct {
	reads map[readKey]Read
	last  map[string]lastSeen // by foldName
}

type readKey struct {
	account string // foldName
	conv    int64
}

type lastSeen struct {
	name string
	at   time.Time
}

// read records a read pointer. r.mu held.
func (b *bookkeeping) read(name string, conv, id int64) {
	if b.reads == nil {
		b.reads = make(map[readKey]Read)
	}
	k := readKey{foldName(name), conv}
	if old, ok := b.reads[k]; !ok || id > old.ID {
		b.reads[k] = Read{Account: name, Conv: conv, ID: id}
	}
}

// seen records when an account went offline. r.mu held.
func (b *bookkeeping) seen(name string, at time.Time) {
	if b.last == nil {
		b.last = make(map[string]lastSeen)
	}
	b.last[foldName(name)] = lastSeen{name, at}
}

// bookInterval is how often the bookkeeper stores read pointers: with
// hundreds of sessions reading, each interval stores one row per session
// (measured: a second cost about 1 µs a delivery at 300 sessions).
const bookInterval = 5 * time.Second

// keepBooks stores the room's bookkeeping every bookInterval until Close.
func (r *Room) keepBooks() {
	defer r.running.Done()
	tick := time.NewTicker(bookInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
			r.storeBooks(ctx)
			cancel()
		}
	}
}

// storeBooks stores what the bookkeeping holds: once it returns, everything
// recorded before it was called is stored (calls are serialised). What
// fails to be stored is logged and dropped: a read pointer is a
// convenience, and the next one replaces it.
func (r *Room) storeBooks(ctx context.Context) { r.storeBooksOf(ctx, "") }

// storeBooksOf stores the read pointers of the account name (compared
// case-insensitively) that the bookkeeping holds, or everything it holds
// when name is "". A login needs only its own account's read pointers
// stored: storing everyone's at every login made a storm of N logins
// store N² rows.
func (r *Room) storeBooksOf(ctx context.Context, name string) {
	r.booksMu.Lock()
	defer r.booksMu.Unlock()
	r.mu.Lock()
	var b bookkeeping
	if name == "" {
		b, r.books = r.books, bookkeeping{}
	} else {
		key := foldName(name)
		for k, rd := range r.books.reads {
			if k.account == key {
				b.read(rd.Account, rd.Conv, rd.ID)
				delete(r.books.reads, k)
			}
		}
	}
	r.mu.Unlock()
	if len(b.reads) > 0 {
		reads := make([]Read, 0, len(b.reads))
		for _, rd := range b.reads {
			reads = append(reads, rd)
		}
		if err := r.dir.SetRead(ctx, reads); err != nil {
			r.log.Warn("chat: read pointers not stored", "count", len(reads), "err", err)
		}
	}
	for _, s := range b.last {
		// An account deleted since it was seen has nothing to store.
		if err := r.dir.SetLastSeen(ctx, s.name, s.at); err != nil && !errors.Is(err, ErrNoAccount) {
			r.log.Warn("chat: last seen not stored", "name", s.name, "err", err)
		}
	}
}
