// Package tui is the chat screen each SSH session runs: a Bubble Tea model
// that knows the chat core but nothing of SSH.
//
// The model keeps its state ready to draw: each conversation's log as
// already-wrapped, styled lines, the conversation list, the member list and
// the input. View composes them; it never re-wraps the log.
package tui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"messaging/chat"
)

const (
	// pageSize is how many older messages one fetch asks for.
	pageSize = 100
	// maxEntries bounds the log of the conversation shown; scrolling back
	// further fetches from the store again. (Those not shown keep fewer:
	// hiddenEntries.)
	maxEntries = 5000
	// recallSize bounds the lines Up/Down can recall.
	recallSize = 100
	wheelLines = 3
)

// Options configure a session's screen.
type Options struct {
	Room   *chat.Room
	Member *chat.Member
	// Recent is #lobby's history up to the join, oldest first (see
	// chat.Room.Join): the screen opens on #lobby. The other
	// conversations load theirs when first shown.
	Recent     []chat.Message
	HistoryLen int // how many messages Recent was asked for
	MaxMessage int // longest message in characters
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
	// Notices are shown in the log, each a notice line, when the chat
	// opens, after the history: "Log in without a password next time: ...".
	Notices []string
	// Written, when set, is told after each frame that drew messages of
	// the room how long ago the oldest of them was stamped: the delivery
	// latency up to the bytes written into the session's channel.
	Written func(latency time.Duration)
}

// Model is one session's screen: the conversation shown (its logView) and
// the prompt under it, composed with the chrome around them (the header,
// the conversation list, the member column) and what neither knows: the
// room, the member, the user's conversations, the window's size and
// layout, when the session ends and why.
type Model struct {
	ctx        context.Context
	room       *chat.Room
	member     *chat.Member
	me         string
	max        int // longest message in characters
	historyLen int // the least a conversation's first page holds
	st         *styles
	lines      *LineCache // may be nil

	width, height int
	convs         convList
	cur           *conv    // the conversation shown
	log           *logView // cur's
	prompt        prompt
	jump          jumper          // Ctrl+K's prompt
	ask           asker           // Session.Ask's prompt
	online        []chat.Presence // who is online in cur
	chrome        chrome          // header and side columns, built when they change
	channels      channelList     // the channels the user may join, for Tab

	bell         bool   // a mention or a direct message arrived: ring once at the next draw
	lastPrivate  string // who wrote to the user in a direct conversation last
	exitReason   string
	idleTimeout  time.Duration
	lastActivity time.Time
}

// newModel returns the screen for member, showing #lobby with its recent
// history.
func newModel(ctx context.Context, o Options) Model {
	st := newStyles(o.Profile)
	me := o.Member.Name()
	m := Model{
		ctx: ctx, room: o.Room, member: o.Member, me: me, max: o.MaxMessage, st: &st, lines: o.Lines,
		historyLen: cmp.Or(o.HistoryLen, pageSize),
		width:      max(o.Width, 1), height: max(o.Height, 1),
		convs:       newConvList(o.Room.Lobby(), o.Member.Memberships(), me),
		prompt:      newPrompt(&st, o.MaxMessage),
		idleTimeout: o.IdleTimeout, lastActivity: time.Now(),
	}
	lobby := newLogView(&st, me, o.Lines, len(o.Recent) < o.HistoryLen)
	lobby.append(o.Recent, false)
	m.convs.lobby.log = &lobby
	m.show(m.convs.lobby) // its log is here: no command
	for _, text := range o.Notices {
		m.notice(text)
	}
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
	// olderMsg is a page of a conversation's history (fetch).
	olderMsg struct {
		conv  int64
		first bool // the latest messages, for a log that had none
		limit int  // how many were asked for
		msgs  []chat.Message
		err   error
	}
	// foundMsg is a conversation looked up (find).
	foundMsg struct {
		id   int64
		conv chat.Conversation
		err  error
	}
	postedMsg struct {
		text string
		err  error
	}
	// commandMsg carries a command the model gave for a message it took
	// outside Bubble Tea's round (screen.filter takes deliveries so, and a
	// delivery for a conversation not yet listed looks it up): the round
	// runs it.
	commandMsg struct{ cmd tea.Cmd }
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

// deliverer hands the member's messages to the screen through send (the
// program's Send), a batch at a time, until the member leaves or is
// evicted; then it tells the screen why. No goroutine waits for them: the
// member's worker wakes it (chat.Member.OnDelivery), and a goroutine runs
// only while there is something to hand over, so an idle session holds
// none. (A tea.Cmd re-armed after each batch would cost a round of the
// program and its command goroutine per batch as well.)
type deliverer struct {
	member  *chat.Member
	send    func(tea.Msg)
	guarded func(where string, f func()) // recovers a panic in the goroutine
	running atomic.Bool                  // a goroutine is handing over, or the end was told
}

// wake starts handing over what is pending unless that is under way. It
// never blocks: the member's worker calls it.
func (d *deliverer) wake() {
	if d.running.CompareAndSwap(false, true) {
		go d.guarded("delivery", d.handOver)
	}
}

// handOver sends what the member has until there is nothing left, then
// returns; once the member has ended, it tells the screen why and keeps
// running set, so that nothing starts again.
func (d *deliverer) handOver() {
	for {
		msgs, err := d.member.Take()
		switch {
		case err != nil:
			d.send(endedMsg{err})
			return
		case len(msgs) > 0:
			d.send(receivedMsg{msgs})
			continue
		}
		// Empty. A delivery between the Take and this Store saw running
		// set and did not start anything: look once more.
		d.running.Store(false)
		if !d.member.Pending() || !d.running.CompareAndSwap(false, true) {
			return
		}
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
	case receivedMsg, commandMsg, olderMsg, foundMsg, idleMsg, endedMsg:
		// The frequent messages that never touch the input line.
	default:
		// Drawn once per frame, however many keys came.
		m.prompt.stale = true
		for _, p := range [...]*prompt{m.jump.prompt, m.ask.prompt} {
			if p != nil {
				p.stale = true
			}
		}
	}
	m.markRead() // the newest message may be in view now
	return cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
	case receivedMsg:
		return m.received(msg.msgs)
	case commandMsg:
		return msg.cmd
	case foundMsg:
		m.found(msg)
	case channelsMsg:
		m.channels.set(msg)
		if pending := m.channels.pendingTab; pending != "" && !m.ask.active {
			m.channels.pendingTab = ""
			if m.prompt.value() == pending && !m.channels.at.IsZero() { // nothing typed since
				cmd, _ := m.tabKey(tea.KeyPressMsg{})
				return cmd
			}
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
		m.loaded(msg)
	case postedMsg:
		if msg.err != nil {
			m.postFailed(msg.err)
			m.prompt.giveBack(msg.text)
		}
	case tea.PasteMsg:
		m.lastActivity = time.Now()
		if m.ask.active {
			cmd, notice := m.ask.paste(msg)
			if notice != "" {
				m.notice(notice)
			}
			return cmd
		}
		if m.jump.active {
			cmd, _ := m.jump.prompt.paste(msg) // too long a name matches nothing anyway
			m.jump.match(m.convs.all, m.cur)
			return cmd
		}
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
// stays in it for the user to fix, unless it may hold a secret
// (chat.Sensitive): that one leaves, and Up never brings it back.
func (m *Model) submit() tea.Cmd {
	if strings.TrimSpace(m.prompt.value()) == "" {
		// Nothing to send; blanks left in the input would hide the slash
		// of the next line's command.
		m.prompt.clear()
		return nil
	}
	line := m.prompt.line()
	// A line that may hold a secret (a private key pasted, /passwd with
	// passwords after it) leaves the input whatever the command did, and
	// Up never brings it back.
	sensitive := chat.Sensitive(line) || chat.Sensitive(m.prompt.value())
	s := &commandScreen{m: m, line: line}
	switch ok := chat.Run(s, line); {
	case sensitive:
		m.prompt.drop()
	case !ok || s.kept: // refused: the line stays in the input
		// A command kept is one the table refused (see chat.AfterRefused):
		// a command typed after it replaces it.
		m.prompt.keep(line, !ok || chat.ParseInput(line).Command != "")
	default:
		m.prompt.sent(line)
	}
	return tea.Batch(s.cmds...)
}

// commandScreen is the screen as the command table sees it, for one line.
type commandScreen struct {
	m    *Model
	line string
	cmds []tea.Cmd // what the line asks of the program: a post's commit, history to load, quit
	kept bool      // a post or a command was refused: the line stays in the input
}

var _ chat.Session = (*commandScreen)(nil)

func (s *commandScreen) Notice(text string)         { s.m.notice(text) }
func (s *commandScreen) Keys() []string             { return keyHelp() }
func (s *commandScreen) Quit()                      { s.cmds = append(s.cmds, tea.Quit) }
func (s *commandScreen) Context() context.Context   { return s.m.ctx }
func (s *commandScreen) Member() *chat.Member       { return s.m.member }
func (s *commandScreen) Current() chat.Conversation { return s.m.cur.Conversation }
func (s *commandScreen) Show(c chat.Conversation)   { s.cmds = append(s.cmds, s.m.showConversation(c)) }
func (s *commandScreen) Forget(id int64)            { s.cmds = append(s.cmds, s.m.forget(id)) }
func (s *commandScreen) LastPrivate() string        { return s.m.lastPrivate }
func (s *commandScreen) Keep()                      { s.kept = true }

// Ask asks in the input line's place (see asker); the answer runs on s
// again, in the Update that takes the last answer.
func (s *commandScreen) Ask(questions []chat.Question, answer func([]string)) {
	s.m.startAsk(s, questions, answer)
}

func (s *commandScreen) Post(c chat.Conversation, kind chat.Kind, body string) {
	cmd, kept := s.m.post(c.ID, kind, body, s.line)
	s.cmds, s.kept = append(s.cmds, cmd), s.kept || kept
}

// post hands a message for conversation conv to the room and returns the
// wait for its commit, which gives line back to the input if the commit
// fails. kept: it was refused, with a notice, and stays in the input.
func (m *Model) post(conv int64, kind chat.Kind, body, line string) (cmd tea.Cmd, kept bool) {
	// Refuse overlong text here too, keeping it in the input to shorten.
	if n := utf8.RuneCountInString(chat.Sanitize(body, 0)); n > m.max {
		m.notice(fmt.Sprintf("Not sent: the message is %d characters long; the limit is %d. Shorten it and press Enter again.", n, m.max))
		return nil, true
	}
	// Only the wait for the commit runs in a command.
	receipt, err := m.member.Send(conv, kind, body)
	if err != nil {
		m.postFailed(err)
		return nil, true
	}
	if conv == m.cur.ID {
		m.log.follow()
	}
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
	return m.fetch(m.cur, m.log.oldestID, pageSize)
}

// notice shows a line to this user only, in the conversation shown.
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
	m.refreshChrome(allParts)
}

func endReason(err error) string {
	var evicted *chat.EvictedError
	var removed *chat.RemovedError
	switch {
	case errors.As(err, &evicted):
		return "Disconnected: " + err.Error() + "."
	case errors.As(err, &removed):
		return removed.Error() // written for the user whose session it ends
	case errors.Is(err, chat.ErrRoomClosed):
		return restartReason
	case errors.Is(err, context.Canceled):
		return ""
	}
	return "Disconnected."
}

func postProblem(err error) string {
	var long *chat.TooLongError
	var muted *chat.MutedError
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
	case errors.As(err, &muted):
		return muted.Sentence() + ". Nothing was sent."
	}
	return "Not sent: " + err.Error()
}
