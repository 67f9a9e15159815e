package app

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"charm.land/ssh"

	"messaging/chat"
)

// The script commands: what a session runs when it carries a command
// (ssh -p 4848 alice@host say hello), with or without a PTY, for scripts
// and bots. Each writes plain lines (never an escape sequence: what others
// wrote is sanitised again on the way out), one error line on stderr when
// it fails, and exits with 0 (done), 1 (refused: flood, too long, removed,
// the server shutting down...) or 2 (bad usage: the line says what, the
// usage follows). A command is the connection's one session, as a chat
// is (limitSessions). The commands that read the room do it as a hidden
// member (chat.Room.Watch): never online, no join or leave notice.

// Exit statuses of the script commands.
const (
	exitOK      = 0
	exitRefused = 1
	exitUsage   = 2
)

const (
	historyDefault = 20
	historyMax     = 1000
	// historyPage is what one Member.Older call returns at most.
	historyPage = 500
	// sayInFlight bounds the posts of one say whose commit is awaited.
	sayInFlight = 64
	// busyRetry is how long a post waits when the room's queue is full.
	busyRetry = 50 * time.Millisecond
	// maxTitles bounds the conversation titles a tail remembers.
	maxTitles = 1024
	// quitKeys (Ctrl+C, Ctrl+D) end a tail run with a PTY: the client's
	// terminal is in raw mode, so they arrive as bytes, not signals.
	quitKeys = "\x03\x04"
)

// scriptCommand is one command: its help and its handler, in one table.
type scriptCommand struct {
	name, args, help string
	run              func(*scriptRun) int
}

// scriptCommands lists the commands in the order help shows them. (A
// function, not a variable: help's handler reads the table.)
func scriptCommands() []scriptCommand {
	return []scriptCommand{
		{"say", "TEXT...", "post TEXT in #lobby; without TEXT, post each line of standard input", (*scriptRun).say},
		{"history", "[N] [--json]", fmt.Sprintf("print the last N messages of #lobby, oldest first (default %d, at most %d)", historyDefault, historyMax), (*scriptRun).history},
		{"who", "", `print who is online in #lobby, one a line ("name (away)" for those away)`, (*scriptRun).who},
		{"tail", "[--json]", "print the messages of your conversations as they come, until the connection ends", (*scriptRun).tail},
		{"help", "", "list these commands", (*scriptRun).help},
	}
}

// runScripts runs the session's command, if it has one, instead of a chat.
func (s *Server) runScripts(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if sess.RawCommand() == "" {
			next(sess)
			return
		}
		_ = sess.Exit(s.runScript(sess))
	}
}

// scriptRun is one command being run.
type scriptRun struct {
	s      *Server
	sess   ssh.Session
	name   string   // the account
	cmd    string   // the command's name
	args   []string // the words after it
	rest   string   // the command line after the name, as sent (say's text)
	pty    bool
	out    io.Writer // stdout, bounded by the stall limit
	errOut io.Writer // stderr, likewise
}

func (s *Server) runScript(sess ssh.Session) int {
	raw := sess.RawCommand()
	_, _, pty := sess.Pty()
	x := &scriptRun{
		s: s, sess: sess, name: identity(sess.Context()), pty: pty,
		// sess, not its channel: with a PTY, it turns \n into \r\n.
		out: s.stallBounded(sess, sess, identity(sess.Context())),
	}
	x.errOut = s.stallBounded(sess, sess.Stderr(), x.name)
	fields := strings.Fields(raw)
	if len(fields) == 0 {
		return x.usage("no command given")
	}
	x.cmd, x.args = fields[0], fields[1:]
	x.rest = strings.TrimSpace(strings.TrimLeftFunc(raw, unicode.IsSpace)[len(x.cmd):])
	if x.name == "" { // cannot happen: every auth method sets it
		return x.fail("not signed in")
	}
	// A ban set after this connection logged in holds for every command.
	if why := s.auth.banned(sess.Context(), x.name); why != "" {
		return x.fail(why)
	}
	for _, c := range scriptCommands() {
		if c.name == x.cmd {
			status := c.run(x)
			// The command's name only: its arguments may be a message.
			s.log.Info("command", "user", x.name, "command", c.name, "status", status)
			return status
		}
	}
	x.cmd = ""
	return x.usage(fmt.Sprintf("unknown command %q", chat.Sanitize(fields[0], 40)))
}

// fail prints why the command was refused, and returns exitRefused.
func (x *scriptRun) fail(why string) int {
	prefix := ""
	if x.cmd != "" {
		prefix = x.cmd + ": "
	}
	fmt.Fprintf(x.errOut, "%s%s\n", prefix, why)
	return exitRefused
}

// usage prints what was wrong and the usage on stderr, and returns
// exitUsage.
func (x *scriptRun) usage(why string) int {
	x.fail(why)
	x.printUsage(x.errOut)
	return exitUsage
}

func (x *scriptRun) printUsage(w io.Writer) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "usage: ssh%s %s@%s COMMAND\n", portFlag(x.s.Addr()), x.name, x.s.cfg.PublicHost)
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	for _, c := range scriptCommands() {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.help)
	}
	_ = tw.Flush()
	_, _ = w.Write(b.Bytes())
}

// flags reads the arguments of a command that takes only --json and, if
// positional is set, at most one other argument, which it returns.
func (x *scriptRun) flags(positional bool) (asJSON bool, arg string, problem string) {
	for _, a := range x.args {
		switch {
		case a == "--json":
			asJSON = true
		case strings.HasPrefix(a, "-") && len(a) > 1 && !isNumber(a):
			return false, "", fmt.Sprintf("unknown flag %q", chat.Sanitize(a, 40))
		case !positional || arg != "":
			return false, "", fmt.Sprintf("unexpected argument %q", chat.Sanitize(a, 40))
		default:
			arg = a
		}
	}
	return asJSON, arg, ""
}

// isNumber reports whether a is a (possibly negative) whole number, so that
// "history -5" is a bad N rather than an unknown flag.
func isNumber(a string) bool {
	_, err := strconv.Atoi(a)
	return err == nil
}

// noArgs reports, for a command that takes no arguments, what is wrong
// with those given ("" if none was).
func (x *scriptRun) noArgs() string {
	if len(x.args) == 0 {
		return ""
	}
	if a := x.args[0]; strings.HasPrefix(a, "-") && len(a) > 1 {
		return fmt.Sprintf("unknown flag %q", chat.Sanitize(a, 40))
	}
	return fmt.Sprintf("unexpected argument %q", chat.Sanitize(x.args[0], 40))
}

func (x *scriptRun) help() int {
	if problem := x.noArgs(); problem != "" {
		return x.usage(problem)
	}
	x.printUsage(x.out)
	return exitOK
}

// who prints who is online in #lobby: hidden members (tails) never are.
func (x *scriptRun) who() int {
	if problem := x.noArgs(); problem != "" {
		return x.usage(problem)
	}
	var b bytes.Buffer
	for _, p := range x.s.room.Online(x.s.room.Lobby().ID) {
		b.WriteString(chat.Sanitize(p.Name, 64))
		if p.IsAway {
			b.WriteString(" (away)")
		}
		b.WriteByte('\n')
	}
	_, _ = x.out.Write(b.Bytes())
	return exitOK
}

// enter makes the command a hidden member of the room (see Server.enter).
// drain: the command does not read the member's messages, which are then
// discarded, so that a busy room does not evict it. On failure it says why
// and returns the exit status.
func (x *scriptRun) enter(drain bool) (joined, func(), int) {
	j, done, err := x.s.enter(x.sess, x.name, x.s.room.Watch)
	if err != nil {
		if errors.Is(err, errShuttingDown) || errors.Is(err, chat.ErrRoomClosed) {
			return joined{}, nil, x.fail(shuttingDownNotice)
		}
		var removed *chat.RemovedError
		if errors.As(err, &removed) {
			return joined{}, nil, x.fail(removed.Reason)
		}
		return joined{}, nil, x.fail("the server could not open your conversations; try again later")
	}
	if drain {
		go func() {
			for {
				if _, err := j.member.Receive(j.ctx); err != nil {
					return
				}
			}
		}()
	}
	return j, done, exitOK
}

// ended is the exit status of a command whose member ended (err from
// Receive, Send or Wait, or the session's end), after saying why.
func (x *scriptRun) ended(j joined, err error) int {
	if reason := shutdownReason(j.ctx); reason != "" {
		return x.fail(reason)
	}
	var removed *chat.RemovedError
	switch {
	case errors.As(err, &removed):
		return x.fail(removed.Reason)
	case errors.As(err, new(*chat.EvictedError)):
		return x.fail(err.Error())
	case errors.Is(err, chat.ErrRoomClosed):
		return x.fail("The server is shutting down.")
	case j.ctx.Err() != nil:
		return exitRefused // the connection ended: nobody reads
	}
	if cause := j.member.Err(); cause != nil && !errors.Is(cause, chat.ErrLeft) {
		return x.ended(j, cause)
	}
	return x.fail(err.Error())
}

// say posts its text, or each line of standard input, in #lobby. It stops
// at the first line it cannot post (too long, the session ended...): the
// lines before it are stored, none after. Over the flood limit it waits;
// exit status 0 means every line is stored.
func (x *scriptRun) say() int {
	stdin := x.rest == ""
	if stdin && x.pty {
		// A terminal in raw mode sends neither line ends nor an end of
		// input that a line reader would see.
		return x.usage("with a terminal (ssh -t), give the text as arguments; pipe lines to say without -t")
	}
	j, done, status := x.enter(true)
	if done == nil {
		return status
	}
	defer done()
	p := &poster{ctx: j.ctx, member: j.member, conv: x.s.room.Lobby().ID}
	if !stdin {
		if err := p.post(x.rest); err != nil {
			return x.refused(j, err, "")
		}
	} else {
		lines := make(chan inputLine)
		go readLines(j.ctx, x.sess, 4*x.s.cfg.MaxMessage+2, lines)
		for line := range lines {
			if line.tooLong {
				return x.fail(fmt.Sprintf("line %d is longer than %d characters, the limit", line.n, x.s.cfg.MaxMessage))
			}
			err := p.post(line.text)
			if errors.Is(err, chat.ErrEmpty) {
				continue // a blank line posts nothing
			}
			if err != nil {
				return x.refused(j, err, fmt.Sprintf("line %d: ", line.n))
			}
		}
		if j.ctx.Err() != nil {
			return x.ended(j, j.ctx.Err())
		}
	}
	if err := p.wait(0); err != nil {
		return x.refused(j, err, "")
	}
	return exitOK
}

// refused is say's exit status for err, after saying why (where says which
// line).
func (x *scriptRun) refused(j joined, err error, where string) int {
	var tooLong *chat.TooLongError
	switch {
	case errors.As(err, &tooLong), errors.Is(err, chat.ErrEmpty), errors.Is(err, chat.ErrNotSaved):
		return x.fail(where + err.Error())
	}
	return x.ended(j, err)
}

// poster posts a say's lines in order, pacing them to the flood limit, with
// at most sayInFlight awaiting their commit.
type poster struct {
	ctx     context.Context
	member  *chat.Member
	conv    int64
	waiting []*chat.Receipt
}

func (p *poster) post(text string) error {
	for {
		receipt, err := p.member.Send(p.conv, chat.KindText, text)
		var slow *chat.SlowDownError
		var pause time.Duration
		switch {
		case err == nil:
			p.waiting = append(p.waiting, receipt)
			return p.wait(sayInFlight - 1)
		case errors.As(err, &slow):
			pause = slow.Wait
		case errors.Is(err, chat.ErrBusy):
			pause = busyRetry
		default:
			return err
		}
		if err := sleep(p.ctx, max(pause, time.Millisecond)); err != nil {
			return err
		}
	}
}

// wait waits for the oldest commits until at most left are awaited.
func (p *poster) wait(left int) error {
	for len(p.waiting) > left {
		if err := p.waiting[0].Wait(p.ctx); err != nil {
			return err
		}
		p.waiting[0] = nil
		p.waiting = p.waiting[1:]
	}
	return nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// inputLine is one line of a say's standard input.
type inputLine struct {
	n       int // its number, from 1
	text    string
	tooLong bool // longer than the reader's bound: text is empty
}

// readLines sends each line of r (without its line end) to lines, reading
// through a buffer of maxBytes: a longer line is sent as tooLong, and ends
// the reading. It closes lines at the end of the input, or once ctx ends.
func readLines(ctx context.Context, r io.Reader, maxBytes int, lines chan<- inputLine) {
	defer close(lines)
	br := bufio.NewReaderSize(r, maxBytes)
	for n := 1; ; n++ {
		b, err := br.ReadSlice('\n')
		line := inputLine{n: n, text: strings.TrimRight(string(b), "\r\n")}
		if errors.Is(err, bufio.ErrBufferFull) {
			line = inputLine{n: n, tooLong: true}
		}
		if line.text != "" || line.tooLong {
			select {
			case lines <- line:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// history prints the last N messages of #lobby, oldest first.
func (x *scriptRun) history() int {
	asJSON, arg, problem := x.flags(true)
	if problem != "" {
		return x.usage(problem)
	}
	n := historyDefault
	if arg != "" {
		v, err := strconv.Atoi(arg)
		if err != nil || v < 1 || v > historyMax {
			return x.usage(fmt.Sprintf("N must be a whole number from 1 to %d, not %q", historyMax, chat.Sanitize(arg, 40)))
		}
		n = v
	}
	j, done, status := x.enter(true)
	if done == nil {
		return status
	}
	defer done()
	lobby := x.s.room.Lobby()
	msgs, err := lastMessages(j.ctx, j.member, lobby.ID, n)
	if err != nil {
		if j.ctx.Err() != nil || j.member.Err() != nil {
			return x.ended(j, err)
		}
		x.s.log.Error("history", "user", x.name, "err", err)
		return x.fail("the history could not be read; try again later")
	}
	f := x.formatter(asJSON)
	w := bufio.NewWriterSize(x.out, 32<<10)
	for _, msg := range msgs {
		_, _ = w.Write(f.line(msg, lobby.Name))
	}
	if err := w.Flush(); err != nil {
		return exitRefused // the connection ended: nobody reads
	}
	return exitOK
}

// lastMessages returns the last n messages of conv that m sees, oldest
// first, a page of at most historyPage at a time.
func lastMessages(ctx context.Context, m *chat.Member, conv int64, n int) ([]chat.Message, error) {
	var pages [][]chat.Message // newest page first
	got, before := 0, int64(0)
	for got < n {
		page, err := m.Older(ctx, conv, before, min(n-got, historyPage))
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break // the beginning
		}
		pages = append(pages, page)
		got += len(page)
		before = page[0].ID
	}
	msgs := make([]chat.Message, 0, got)
	for i := len(pages) - 1; i >= 0; i-- {
		msgs = append(msgs, pages[i]...)
	}
	return msgs, nil
}

// tail prints the messages of the account's conversations as they come,
// until the connection ends, the server shuts down (exit 1, saying so),
// the member is evicted or removed (exit 1, saying why), or, with a PTY,
// the user presses Ctrl+C or Ctrl+D (exit 0).
func (x *scriptRun) tail() int {
	asJSON, _, problem := x.flags(false)
	if problem != "" {
		return x.usage(problem)
	}
	j, done, status := x.enter(false)
	if done == nil {
		return status
	}
	defer done()
	ctx := j.ctx
	quit := make(chan struct{})
	if x.pty {
		go readQuitKeys(ctx, x.sess, quit)
	}
	titles := make(map[int64]string, len(j.member.Memberships()))
	for _, ms := range j.member.Memberships() {
		titles[ms.Conv.ID] = ms.Conv.Title(x.name)
	}
	f := x.formatter(asJSON)
	received := make(chan delivery)
	go deliverLines(ctx, j.member, received)
	var b bytes.Buffer
	for {
		var d delivery
		select {
		case <-quit:
			return exitOK
		case <-ctx.Done():
			return x.ended(j, ctx.Err())
		case d = <-received:
		}
		b.Reset()
		for _, msg := range d.msgs {
			title, ok := titles[msg.Conv]
			if !ok {
				title = "?"
				if c, err := j.member.Conversation(ctx, msg.Conv); err == nil {
					title = c.Title(x.name)
				}
				if len(titles) >= maxTitles {
					clear(titles)
				}
				titles[msg.Conv] = title
			}
			b.Write(f.line(msg, title))
		}
		if b.Len() > 0 {
			if _, err := x.out.Write(b.Bytes()); err != nil {
				return exitRefused // the connection ended: nobody reads
			}
		}
		if d.err != nil {
			return x.ended(j, d.err)
		}
	}
}

// readQuitKeys closes quit when the input holds Ctrl+C or Ctrl+D, and
// discards the rest of it.
func readQuitKeys(ctx context.Context, r io.Reader, quit chan<- struct{}) {
	buf := make([]byte, 256)
	for ctx.Err() == nil {
		n, err := r.Read(buf)
		if bytes.ContainsAny(buf[:n], quitKeys) {
			close(quit)
			return
		}
		if err != nil {
			return
		}
	}
}

// scriptFormatter writes messages as script lines, text or JSON.
type scriptFormatter struct {
	asJSON  bool
	lobby   string
	maxBody int
}

func (x *scriptRun) formatter(asJSON bool) scriptFormatter {
	return scriptFormatter{asJSON: asJSON, lobby: x.s.room.Lobby().Name, maxBody: max(x.s.cfg.MaxMessage, 1000)}
}

// scriptMessage is a message as --json prints it, one object a line.
type scriptMessage struct {
	ID           int64  `json:"id"`
	Time         string `json:"time"` // RFC 3339, UTC, seconds
	Conversation string `json:"conversation"`
	From         string `json:"from"`
	Kind         string `json:"kind"`
	Text         string `json:"text"`
	To           string `json:"to,omitempty"` // an invitation's or a removal's account
	// Removed: a moderator removed the message; its text is "".
	Removed bool `json:"removed,omitempty"`
	// Since is a purge's start (RFC 3339, UTC): From's messages since
	// then, in the conversation, were removed by a moderator.
	Since string `json:"since,omitempty"`
	// Names and More: a login or logout notice may tell of several people
	// at once (chat.Message.Names): everyone it names, From first, and
	// how many more it counts without naming them. Text is then "".
	Names []string `json:"names,omitempty"`
	More  int      `json:"more,omitempty"`
}

// kindNames are the --json kinds.
var kindNames = map[chat.Kind]string{
	chat.KindText: "text", chat.KindAction: "action", chat.KindJoin: "join", chat.KindLeave: "leave",
	chat.KindSystem: "system", chat.KindTopic: "topic", chat.KindAway: "away", chat.KindBack: "back", chat.KindRole: "role",
	chat.KindPurge: "purge",
}

// line is msg, of the conversation title, as one line with its line end.
// Author and body are sanitised again: history and other nodes are inputs
// too. A text line names the conversation first ("[#dev] ...") unless it
// is #lobby.
func (f scriptFormatter) line(msg chat.Message, title string) []byte {
	author, body := chat.Sanitize(msg.Author, 64), chat.Sanitize(msg.Body, f.maxBody)
	at := msg.Time.UTC().Format(time.RFC3339)
	var since, who string
	var names []string
	var more int
	switch {
	case msg.Removed:
		body = ""
	case msg.Kind == chat.KindPurge:
		// The moderator's name (Body) stays with the screens.
		body, since = "", msg.Since.UTC().Format(time.RFC3339)
	case (msg.Kind == chat.KindJoin || msg.Kind == chat.KindLeave) && msg.To == "":
		// A login or logout: its Body names the others (chat.Message.Names).
		body, who = "", chat.Sanitize(msg.Who(), 0)
		if names, more = msg.Names(); len(names) == 1 {
			names = nil // one name: From says it
		}
		for i, n := range names {
			names[i] = chat.Sanitize(n, 64)
		}
	}
	if f.asJSON {
		kind, ok := kindNames[msg.Kind]
		if !ok {
			kind = "other"
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(scriptMessage{ID: msg.ID, Time: at, Conversation: chat.Sanitize(title, 64),
			From: author, Kind: kind, Text: body, To: chat.Sanitize(msg.To, 64), Removed: msg.Removed, Since: since,
			Names: names, More: more})
		return b.Bytes()
	}
	var b strings.Builder
	if title != f.lobby {
		b.WriteString("[" + chat.Sanitize(title, 64) + "] ")
	}
	text := scriptText(msg.Kind, cmp.Or(who, author), body, strings.EqualFold(msg.To, msg.Author))
	switch {
	case msg.Removed && (msg.Kind == chat.KindText || msg.Kind == chat.KindAction || msg.Kind == chat.KindTopic):
		text = scriptText(msg.Kind, author, removedText, false)
	case msg.Kind == chat.KindPurge:
		text = "-- " + author + "'s messages since " + since + " were removed by a moderator"
	}
	b.WriteString(at + " " + text + "\n")
	return []byte(b.String())
}

// scriptText is what a message says: "bob: hello", "* bob waves", and the
// notices after "-- ": "-- bob joined", "-- bob left (removed by alice)",
// "-- bob set the topic: ...". self: the notice is addressed to its author
// (a channel joined or left, not a login or logout).
func scriptText(kind chat.Kind, author, body string, self bool) string {
	switch kind {
	case chat.KindText:
		return author + ": " + body
	case chat.KindAction:
		return "* " + author + " " + body
	case chat.KindJoin:
		if self {
			return "-- " + author + " joined the channel"
		}
		return "-- " + author + " joined"
	case chat.KindLeave:
		switch {
		case body != "":
			return "-- " + author + " left (" + body + ")"
		case self:
			return "-- " + author + " left the channel"
		}
		return "-- " + author + " left"
	case chat.KindTopic:
		if body == "" {
			return "-- " + author + " cleared the topic"
		}
		return "-- " + author + " set the topic: " + body
	case chat.KindAway:
		if body == "" {
			return "-- " + author + " is away"
		}
		return "-- " + author + " is away: " + body
	case chat.KindBack:
		return "-- " + author + " is back"
	}
	return "-- " + body
}
