package app

import (
	"context"
	"errors"
	"io"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	"github.com/charmbracelet/colorprofile"
	gossh "golang.org/x/crypto/ssh"

	"messaging/app/tui"
	"messaging/chat"
)

const (
	// keepaliveMisses unanswered keepalives mean the client is gone.
	keepaliveMisses = 3
	// stallLimit: a client whose session output has been blocked this long
	// has stopped reading.
	stallLimit = 5 * time.Second
	// evictedGrace is how long an evicted session's program gets to quit
	// by itself before its connection is closed under it.
	evictedGrace = 2 * time.Second
	// resizeEvery bounds how often a flood of window changes re-lays out
	// the screen.
	resizeEvery = 50 * time.Millisecond
)

// middleware lists the session middleware in execution order, outermost
// first (wish composes its arguments so that the last one runs first; this
// function reverses the list for it). A session goes by kind: one with a
// command (ssh host say hi), PTY or not, runs it and exits; one without a
// PTY, or with TERM=dumb, gets the line mode; the others the chat screen.
func (s *Server) middleware() []wish.Middleware {
	order := []wish.Middleware{
		s.recoverPanics, // a panic ends only its own session
		s.logSessions,   // connect and disconnect lines
		s.limitSessions, // MAX_SESSIONS, MAX_SESSIONS_PER_IP, one session (chat or command) per connection
		s.runScripts,    // a command: say, history, who, tail, help (scripts.go)
		s.lineMode,      // no PTY, or TERM=dumb: plain lines instead of the chat screen
	}
	mw := []wish.Middleware{s.runChat}
	for i := len(order) - 1; i >= 0; i-- {
		mw = append(mw, order[i])
	}
	return mw
}

func (s *Server) recoverPanics(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("session panic", "user", identity(sess.Context()), "panic", r, "stack", string(debug.Stack()))
				_ = sess.Exit(1)
			}
		}()
		next(sess)
	}
}

func (s *Server) logSessions(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		start := time.Now()
		user, remote := identity(sess.Context()), sess.RemoteAddr().String()
		s.log.Info("session start", "user", user, "remote", remote)
		next(sess)
		s.log.Info("session end", "user", user, "remote", remote, "duration", time.Since(start).Round(time.Millisecond))
	}
}

// limitSessions allows one session per connection, a chat or a command, on
// connections that got a session slot when they logged in (MAX_SESSIONS,
// MAX_SESSIONS_PER_IP). Starting it stops the connection's no-chat timer
// (connState), so that a long tail is not cut.
func (s *Server) limitSessions(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		c := connOf(sess.Context())
		if c == nil {
			next(sess)
			return
		}
		if ok, why := c.startChat(); !ok {
			s.log.Info("chat refused", "user", identity(sess.Context()), "remote", sess.RemoteAddr().String(), "why", why)
			wish.Errorln(sess, why)
			_ = sess.Exit(1)
			return
		}
		defer c.chatEnded()
		next(sess)
	}
}

// runChat joins the room and runs the session's chat screen (tui.Run)
// until the user quits, the connection ends, the room ends the session or
// the server stops.
func (s *Server) runChat(ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		name := identity(sess.Context())
		if name == "" { // cannot happen: every auth method sets it
			wish.Errorln(sess, "not signed in")
			_ = sess.Exit(1)
			return
		}
		j, done, ok := s.join(sess, name)
		if !ok {
			return
		}
		defer done()

		pty, _, _ := sess.Pty()
		width, height := clampSize(pty.Window.Width, pty.Window.Height)
		err := tui.Run(j.ctx, tui.Terminal{
			In:  s.chatInput(newRateReader(j.ctx, sess, s.cfg.InputRate, inputBurst)),
			Out: j.out, Term: pty.Term, Width: width, Height: height,
			Resizes: windowSizes(sess),
		}, tui.Options{
			Room: s.room, Member: j.member, Recent: j.recent, HistoryLen: s.cfg.History,
			MaxMessage: s.cfg.MaxMessage, IdleTimeout: s.cfg.IdleTimeout,
			Profile: colorprofile.Env(append(sess.Environ(), "TERM="+pty.Term)),
			Lines:   s.lines,
			Notices: s.loginNotices(sess.Context()),
			Written: s.metrics.writtenObserver(),
		})
		if err != nil { // a panic (with its stack), or the program failed
			s.log.Error("session ended by an error", "user", name, "err", err)
		}
		_ = sess.Exit(0)
	}
}

// joined is what both screens (the chat and the line mode) and the
// scripts run on.
type joined struct {
	ctx    context.Context // ended with a reason at shutdown, and when the connection closes
	member *chat.Member
	recent []chat.Message // the screens' start (join); nil for the scripts
	out    io.Writer      // the session's output, bounded by the stall limit
}

// errShuttingDown: a session cannot start, the server is stopping.
var errShuttingDown = errors.New("server shutting down")

// shuttingDownNotice is what a session refused at shutdown is told.
const shuttingDownNotice = "The server is shutting down. Please reconnect in a moment."

// join starts a logged-in chat session for name (see enter) and reads the
// recent history. When it cannot (the server is shutting down) it tells
// the user and ends the session. The caller MUST call done when the
// session ends.
func (s *Server) join(sess ssh.Session, name string) (j joined, done func(), ok bool) {
	j, done, err := s.enter(sess, name, s.room.Join)
	if err != nil { // banned, or the server is shutting down (or its store failed: logged)
		why := shuttingDownNotice
		var removed *chat.RemovedError
		if errors.As(err, &removed) {
			why = removed.Reason
		}
		wish.Errorln(sess, why)
		_ = sess.Exit(1)
		return joined{}, nil, false
	}
	j.out = s.stallBounded(sess, terminalOutput(sess), name)
	// Join first, then read the history: a message committed in between
	// arrives twice (the screens drop it by ID), never zero times.
	j.recent, err = j.member.Recent(j.ctx, s.room.Lobby().ID)
	if err != nil {
		s.log.Error("load history", "user", name, "err", err)
	}
	return j, done, true
}

// enter starts a logged-in session for name: its context, its membership
// (join is Room.Join, or Room.Watch for a hidden one) and the watch over
// its connection (keepalives, eviction and removal grace); not its output.
// It returns errShuttingDown or chat.ErrRoomClosed once the server is
// stopping, or the room's error (logged). The caller MUST call done when
// the session ends.
func (s *Server) enter(sess ssh.Session, name string, join func(context.Context, string) (*chat.Member, error)) (j joined, done func(), err error) {
	// The session's own context: its goroutines end with it, even if the
	// connection stays open a moment longer; the server ends it, with the
	// reason, when it stops.
	// A ban set after this connection logged in, before its session
	// started, holds too.
	if why := s.auth.banned(sess.Context(), name); why != "" {
		return joined{}, nil, &chat.RemovedError{Reason: why}
	}
	ctx, end, ok := s.sessions.start(sess.Context())
	if !ok {
		return joined{}, nil, errShuttingDown
	}
	member, err := join(ctx, name)
	if err != nil {
		end()
		if !errors.Is(err, chat.ErrRoomClosed) && ctx.Err() == nil {
			s.log.Error("join", "user", name, "err", err)
		}
		return joined{}, nil, err
	}
	// A closed connection ends the membership at once, whatever the session
	// is blocked in: the others must not see a ghost.
	stopLeaving := context.AfterFunc(ctx, member.Leave)
	context.AfterFunc(ctx, s.watch(connOfSession(sess), member, name))
	return joined{ctx: ctx, member: member}, func() {
		stopLeaving()
		member.Leave()
		end()
	}, nil
}

// connOfSession is the session's SSH connection, nil if unknown.
func connOfSession(sess ssh.Session) gossh.Conn {
	conn, _ := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn)
	return conn
}

// stallBounded is w, whose writes close the session's connection once
// one has been blocked for stallLimit: the client stopped reading.
func (s *Server) stallBounded(sess ssh.Session, w io.Writer, name string) io.Writer {
	conn := connOfSession(sess)
	return newStallWriter(w, stallLimit, func() {
		if conn != nil {
			s.closeConn(conn, name, "client stopped reading")
		}
	})
}

// windowSizes is the session's window changes as tui.Run takes them (see
// windowPacer); nil without the session's channel (window changes never
// reach charm's session: see guardSessions).
func windowSizes(sess ssh.Session) func(size func(width, height int)) (stop func()) {
	sc := channelOf(sess)
	if sc == nil {
		return nil
	}
	return sc.windows.subscribe
}

// windowPacer passes a session's window changes on to the screen, clamped,
// and at most one per every: a flood of window-change requests costs one
// layout each period, and the changes a wait skips are replaced, never
// queued. It has no goroutine of its own: a timer sends, one send at a
// time. Its zero value needs every set before use.
type windowPacer struct {
	every time.Duration

	mu      sync.Mutex
	latest  ssh.Window
	waiting bool                    // latest is not sent yet
	sending *time.Timer             // a send is due or running
	last    time.Time               // when the last send started
	size    func(width, height int) // the subscriber; nil: none (yet, or any more)
}

// offer makes w the latest change, to be sent when the pace allows. It
// never blocks for long: the connection's request loop calls it.
func (p *windowPacer) offer(w ssh.Window) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest, p.waiting = w, true
	p.scheduleLocked()
}

// subscribe has size called with the changes from now on, and with one
// that came before and was not sent; stop ends that (a send running then
// may still finish).
func (p *windowPacer) subscribe(size func(width, height int)) (stop func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.size = size
	p.scheduleLocked()
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.size = nil
		if p.sending != nil && p.sending.Stop() {
			p.sending = nil // it had not started
		}
	}
}

func (p *windowPacer) scheduleLocked() {
	if !p.waiting || p.size == nil || p.sending != nil {
		return
	}
	wait := max(p.every-time.Since(p.last), 0)
	p.sending = time.AfterFunc(wait, p.send)
}

// send hands the latest change to the subscriber, then schedules the one
// that came meanwhile, if any: a send waits for the screen to take the
// size, and the next starts only after it.
func (p *windowPacer) send() {
	p.mu.Lock()
	size, w := p.size, p.latest
	p.waiting, p.last = false, time.Now()
	p.mu.Unlock()
	if size != nil {
		size(clampSize(w.Width, w.Height))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sending = nil
	p.scheduleLocked()
}

// clampSize bounds a client's terminal size: a 0x0 window (ssh -tt from a
// pipe) becomes 80x24, and nothing larger than maxWidth x maxHeight is used.
func clampSize(width, height int) (int, int) {
	if width <= 0 || height <= 0 {
		return 80, 24
	}
	return min(width, maxWidth), min(height, maxHeight)
}

// watch looks after a session's connection without a goroutine of its
// own: the server's keepalives probe its client (see keepalives), and once
// the room has evicted or removed the member (Room.Disconnect), the
// connection is closed if the session has not ended by itself within
// evictedGrace. Closing the connection ends the session and unblocks its
// program. (A client that stops reading is caught by the session's
// stallWriter.) The function it returns undoes it, and MUST be called when
// the session ends.
func (s *Server) watch(conn gossh.Conn, member *chat.Member, name string) (stop func()) {
	if conn == nil {
		return func() {}
	}
	unprobe := s.keepalives.add(conn, name)
	var (
		mu      sync.Mutex
		grace   *time.Timer
		stopped bool
	)
	stopEnd := member.AfterEnd(func() {
		why := ""
		switch err := member.Err(); {
		case errors.As(err, new(*chat.EvictedError)):
			why = "evicted"
		case errors.As(err, new(*chat.RemovedError)):
			why = "removed"
		default:
			return // it left, or the room closed: the session is ending anyway
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			grace = time.AfterFunc(evictedGrace, func() { s.closeConn(conn, name, why) })
		}
	})
	return func() {
		unprobe()
		stopEnd()
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if grace != nil {
			grace.Stop()
		}
	}
}

func (s *Server) closeConn(conn gossh.Conn, name, why string) {
	s.log.Info("closing connection: "+why, "user", name, "remote", conn.RemoteAddr().String())
	_ = conn.Close()
}

// terminalOutput is where a chat screen writes: the session's SSH channel
// itself. charm's session.Write emulates a terminal's output processing
// (\n becomes \r\n) by copying every write twice, after a context
// lookup: about 6% of a delivery's cost with hundreds of sessions. The
// screen never writes a bare \n (it places the cursor), so nothing needs
// translating. Without the channel, the session itself is returned.
func terminalOutput(sess ssh.Session) io.Writer {
	if sc := channelOf(sess); sc != nil {
		return sc.Channel
	}
	return sess
}

// stallWriter is the session's output as the program sees it. A write
// blocked for stallLimit means the client stopped reading: the connection
// is closed, which ends the write. Setting a timer around every write
// costs a measurable share of a delivery, so the timer is set by the
// first write and, when it fires, looks at the write in progress: it runs
// at most once per limit while the session writes, never while it idles.
type stallWriter struct {
	w       io.Writer
	limit   time.Duration
	onStall func()
	timer   *time.Timer
	epoch   time.Time    // writes are timed from here, on the monotonic clock
	writing atomic.Int64 // when the write in progress began, after epoch, plus 1; 0: none
	armed   atomic.Bool  // the timer is set
}

func newStallWriter(w io.Writer, limit time.Duration, onStall func()) *stallWriter {
	sw := &stallWriter{w: w, limit: limit, onStall: onStall, epoch: time.Now()}
	sw.timer = time.AfterFunc(limit, sw.check)
	sw.timer.Stop()
	return sw
}

// Write is called from one goroutine at a time: the session's handler
// drawing the first screen, then its program, then its restoring of the
// terminal.
func (sw *stallWriter) Write(p []byte) (int, error) {
	sw.writing.Store(int64(time.Since(sw.epoch)) + 1)
	if sw.armed.CompareAndSwap(false, true) {
		sw.timer.Reset(sw.limit)
	}
	n, err := sw.w.Write(p)
	sw.writing.Store(0)
	return n, err
}

// check runs when the timer fires. It disarms before it reads the write in
// progress: a write beginning meanwhile either finds the timer disarmed
// and sets it, or is seen here.
func (sw *stallWriter) check() {
	sw.armed.Store(false)
	began := sw.writing.Load()
	if began == 0 {
		return
	}
	blocked := time.Since(sw.epoch) - time.Duration(began-1)
	if blocked >= sw.limit {
		sw.onStall()
		return
	}
	if sw.armed.CompareAndSwap(false, true) {
		sw.timer.Reset(sw.limit - blocked)
	}
}
