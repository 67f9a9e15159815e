package chat

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Presence at scale. Every login would otherwise be a notice and a
// member-column change for everyone already there: N people arriving cost
// N²/2 deliveries, and a restart with everyone reconnecting is exactly that.
// So, per channel:
//
//   - Login and logout notices are coalesced. A notice is posted at once
//     when the channel has had none for PresenceWindow; within the window,
//     the logins and logouts wait and are posted together when it ends:
//     one KindJoin naming everyone who came ("alice, bob and 37 others
//     joined", see Message.Who) and one KindLeave for those who went. Someone
//     who comes and goes within a window (or goes and comes back) is not
//     announced at all. A post by someone whose login notice is waiting
//     posts the channel's waiting notices first, so that nobody speaks
//     before they are seen to arrive; other posts are never held back.
//   - In a channel with more than PresenceQuiet accounts online, logins and
//     logouts post no notice at all: the member column and its count say
//     it.
//   - Who is online is an immutable list per conversation, built once after
//     a change and shared by every session that reads it (Room.Online).
//   - Sessions learn that it changed from a KindPresence event (not
//     stored, ID 0), at most once per presenceTick per conversation,
//     whatever the churn.
//
// All of it is guarded by Room.mu; the sequencer's presence tick posts what
// is due and hands out the events.

// presenceTick is how often the sequencer posts the coalesced notices that
// are due and tells sessions which member lists changed: the most a
// session's member column is told to change per conversation.
const presenceTick = 500 * time.Millisecond

// maxNamed bounds the names one coalesced notice carries; the rest are
// counted ("+37").
const maxNamed = 50

// channelPresence is a channel's login and logout notices: when the last
// was posted, and those waiting for the window after it to end.
type channelPresence struct {
	last   time.Time // when a login or logout notice was last posted here
	joined []string  // waiting, in the order they came
	left   []string
}

func (p *channelPresence) waiting() bool { return len(p.joined)+len(p.left) > 0 }

// announceLocked posts, or holds for the window, that a came online (join
// true) or went offline in the channel conv. r.mu held.
func (r *Room) announceLocked(a *account, conv int64, join bool) {
	r.announceNameLocked(a.key, a.name, conv, join)
}

// announceNameLocked is announceLocked for the account key, spelled name:
// one of this node's, or another node's that went with it (NodeGone).
func (r *Room) announceNameLocked(key, name string, conv int64, join bool) {
	if r.quietLocked(conv) {
		return
	}
	now := time.Now() // a wall clock of its own: RoomConfig.Now may be frozen in tests
	p := r.presence[conv]
	if p == nil {
		p = &channelPresence{}
		r.presence[conv] = p
	}
	mine, other := &p.joined, &p.left
	if !join {
		mine, other = other, mine
	}
	// Came back (or went) before the notice that it went (came) was
	// posted: there is nothing to say.
	if i := slices.IndexFunc(*other, func(n string) bool { return foldName(n) == key }); i >= 0 {
		*other = slices.Delete(*other, i, i+1)
		return
	}
	if !p.waiting() && now.Sub(p.last) >= r.cfg.PresenceWindow {
		p.last = now
		r.noticeLocked(presenceNotice(conv, join, []string{name}))
		return
	}
	*mine = append(*mine, name) // posted once the window after last ends
}

// quietLocked reports whether conv has more accounts online than
// PresenceQuiet: no login or logout notices there. r.mu held.
func (r *Room) quietLocked(conv int64) bool {
	if r.cfg.PresenceQuiet < 0 {
		return false
	}
	n := len(r.elsewhere[conv])
	if c := r.convs[conv]; c != nil {
		n += len(c.online)
	}
	return n > r.cfg.PresenceQuiet
}

// postPresenceLocked posts conv's waiting notices now, if there are any.
// They were taken in while conv was not quiet: a channel that filled up
// meanwhile still tells them, in one line each. r.mu held.
func (r *Room) postPresenceLocked(conv int64, p *channelPresence, now time.Time) {
	if !p.waiting() {
		return
	}
	if len(p.joined) > 0 {
		r.noticeLocked(presenceNotice(conv, true, p.joined))
	}
	if len(p.left) > 0 {
		r.noticeLocked(presenceNotice(conv, false, p.left))
	}
	p.joined, p.left, p.last = nil, nil, now
}

// arrivingLocked posts conv's waiting notices if author's login is among
// them: called before author's post is handed in. r.mu held.
func (r *Room) arrivingLocked(conv int64, author string) {
	p := r.presence[conv]
	if p == nil || !slices.ContainsFunc(p.joined, func(n string) bool { return strings.EqualFold(n, author) }) {
		return
	}
	r.postPresenceLocked(conv, p, time.Now())
}

// postAllPresenceLocked posts every channel's waiting notices now, due or
// not: the room is closing, and the people who left before must be told.
// r.mu held.
func (r *Room) postAllPresenceLocked() {
	now := time.Now()
	for conv, p := range r.presence {
		r.postPresenceLocked(conv, p, now)
	}
}

// presenceNotice is the KindJoin (join) or KindLeave notice naming names
// (at least one) in conv: the first is its Author, the others its Body
// (see Message.Who).
func presenceNotice(conv int64, join bool, names []string) Message {
	kind := KindJoin
	if !join {
		kind = KindLeave
	}
	others := names[1:]
	body := strings.Join(others[:min(len(others), maxNamed-1)], " ")
	if more := len(others) - (maxNamed - 1); more > 0 {
		body += " +" + strconv.Itoa(more)
	}
	return Message{Conv: conv, Author: names[0], Kind: kind, Body: body}
}

// Names is who a login or logout notice (KindJoin or KindLeave without To)
// names, in the order they came, and how many more it counts without
// naming them. Its Body lists the names after the Author, separated by
// spaces (names hold none), and may end in "+N" for N more. For any other
// message it is the Author alone.
func (m Message) Names() (names []string, more int) {
	names = []string{m.Author}
	if (m.Kind != KindJoin && m.Kind != KindLeave) || m.To != "" {
		return names, 0
	}
	for _, f := range strings.Fields(m.Body) {
		if n, err := strconv.Atoi(strings.TrimPrefix(f, "+")); strings.HasPrefix(f, "+") {
			if err == nil && n > 0 {
				more += n
			}
			continue
		}
		names = append(names, f)
	}
	return names, more
}

// Who is Names as a phrase: "alice", "alice and bob", "alice, bob and
// carol", or with more than three, "alice, bob, carol and 37 others".
func (m Message) Who() string {
	names, more := m.Names()
	const shown = 3
	if len(names) > shown {
		more += len(names) - shown
		names = names[:shown]
	}
	switch {
	case more > 0:
		others := " others"
		if more == 1 {
			others = " other"
		}
		return strings.Join(names, ", ") + " and " + strconv.Itoa(more) + others
	case len(names) == 1:
		return names[0]
	default:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
}

// changedLocked records that who is online on this node in conv, or how
// one of them shows, changed (see relistLocked); the other nodes are told
// (Cluster.PresenceChanged). r.mu held.
func (r *Room) changedLocked(conv int64) {
	r.relistLocked(conv)
	if r.cfg.Cluster != nil { // this node's people changed: the others are told
		r.cfg.Cluster.PresenceChanged()
	}
}

// relistLocked records that who is online in conv changed, on this node or
// another: its shared list is built again when next read, and its sessions
// are told at the next presence tick. r.mu held.
func (r *Room) relistLocked(conv int64) {
	if c := r.convs[conv]; c != nil {
		c.list = nil
	}
	r.changed[conv] = struct{}{}
}

// restyledLocked records that how a shows (away, role) changed, in every
// conversation it is in. r.mu held.
func (r *Room) restyledLocked(a *account) {
	for conv := range a.conversations() {
		r.changedLocked(conv)
	}
}

// tickPresence posts the coalesced notices that are due (the caller then
// commits them) and returns the events that tell sessions which member
// lists changed, one per conversation, to hand out after that commit.
func (r *Room) tickPresence() []Message {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for conv, p := range r.presence {
		switch {
		case now.Sub(p.last) < r.cfg.PresenceWindow:
		case p.waiting():
			r.postPresenceLocked(conv, p, now)
		default:
			delete(r.presence, conv) // the next notice is posted at once anyway
		}
	}
	if len(r.changed) == 0 {
		return nil
	}
	stamp := r.cfg.Now().Round(0)
	events := make([]Message, 0, len(r.changed))
	for conv := range r.changed {
		events = append(events, Message{Conv: conv, Kind: KindPresence, Time: stamp})
	}
	clear(r.changed)
	slices.SortFunc(events, func(a, b Message) int { return cmp.Compare(a.Conv, b.Conv) })
	return events
}
