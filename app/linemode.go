package app

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"charm.land/ssh"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// The line mode is the chat for a terminal that cannot draw a screen
// (TERM=dumb: an Emacs shell buffer, a session recorded through script):
// the room's messages are printed as lines, and a line typed is a line
// sent. It writes no escape sequence at all: no colours, no cursor moves,
// no bell (a mention does not ring: on these terminals a BEL is a ^G in a
// buffer or a log, not a sound).
//
// With a PTY the client's terminal is in raw mode (OpenSSH puts the local
// tty in raw mode whenever it asks for a PTY), so the server echoes what is
// typed and does the line editing: Backspace, Ctrl+U, Ctrl+C, Ctrl+D,
// Enter. Without one (ssh -T), the client's terminal stays in cooked mode:
// it echoes and edits each line itself and sends it whole when Enter ends
// it, and Ctrl+C ends the client, not a line. The server then echoes
// nothing and prompts only for a question (Session.Ask), and ends its
// lines with a bare \n, as a program without a terminal does (a pipe
// reads them so; a terminal's output processing adds the \r).
//
// A command's question (Session.Ask) takes the prompt's place: the
// question is printed instead of "> ", a Secret answer is echoed as •
// (without a PTY the client echoes it: the prompt says so), and no answer
// is kept anywhere once the command has it.
//
// One goroutine, the session's handler, owns the line being typed and
// writes everything the session shows; three helpers feed it through
// channels and never write: the input reader (readKeys), the member's
// deliveries (deliverLines) and the commits of what was sent
// (confirmPosts). So the echo and the room's messages never interleave
// inside a line, and the room is never blocked by this session: a session
// that does not keep up fills its member's outbox and is evicted.

const (
	linePrompt = "> "
	// maxUnconfirmed bounds the lines sent whose commit is still awaited.
	maxUnconfirmed = 64
)

// dumbTerminal reports whether a PTY's terminal type asks for plain lines:
// "dumb" in any case, or no type at all.
func dumbTerminal(term string) bool {
	return term == "" || strings.EqualFold(term, "dumb")
}

// lineMode runs the line mode instead of the chat screen for sessions
// whose terminal is dumb (see dumbTerminal), and for sessions without a
// terminal at all (ssh -T), which get the variant that leaves echo and
// line editing to the client.
func (s *Server) lineMode(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if pty, _, ok := sess.Pty(); !ok || dumbTerminal(pty.Term) {
			s.runLines(sess, s.loginNotices(sess.Context()))
			return
		}
		next(sess)
	}
}

// runLines joins the room and runs the line mode until the user leaves,
// the connection ends, or the room ends the session; notices are shown
// after the history and the greeting (as tui.Options.Notices). Its
// lifecycle is the chat screen's (runChat): the same keepalives and
// eviction grace (watch), the same stall limit on output, the member
// leaving as soon as the connection closes.
func (s *Server) runLines(sess ssh.Session, notices []string) {
	name := identity(sess.Context())
	j, done, ok := s.join(sess, name)
	if !ok {
		return
	}
	defer done()
	ctx, member, recent, out := j.ctx, j.member, j.recent, j.out

	keys := make(chan []byte)
	deliveries := make(chan delivery)
	posts := make(chan posted, maxUnconfirmed)
	failed := make(chan posted)
	pty, _, hasPTY := sess.Pty()
	go readKeys(ctx, newRateReader(ctx, sess, s.cfg.InputRate, inputBurst), keys)
	go deliverLines(ctx, member, deliveries)
	go confirmPosts(ctx, posts, failed)

	l := &lineSession{
		ctx: ctx, member: member, out: out, posts: posts,
		ed: lineEditor{max: s.cfg.MaxMessage}, idleTimeout: s.cfg.IdleTimeout, echo: hasPTY, eol: "\r\n",
		current: s.room.Lobby(), convs: make(map[int64]chat.Conversation), lastID: make(map[int64]int64),
	}
	if !hasPTY {
		l.eol = "\n"
	}
	for _, ms := range member.Memberships() {
		l.convs[ms.Conv.ID] = ms.Conv
	}
	l.show(recent)
	kind := fmt.Sprintf("plain lines for TERM=%s", cmp.Or(chat.Sanitize(pty.Term, 32), "none"))
	if !hasPTY {
		kind = "plain lines: no terminal"
	}
	l.notice(fmt.Sprintf("Messaging #lobby, signed in as %s (%s).", name, kind))
	l.notice("Enter sends a line · /help lists the commands · Ctrl+D on an empty line leaves")
	for _, text := range notices {
		l.notice(text)
	}
	reason := l.loop(ctx, keys, deliveries, failed)
	if ctx.Err() != nil {
		reason = shutdownReason(ctx) // "" if the connection ended: nobody reads
	}
	if reason != "" {
		l.println(reason)
	}
	l.flush()
	_ = sess.Exit(0)
}

// delivery is one Receive's result.
type delivery struct {
	msgs []chat.Message
	err  error
}

// posted is a line handed to the room, waiting for its commit.
type posted struct {
	receipt *chat.Receipt
	line    string // as typed
	err     error  // set once it failed
}

// readKeys hands each read of the session's input to the line session; it
// closes keys when the input ends.
func readKeys(ctx context.Context, input io.Reader, keys chan<- []byte) {
	defer close(keys)
	for {
		buf := make([]byte, 1024)
		n, err := input.Read(buf)
		if n > 0 {
			select {
			case keys <- buf[:n]:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// deliverLines hands the member's messages to the line session, a batch
// per wake-up, until Receive ends (and says why). Presence events are
// dropped: lines show no member column.
func deliverLines(ctx context.Context, member *chat.Member, to chan<- delivery) {
	for {
		msgs, err := member.Receive(ctx)
		msgs = slices.DeleteFunc(msgs, func(m chat.Message) bool { return m.Kind == chat.KindPresence })
		if len(msgs) == 0 && err == nil {
			continue
		}
		select {
		case to <- delivery{msgs, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// confirmPosts waits for the commit of each line sent, in the order sent,
// and hands back those that were not stored.
func confirmPosts(ctx context.Context, posts <-chan posted, failed chan<- posted) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-posts:
			if p.err = p.receipt.Wait(ctx); p.err == nil || ctx.Err() != nil {
				continue
			}
			select {
			case failed <- p:
			case <-ctx.Done():
				return
			}
		}
	}
}

// lineSession is the line mode's state, owned by the session's handler.
type lineSession struct {
	ctx         context.Context
	member      *chat.Member
	out         io.Writer
	posts       chan<- posted
	ed          lineEditor
	idleTimeout time.Duration
	// echo: the server echoes what is typed and draws the prompt (a PTY);
	// else the client's terminal does (see the top of this file).
	echo bool
	eol  string // what ends a line: "\r\n" for a PTY in raw mode, else "\n"

	ask *lineAsk // the question asked, nil when none

	buf      []byte // output gathered, written once per event
	discard  []byte // the echo, without a PTY: nobody sees it
	refused  string // the line the command table refused last, back at the prompt (see chat.AfterRefused)
	prompted bool   // the last line out is the prompt and the text typed
	lastDay  string // the day line of the newest message shown
	werr     error  // the output failed: the connection is gone

	// The conversations: lines go to current; what arrives elsewhere is
	// shown with its conversation's title in front.
	current     chat.Conversation
	convs       map[int64]chat.Conversation // the account's, by ID
	lastID      map[int64]int64             // per conversation: newest shown; older arrivals are duplicates
	lastPrivate string                      // who wrote to this user in a direct conversation last
}

// loop runs until the session ends, and returns the reason to show the
// user ("" for none).
func (l *lineSession) loop(ctx context.Context, keys <-chan []byte, deliveries <-chan delivery, failed <-chan posted) string {
	var (
		idle    *time.Timer
		idled   <-chan time.Time // nil without IDLE_TIMEOUT
		lastKey = time.Now()
	)
	if l.idleTimeout > 0 {
		// Armed for the whole timeout and re-armed for what is left when
		// it finds a key since: it wakes about once per timeout.
		idle = time.NewTimer(l.idleTimeout)
		defer idle.Stop()
		idled = idle.C
	}
	for {
		l.prompt()
		if l.flush(); l.werr != nil {
			return ""
		}
		select {
		case <-ctx.Done():
			return ""
		case chunk, ok := <-keys:
			if !ok {
				return "End of input: you left the chat."
			}
			lastKey = time.Now()
			if l.typed(chunk) {
				return "You left the chat."
			}
		case d := <-deliveries:
			l.show(d.msgs)
			if d.err != nil {
				return lineEndReason(d.err)
			}
		case p := <-failed:
			l.notice(postTrouble(p.err))
			if len(l.ed.text) == 0 && !l.ed.dropped && l.echo && !chat.Sensitive(p.line) {
				l.ed.restore(p.line) // lose nothing: Enter sends it again
			}
		case <-idled:
			quiet := time.Since(lastKey)
			if quiet >= l.idleTimeout {
				return fmt.Sprintf("Disconnected after %s without activity. Reconnect any time.", l.idleTimeout)
			}
			idle.Reset(l.idleTimeout - quiet)
		}
	}
}

// typed handles a read of the user's keys, and reports whether the user
// left.
func (l *lineSession) typed(keys []byte) (quit bool) {
	for i, b := range keys {
		l.prompt() // the prompt is on screen before anything is echoed
		ed, echo := l.editor(), &l.buf
		if !l.echo {
			echo, l.discard = &l.discard, l.discard[:0]
		}
		if l.ask != nil && ed.esc == escStart && (b == '\r' || b == '\n') {
			l.cancelAsk("") // Esc, then Enter: how a client without a PTY sends Esc
			continue
		}
		switch ed.key(b, echo) {
		case keyEnter:
			l.endLine("")
			if l.ask != nil {
				if l.answered(ed.take()) {
					return true
				}
				continue
			}
			// A line refused by flood control goes back to the prompt
			// if it was typed by hand (Enter ended the read), not in
			// the middle of a paste, where the next line would join it;
			// never without a PTY, where the user could not see it there.
			last := len(bytes.TrimLeft(keys[i+1:], "\n")) == 0
			if l.submit(ed.take(), last && l.echo) {
				return true
			}
		case keyClear:
			if l.ask != nil && b == 0x03 { // Ctrl+C on an answer
				l.cancelAsk("^C")
				continue
			}
			l.endLine("^C")
		case keyOverflow:
			l.endLine("")
			if l.echo {
				l.notice(fmt.Sprintf("Too long: a line holds at most %d characters. This one is dropped: press Enter to go on.", ed.max))
			} else {
				l.notice(fmt.Sprintf("Too long: a line holds at most %d characters. This one is dropped.", ed.max))
			}
		case keyQuit:
			if l.ask == nil {
				return true
			}
			if b == 0x03 { // Ctrl+C on an empty answer
				l.cancelAsk("^C")
			} // Ctrl+D on an empty answer: nothing to delete
		}
	}
	// An ESC that ends what the client sent is the Esc key (the chat
	// screen's loneEscReader): keys arrive whole, in one read.
	if n := len(keys); l.ask != nil && n > 0 && keys[n-1] == 0x1b && l.editor().esc == escStart {
		l.cancelAsk("")
	}
	return false
}

// editor is the line being typed: the answer to the question asked, or
// the line to send.
func (l *lineSession) editor() *lineEditor {
	if l.ask != nil {
		return &l.ask.ed
	}
	return &l.ed
}

// submit runs a line through the command table (chat.Run). It reports
// whether the user left. keep: a line refused may go back to the prompt
// to be fixed or sent again: when it was typed by hand, not in the middle
// of a paste, where the next line would join it; never a line that may
// hold a secret (chat.Sensitive: a private key pasted, /passwd with
// passwords after it), whatever the command did.
func (l *lineSession) submit(line string, keep bool) (quit bool) {
	if strings.TrimSpace(line) == "" {
		return false
	}
	typed := line
	line = chat.AfterRefused(line, l.refused)
	keep = keep && !chat.Sensitive(typed) && !chat.Sensitive(line)
	s := &lineCommand{l: l, line: line, keep: keep}
	l.refused = ""
	if !chat.Run(s, line) && keep {
		l.refused = line
		l.ed.restore(line) // at the prompt again, to fix
	}
	return s.quit
}

// lineCommand is the line mode as the command table sees it, for one line.
type lineCommand struct {
	l    *lineSession
	line string
	keep bool
	quit bool
}

func (s *lineCommand) Notice(text string)         { s.l.notice(text) }
func (s *lineCommand) Quit()                      { s.quit = true }
func (s *lineCommand) Context() context.Context   { return s.l.ctx }
func (s *lineCommand) Member() *chat.Member       { return s.l.member }
func (s *lineCommand) Current() chat.Conversation { return s.l.current }
func (s *lineCommand) LastPrivate() string        { return s.l.lastPrivate }
func (s *lineCommand) Forget(id int64)            { s.l.forget(id) }
func (s *lineCommand) Show(c chat.Conversation)   { s.l.switchTo(c) }

// Ask asks in the prompt's place (see lineAsk); the answer runs on s again.
func (s *lineCommand) Ask(questions []chat.Question, answer func([]string)) {
	s.l.startAsk(s, questions, answer)
}

// Keep puts a refused command's line back at the prompt, when it was typed
// by hand (see submit) and the prompt is empty: a command's answer that
// keeps its line (a wrong password) has it back to send again, but never
// over a line being typed.
func (s *lineCommand) Keep() {
	if s.keep && len(s.l.ed.text) == 0 {
		s.l.refused = s.line // a command typed after it replaces it (chat.AfterRefused)
		s.l.ed.restore(s.line)
	}
}

func (s *lineCommand) Keys() []string {
	if !s.l.echo {
		return []string{"Keys: your terminal edits the line (there is no terminal on the server's side) · Enter sends it · Ctrl+D on an empty line leaves · Esc then Enter cancels a question"}
	}
	return []string{"Keys: Enter sends the line · Backspace erases a character · Ctrl+U erases the line · Ctrl+C clears the line, or leaves on an empty one · Ctrl+D on an empty line leaves · Esc or Ctrl+C cancels a question"}
}

func (s *lineCommand) Post(c chat.Conversation, kind chat.Kind, body string) {
	l := s.l
	if len(l.posts) == cap(l.posts) { // the store is stuck: nothing more can be confirmed
		l.notice(postTrouble(chat.ErrBusy))
		return
	}
	receipt, err := l.member.Send(c.ID, kind, body)
	if err != nil {
		l.notice(postTrouble(err))
		if s.keep && (errors.Is(err, chat.ErrBusy) || errors.As(err, new(*chat.SlowDownError))) {
			l.ed.restore(s.line)
		}
		return
	}
	l.posts <- posted{receipt: receipt, line: s.line} // room checked above; only this goroutine sends
}

// lineAsk is a command's questions (Session.Ask), asked at the prompt in
// turn: each is printed instead of "> " and answered on a line of its own,
// in an editor of its own, so that the line being typed before waits as
// it was. A Secret answer is echoed as • and lives only here until the
// command has it.
type lineAsk struct {
	s         *lineCommand // the Session asked from: the answer runs on it
	questions []chat.Question
	answers   []string
	answer    func([]string)
	ed        lineEditor // the answer being typed
	reasks    int        // how many times the question asked was asked again (chat.Question.Check)
}

// noTerminalSecret is what a Secret question's prompt says without a
// PTY: the client's terminal echoes what is typed, and the server cannot
// stop it.
const noTerminalSecret = "(shown as you type: no terminal)"

// prompt is the question asked, as the prompt; echo: the server echoes.
func (a *lineAsk) prompt(echo bool) string {
	q := a.questions[len(a.answers)]
	if !q.Secret || echo {
		return q.Prompt
	}
	if text, ok := strings.CutSuffix(strings.TrimRight(q.Prompt, " "), ":"); ok {
		return text + " " + noTerminalSecret + ": "
	}
	return q.Prompt + noTerminalSecret + " "
}

// next readies the editor for the question not answered yet.
func (a *lineAsk) next(max int) {
	a.ed = lineEditor{max: max}
	if a.questions[len(a.answers)].Secret {
		a.ed.mask = '•'
	}
}

// startAsk asks questions for s; a second Ask while one is asked is
// refused with a notice.
func (l *lineSession) startAsk(s *lineCommand, questions []chat.Question, answer func([]string)) {
	if l.ask != nil {
		l.notice("A question is being asked already: answer it, or cancel it, first.")
		return
	}
	if len(questions) == 0 {
		answer(nil)
		return
	}
	if l.echo {
		l.notice("Enter answers · Esc or Ctrl+C cancels.")
	} else {
		l.notice("Enter answers · Esc then Enter cancels.")
	}
	l.ask = &lineAsk{s: s, questions: questions, answers: make([]string, 0, len(questions)), answer: answer}
	l.ask.next(l.ed.max)
}

// answered takes the answer to the question asked. A question with a
// Check has it checked here, where commands run: a problem is printed as
// a notice and the same question is asked again, at most chat.MaxReasks
// times; after that the questions end without "Cancelled." (the problem
// said why) and the command's answer never runs. After the last answer,
// the command's answer runs, on the session it asked from. It reports
// whether the user left (the check or the answer may quit).
func (l *lineSession) answered(answer string) (quit bool) {
	a := l.ask
	if check := a.questions[len(a.answers)].Check; check != nil {
		if problem := check(answer); problem != "" {
			l.notice(problem)
			if a.reasks >= chat.MaxReasks {
				l.ask = nil // as a cancel, without its notice
			} else {
				a.reasks++
				a.next(l.ed.max) // the same question, in an empty editor
			}
			return a.s.quit
		}
	}
	a.answers = append(a.answers, answer)
	a.reasks = 0
	if len(a.answers) < len(a.questions) {
		a.next(l.ed.max)
		return false
	}
	l.ask = nil // before the answer runs: it may ask again
	a.answer(a.answers)
	return a.s.quit
}

// cancelAsk drops the question asked, after mark at the end of its line
// ("^C"), and says so: the command's answer never runs.
func (l *lineSession) cancelAsk(mark string) {
	l.endLine(mark)
	l.ask = nil
	l.notice("Cancelled.")
}

// linesOnSwitch is how much of a conversation's history the line mode
// prints when the user switches to it.
const linesOnSwitch = 20

// switchTo makes c the conversation lines go to, and prints its last lines.
func (l *lineSession) switchTo(c chat.Conversation) {
	l.convs[c.ID] = c
	if l.current.ID == c.ID {
		l.current = c // a new topic, say
		return
	}
	l.current = c
	me := l.member.Name()
	title := c.Title(me)
	if topic := chat.Sanitize(c.Topic, 0); topic != "" {
		title += ": " + topic
	}
	l.notice("Now in " + title + ". Your lines go here; lines elsewhere show their conversation first.")
	recent, err := l.member.Older(l.ctx, c.ID, 0, linesOnSwitch) // the latest
	if err != nil {
		return
	}
	for _, msg := range recent {
		if msg.ID > l.lastID[c.ID] {
			l.lastID[c.ID] = msg.ID
		}
		l.println(formatLine(msg))
	}
}

// forget drops a conversation the account left.
func (l *lineSession) forget(id int64) {
	delete(l.convs, id)
	delete(l.lastID, id)
	if l.current.ID == id {
		l.current = l.member.Room().Lobby()
		l.notice("Now in " + l.current.Name + ".")
	}
}

// show prints messages in order, skipping any already shown.
func (l *lineSession) show(msgs []chat.Message) {
	me := l.member.Name()
	for _, msg := range msgs {
		if msg.ID != 0 && msg.ID <= l.lastID[msg.Conv] {
			continue
		}
		c, known := l.convs[msg.Conv]
		addressed := msg.To != "" && strings.EqualFold(msg.To, me)
		if !known && l.member.In(msg.Conv) {
			if found, err := l.member.Conversation(l.ctx, msg.Conv); err == nil {
				c, known = found, true
				l.convs[c.ID] = c
			}
		}
		if !known && !addressed {
			continue
		}
		l.lastID[msg.Conv] = max(l.lastID[msg.Conv], msg.ID)
		// Times alone do not say which day.
		if day := msg.Time.Format("— Monday, 2 January 2006 —"); day != l.lastDay {
			l.println(day)
			l.lastDay = day
		}
		line := formatLine(msg)
		if msg.Conv != l.current.ID {
			title := c.Title(me)
			if !known {
				title = "invitation"
			}
			line = "[" + title + "] " + line
		}
		l.println(line)
		if c.Kind == chat.Direct && !strings.EqualFold(msg.Author, me) && msg.Kind == chat.KindText {
			l.lastPrivate = msg.Author
		}
		if msg.Kind == chat.KindLeave && addressed && known {
			l.forget(msg.Conv)
		}
	}
}

// removedText is what shows in place of a message a moderator removed.
const removedText = "[removed by a moderator]"

// formatLine is a room message as one line, as the chat screen's log shows
// it (without the seconds). What other users wrote is sanitised again
// here: history and other nodes are inputs too.
func formatLine(msg chat.Message) string {
	author, body := chat.Sanitize(msg.Author, 64), chat.Sanitize(msg.Body, 0)
	at := msg.Time.Format("15:04") + " "
	if msg.Removed && (msg.Kind == chat.KindText || msg.Kind == chat.KindAction) {
		body = removedText
	}
	switch msg.Kind {
	case chat.KindText:
		return at + author + ": " + body
	case chat.KindAction:
		return at + "* " + author + " " + body
	case chat.KindPurge:
		// A line printed cannot be taken back: this says which were.
		since := msg.Since.Format("15:04")
		if msg.Since.Format(time.DateOnly) != msg.Time.In(msg.Since.Location()).Format(time.DateOnly) {
			since = msg.Since.Format("Mon 2 Jan 15:04") // times alone do not say which day
		}
		text := at + "-- " + author + "'s messages since " + since + " were removed by a moderator"
		if body != "" {
			text += " (" + body + ")"
		}
		return text
	case chat.KindJoin:
		if strings.EqualFold(msg.To, msg.Author) { // /join, not a login
			return at + "→ " + author + " joined the channel"
		}
		return at + "→ " + chat.Sanitize(msg.Who(), 0) + " joined"
	case chat.KindLeave:
		switch {
		case msg.To != "" && body != "":
			return at + "← " + author + " left (" + body + ")"
		case strings.EqualFold(msg.To, msg.Author): // /part, not a logout
			return at + "← " + author + " left the channel"
		}
		return at + "← " + chat.Sanitize(msg.Who(), 0) + " left"
	case chat.KindTopic:
		if msg.Removed {
			return at + author + " set the topic: [removed by a moderator]"
		}
		return at + author + " set the topic: " + body
	case chat.KindAway:
		if body != "" {
			return at + author + " is away: " + body
		}
		return at + author + " is away"
	case chat.KindBack:
		return at + author + " is back"
	}
	return at + body
}

// notice prints a line only this user sees. The prefix marks it: no
// message line begins with it.
func (l *lineSession) notice(text string) { l.println("-!- " + text) }

// println prints a line above the prompt: over the prompt if nothing is
// typed on it, else below what is typed, which prompt shows again. Without
// a PTY it goes under a question's prompt: what the user typed after it is
// on the client's screen only.
func (l *lineSession) println(text string) {
	if l.prompted {
		switch ed := l.editor(); {
		case !l.echo:
			l.buf = append(l.buf, l.eol...)
		case len(ed.text) == 0:
			l.buf = append(l.buf, '\r')
			// Blanks over what the line leaves of a longer prompt (a
			// question's: "> " is shorter than any line printed).
			if pad := ansi.WcWidth.StringWidth(l.promptText()) - ansi.WcWidth.StringWidth(text); pad > 0 {
				text += strings.Repeat(" ", pad)
			}
		default:
			l.buf = append(l.buf, l.eol...)
		}
		l.prompted = false
	}
	l.buf = append(l.buf, text...)
	l.buf = append(l.buf, l.eol...)
}

// endLine ends the prompt's line, after mark, as what was typed on it
// stays: Enter, or Ctrl+C. Without a PTY, the client's Enter ended it.
func (l *lineSession) endLine(mark string) {
	if l.prompted {
		if l.echo {
			l.buf = append(l.buf, mark+l.eol...)
		}
		l.prompted = false
	}
}

// prompt shows the prompt and the text typed so far, unless they are on
// screen already, or the line being typed was dropped as too long.
// Without a PTY only a question is prompted, and what is typed is the
// client's to show.
func (l *lineSession) prompt() {
	ed := l.editor()
	if l.prompted || ed.dropped || (!l.echo && l.ask == nil) {
		return
	}
	l.buf = append(l.buf, l.promptText()...)
	if l.echo {
		l.buf = append(l.buf, ed.shown()...)
	}
	l.prompted = true
}

// promptText is the prompt: "> ", or the question asked.
func (l *lineSession) promptText() string {
	if l.ask == nil {
		return linePrompt
	}
	return l.ask.prompt(l.echo)
}

// flush writes what was gathered, in one write.
func (l *lineSession) flush() {
	if len(l.buf) == 0 || l.werr != nil {
		l.buf = l.buf[:0]
		return
	}
	_, l.werr = l.out.Write(l.buf)
	l.buf = l.buf[:0]
}

// lineEndReason says why the room ended the session; "" when the
// connection ended it (nobody is left to read).
func lineEndReason(err error) string {
	var removed *chat.RemovedError
	switch {
	case errors.As(err, new(*chat.EvictedError)):
		return "Disconnected: your connection could not keep up."
	case errors.As(err, &removed):
		return removed.Error() // written for the user whose session it ends
	case errors.Is(err, chat.ErrRoomClosed):
		return "The server is restarting. Please reconnect in a moment."
	}
	return ""
}

// postTrouble is the notice for a line that was not sent.
func postTrouble(err error) string {
	var muted *chat.MutedError
	switch {
	case errors.As(err, new(*chat.SlowDownError)), errors.As(err, new(*chat.TooLongError)):
		return "Not sent: " + err.Error() + "."
	case errors.Is(err, chat.ErrEmpty):
		return "Not sent: the message is empty."
	case errors.Is(err, chat.ErrBusy):
		return "Not sent: the room is busy. Try again in a moment."
	case errors.Is(err, chat.ErrNotSaved):
		return "Not sent: the server could not save it. Press Enter to try again."
	case errors.Is(err, chat.ErrRoomClosed):
		return "Not sent: the server is shutting down."
	case errors.As(err, &muted):
		return muted.Sentence() + ". Nothing was sent."
	}
	return "Not sent: " + err.Error() + "."
}

// keyAction is what a key did to the line.
type keyAction uint8

const (
	keyNone     keyAction = iota
	keyEnter              // the line is complete: take it
	keyClear              // the line is gone (Ctrl+C with text; Ctrl+U or Ctrl+C on a dropped line)
	keyQuit               // Ctrl+C or Ctrl+D on an empty line
	keyOverflow           // the line went over the limit: dropped, and ignored up to its end
)

// escState is where the editor is in an escape sequence.
type escState uint8

const (
	escNone   escState = iota
	escStart           // after ESC
	escCSI             // ESC [: parameters up to a final byte
	escSS3             // ESC O: one more byte
	escString          // ESC ] (OSC), P (DCS), X, ^, _: up to BEL or ST (ESC \)
)

// lineEditor is the line being typed, from the bytes of a terminal in raw
// mode. It keeps printable text only, at most max characters: control
// bytes other than its keys are ignored, and so are escape sequences
// whole (arrows, function keys, a terminal's answers), so that none of
// their bytes ends up in the text. It appends the echo of each edit to
// the output it is given; line breaks and prompts are the session's.
type lineEditor struct {
	max     int
	mask    rune // if set, what each character typed is echoed as (a Secret answer)
	text    []rune
	dropped bool     // the line went over max: ignored up to its end
	esc     escState // in an escape sequence
	partial []byte   // the first bytes of a character, until it is whole
	afterCR bool     // the previous byte was a CR: an LF now is the same Enter
}

// key takes one byte.
func (e *lineEditor) key(b byte, echo *[]byte) keyAction {
	afterCR := e.afterCR
	e.afterCR = false
	switch e.esc {
	case escStart:
		switch {
		case b == '[':
			e.esc = escCSI
			return keyNone
		case b == 'O':
			e.esc = escSS3
			return keyNone
		case b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_':
			e.esc = escString
			return keyNone
		case b == 0x1b:
			return keyNone
		case b >= 0x20 && b < 0x7f: // Alt and a key, or the end of a string (ESC \\)
			e.esc = escNone
			return keyNone
		}
		e.esc = escNone // a control or a character: it counts by itself
	case escCSI:
		if b >= 0x20 && b <= 0x3f {
			return keyNone
		}
		e.esc = escNone
		if b >= 0x40 && b <= 0x7e {
			return keyNone
		}
	case escSS3:
		e.esc = escNone
		if b >= 0x20 && b < 0x7f {
			return keyNone
		}
	case escString:
		switch b {
		case 0x07:
			e.esc = escNone
		case 0x1b:
			e.esc = escStart
		}
		return keyNone
	}
	if b >= 0x80 {
		return e.multibyte(b, echo)
	}
	e.partial = e.partial[:0] // an unfinished character is dropped
	switch {
	case b == '\r':
		e.afterCR = true
		return e.enter()
	case b == '\n':
		if afterCR {
			return keyNone
		}
		return e.enter()
	case b == 0x7f || b == 0x08: // Backspace, Ctrl+H
		e.erase(1, echo)
	case b == 0x15: // Ctrl+U
		if e.dropped {
			e.dropped = false
			return keyClear
		}
		e.erase(len(e.text), echo)
	case b == 0x03: // Ctrl+C
		if len(e.text) == 0 && !e.dropped {
			return keyQuit
		}
		e.text, e.dropped = e.text[:0], false
		return keyClear
	case b == 0x04: // Ctrl+D
		if len(e.text) == 0 && !e.dropped {
			return keyQuit
		}
	case b == 0x1b:
		e.esc = escStart
	case b >= 0x20:
		return e.add(rune(b), echo)
	}
	return keyNone
}

// multibyte takes a byte of a UTF-8 character.
func (e *lineEditor) multibyte(b byte, echo *[]byte) keyAction {
	switch {
	case utf8.RuneStart(b):
		e.partial = append(e.partial[:0], b) // an unfinished one before it is dropped
	case len(e.partial) == 0: // a stray continuation byte
		return keyNone
	default:
		e.partial = append(e.partial, b)
	}
	if !utf8.FullRune(e.partial) {
		return keyNone
	}
	r, _ := utf8.DecodeRune(e.partial)
	e.partial = e.partial[:0]
	if r == utf8.RuneError || !typeable(r) {
		return keyNone
	}
	return e.add(r, echo)
}

// typeable reports the characters a line keeps: visible ones and spaces,
// and the joiners that hold emoji and some scripts together. Not C1
// controls, bidirectional controls or other invisible format characters
// (Sanitize would drop most of them from the message anyway; here they
// would also reach the user's own terminal in the echo).
func typeable(r rune) bool {
	return unicode.IsGraphic(r) || r == '\u200c' || r == '\u200d'
}

func (e *lineEditor) add(r rune, echo *[]byte) keyAction {
	if e.dropped {
		return keyNone
	}
	if len(e.text) >= e.max {
		e.text, e.dropped = e.text[:0], true
		return keyOverflow
	}
	e.text = append(e.text, r)
	if e.mask != 0 {
		r = e.mask
	}
	*echo = utf8.AppendRune(*echo, r)
	return keyNone
}

// shown is the text as the echo shows it.
func (e *lineEditor) shown() string {
	if e.mask != 0 {
		return strings.Repeat(string(e.mask), len(e.text))
	}
	return string(e.text)
}

// erase erases the last n characters, on screen too: back over each cell,
// a blank over it, back again.
func (e *lineEditor) erase(n int, echo *[]byte) {
	for ; n > 0 && len(e.text) > 0; n-- {
		r := e.text[len(e.text)-1]
		e.text = e.text[:len(e.text)-1]
		if e.mask != 0 {
			r = e.mask
		}
		for range ansi.WcWidth.StringWidth(string(r)) {
			*echo = append(*echo, "\b \b"...)
		}
	}
}

func (e *lineEditor) enter() keyAction {
	e.dropped = false
	return keyEnter
}

// take returns the line typed and starts a new one.
func (e *lineEditor) take() string {
	line := string(e.text)
	e.text = e.text[:0]
	return line
}

// restore puts a line back to be sent again; the prompt shows it.
func (e *lineEditor) restore(line string) {
	e.text = append(e.text[:0], []rune(line)...)
}
