package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// logView is the conversation as one session shows it: the entries (room
// messages and local notices), the same wrapped to the log's width as
// styled lines, ready to draw, and how far the view is scrolled back. It
// knows neither the room nor the program: scrollBy says when an older page
// is wanted, its caller fetches it and hands it to loaded.
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

	scroll int  // lines scrolled up from the bottom; 0 follows new lines
	toTop  bool // the user asked for the top (Home)
	unseen int  // messages that arrived below while scrolled up
}

// newLogView returns an empty log for me; atStart says there is no older
// history to fetch.
func newLogView(st *styles, me string, shared *LineCache, atStart bool) logView {
	return logView{st: st, me: me, shared: shared, atStart: atStart}
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
		if msg.ID != 0 && msg.ID <= l.lastID {
			continue
		}
		l.lastID = max(l.lastID, msg.ID)
		if l.oldestID == 0 {
			l.oldestID = msg.ID
		}
		e := l.entry(msg)
		mentioned = mentioned || e.mention
		membersChanged = membersChanged || msg.Kind == chat.KindJoin || msg.Kind == chat.KindLeave
		l.add(e)
		if live && l.scroll > 0 {
			l.unseen++
		}
	}
	return mentioned && live, membersChanged && live
}

// entry is a room message as the log keeps it.
func (l *logView) entry(msg chat.Message) entry {
	e := entry{msg: msg}
	if msg.Kind == chat.KindText || msg.Kind == chat.KindAction {
		e.mention = !strings.EqualFold(msg.Author, l.me) && mentions(msg.Body, l.me)
	}
	return e
}

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
	if len(l.entries) > maxEntries {
		l.forgetOldest(len(l.entries) - maxEntries)
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
}

// loaded takes the older page scrollBy asked for, or the error fetching
// it.
func (l *logView) loaded(msgs []chat.Message, err error) {
	l.loading = false
	if err != nil {
		const text = "Could not load older messages. Scroll up to try again."
		l.notice(text, text)
		return
	}
	if len(msgs) < pageSize {
		l.atStart = true
	}
	var older []entry
	for _, msg := range msgs {
		if l.oldestID != 0 && msg.ID >= l.oldestID {
			continue
		}
		older = append(older, l.entry(msg))
	}
	if len(older) > 0 {
		l.entries = append(older, l.entries...)
		l.oldestID = older[0].msg.ID
	}
	l.reflow() // the scroll offset counts from the bottom, so the view stays
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
	for i := range l.entries {
		e := &l.entries[i]
		before := len(l.lines)
		if i == 0 || !sameDay(l.entries[i-1].msg.Time, e.msg.Time) {
			l.lines = append(l.lines, l.dayLine(e.msg.Time))
		}
		l.lines = append(l.lines, l.render(*e, false)...)
		e.rows = len(l.lines) - before
	}
	l.number(l.lines)
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
	key := lineKey{id: e.msg.ID, width: l.wrap, profile: l.st.profile}
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
	if l.scroll == top && n > 0 && !l.atStart && !l.loading && len(l.entries) < maxEntries {
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
