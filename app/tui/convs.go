package tui

import (
	"cmp"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"messaging/chat"
)

// What the conversations not shown keep in memory, and what opening one
// loads.
const (
	// hiddenEntries is the most entries a conversation keeps while another
	// is shown: enough to show it again at once. Scrolling back past them
	// fetches them again.
	hiddenEntries = 200
	// maxLogs is the most conversations whose log is kept, #lobby's and
	// the shown one's included: past it, the least recently shown lets
	// its log go and loads its history again when shown.
	maxLogs = 8
	// maxHeld bounds the deliveries held for a conversation being looked
	// up (held only to count them).
	maxHeld = 100
	// maxFirstPage bounds the first page of a conversation opened with
	// many messages unread (chat caps a page at 500).
	maxFirstPage = 500
	// unreadContext is how many messages before the first unread one the
	// first page also brings, when the unread ones are many.
	unreadContext = 20
)

// conv is one conversation of the user's list, as this session shows it.
type conv struct {
	chat.Conversation
	title  string   // as the user sees it named: "#go", "@bob"; sanitised
	log    *logView // nil until first shown, and after it was let go (maxLogs)
	unread int      // posts by others the user has not seen
	marked bool     // one of them names the user, or is a direct message
	readTo int64    // the newest message marked read (Member.MarkRead)
	shown  uint64   // when it was last shown, by convList.clock
}

// convList is the user's conversations in the order the list shows them:
// #lobby, the other channels by name, then the direct ones, each new one
// last (a number key keeps meaning the same conversation).
type convList struct {
	all   []*conv
	byID  map[int64]*conv
	lobby *conv
	clock uint64 // counts the conversations shown
	// finding holds the deliveries for conversations being looked up (a
	// direct one someone just opened, a channel joined in another
	// session), to count them once the conversation is known.
	finding map[int64][]chat.Message
}

// newConvList lists the conversations me was in when the session joined,
// #lobby first whatever the memberships say.
func newConvList(lobby chat.Conversation, memberships []chat.Membership, me string) convList {
	l := convList{byID: make(map[int64]*conv, len(memberships)+1), finding: map[int64][]chat.Message{}}
	l.lobby = l.add(lobby, me)
	for _, ms := range memberships {
		c := l.add(ms.Conv, me)
		c.readTo, c.unread = ms.LastRead, ms.Unread
		c.marked = c.Kind == chat.Direct && c.unread > 0
	}
	return l
}

// add puts c in its place in the list, or updates it if it is there.
func (l *convList) add(c chat.Conversation, me string) *conv {
	if known := l.byID[c.ID]; known != nil {
		known.Conversation = c
		return known
	}
	item := &conv{Conversation: c, title: chat.Sanitize(c.Title(me), 64)}
	at := len(l.all)
	if c.Kind == chat.Channel {
		at = 0
		for at < len(l.all) && l.all[at].Kind == chat.Channel && (l.all[at] == l.lobby || l.all[at].Name < c.Name) {
			at++
		}
	}
	l.all = slices.Insert(l.all, at, item)
	l.byID[c.ID] = item
	return item
}

func (l *convList) remove(c *conv) {
	l.all = slices.DeleteFunc(l.all, func(x *conv) bool { return x == c })
	delete(l.byID, c.ID)
}

// step is the conversation n places from c in the list, going round.
func (l *convList) step(c *conv, n int) *conv {
	i := slices.Index(l.all, c)
	return l.all[((i+n)%len(l.all)+len(l.all))%len(l.all)]
}

// show makes c the conversation on screen. The one shown before keeps a
// bounded log and counts what arrives from now on; c opens at its first
// unread message (see logView.open). A conversation shown for the first
// time, or again after it let its log go, loads its history in the
// returned command.
func (m *Model) show(c *conv) tea.Cmd {
	if c == m.cur {
		return nil
	}
	if m.cur != nil {
		m.hide(m.cur)
	}
	m.convs.clock++
	c.shown = m.convs.clock
	since, unread := c.readTo, c.unread
	c.unread, c.marked = 0, false
	m.cur = c
	var cmd tea.Cmd
	if c.log == nil {
		l := newLogView(m.st, m.me, m.lines, false)
		l.loading = true // the first page: the latest messages
		c.log = &l
		cmd = m.fetch(c, 0, max(m.historyLen, min(unread+unreadContext, maxFirstPage)))
		m.letGo()
	}
	c.log.keep(maxEntries)
	m.log = c.log
	m.log.open(m.logWidth(), m.wrapWidth(), m.logHeight(), since, unread > 0)
	m.redraw(allParts)
	return cmd
}

// hide keeps what a conversation needs while another is shown: a short
// log, and the count of what the user has not seen of it.
func (m *Model) hide(c *conv) {
	c.count()
	c.log.keep(hiddenEntries)
	c.log.follow()
}

// count counts c's unread posts again from its log, which holds the
// latest ones.
func (c *conv) count() {
	c.unread, c.marked = c.log.unreadAfter(c.readTo)
	c.marked = c.marked || (c.Kind == chat.Direct && c.unread > 0)
}

// letGo drops the logs of the least recently shown conversations past
// maxLogs. #lobby keeps its log: it is where a removed user lands.
func (m *Model) letGo() {
	var kept []*conv
	for _, c := range m.convs.all {
		if c.log != nil && c != m.cur && c != m.convs.lobby {
			kept = append(kept, c)
		}
	}
	always := 1 // #lobby's
	if m.cur != m.convs.lobby {
		always++
	}
	if excess := len(kept) + always - maxLogs; excess > 0 {
		slices.SortFunc(kept, func(a, b *conv) int { return cmp.Compare(a.shown, b.shown) })
		for _, c := range kept[:excess] {
			c.log = nil
		}
	}
}

// fetch loads up to limit messages of c before message before (0: the
// latest), for its log.
func (m *Model) fetch(c *conv, before int64, limit int) tea.Cmd {
	member, ctx, id := m.member, m.ctx, c.ID
	return func() tea.Msg {
		msgs, err := member.Older(ctx, id, before, limit)
		return olderMsg{conv: id, first: before <= 0, limit: limit, msgs: msgs, err: err}
	}
}

// loaded takes a page fetch brought. A conversation's first page opens it
// at its first unread message if it is shown, and else counts what it
// holds unread (the user switched away before it came).
func (m *Model) loaded(msg olderMsg) {
	c := m.convs.byID[msg.conv]
	if c == nil || c.log == nil { // left, or its log let go meanwhile
		return
	}
	c.log.loaded(msg.msgs, msg.limit, msg.err)
	switch {
	case !msg.first || msg.err != nil:
	case c == m.cur:
		c.log.toUnread()
	default:
		c.count()
		m.refreshChrome(listPart)
	}
}

// showConversation is Session.Show: c, perhaps new to the list (just
// joined or opened), or changed (its topic), becomes the one shown.
func (m *Model) showConversation(c chat.Conversation) tea.Cmd {
	item := m.convs.add(c, m.me)
	if item == m.cur {
		m.refreshChrome(allParts)
		return nil
	}
	return m.show(item)
}

// forget drops conversation id from the list (it was left); #lobby is
// shown if it was.
func (m *Model) forget(id int64) tea.Cmd {
	c := m.convs.byID[id]
	if c == nil || c == m.convs.lobby {
		return nil
	}
	m.convs.remove(c)
	if m.jump.active { // not a match any more
		m.jump.match(m.convs.all, m.cur)
	}
	if c != m.cur {
		m.refreshChrome(listPart)
		return nil
	}
	return m.show(m.convs.lobby)
}

// received takes a delivery: each message goes to its conversation, which
// shows it if it is on screen, and else counts it (and keeps it in its log
// if it has one). Messages for a conversation not in the list are held
// while the returned command looks it up.
func (m *Model) received(msgs []chat.Message) tea.Cmd {
	var cmds []tea.Cmd
	var parts part
	for _, msg := range msgs {
		if msg.Kind == chat.KindPresence { // who is online changed
			if msg.Conv == m.cur.ID {
				parts |= membersPart
			}
			continue
		}
		if handled, cmd := m.addressed(msg); handled {
			cmds = append(cmds, cmd)
			continue
		}
		c := m.convs.byID[msg.Conv]
		if c == nil {
			cmds = append(cmds, m.find(msg))
			continue
		}
		parts |= m.deliverTo(c, msg)
	}
	m.redraw(parts)
	return tea.Batch(cmds...)
}

// deliverTo adds msg to c and says what of the chrome it changed. A
// mention, and a direct message from someone else, ring the bell.
func (m *Model) deliverTo(c *conv, msg chat.Message) (changed part) {
	byOther := !strings.EqualFold(msg.Author, m.me)
	added, mentioned := true, false
	if c.log != nil {
		added, mentioned = c.log.push(msg, true)
	} else if isPost(msg) && byOther {
		mentioned = mentions(msg.Body, m.me)
	}
	if !added { // a duplicate
		return 0
	}
	private := c.Kind == chat.Direct && isPost(msg) && byOther
	if private {
		m.lastPrivate = msg.Author
	}
	m.bell = m.bell || mentioned || private
	if c != m.cur && isPost(msg) && byOther {
		c.unread++
		c.marked = c.marked || mentioned || private
		changed |= listPart
	}
	if isPresence(msg) && (c == m.cur || m.cur.Kind == chat.Direct && strings.EqualFold(msg.Author, m.cur.Peer(m.me))) {
		// Presence is told in channels only: a direct conversation's
		// column follows its peer's notices wherever they arrive.
		changed |= membersPart
	}
	if msg.Kind == chat.KindTopic {
		c.Topic = msg.Body
		if c == m.cur {
			changed |= headerPart
		}
	}
	return changed
}

func isPresence(msg chat.Message) bool {
	switch msg.Kind {
	case chat.KindJoin, chat.KindLeave, chat.KindAway, chat.KindBack, chat.KindRole:
		return true
	}
	return false
}

// addressed handles a message addressed to the user in a conversation
// they are not in: they left it, in another session, or were removed
// (KindLeave), or were invited to it (KindSystem). It reports whether msg
// was one.
func (m *Model) addressed(msg chat.Message) (handled bool, cmd tea.Cmd) {
	if msg.To == "" || !strings.EqualFold(msg.To, m.me) || m.member.In(msg.Conv) {
		return false, nil
	}
	switch msg.Kind {
	case chat.KindLeave:
		c := m.convs.byID[msg.Conv]
		if c == nil { // this session left it, and said so
			return true, nil
		}
		cmd = m.forget(c.ID)
		if by, ok := strings.CutPrefix(msg.Body, "removed by "); ok {
			m.notice("You were removed from " + c.title + " by " + by + ".")
		} else {
			m.notice("You left " + c.title + ".")
		}
	case chat.KindSystem: // an invitation
		m.notice(msg.Body)
	}
	return true, cmd
}

// find holds msg, for a conversation not in the list, and looks the
// conversation up unless that is under way.
func (m *Model) find(msg chat.Message) tea.Cmd {
	held, finding := m.convs.finding[msg.Conv]
	if len(held) < maxHeld {
		held = append(held, msg)
	}
	m.convs.finding[msg.Conv] = held
	if finding {
		return nil
	}
	member, ctx, id := m.member, m.ctx, msg.Conv
	return func() tea.Msg {
		c, err := member.Conversation(ctx, id)
		return foundMsg{id: id, conv: c, err: err}
	}
}

// found adds a conversation looked up to the list, with the messages held
// for it. One the user is no longer in, or that could not be found, is
// dropped with them: the next message for it looks it up again.
func (m *Model) found(f foundMsg) {
	held := m.convs.finding[f.id]
	delete(m.convs.finding, f.id)
	if f.err != nil || !m.member.In(f.id) {
		return
	}
	c := m.convs.add(f.conv, m.me)
	parts := listPart
	for _, msg := range held {
		parts |= m.deliverTo(c, msg)
	}
	m.redraw(parts)
}

// markRead tells the room the user has seen the shown conversation up to
// its newest message, once that is on screen.
func (m *Model) markRead() {
	c := m.cur
	if l := c.log; l.scroll == 0 && l.lastID > c.readTo {
		c.readTo = l.lastID
		m.member.MarkRead(c.ID, l.lastID)
	}
}

// redraw rebuilds the parts of the chrome that changed, reading who is
// online in the shown conversation first if its members did.
func (m *Model) redraw(parts part) {
	if parts&membersPart != 0 {
		m.online = m.room.Online(m.cur.ID)
	}
	m.refreshChrome(parts)
}
