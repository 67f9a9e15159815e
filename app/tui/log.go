package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// logView is one conversation as one session shows it: the entries (room
// messages and local notices), the same wrapped to the log's width as
// styled lines, ready to draw, and how far the view is scrolled back. It
// knows neither the room nor the program: scrollBy says when an older page
// is wanted, its caller fetches it and hands it to loaded.
//
// A conversation opened with messages unread shows a "new since" line
// above the first of them (see open).
//
// Lines already in lines are never changed in place (new ones are
// appended, a reflow or a replaced notice makes a new array): the last
// frame drawn may still hold them (see rows).
type logView struct {
	st     *styles
	me     string     // this session's user: their messages, and those naming them, look different
	shared *LineCache // renderings shared with other sessions; may be nil

	width  int // cells the log takes; the scrolled-back marker fits in it
	wrap   int // cells its lines are wrapped to
	height int // rows in view

	entries    []entry
	lines      []line // entries wrapped to wrap cells, with their day lines and a marker at the head
	head       int    // marker lines above the oldest entry (0 or 1)
	lastLineID uint64 // the newest line's id

	lastID   int64 // newest room message shown; older arrivals are duplicates
	oldestID int64 // oldest room message loaded
	loading  bool  // an older page is on its way
	atStart  bool  // the whole history is loaded
	limit    int   // most entries kept: fewer while the conversation is not shown

	// The "new since" line heads the first post by someone else after
	// since, while marking; unreadLine is its index in lines (-1: none).
	since      int64
	marking    bool
	unreadLine int

	scroll int  // lines scrolled up from the bottom; 0 follows new lines
	toTop  bool // the user asked for the top (Home)
	unseen int  // messages that arrived below while scrolled up
}

// newLogView returns an empty log for me; atStart says there is no older
// history to fetch.
func newLogView(st *styles, me string, shared *LineCache, atStart bool) logView {
	return logView{st: st, me: me, shared: shared, atStart: atStart, limit: maxEntries, unreadLine: -1}
}

// resize fits the log to width cells (its lines wrapped to wrap) and
// height rows, re-wrapping it if wrap changed.
func (l *logView) resize(width, wrap, height int) {
	l.width, l.height = width, height
	if wrap != l.wrap {
		l.wrap = wrap
		l.reflow()
	}
	l.scroll = min(l.scroll, l.top())
}

// append adds room messages in order, skipping any already shown. For live
// messages (not history) it reports whether one of them mentions me and
// whether someone joined or left.
func (l *logView) append(msgs []chat.Message, live bool) (mentioned, membersChanged bool) {
	for _, msg := range msgs {
		added, named := l.push(msg, live)
		mentioned = mentioned || named
		membersChanged = membersChanged || (added && (msg.Kind == chat.KindJoin || msg.Kind == chat.KindLeave))
	}
	return mentioned && live, membersChanged && live
}

// push adds one room message, unless it is shown already (added false),
// and reports whether it names me.
func (l *logView) push(msg chat.Message, live bool) (added, mentioned bool) {
	if msg.ID != 0 && msg.ID <= l.lastID {
		return false, false
	}
	l.lastID = max(l.lastID, msg.ID)
	if l.oldestID == 0 {
		l.oldestID = msg.ID
	}
	if msg.Kind == chat.KindPurge {
		l.purge(msg)
	}
	e := l.entry(msg)
	l.add(e)
	if live && l.scroll > 0 {
		l.unseen++
	}
	return true, e.mention
}

// entry is a room message as the log keeps it. A conversation's events
// that say more than a name are kept as the sentence the log shows.
func (l *logView) entry(msg chat.Message) entry {
	event := msg.Kind
	if text, ok := eventText(msg); ok {
		msg.Kind, msg.Body = chat.KindSystem, text
	}
	if msg.Removed && isPost(msg) {
		msg.Body = "" // what shows is removedText, whatever a store kept
	}
	e := entry{msg: msg, event: event}
	if isPost(msg) && !msg.Removed {
		e.mention = !strings.EqualFold(msg.Author, l.me) && mentions(msg.Body, l.me)
	}
	return e
}

// eventText is what a topic, away, back, removal or channel join or part
// notice says, as one sentence (ok false for the messages drawn otherwise:
// logins and logouts, "→ bob joined" and "← bob left"). The name is
// sanitised with the rest when the line is drawn.
func eventText(msg chat.Message) (text string, ok bool) {
	switch msg.Kind {
	case chat.KindTopic:
		switch {
		case msg.Removed:
			return msg.Author + " set the topic: " + removedText, true
		case msg.Body == "":
			return msg.Author + " cleared the topic", true
		}
		return msg.Author + " set the topic: " + msg.Body, true
	case chat.KindAway:
		if msg.Body == "" {
			return msg.Author + " is away", true
		}
		return msg.Author + " is away: " + msg.Body, true
	case chat.KindBack:
		return msg.Author + " is back", true
	case chat.KindPurge:
		return purgeText(msg), true
	case chat.KindRole:
		return msg.Body, true
	case chat.KindLeave:
		switch {
		case msg.To != "" && msg.Body != "":
			return "← " + msg.Author + " left (" + msg.Body + ")", true
		case strings.EqualFold(msg.To, msg.Author): // /part, not a logout
			return "← " + msg.Author + " left the channel", true
		}
	case chat.KindJoin:
		if strings.EqualFold(msg.To, msg.Author) { // /join, not a login
			return "→ " + msg.Author + " joined the channel", true
		}
	}
	return "", false
}

// purgeText is what a purge says: "bob's messages since 14:05 were removed
// by a moderator (carol)", with the day when it is not the purge's.
func purgeText(msg chat.Message) string {
	since := msg.Since.Format("15:04")
	if !sameDay(msg.Since, msg.Time.In(msg.Since.Location())) {
		since = msg.Since.Format("Mon 2 Jan 15:04")
	}
	text := msg.Author + "'s messages since " + since + " were removed by a moderator"
	if msg.Body != "" {
		text += " (" + msg.Body + ")"
	}
	return text
}

// purge marks as removed the posts the log holds that p, a KindPurge,
// removes: its Author's, with a Time at or after its Since and an ID below
// its own (the log is of p's conversation). The log is drawn again if any
// was: their lines are replaced, never changed in place.
func (l *logView) purge(p chat.Message) {
	changed := false
	for i := range l.entries {
		e := &l.entries[i]
		purgeable := isPost(e.msg) || e.event == chat.KindAway || e.event == chat.KindTopic // as the store's Purge
		if e.local || e.msg.Removed || !purgeable || e.msg.ID == 0 || e.msg.ID >= p.ID ||
			!strings.EqualFold(e.msg.Author, p.Author) || e.msg.Time.Before(p.Since) {
			continue
		}
		if isPost(e.msg) {
			e.msg.Removed, e.msg.Body, e.mention = true, "", false
		} else { // an event's sentence, without what the author wrote
			e.msg.Removed = true
			e.msg.Body, _ = eventText(chat.Message{Kind: e.event, Author: e.msg.Author, Removed: true})
		}
		changed = true
	}
	if changed {
		l.reflow() // the scroll offset counts from the bottom
		l.scroll = min(l.scroll, l.top())
		l.unseen = min(l.unseen, l.entriesBelow())
	}
}

// isPost reports whether msg is something a person wrote: what counts as
// unread, and what can name someone.
func isPost(msg chat.Message) bool { return msg.Kind == chat.KindText || msg.Kind == chat.KindAction }

// notice shows a line to this user only; key says which notices are the
// same one. The same notice again, with nothing else in the log since,
// takes the last one's place and counts: Tab pressed again and again on an
// ambiguous name, or Enter while rate-limited, does not fill the log.
func (l *logView) notice(key, text string) {
	e := entry{msg: chat.Message{Time: time.Now(), Kind: chat.KindSystem, Body: text}, local: true, key: key, repeats: 1}
	if n := len(l.entries); n > 0 {
		if last := l.entries[n-1]; last.local && last.key == key && sameDay(last.msg.Time, e.msg.Time) {
			e.repeats = last.repeats + 1
			l.replaceLast(e)
			return
		}
	}
	l.add(e)
}

// replaceLast puts e, a notice, in the newest entry's place. The view
// scrolled up stays where it was.
func (l *logView) replaceLast(e entry) {
	last, scroll := l.entries[len(l.entries)-1], l.scroll
	l.entries = l.entries[:len(l.entries)-1]
	// A new array for the lines: the last frame drawn may still hold rows
	// of the old one.
	l.lines = slices.Clip(l.lines[:len(l.lines)-last.rows])
	l.scroll = 0
	l.add(e)
	if scroll > 0 {
		l.scroll = min(max(scroll+l.entries[len(l.entries)-1].rows-last.rows, 1), l.top())
	}
}

// add appends an entry and its wrapped lines; a reader scrolled up keeps
// their view.
func (l *logView) add(e entry) {
	before := len(l.lines)
	if len(l.entries) == 0 || !sameDay(l.entries[len(l.entries)-1].msg.Time, e.msg.Time) {
		l.lines = append(l.lines, l.dayLine(e.msg.Time))
	}
	l.lines = append(l.lines, l.render(e, true)...)
	l.number(l.lines[before:])
	e.rows = len(l.lines) - before
	l.entries = append(l.entries, e)
	if l.scroll > 0 {
		l.scroll += e.rows
	}
	if len(l.entries) > l.limit {
		l.forgetOldest(len(l.entries) - l.limit)
	}
}

// forgetOldest drops the n oldest entries and their lines without
// re-wrapping the rest: a long-running session stays cheap per message.
// Scrolling back past them fetches them from the store again.
func (l *logView) forgetOldest(n int) {
	drop := l.head // the marker above the oldest entry goes with it
	l.head, l.atStart = 0, false
	for _, e := range l.entries[:n] {
		drop += e.rows
	}
	l.entries = l.entries[n:]
	l.lines = l.lines[drop:]
	l.oldestID = firstID(l.entries)
	l.scroll = min(l.scroll, l.top())
	if l.unreadLine -= drop; l.unreadLine < 0 {
		// The first unread went: another line would head the wrong one.
		l.unreadLine, l.marking = -1, false
	}
}

// loaded takes the page of up to limit messages before oldestID that
// scrollBy asked for (the latest ones, when the log holds none yet), or
// the error fetching it.
func (l *logView) loaded(msgs []chat.Message, limit int, err error) {
	l.loading = false
	if err != nil {
		const text = "Could not load older messages. Scroll up to try again."
		l.notice(text, text)
		return
	}
	if len(msgs) < limit {
		l.atStart = true
	}
	var older []entry
	for _, msg := range msgs {
		if l.oldestID != 0 && msg.ID >= l.oldestID {
			continue
		}
		older = append(older, l.entry(msg))
		l.lastID = max(l.lastID, msg.ID) // the first page: what arrives later is newer
	}
	if len(older) > 0 {
		l.entries = append(older, l.entries...)
		l.oldestID = older[0].msg.ID
	}
	l.reflow() // the scroll offset counts from the bottom, so the view stays
	l.settleMarker()
	if l.toTop {
		l.scroll = l.top()
	}
}

// reflow re-wraps every entry: on resize and when older history arrives.
// Once the whole history is loaded, a marker heads the log.
func (l *logView) reflow() {
	// A new array: the last frame drawn may still hold rows of the old one.
	l.lines = make([]line, 0, len(l.lines))
	l.head = 0
	switch {
	case l.atStart:
		l.lines = append(l.lines, plain(l.st.hint, ansi.WcWidth.Truncate("— start of the conversation —", l.wrap, "…")))
		l.head = 1
	case len(l.entries) >= maxEntries:
		// Scroll-back is bounded: a session holds at most maxEntries.
		l.lines = append(l.lines, plain(l.st.hint, ansi.WcWidth.Truncate(fmt.Sprintf("— scroll-back ends here: a session keeps the last %d messages —", maxEntries), l.wrap, "…")))
		l.head = 1
	}
	l.unreadLine = -1
	for i := range l.entries {
		e := &l.entries[i]
		before := len(l.lines)
		if i == 0 || !sameDay(l.entries[i-1].msg.Time, e.msg.Time) {
			l.lines = append(l.lines, l.dayLine(e.msg.Time))
		}
		if l.unreadLine < 0 && l.marking && l.unread(*e, l.since) {
			l.unreadLine = len(l.lines)
			l.lines = append(l.lines, l.unreadMarker(e.msg.Time))
		}
		l.lines = append(l.lines, l.render(*e, false)...)
		e.rows = len(l.lines) - before
	}
	l.number(l.lines)
}

// unread reports whether e is a post by someone else after message since:
// one the "new since" line and the unread counts count.
func (l *logView) unread(e entry, since int64) bool {
	return !e.local && e.msg.ID > since && isPost(e.msg) && !strings.EqualFold(e.msg.Author, l.me)
}

// unreadAfter counts the posts by others after message since, and says
// whether one of them names me.
func (l *logView) unreadAfter(since int64) (n int, mention bool) {
	for i := len(l.entries) - 1; i >= 0 && (l.entries[i].msg.ID > since || l.entries[i].local); i-- {
		if l.unread(l.entries[i], since) {
			n++
			mention = mention || l.entries[i].mention
		}
	}
	return n, mention
}

// unreadMarker heads the first unread message: the time as the log shows
// it, with the day unless it is today.
func (l *logView) unreadMarker(t time.Time) line {
	when := t.Format("15:04")
	if !sameDay(t, time.Now().In(t.Location())) {
		when = t.Format("Mon 2 Jan 15:04")
	}
	return plain(l.st.notice, ansi.WcWidth.Truncate("— new since "+when+" —", l.wrap, "…"))
}

// open readies the log to be shown at width cells (wrapped to wrap) by
// height rows: at its newest lines, or, when mark is set and posts by
// others came after message since, with a "new since" line above the
// first of them, in view.
func (l *logView) open(width, wrap, height int, since int64, mark bool) {
	l.width, l.wrap, l.height = width, wrap, height
	l.since, l.marking = since, mark
	l.follow()
	l.reflow()
	l.settleMarker()
	l.toUnread()
}

// settleMarker ends marking when the loaded messages hold nothing unread
// (and none are on their way): a post that arrives later, in view, is not
// one the user missed.
func (l *logView) settleMarker() {
	if l.unreadLine < 0 && !l.loading {
		l.marking = false
	}
}

// toUnread scrolls back to the "new since" line when the messages after it
// take more than the view: the line then heads the view, and the marker
// at the bottom counts what lies below.
func (l *logView) toUnread() {
	if l.unreadLine < 0 {
		return
	}
	if back := len(l.lines) - l.unreadLine - l.height; back > 0 {
		l.scroll = min(back, l.top())
		l.unseen = l.entriesBelow()
	}
}

// render wraps and styles e, or returns how another session did (see
// LineCache); callers copy the lines. A reflow renders the whole log at a
// new width: it takes what is shared but adds nothing (remember false), or
// one resize would push every live message out of the cache.
func (l *logView) render(e entry, remember bool) []line {
	// Local notices have no id; own messages and mentions look different
	// in this session.
	if l.shared == nil || e.msg.ID == 0 || e.mention || strings.EqualFold(e.msg.Author, l.me) {
		return l.st.render(e, l.me, l.wrap)
	}
	key := lineKey{id: e.msg.ID, width: l.wrap, profile: l.st.profile, removed: e.msg.Removed}
	if lines, ok := l.shared.get(key); ok {
		return lines
	}
	// As nobody's own: the check above compares the name as stored, the
	// styling compares it sanitised.
	lines := slices.Clip(l.st.render(e, "", l.wrap))
	if remember {
		l.shared.put(key, lines)
	}
	return lines
}

// number gives new log lines their ids.
func (l *logView) number(lines []line) {
	for i := range lines {
		l.lastLineID++
		lines[i].id = l.lastLineID
	}
}

// dayLine heads each day's messages: times alone do not say which day.
func (l *logView) dayLine(t time.Time) line {
	return plain(l.st.hint, ansi.WcWidth.Truncate(t.Format("— Monday, 2 January 2006 —"), l.wrap, "…"))
}

// scrollBy moves the view up (positive) or down. It reports whether an
// older page should be fetched (reaching the top of what is loaded): the
// log then counts it as on its way, and the caller fetches the page before
// oldestID and hands it to loaded.
func (l *logView) scrollBy(n int) (fetch bool) {
	top := l.top()
	l.scroll = min(max(l.scroll+n, 0), top)
	l.unseen = min(l.unseen, l.entriesBelow())
	l.toTop = n >= len(l.lines) // Home: stay at the top as pages arrive
	if l.scroll == top && n > 0 && !l.atStart && !l.loading && len(l.entries) < l.limit {
		l.loading = true
		return true
	}
	return false
}

// follow returns to the newest lines, which new ones then keep in view.
func (l *logView) follow() { l.scroll, l.unseen, l.toTop = 0, 0, false }

// entriesBelow is how many room messages lie wholly out of view below:
// those still unseen when scrolled up (local notices are not counted).
func (l *logView) entriesBelow() int {
	hidden := l.scroll
	if hidden > 0 {
		hidden++ // the marker row covers the view's last line
	}
	n, rows := 0, 0
	for i := len(l.entries) - 1; i >= 0; i-- {
		rows += l.entries[i].rows
		if rows > hidden {
			break
		}
		if !l.entries[i].local {
			n++
		}
	}
	return n
}

// page is how far PgUp and PgDn move: a screen less one line to keep in
// view, and one more that the scrolled-back marker covers.
func (l *logView) page() int { return max(l.height-2, 1) }

// top is the scroll offset that shows the first line.
func (l *logView) top() int { return max(len(l.lines)-l.height, 0) }

// rows are the lines in view, bottom-aligned, with a marker on the last
// row while scrolled up.
func (l *logView) rows() []line {
	h := l.height
	end := len(l.lines) - l.scroll
	start := max(end-h, 0)
	visible := l.lines[start:end:end]
	if len(visible) == h && l.scroll == 0 {
		// The common case, without a copy: lines are never changed in
		// place, so the frame the renderer keeps stays valid.
		return visible
	}
	rows := make([]line, h)
	copy(rows[h-len(visible):], visible)
	if l.scroll > 0 {
		text := " ↑ scrolled back · Esc to return "
		if l.unseen > 0 {
			text = fmt.Sprintf(" ↓ %d new message%s below · Esc to jump ", l.unseen, plural(l.unseen))
		}
		rows[h-1] = plain(l.st.marker, ansi.WcWidth.Truncate(text, l.width, "…"))
	}
	return rows
}

// plain is text in one style, as a line without an id (number gives the
// log's their ids).
func plain(style paint, text string) line {
	return line{text: style.Render(text), width: ansi.WcWidth.StringWidth(text)}
}

func firstID(entries []entry) int64 {
	for _, e := range entries {
		if e.msg.ID != 0 {
			return e.msg.ID
		}
	}
	return 0
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// keep bounds the log to its newest n entries from now on, dropping the
// older ones at once (cheaply: see forgetOldest).
func (l *logView) keep(n int) {
	l.limit = n
	if len(l.entries) > n {
		l.forgetOldest(len(l.entries) - n)
	}
}
