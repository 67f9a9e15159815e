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

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

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

// Model is one session's screen: the log (logView) and the prompt under
// it, composed with the chrome around them (the header, the member column)
// and what neither knows: the room, the member, the window's size and
// layout, when the session ends and why.
type Model struct {
	ctx    context.Context
	room   *chat.Room
	member *chat.Member
	me     string
	max    int // longest message in characters
	st     *styles

	width, height int
	log           logView
	prompt        prompt
	online        []string
	chrome        chrome // header and member column, built when they change

	bell         bool // a mention arrived: ring once at the next draw
	exitReason   string
	idleTimeout  time.Duration
	lastActivity time.Time
}

// newModel returns the screen for member, showing recent history.
func newModel(ctx context.Context, o Options) Model {
	st := newStyles(o.Profile)
	me := o.Member.Name()
	m := Model{
		ctx: ctx, room: o.Room, member: o.Member, me: me, max: o.MaxMessage, st: &st,
		log:         newLogView(&st, me, o.Lines, len(o.Recent) < o.HistoryLen),
		prompt:      newPrompt(&st, o.MaxMessage),
		idleTimeout: o.IdleTimeout, lastActivity: time.Now(),
	}
	m.online = m.room.Online()
	m.resize(o.Width, o.Height)
	m.log.append(o.Recent, false)
	m.log.reflow()
	m.prompt.refresh(m.width)
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
		m.prompt.stale = true // drawn once per frame, however many keys came
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
		m.log.loaded(msg.msgs, msg.err)
	case postedMsg:
		if msg.err != nil {
			m.postFailed(msg.err)
			m.prompt.giveBack(msg.text)
		}
	case tea.PasteMsg:
		m.lastActivity = time.Now()
		cmd, notice := m.prompt.paste(msg)
		if notice != "" {
			m.notice(notice)
		}
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
	if strings.TrimSpace(m.prompt.value()) == "" {
		// Nothing to send; blanks left in the input would hide the slash
		// of the next line's command.
		m.prompt.clear()
		return nil
	}
	line := m.prompt.line()
	s := &commandScreen{m: m, line: line}
	if ok := chat.Run(s, line); !ok || s.kept { // refused: the line stays in the input
		m.prompt.keep(line, !ok)
		return nil
	}
	m.prompt.sent(line)
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
	m.log.follow()
	ctx := m.ctx
	return func() tea.Msg {
		return postedMsg{text: line, err: receipt.Wait(ctx)}
	}, false
}

// scrollBy moves the log up (positive) or down, and fetches an older page
// when it reaches the top of what is loaded.
func (m *Model) scrollBy(n int) tea.Cmd {
	if !m.log.scrollBy(n) {
		return nil
	}
	room, ctx, before := m.room, m.ctx, m.log.oldestID
	return func() tea.Msg {
		msgs, err := room.Older(ctx, before, pageSize)
		return olderMsg{msgs, err}
	}
}

// appendMessages adds room messages in order, skipping any already shown,
// and reports whether one of them mentions this user.
func (m *Model) appendMessages(msgs []chat.Message, live bool) (mentioned bool) {
	mentioned, membersChanged := m.log.append(msgs, live)
	if membersChanged {
		m.setOnline(m.room.Online())
	}
	return mentioned
}

func (m *Model) setOnline(names []string) {
	m.online = names
	m.refreshChrome()
}

// notice shows a line to this user only.
func (m *Model) notice(text string) { m.log.notice(text, text) }

// postFailed tells the user why a line was not sent. Refusals for one
// reason count up in one notice, though a slow-down's wait changes.
func (m *Model) postFailed(err error) {
	text := postProblem(err)
	key := text
	if errors.As(err, new(*chat.SlowDownError)) {
		key = "slow down"
	}
	m.log.notice(key, text)
}

func (m *Model) resize(width, height int) {
	width, height = max(width, 1), max(height, 1)
	if width == m.width && height == m.height {
		return
	}
	m.width, m.height = width, height
	m.log.resize(m.logWidth(), m.wrapWidth(), m.logHeight())
	m.refreshChrome()
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
