package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Refusal is an error whose text is written for the user who asked: a
// command that is not allowed, or a name that does not exist.
type Refusal string

func (r Refusal) Error() string { return string(r) }

// Bounds of what a member may set.
const (
	maxTopic      = 200 // runes
	maxAwayReason = 100 // runes
	maxChannels   = 200 // channels one /list shows
)

// Memberships are the conversations the member's account was in when it
// joined, with their read pointers and unread counts: what a screen lists
// at the start. Read-only.
func (m *Member) Memberships() []Membership { return m.memberships }

// In reports whether the member's account is in conversation conv now.
func (m *Member) In(conv int64) bool { return m.acct.in(conv) }

// Room is the room the member joined.
func (m *Member) Room() *Room { return m.room }

// Conversation looks up a conversation the member may know of: one its
// account is in, a public channel, or an invite-only channel it is invited
// to (an invitation names it); ErrNoConversation otherwise, as for an ID
// that does not exist.
func (m *Member) Conversation(ctx context.Context, id int64) (Conversation, error) {
	c, err := m.room.dir.Conversation(ctx, id)
	if err != nil {
		return Conversation{}, err
	}
	switch {
	case m.acct.in(id), c.Kind == Channel && !c.Private:
		return c, nil
	case c.Kind == Channel:
		invited, err := m.room.dir.Invited(ctx, id, m.name)
		if err != nil {
			return Conversation{}, err
		}
		if invited {
			return c, nil
		}
	}
	return Conversation{}, ErrNoConversation
}

// Recent returns the last HistorySize messages of conversation conv that
// the member sees, oldest first: posts by accounts it ignores are left out.
// See Room.Join for how to combine it with Receive. ErrNoConversation if
// the member's account is not in conv; after the member ended, ErrLeft or
// ErrRoomClosed.
func (m *Member) Recent(ctx context.Context, conv int64) ([]Message, error) {
	return m.before(ctx, conv, 0, m.room.cfg.HistorySize)
}

// Older returns up to limit messages of conv with ID < before, oldest
// first: a page of history above what the caller shows. limit <= 0 means
// HistorySize; it is capped at 500. Posts by accounts the member ignores
// are left out (a page may then hold fewer than limit).
func (m *Member) Older(ctx context.Context, conv, before int64, limit int) ([]Message, error) {
	if limit <= 0 {
		limit = m.room.cfg.HistorySize
	}
	return m.before(ctx, conv, before, min(limit, maxOlder))
}

func (m *Member) before(ctx context.Context, conv, before int64, limit int) ([]Message, error) {
	select {
	case <-m.room.quit:
		return nil, ErrRoomClosed
	default:
	}
	// A member that has ended may hold a stale account (a later session
	// has its own): it reads nothing more.
	if err := m.gone(); err != nil {
		return nil, err
	}
	// Only a member reads a conversation's history: a direct one, or an
	// invite-only channel, is never shown to anyone else.
	if !m.acct.in(conv) {
		return nil, ErrNoConversation
	}
	msgs, err := m.room.history.Before(ctx, conv, before, limit)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return slices.DeleteFunc(msgs, func(msg Message) bool { return msg.Conv != conv || m.acct.ignoring(&msg) }), nil
}

// MarkRead records that the member has seen conv up to message id. It is
// stored within 5 seconds, and before the account's next session starts.
func (m *Member) MarkRead(conv, id int64) {
	if id <= 0 || !m.acct.in(conv) {
		return
	}
	r := m.room
	r.mu.Lock()
	r.books.read(m.name, conv, id)
	r.mu.Unlock()
}

// JoinChannel joins the channel name ("#name"), creating it, owned by the
// member's account, if it does not exist. An invite-only channel takes
// only its owner, its members and those invited; to anyone else it is "not
// available", as a name taken, and nothing more is said of it. Joining a
// channel the account is in already just returns it. Past
// ChannelsPerAccount or MaxChannels, a Refusal; past the person's flood
// limit, a *SlowDownError; after the member ended, ErrLeft or
// ErrRoomClosed.
func (m *Member) JoinChannel(ctx context.Context, name string) (Conversation, error) {
	name, err := ChannelName(name)
	if err != nil {
		return Conversation{}, Refusal(strings.ToUpper(err.Error()[:1]) + err.Error()[1:] + ".")
	}
	if err := m.gone(); err != nil {
		return Conversation{}, err
	}
	r := m.room
	unlock, err := r.lockChanges(ctx)
	if err != nil {
		return Conversation{}, err
	}
	defer unlock()
	c, err := r.dir.Channel(ctx, name)
	charged, created := false, false
	if errors.Is(err, ErrNoConversation) {
		if limit := r.cfg.ChannelsPerAccount; limit > 0 && m.acct.channels() >= limit {
			return Conversation{}, tooManyOfYours(limit)
		}
		if err := r.allow(m.name); err != nil {
			return Conversation{}, err
		}
		charged = true
		c, err = r.dir.CreateChannel(ctx, Conversation{Kind: Channel, Name: name, Owner: m.name}, r.cfg.MaxChannels)
		created = err == nil
		if errors.Is(err, ErrChannelExists) { // created meanwhile (by another node)
			c, err = r.dir.Channel(ctx, name)
		}
	}
	switch {
	case errors.Is(err, ErrTooManyChannels):
		return Conversation{}, Refusal(fmt.Sprintf("Cannot create %s: the server has its limit of %d channels. Join one from /list.", name, r.cfg.MaxChannels))
	case err != nil:
		return Conversation{}, err
	}
	if m.acct.in(c.ID) {
		return c, nil
	}
	if c.Private && !c.IsOwner(m.name) {
		member, err := r.dir.IsMember(ctx, c.ID, m.name)
		if err != nil {
			return Conversation{}, err
		}
		invited, err := r.dir.Invited(ctx, c.ID, m.name)
		if err != nil {
			return Conversation{}, err
		}
		if !member && !invited {
			return Conversation{}, Refusal(fmt.Sprintf("Cannot join %s: that name is not available.", name))
		}
	}
	if !charged {
		if err := r.allow(m.name); err != nil {
			return Conversation{}, err
		}
	}
	if !created { // CreateChannel made the owner a member
		err = r.dir.AddMember(ctx, c.ID, m.name, r.cfg.ChannelsPerAccount)
		if errors.Is(err, ErrTooManyChannels) {
			return Conversation{}, tooManyOfYours(r.cfg.ChannelsPerAccount)
		}
		if err != nil {
			return Conversation{}, err
		}
	}
	r.changedAccount(m.name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !m.present { // left meanwhile: its next session loads the membership
		return Conversation{}, ErrLeft
	}
	r.enterLocked(m.acct, c.ID, Channel)
	// Addressed to the joiner: a join of the channel, not a login.
	r.noticeLocked(Message{Conv: c.ID, Author: m.name, Kind: KindJoin, To: m.name})
	return c, nil
}

func tooManyOfYours(limit int) Refusal {
	return Refusal(fmt.Sprintf("You are in %d channels, the most one account may be in: /part one first.", limit))
}

// Part leaves the channel conv (never #lobby): its members and the
// account's other sessions get a KindLeave notice addressed To the account
// (so that those sessions drop it too). A direct conversation cannot be
// left (a Refusal): what the other wrote there afterwards would reach
// nobody. After Part returns, nothing more of
// conv reaches the account's sessions, except what their workers had taken
// already. ErrNoConversation if the account is not in conv.
func (m *Member) Part(ctx context.Context, conv int64) error {
	r := m.room
	if conv == r.lobby.ID {
		return Refusal("You cannot leave " + Lobby + ": it is where everyone is.")
	}
	if err := m.gone(); err != nil {
		return err
	}
	unlock, err := r.lockChanges(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	kind, ok := m.acct.conversations()[conv]
	if !ok {
		return ErrNoConversation
	}
	if kind == Direct {
		// Leaving it would lose what the other then writes there, unseen
		// by both: it stays, silent while not shown.
		return Refusal("A direct conversation stays in your list: switch away from it, or /ignore the person to stop hearing from them.")
	}
	if err := r.allow(m.name); err != nil {
		return err
	}
	if err := r.dir.RemoveMember(ctx, conv, m.name); err != nil {
		return err
	}
	r.changedAccount(m.name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !m.present { // left meanwhile: its leave notices went out
		return ErrLeft
	}
	r.exitLocked(m.acct, conv)
	r.noticeLocked(Message{Conv: conv, Author: m.name, Kind: KindLeave, To: m.name})
	return nil
}

// Channels lists the channels the member may join: the public ones, and
// the invite-only ones its account is in or invited to.
func (m *Member) Channels(ctx context.Context) ([]ChannelInfo, error) {
	return m.room.dir.Channels(ctx, m.name, maxChannels)
}

// owned returns the channel conv if the member's account owns it, or a
// Refusal saying who may do what.
// what names the change for the refusals: "the topic", "who may join",
// "invitations".
func (m *Member) owned(ctx context.Context, conv int64, what string) (Conversation, error) {
	if err := m.gone(); err != nil {
		return Conversation{}, err
	}
	if !m.acct.in(conv) {
		return Conversation{}, ErrNoConversation
	}
	c, err := m.room.dir.Conversation(ctx, conv)
	if err != nil {
		return Conversation{}, err
	}
	switch {
	case c.Kind != Channel:
		return Conversation{}, Refusal("A direct conversation is between its two people: only a channel's owner changes " + what + ".")
	case c.Name == Lobby:
		return Conversation{}, Refusal(Lobby + " is everyone's: nobody changes " + what + " there.")
	case !c.IsOwner(m.name):
		return Conversation{}, Refusal(fmt.Sprintf("Only %s's owner, %s, changes %s there.", c.Name, c.Owner, what))
	}
	return c, nil
}

// SetTopic sets a channel's topic; only its owner may. Everyone in it gets
// a KindTopic notice. Past the person's flood limit, a *SlowDownError.
func (m *Member) SetTopic(ctx context.Context, conv int64, topic string) (Conversation, error) {
	// The changes lock makes the read and the write of the channel one
	// step: SetChannel stores Private too, which a SetPrivate between them
	// would see undone.
	unlock, err := m.room.lockChanges(ctx)
	if err != nil {
		return Conversation{}, err
	}
	defer unlock()
	c, err := m.owned(ctx, conv, "the topic")
	if err != nil {
		return c, err
	}
	c.Topic = clean(topic, maxTopic)
	if n := len([]rune(c.Topic)); n > maxTopic {
		return c, Refusal(fmt.Sprintf("The topic is %d characters long; the limit is %d.", n, maxTopic))
	}
	if err := m.room.allow(m.name); err != nil {
		return c, err
	}
	if err := m.room.dir.SetChannel(ctx, c); err != nil {
		return c, err
	}
	m.room.notice(Message{Conv: conv, Author: m.name, Kind: KindTopic, Body: c.Topic})
	return c, nil
}

// SetPrivate makes a channel invite-only or public; only its owner may.
// Its members are told. Past the person's flood limit, a *SlowDownError.
func (m *Member) SetPrivate(ctx context.Context, conv int64, private bool) (Conversation, error) {
	unlock, err := m.room.lockChanges(ctx) // as in SetTopic
	if err != nil {
		return Conversation{}, err
	}
	defer unlock()
	c, err := m.owned(ctx, conv, "who may join")
	if err != nil || c.Private == private {
		return c, err
	}
	if err := m.room.allow(m.name); err != nil {
		return c, err
	}
	c.Private = private
	if err := m.room.dir.SetChannel(ctx, c); err != nil {
		return c, err
	}
	text := c.Name + " is public now: anyone may /join it."
	if private {
		text = c.Name + " is invite-only now: its members stay, and only those its owner invites may join."
	}
	m.room.notice(Message{Conv: conv, Author: m.name, Kind: KindSystem, Body: text})
	return c, nil
}

// Invite lets name join the channel conv (its owner only); name, and the
// channel's members, are told by a KindSystem notice addressed To name.
// Past the person's flood limit, a *SlowDownError.
func (m *Member) Invite(ctx context.Context, conv int64, name string) error {
	c, err := m.owned(ctx, conv, "invitations")
	if err != nil {
		return err
	}
	p, err := m.profile(ctx, name)
	if err != nil {
		return err
	}
	if foldName(p.Name) == foldName(m.name) {
		return Refusal("That is you: you own " + c.Name + ".")
	}
	switch member, err := m.room.dir.IsMember(ctx, conv, p.Name); {
	case err != nil:
		return err
	case member:
		return Refusal(p.Name + " is in " + c.Name + " already.")
	}
	if err := m.room.allow(m.name); err != nil {
		return err
	}
	if err := m.room.dir.SetInvited(ctx, conv, p.Name, true); err != nil {
		return err
	}
	m.room.notice(Message{Conv: conv, Author: m.name, Kind: KindSystem, To: p.Name,
		Body: fmt.Sprintf("%s invited %s to %s: /join %s", m.name, p.Name, c.Name, c.Name)})
	return nil
}

// Uninvite takes back name's invitation to the invite-only channel conv
// (its owner only) and removes name from it: after Uninvite returns,
// nothing more of conv reaches name, whose sessions get a KindLeave notice
// addressed To it (the channel's members see it too). Past the person's
// flood limit, a *SlowDownError.
func (m *Member) Uninvite(ctx context.Context, conv int64, name string) error {
	c, err := m.owned(ctx, conv, "invitations")
	if err != nil {
		return err
	}
	if !c.Private {
		return Refusal(c.Name + " is public: anyone may join it. Make it invite-only first with /private.")
	}
	p, err := m.profile(ctx, name)
	if err != nil {
		return err
	}
	if foldName(p.Name) == foldName(m.name) {
		return Refusal("You own " + c.Name + ": use /part to leave it.")
	}
	r := m.room
	invited, err := r.dir.Invited(ctx, conv, p.Name)
	if err != nil {
		return err
	}
	member, err := r.dir.IsMember(ctx, conv, p.Name)
	if err != nil {
		return err
	}
	if !invited && !member {
		return Refusal(p.Name + " is neither invited to " + c.Name + " nor in it.")
	}
	if err := r.allow(m.name); err != nil {
		return err
	}
	unlock, err := r.lockChanges(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.dir.SetInvited(ctx, conv, p.Name, false); err != nil {
		return err
	}
	// Asked again under the changes lock: the answer above may be old.
	member, err = r.dir.IsMember(ctx, conv, p.Name)
	if err != nil || !member {
		return err
	}
	if err := r.dir.RemoveMember(ctx, conv, p.Name); err != nil {
		return err
	}
	r.changedAccount(p.Name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.accounts[foldName(p.Name)]; a != nil {
		r.exitLocked(a, conv)
	}
	r.noticeLocked(Message{Conv: conv, Author: p.Name, Kind: KindLeave, To: p.Name, Body: "removed by " + m.name})
	return nil
}

// profile finds an account by name, as a Refusal the user can read when
// there is none.
func (m *Member) profile(ctx context.Context, name string) (Profile, error) {
	p, err := m.room.dir.Profile(ctx, name)
	if errors.Is(err, ErrNoAccount) {
		return p, Refusal(fmt.Sprintf("Nobody is called %s.", Sanitize(name, 30)))
	}
	return p, err
}

// Direct opens (or finds) the direct conversation with the account name,
// for both of them (again, if either had left it): from now on both
// receive its messages, the one offline when it next joins.
func (m *Member) Direct(ctx context.Context, name string) (Conversation, error) {
	if err := m.gone(); err != nil {
		return Conversation{}, err
	}
	p, err := m.profile(ctx, name)
	if err != nil {
		return Conversation{}, err
	}
	if foldName(p.Name) == foldName(m.name) {
		return Conversation{}, Refusal("That is you: write to someone else.")
	}
	r := m.room
	unlock, err := r.lockChanges(ctx)
	if err != nil {
		return Conversation{}, err
	}
	defer unlock()
	c, err := r.dir.Direct(ctx, m.name, p.Name)
	if err != nil {
		return Conversation{}, err
	}
	for _, peer := range c.Peers {
		r.changedAccount(peer)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, peer := range c.Peers {
		if a := r.accounts[foldName(peer)]; a != nil {
			r.enterLocked(a, c.ID, Direct)
		}
		r.enterElsewhereLocked(foldName(peer), c.ID)
	}
	return c, nil
}

// SetAway marks the account away with reason (possibly empty) and tells
// its channels; posting again, or Back, ends it. Past the person's flood
// limit the status changes quietly, without notices.
func (m *Member) SetAway(reason string) {
	if m.room.muted(m.name) != nil {
		reason = "" // a muted account's words reach nobody, away reasons included
	}
	reason = clean(reason, maxAwayReason)
	if r := []rune(reason); len(r) > maxAwayReason {
		reason = string(r[:maxAwayReason])
	}
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if !m.present || m.hidden { // a hidden member has no presence to change
		return
	}
	a := m.acct
	a.away, a.isAway = reason, true
	r.restyledLocked(a)
	if r.allow(m.name) == nil {
		r.noticeChannelsLocked(a, Message{Author: a.name, Kind: KindAway, Body: reason})
	}
}

// Back ends the account's away status, if it was away, and tells its
// channels. Past the person's flood limit it comes back quietly.
func (m *Member) Back() { m.back(true) }

// back is Back; a post brings its author back without costing a second
// message of the flood limit (charge false).
func (m *Member) back(charge bool) {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	a := m.acct
	if !m.present || m.hidden || !a.isAway {
		return
	}
	a.away, a.isAway = "", false
	r.restyledLocked(a)
	if !charge || r.allow(m.name) == nil {
		r.noticeChannelsLocked(a, Message{Author: a.name, Kind: KindBack})
	}
}

// noticeChannelsLocked posts msg in each of a's channels. r.mu held.
func (r *Room) noticeChannelsLocked(a *account, msg Message) {
	for conv, kind := range a.conversations() {
		if kind == Channel {
			msg.Conv = conv
			r.noticeLocked(msg)
		}
	}
}

// notice queues a notice for the sequencer.
func (r *Room) notice(msg Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noticeLocked(msg)
}

// Whois is what /whois shows of an account.
type Whois struct {
	Profile
	Online   bool
	Presence Presence // when Online
	Common   []string // channels both are in, by name
	Role     Role     // as Moderation holds it (RoleMember without one)
}

// Whois describes the account name to the member: when it signed up,
// whether it is online (since when, away or not) or when it was last
// seen, and the channels both are in (only those: it says nothing of
// channels the member is not in).
func (m *Member) Whois(ctx context.Context, name string) (Whois, error) {
	p, err := m.profile(ctx, name)
	if err != nil {
		return Whois{}, err
	}
	w := Whois{Profile: p}
	w.Presence, w.Online = m.room.Presence(p.Name)
	w.Role = w.Presence.Role
	if mod := m.room.cfg.Moderation; mod != nil {
		if w.Role, err = mod.Role(ctx, p.Name); err != nil {
			return w, err
		}
	}
	m.room.mu.Lock()
	if s, ok := m.room.books.last[foldName(p.Name)]; ok && !w.Online {
		w.LastSeen = s.at // not stored yet
	}
	m.room.mu.Unlock()
	theirs, err := m.room.dir.Memberships(ctx, p.Name)
	if err != nil {
		return w, err
	}
	for _, ms := range theirs {
		if ms.Conv.Kind == Channel && m.acct.in(ms.Conv.ID) {
			w.Common = append(w.Common, ms.Conv.Name)
		}
	}
	return w, nil
}

// Ignore hides name's posts and direct messages from the member's account
// everywhere, or shows them again (ignored false). It is stored.
func (m *Member) Ignore(ctx context.Context, name string, ignored bool) (string, error) {
	if err := m.gone(); err != nil {
		return "", err
	}
	p, err := m.profile(ctx, name)
	if err != nil {
		return "", err
	}
	if foldName(p.Name) == foldName(m.name) {
		return "", Refusal("You cannot ignore yourself.")
	}
	r := m.room
	unlock, err := r.lockChanges(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	if (*m.acct.ignores.Load())[foldName(p.Name)] == ignored {
		if ignored {
			return "", Refusal("You ignore " + p.Name + " already.")
		}
		return "", Refusal("You do not ignore " + p.Name + ".")
	}
	if err := r.dir.SetIgnored(ctx, m.name, p.Name, ignored); err != nil {
		return "", err
	}
	r.changedAccount(m.name)
	r.mu.Lock()
	// The account online now, which is m's unless m has left.
	if a := r.accounts[foldName(m.name)]; a != nil {
		a.setIgnored(p.Name, ignored)
	}
	r.mu.Unlock()
	return p.Name, nil
}

// Ignored lists whom the member's account ignores.
func (m *Member) Ignored(ctx context.Context) ([]string, error) {
	return m.room.dir.Ignored(ctx, m.name)
}

// Since says how long ago t was, in words: "5 minutes ago".
func Since(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
