// Package tui is the chat screen each SSH session runs: a Bubble Tea model
// that knows the chat core but nothing of SSH.
//
// The model keeps its state ready to draw: the log as already-wrapped,
// styled lines, the member list and the input. View composes them; it never
// re-wraps the log.
package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

const (
	// sideWidth is the member list's column, border included; it shows
	// when the terminal is at least sideMinWidth wide.
	sideWidth    = 20
	sideMinWidth = 80
	// pageSize is how many older messages one fetch asks for.
	pageSize = 100
	// maxEntries bounds the log kept in memory; scrolling back further
	// fetches from the store again.
	maxEntries = 5000
	// recallSize bounds the lines Up/Down can recall.
	recallSize = 100
	wheelLines = 3
)

// Options configure a session's screen.
type Options struct {
	Room       *chat.Room
	Member     *chat.Member
	Recent     []chat.Message // history up to the join, oldest first
	HistoryLen int            // how many messages Recent was asked for
	MaxMessage int            // longest message in characters
	// IdleTimeout closes the screen after this long without a key, a
	// paste or a mouse event (0: never). The app does it, not the SSH
	// layer, so the terminal is restored.
	IdleTimeout time.Duration
	Width       int
	Height      int
	// Profile is the colours the client's terminal shows (Unknown: 256).
	Profile colorprofile.Profile
	// Lines, when set, shares rendered lines with the server's other
	// sessions.
	Lines *LineCache
}

// Model is one session's screen.
type Model struct {
	ctx    context.Context
	room   *chat.Room
	member *chat.Member
	me     string
	max    int
	st     styles
	shared *LineCache // may be nil

	width, height int
	chrome        chrome    // header and member column, built when they change
	inputRows     inputRows // input and hint, built when they may have changed
	inputStale    bool      // inputRows must be built again

	entries    []entry
	lines      []line // entries wrapped to the log's width
	lastID     int64  // newest room message shown; older arrivals are duplicates
	oldestID   int64  // oldest room message loaded
	loading    bool   // an older page is on its way
	atStart    bool   // the whole history is loaded
	scroll     int    // lines scrolled up from the bottom; 0 follows new lines
	toTop      bool   // the user asked for the top (Home)
	head       int    // marker lines above the oldest entry (0 or 1)
	unseen     int    // messages that arrived below while scrolled up
	online     []string
	input      textinput.Model
	recall     []string
	recallAt   int
	draft      string // the unsent line, kept while recalling
	refused    string // the line the command table refused last, kept in the input (see chat.AfterRefused)
	exitReason string
	bell       bool   // a mention arrived: ring once at the next draw
	lastLineID uint64 // the newest log line's id
	// inputOffset is the first character of the input shown: the row
	// scrolls sideways to keep the cursor in view.
	inputOffset int

	idleTimeout  time.Duration
	lastActivity time.Time
}

// newModel returns the screen for member, showing recent history.
func newModel(ctx context.Context, o Options) Model {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "Type a message, /help for commands"
	in.CharLimit = inputLimit(o.MaxMessage) // overlong input is refused at Enter, with a notice
	in.SetVirtualCursor(false)              // the real terminal cursor: no blink timer per session
	st := newStyles(o.Profile)
	inStyles := in.Styles()
	inStyles.Focused.Prompt, inStyles.Focused.Placeholder = st.prompt, st.placeholder
	in.SetStyles(inStyles)
	// Bubbles binds Ctrl+V to reading the clipboard, which would be the
	// server's: pastes arrive from the client's terminal instead.
	in.KeyMap.Paste.SetEnabled(false)
	in.Focus()
	m := Model{
		ctx: ctx, room: o.Room, member: o.Member, me: o.Member.Name(), max: o.MaxMessage,
		st: st, shared: o.Lines, input: in, atStart: len(o.Recent) < o.HistoryLen,
		idleTimeout: o.IdleTimeout, lastActivity: time.Now(),
	}
	m.online = m.room.Online()
	m.resize(o.Width, o.Height)
	m.appendMessages(o.Recent, false)
	m.reflow()
	m.refreshInput() // resize built the chrome
	return m
}

// ExitReason is what the user should read after the screen closes, if the
// server ended the session (eviction, shutdown).
func (m *Model) ExitReason() string { return m.exitReason }

// Messages deliver and the model's commands bring.
type (
	receivedMsg struct{ msgs []chat.Message }
	endedMsg    struct{ err error }
	olderMsg    struct {
		msgs []chat.Message
		err  error
	}
	postedMsg struct {
		text string
		err  error
	}
)

// restartReason is what the user reads when the room closed under the
// screen. (A shutdown the server announces arrives as the cause of Run's
// context.)
const restartReason = "The server is restarting. Please reconnect in a moment."

func (m Model) Init() tea.Cmd { return m.idleCheck() }

// idleMsg asks the model whether it has been idle too long.
type idleMsg struct{}

// idleCheck schedules the next idle check: a few per timeout, so the
// session closes at most a quarter of the timeout late.
func (m *Model) idleCheck() tea.Cmd {
	if m.idleTimeout <= 0 {
		return nil
	}
	return tea.Tick(m.idleTimeout/4, func(time.Time) tea.Msg { return idleMsg{} })
}

// deliver hands the member's messages to the screen through send (the
// program's Send), a batch per wake-up, until the member leaves or is
// evicted or ctx ends; then it tells the screen why. Run it in one
// goroutine for the session's life: a tea.Cmd re-armed after each batch
// would start a goroutine per batch, a measurable share of a delivery's
// cost with hundreds of sessions.
func deliver(ctx context.Context, member *chat.Member, send func(tea.Msg)) {
	for {
		msgs, err := member.Receive(ctx)
		if err != nil {
			send(endedMsg{err})
			return
		}
		send(receivedMsg{msgs})
	}
}

func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.apply(msg)
	return m, cmd
}

// apply is Update in place: a Screen keeps its model behind a pointer, as
// the model is too large to copy for every message.
func (m *Model) apply(msg tea.Msg) tea.Cmd {
	cmd := m.update(msg)
	switch msg.(type) {
	case receivedMsg, olderMsg, idleMsg, endedMsg:
		// The frequent messages that never touch the input line.
	default:
		m.inputStale = true // drawn once per frame, however many keys came
	}
	return cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
	case receivedMsg:
		if m.appendMessages(msg.msgs, true) {
			m.bell = true
		}
	case endedMsg:
		m.exitReason = endReason(msg.err)
		return tea.Quit
	case idleMsg:
		if idle := time.Since(m.lastActivity); idle >= m.idleTimeout {
			m.exitReason = fmt.Sprintf("Disconnected after %s without activity. Reconnect any time.", m.idleTimeout)
			return tea.Quit
		}
		return m.idleCheck()
	case olderMsg:
		m.loading = false
		if msg.err != nil {
			m.notice("Could not load older messages. Scroll up to try again.")
		} else {
			m.prependMessages(msg.msgs)
		}
	case postedMsg:
		if msg.err != nil {
			m.postFailed(msg.err)
			if m.input.Value() == "" {
				m.input.SetValue(msg.text) // lose nothing
			}
		}
	case tea.PasteMsg:
		m.lastActivity = time.Now()
		// A pasted paragraph becomes one line; the input sanitises the rest.
		msg.Content = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg.Content)
		if n := utf8.RuneCountInString(msg.Content) + utf8.RuneCountInString(m.input.Value()); n > m.input.CharLimit {
			// Refuse it whole rather than cut it: the text stays in the
			// user's clipboard.
			m.notice(fmt.Sprintf("Not pasted: that would make a message of %d characters or more; the limit is %d.", n, m.max))
			return nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	case tea.MouseWheelMsg:
		m.lastActivity = time.Now()
		switch msg.Button {
		case tea.MouseWheelUp:
			return m.scrollBy(wheelLines)
		case tea.MouseWheelDown:
			return m.scrollBy(-wheelLines)
		}
	case tea.KeyPressMsg:
		m.lastActivity = time.Now()
		return m.key(msg)
	}
	return nil
}

// submit handles Enter: the line runs through the command table
// (chat.Run), here in Update, so a person's lines keep the order typed.
// A line run or sent leaves the input (Up brings it back); a line refused
// (an unknown command, a command without its argument, a post refused)
// stays in it for the user to fix.
func (m *Model) submit() tea.Cmd {
	text := m.input.Value()
	if strings.TrimSpace(text) == "" {
		// Nothing to send; blanks left in the input would hide the slash
		// of the next line's command.
		m.input.SetValue("")
		return nil
	}
	line := chat.AfterRefused(text, m.refused)
	s := &commandScreen{m: m, line: line}
	ok := chat.Run(s, line)
	m.refused = ""
	if !ok {
		m.refused = line
	}
	if !ok || s.kept { // refused: the line stays in the input
		if line != text { // without the refused text before it
			m.input.SetValue(line)
			m.input.CursorEnd()
		}
		return nil
	}
	m.remember(line)
	m.input.SetValue("")
	return s.cmd
}

// commandScreen is the screen as the command table sees it, for one line.
type commandScreen struct {
	m    *Model
	line string
	cmd  tea.Cmd // what the line asks of the program: a post's commit, or quit
	kept bool    // a post was refused: the line stays in the input
}

func (s *commandScreen) Notice(text string) { s.m.notice(text) }
func (s *commandScreen) Keys() []string     { return keyHelp() }
func (s *commandScreen) Quit()              { s.cmd = tea.Quit }

// Online also refreshes the member list.
func (s *commandScreen) Online() []string {
	s.m.setOnline(s.m.room.Online())
	return slices.Clone(s.m.online)
}

func (s *commandScreen) Post(kind chat.Kind, body string) {
	s.cmd, s.kept = s.m.post(kind, body, s.line)
}

// post hands a message to the room and returns the wait for its commit,
// which gives line back to the input if the commit fails. kept: it was
// refused, with a notice, and stays in the input.
func (m *Model) post(kind chat.Kind, body, line string) (cmd tea.Cmd, kept bool) {
	// Refuse overlong text here too, keeping it in the input to shorten.
	if n := utf8.RuneCountInString(chat.Sanitize(body, 0)); n > m.max {
		m.notice(fmt.Sprintf("Not sent: the message is %d characters long; the limit is %d. Shorten it and press Enter again.", n, m.max))
		return nil, true
	}
	// Only the wait for the commit runs in a command.
	receipt, err := m.member.Send(kind, body)
	if err != nil {
		m.postFailed(err)
		return nil, true
	}
	m.scroll, m.unseen = 0, 0
	ctx := m.ctx
	return func() tea.Msg {
		return postedMsg{text: line, err: receipt.Wait(ctx)}
	}, false
}

func (m *Model) remember(text string) {
	if len(m.recall) == 0 || m.recall[len(m.recall)-1] != text {
		m.recall = append(m.recall, text)
		if len(m.recall) > recallSize {
			m.recall = m.recall[1:]
		}
	}
	m.recallAt = len(m.recall)
}

// recallLine steps through the lines sent before; past the newest it
// brings back the line being typed when recall began.
func (m *Model) recallLine(step int) {
	if len(m.recall) == 0 {
		return
	}
	if m.recallAt == len(m.recall) {
		m.draft = m.input.Value()
	}
	m.recallAt = min(max(m.recallAt+step, 0), len(m.recall))
	if m.recallAt == len(m.recall) {
		m.input.SetValue(m.draft)
	} else {
		m.input.SetValue(m.recall[m.recallAt])
	}
	m.input.CursorEnd()
}

// entriesBelow is how many room messages lie wholly out of view below:
// those still unseen when scrolled up (local notices are not counted).
func (m *Model) entriesBelow() int {
	hidden := m.scroll
	if hidden > 0 {
		hidden++ // the marker row covers the view's last line
	}
	n, rows := 0, 0
	for i := len(m.entries) - 1; i >= 0; i-- {
		rows += m.entries[i].rows
		if rows > hidden {
			break
		}
		if !m.entries[i].local {
			n++
		}
	}
	return n
}

// scrollBy moves the view up (positive) or down; reaching the top of what
// is loaded fetches an older page.
func (m *Model) scrollBy(n int) tea.Cmd {
	top := m.top()
	m.scroll = min(max(m.scroll+n, 0), top)
	m.unseen = min(m.unseen, m.entriesBelow())
	m.toTop = n >= len(m.lines) // Home: stay at the top as pages arrive
	if m.scroll == top && n > 0 && !m.atStart && !m.loading && len(m.entries) < maxEntries {
		m.loading = true
		room, ctx, before := m.room, m.ctx, m.oldestID
		return func() tea.Msg {
			msgs, err := room.Older(ctx, before, pageSize)
			return olderMsg{msgs, err}
		}
	}
	return nil
}

// appendMessages adds room messages in order, skipping any already shown,
// and reports whether one of them mentions this user.
func (m *Model) appendMessages(msgs []chat.Message, live bool) (mentioned bool) {
	changedOnline := false
	for _, msg := range msgs {
		if msg.ID != 0 && msg.ID <= m.lastID {
			continue
		}
		m.lastID = max(m.lastID, msg.ID)
		if m.oldestID == 0 {
			m.oldestID = msg.ID
		}
		e := entry{msg: msg}
		if msg.Kind == chat.KindText || msg.Kind == chat.KindAction {
			e.mention = !strings.EqualFold(msg.Author, m.me) && mentions(msg.Body, m.me)
			mentioned = mentioned || e.mention
		}
		changedOnline = changedOnline || msg.Kind == chat.KindJoin || msg.Kind == chat.KindLeave
		m.add(e)
		if live && m.scroll > 0 {
			m.unseen++
		}
	}
	if changedOnline && live {
		m.setOnline(m.room.Online())
	}
	return mentioned && live
}

func (m *Model) setOnline(names []string) {
	m.online = names
	m.refreshChrome()
}

// notice shows a line to this user only.
func (m *Model) notice(text string) { m.noticeAs(text, text) }

// noticeAs shows a notice; key says which notices are the same one. The
// same notice again, with nothing else in the log since, takes the last
// one's place and counts: Tab pressed again and again on an ambiguous
// name, or Enter while rate-limited, does not fill the log.
func (m *Model) noticeAs(key, text string) {
	e := entry{msg: chat.Message{Time: time.Now(), Kind: chat.KindSystem, Body: text}, local: true, key: key, repeats: 1}
	if n := len(m.entries); n > 0 {
		if last := m.entries[n-1]; last.local && last.key == key && sameDay(last.msg.Time, e.msg.Time) {
			e.repeats = last.repeats + 1
			m.replaceLast(e)
			return
		}
	}
	m.add(e)
}

// replaceLast puts e, a notice, in the newest entry's place. The view
// scrolled up stays where it was.
func (m *Model) replaceLast(e entry) {
	last, scroll := m.entries[len(m.entries)-1], m.scroll
	m.entries = m.entries[:len(m.entries)-1]
	// A new array for the lines: the last frame drawn may still hold rows
	// of the old one (see logRows).
	m.lines = slices.Clip(m.lines[:len(m.lines)-last.rows])
	m.scroll = 0
	m.add(e)
	if scroll > 0 {
		m.scroll = min(max(scroll+m.entries[len(m.entries)-1].rows-last.rows, 1), m.top())
	}
}

// postFailed tells the user why a line was not sent. Refusals for one
// reason count up in one notice, though a slow-down's wait changes.
func (m *Model) postFailed(err error) {
	text := postProblem(err)
	key := text
	if errors.As(err, new(*chat.SlowDownError)) {
		key = "slow down"
	}
	m.noticeAs(key, text)
}

// add appends an entry and its wrapped lines; a reader scrolled up keeps
// their view.
func (m *Model) add(e entry) {
	before := len(m.lines)
	if len(m.entries) == 0 || !sameDay(m.entries[len(m.entries)-1].msg.Time, e.msg.Time) {
		m.lines = append(m.lines, m.dayLine(e.msg.Time))
	}
	m.lines = append(m.lines, m.render(e, m.wrapWidth(), true)...)
	m.number(m.lines[before:])
	e.rows = len(m.lines) - before
	m.entries = append(m.entries, e)
	if m.scroll > 0 {
		m.scroll += e.rows
	}
	if len(m.entries) > maxEntries {
		m.forgetOldest(len(m.entries) - maxEntries)
	}
}

// forgetOldest drops the n oldest entries and their lines without
// re-wrapping the rest: a long-running session stays cheap per message.
// Scrolling back past them fetches them from the store again.
func (m *Model) forgetOldest(n int) {
	drop := m.head // the marker above the oldest entry goes with it
	m.head, m.atStart = 0, false
	for _, e := range m.entries[:n] {
		drop += e.rows
	}
	m.entries = m.entries[n:]
	m.lines = m.lines[drop:]
	m.oldestID = firstID(m.entries)
	m.scroll = min(m.scroll, m.top())
}

func (m *Model) prependMessages(msgs []chat.Message) {
	if len(msgs) < pageSize {
		m.atStart = true
	}
	var older []entry
	for _, msg := range msgs {
		if m.oldestID != 0 && msg.ID >= m.oldestID {
			continue
		}
		older = append(older, entry{msg: msg, mention: (msg.Kind == chat.KindText || msg.Kind == chat.KindAction) &&
			!strings.EqualFold(msg.Author, m.me) && mentions(msg.Body, m.me)})
	}
	if len(older) > 0 {
		m.entries = append(older, m.entries...)
		m.oldestID = older[0].msg.ID
	}
	m.reflow() // the scroll offset counts from the bottom, so the view stays
	if m.toTop {
		m.scroll = m.top()
	}
}

// page is how far PgUp and PgDn move: a screen less one line to keep in
// view, and one more that the scrolled-back marker covers.
func (m *Model) page() int { return max(m.logHeight()-2, 1) }

// top is the scroll offset that shows the first line.
func (m *Model) top() int { return max(len(m.lines)-m.logHeight(), 0) }

// inputLimit bounds what the input line holds: well above the message
// limit, so that an overlong message is refused with its true length.
func inputLimit(maxMessage int) int { return 8 * maxMessage }

// pasteLimit is the most bytes of one paste worth reading: any paste cut
// there is still longer than the input holds, so it is refused whole.
func pasteLimit(maxMessage int) int { return 4*inputLimit(maxMessage) + 4 }

func firstID(entries []entry) int64 {
	for _, e := range entries {
		if e.msg.ID != 0 {
			return e.msg.ID
		}
	}
	return 0
}

func (m *Model) resize(width, height int) {
	width, height = max(width, 1), max(height, 1)
	if width == m.width && height == m.height {
		return
	}
	oldWidth := m.logWidth()
	m.width, m.height = width, height
	if m.logWidth() != oldWidth {
		m.reflow()
	}
	m.scroll = min(m.scroll, m.top())
	m.refreshChrome()
}

// reflow re-wraps every entry: on resize and when older history arrives.
// Once the whole history is loaded, a marker heads the log.
func (m *Model) reflow() {
	// A new array: the last frame drawn may still hold rows of the old one
	// (see logRows).
	m.lines = make([]line, 0, len(m.lines))
	m.head = 0
	switch {
	case m.atStart:
		m.lines = append(m.lines, m.plain(m.st.hint, ansi.WcWidth.Truncate("— start of the conversation —", m.wrapWidth(), "…")))
		m.head = 1
	case len(m.entries) >= maxEntries:
		// Scroll-back is bounded: a session holds at most maxEntries.
		m.lines = append(m.lines, m.plain(m.st.hint, ansi.WcWidth.Truncate(fmt.Sprintf("— scroll-back ends here: a session keeps the last %d messages —", maxEntries), m.wrapWidth(), "…")))
		m.head = 1
	}
	width := m.wrapWidth()
	for i := range m.entries {
		e := &m.entries[i]
		before := len(m.lines)
		if i == 0 || !sameDay(m.entries[i-1].msg.Time, e.msg.Time) {
			m.lines = append(m.lines, m.dayLine(e.msg.Time))
		}
		m.lines = append(m.lines, m.render(*e, width, false)...)
		e.rows = len(m.lines) - before
	}
	m.number(m.lines)
}

// render wraps and styles e, or returns how another session did (see
// LineCache); callers copy the lines. A reflow renders the whole log at a
// new width: it takes what is shared but adds nothing (remember false), or
// one resize would push every live message out of the cache.
func (m *Model) render(e entry, width int, remember bool) []line {
	// Local notices have no id; own messages and mentions look different
	// in this session.
	if m.shared == nil || e.msg.ID == 0 || e.mention || strings.EqualFold(e.msg.Author, m.me) {
		return m.st.render(e, m.me, width)
	}
	key := lineKey{id: e.msg.ID, width: width, profile: m.st.profile}
	if lines, ok := m.shared.get(key); ok {
		return lines
	}
	// As nobody's own: the check above compares the name as stored, the
	// styling compares it sanitised.
	lines := slices.Clip(m.st.render(e, "", width))
	if remember {
		m.shared.put(key, lines)
	}
	return lines
}

// number gives new log lines their ids.
func (m *Model) number(lines []line) {
	for i := range lines {
		m.lastLineID++
		lines[i].id = m.lastLineID
	}
}

// dayLine heads each day's messages: times alone do not say which day.
func (m *Model) dayLine(t time.Time) line {
	return m.plain(m.st.hint, ansi.WcWidth.Truncate(t.Format("— Monday, 2 January 2006 —"), m.wrapWidth(), "…"))
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// wrapWidth is the log's width less a column of space before the member
// list.
func (m *Model) wrapWidth() int {
	if m.showSide() {
		return m.logWidth() - 1
	}
	return m.logWidth()
}

func (m *Model) showSide() bool { return m.width >= sideMinWidth }

func (m *Model) logWidth() int {
	if m.showSide() {
		return m.width - sideWidth
	}
	return m.width
}

// logHeight: the screen less the header, the input and the hint bar.
func (m *Model) logHeight() int { return max(m.height-3, 1) }

func endReason(err error) string {
	var evicted *chat.EvictedError
	switch {
	case errors.As(err, &evicted):
		return "Disconnected: " + err.Error() + "."
	case errors.Is(err, chat.ErrRoomClosed):
		return restartReason
	case errors.Is(err, context.Canceled):
		return ""
	}
	return "Disconnected."
}

func postProblem(err error) string {
	var long *chat.TooLongError
	switch {
	case errors.As(err, &long):
		return "Not sent: " + err.Error() + ". Shorten it and press Enter again."
	case errors.Is(err, chat.ErrEmpty):
		return "Not sent: the message is empty."
	case errors.As(err, new(*chat.SlowDownError)):
		return "Not sent: " + err.Error() + ". Your message is still in the input: press Enter to send it."
	case errors.Is(err, chat.ErrBusy):
		return "Not sent: the room is busy. Press Enter again in a moment."
	case errors.Is(err, chat.ErrNotSaved):
		return "Not sent: the server could not save your message. Press Enter to try again."
	}
	return "Not sent: " + err.Error()
}
