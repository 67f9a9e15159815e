package app

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/bubbletea"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
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
	// noChatLimit is how long a logged-in connection may go without
	// starting its chat.
	noChatLimit = 30 * time.Second
	// evictedGrace is how long an evicted session's program gets to quit
	// by itself before its connection is closed under it.
	evictedGrace = 2 * time.Second
	// resizeEvery bounds how often a flood of window changes re-lays out
	// the screen.
	resizeEvery = 50 * time.Millisecond
)

// middleware lists the session middleware in execution order, outermost
// first (wish composes its arguments so that the last one runs first; this
// function reverses the list for it).
func (s *Server) middleware() []wish.Middleware {
	order := []wish.Middleware{
		s.recoverPanics, // a panic ends only its own session
		s.logSessions,   // connect and disconnect lines
		requirePTY,      // before any slot is taken: refused sessions cost nothing
		s.limitSessions, // MAX_SESSIONS, MAX_SESSIONS_PER_IP, one shell per connection
		s.lineMode,      // TERM=dumb (or none): plain lines instead of the chat screen
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
				s.log.Error("session panic", "user", identity(sess.Context()), "panic", r)
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

// requirePTY refuses sessions without a terminal (ssh -T) and sessions
// that ask for a command (there are none) at once, with one line on stderr
// and exit status 1.
func requirePTY(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if _, _, ok := sess.Pty(); !ok || len(sess.RawCommand()) > 0 {
			wish.Errorln(sess, "Messaging is a full-screen chat: connect with a terminal and no command (ssh -p PORT user@host), not ssh -T or ssh host command.")
			_ = sess.Exit(1)
			return
		}
		next(sess)
	}
}

// limitSessions allows one chat per connection, on connections that got a
// session slot when they logged in (MAX_SESSIONS, MAX_SESSIONS_PER_IP).
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

// runChat joins the room and runs the session's chat screen until the user
// quits, the connection ends, or the room ends the session.
func (s *Server) runChat(ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		name := identity(sess.Context())
		// The chat's own context: its goroutines end with it, even if the
		// connection stays open a moment longer.
		ctx, cancel := context.WithCancel(sess.Context())
		defer cancel()
		if name == "" { // cannot happen: every auth method sets it
			wish.Errorln(sess, "not signed in")
			_ = sess.Exit(1)
			return
		}
		member, err := s.room.Join(ctx, name)
		if err != nil {
			wish.Errorln(sess, "The server is shutting down. Please reconnect in a moment.")
			_ = sess.Exit(1)
			return
		}
		defer member.Leave()
		// A closed connection ends the membership at once, whatever the
		// program is blocked in: the others must not see a ghost.
		stopLeaving := context.AfterFunc(ctx, member.Leave)
		defer stopLeaving()
		// Join first, then read the history: a message committed in between
		// arrives twice (the screen drops it by ID), never zero times.
		recent, err := s.room.Recent(ctx)
		if err != nil {
			s.log.Error("load history", "user", name, "err", err)
		}

		pty, _, _ := sess.Pty()
		var windowChanges <-chan ssh.Window // window changes never reach charm's session (guardSessions)
		if sc := channelOf(sess); sc != nil {
			windowChanges = sc.windows
		}
		width, height := clampSize(pty.Window.Width, pty.Window.Height)
		conn, _ := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn)
		out := newStallWriter(terminalOutput(sess), stallLimit, func() {
			if conn != nil {
				s.closeConn(conn, name, "client stopped reading")
			}
		})
		var program *tea.Program // set before it runs
		screen := tui.NewScreen(tui.New(ctx, tui.Options{
			Room: s.room, Member: member, Recent: recent, HistoryLen: s.cfg.History,
			MaxMessage: s.cfg.MaxMessage, IdleTimeout: s.cfg.IdleTimeout, Width: width, Height: height,
			Profile: colorprofile.Env(append(sess.Environ(), "TERM="+pty.Term)),
			Lines:   s.lines,
		}), out).OnRun(func() tea.Msg {
			stopFrameTicker(program)
			return nil
		})
		var model tea.Model = screen
		if s.wrapModel != nil {
			model = s.wrapModel(model)
		}
		opts := append(bubbletea.MakeOptions(sess),
			// After MakeOptions, these replace its input and output. The
			// input is readInput's (see stopFrameTicker).
			tea.WithInput(nil),
			tea.WithOutput(out),
			tea.WithContext(ctx),
			tea.WithoutSignalHandler(), // the process's signals belong to main
			tea.WithWindowSize(width, height),
			// The screen draws itself (tui.Screen): Bubble Tea's renderer
			// would re-read the whole screen for every change.
			tea.WithoutRenderer(),
			tea.WithFPS(1), // until stopFrameTicker
			tea.WithFilter(screen.Filter),
		)
		program = tea.NewProgram(model, opts...)
		if !s.programs.add(program) {
			wish.Errorln(sess, "The server is shutting down. Please reconnect in a moment.")
			_ = sess.Exit(1)
			return
		}
		defer s.programs.remove(program)

		go tui.Deliver(ctx, member, program.Send)
		input := newPasteLimiter(newRateReader(ctx, sess, s.cfg.InputRate, inputBurst), tui.PasteLimit(s.cfg.MaxMessage))
		go readInput(ctx, program, input, pty.Term)
		go forwardResizes(ctx, program, windowChanges)
		go s.watch(ctx, conn, member, name)
		screen.Open() // the user sees the chat now; keys wait for Run
		final, err := program.Run()
		switch {
		case errors.Is(err, tea.ErrProgramPanic):
			// Bubble Tea recovered it; the screen is restored below and
			// only this session ends.
			s.log.Error("session panic", "user", name, "err", err)
		case err != nil && !errors.Is(err, tea.ErrProgramKilled):
			s.log.Error("program", "user", name, "err", err)
		}
		program.Kill()   // ends what Run left behind if it ended abnormally
		screen.Restore() // after every way out: quit, eviction, shutdown, panic
		if m, ok := final.(interface{ ExitReason() string }); ok && m.ExitReason() != "" {
			// On stdout, so it follows the terminal's restoration in
			// order; through out, so a client that stopped reading
			// cannot hold the session open. \r\n: out does not
			// translate newlines (see terminalOutput).
			_, _ = io.WriteString(out, m.ExitReason()+"\r\n")
		}
		_ = sess.Exit(0)
	}
}

// stopFrameTicker ends the frame ticker Bubble Tea runs for every program,
// with a renderer or without: once a second it wakes to flush a buffer that
// stays empty here, as the screen writes to the session itself. Hundreds of
// idle sessions' ticks were most of an idle server's CPU, and a share of
// every delivery's. ReleaseTerminal is the one public way to stop the
// ticker; with the program's own input reader disabled (readInput reads)
// and no renderer, the ticker is all it releases. (Bubble Tea's clipboard
// and raw-output commands queue output for the ticker, and with its input
// off it drops terminal queries: the chat uses none of them.) Call it once
// the program runs (Screen.OnRun): it returns after half a second, the
// time it waits for the input reader the program does not have.
func stopFrameTicker(program *tea.Program) {
	_ = program.ReleaseTerminal()
}

// readInput is the program's input: it decodes what the user types with
// the terminal reader Bubble Tea's own input uses, and hands the events to
// the program, which translates them as it would its own reader's. It ends
// when the session's channel closes.
//
// An ESC that ends what the client sent is the Esc key at once, not the
// start of a sequence that the next key, typed a moment later, would
// complete as Alt+key (see loneEscReader).
//
// A size report in the input (what a terminal answers to a size query,
// which the chat never sends) is dropped: typed by a client, it would size
// the screen past the clamp and as often as it likes. Only the SSH
// window-change requests size the screen (forwardResizes).
func readInput(ctx context.Context, program *tea.Program, input io.Reader, term string) {
	events := make(chan uv.Event)
	go func() {
		defer close(events)
		defer func() { _ = recover() }() // a decoder bug ends this input, not the server
		// A read error ends the input as the end of input does: the
		// session is closing.
		_ = newKeyReader(input, term).StreamEvents(ctx, events)
	}()
	for event := range events {
		if _, ok := event.(uv.WindowSizeEvent); ok {
			continue
		}
		program.Send(event) // returns at once once the program ended
	}
}

// forwardResizes passes window changes to the program, clamped, and at most
// one per resizeEvery: a flood of resize requests costs one layout each
// period. It ends with the session.
func forwardResizes(ctx context.Context, program *tea.Program, changes <-chan ssh.Window) {
	defer func() { _ = recover() }() // a resize must never take the server down
	var pending *ssh.Window
	var ready <-chan time.Time // nil: may send at once
	for {
		select {
		case <-ctx.Done():
			return
		case w, ok := <-changes:
			if !ok {
				return
			}
			pending = &w
		case <-ready:
			ready = nil
		}
		if pending != nil && ready == nil {
			width, height := clampSize(pending.Width, pending.Height)
			program.Send(tea.WindowSizeMsg{Width: width, Height: height})
			pending = nil
			ready = time.After(resizeEvery)
		}
	}
}

// clampSize bounds a client's terminal size: a 0x0 window (ssh -tt from a
// pipe) becomes 80x24, and nothing larger than maxWidth x maxHeight is used.
func clampSize(width, height int) (int, int) {
	if width <= 0 || height <= 0 {
		return 80, 24
	}
	return min(width, maxWidth), min(height, maxHeight)
}

// watch looks after a session's connection from one goroutine that wakes
// only for events: it closes the connection when keepaliveMisses
// keepalives in a row go unanswered, or when the room evicted the member
// and the program did not quit by itself within evictedGrace. Closing the
// connection ends the session and unblocks its program. (A client that
// stops reading is caught by the session's stallWriter.)
func (s *Server) watch(ctx context.Context, conn gossh.Conn, member *chat.Member, name string) {
	if conn == nil {
		return
	}
	defer func() { _ = recover() }()
	var keepalive <-chan time.Time
	if s.cfg.Keepalive > 0 {
		tick := time.NewTicker(s.cfg.Keepalive)
		defer tick.Stop()
		keepalive = tick.C
	}
	var (
		evicted  = member.Evicted()
		grace    <-chan time.Time
		answered = make(chan struct{}, 1)
		probing  bool
		misses   int
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-answered:
			probing, misses = false, 0
		case <-evicted:
			evicted = nil // a closed channel stays ready
			timer := time.NewTimer(evictedGrace)
			defer timer.Stop()
			grace = timer.C
		case <-grace:
			s.closeConn(conn, name, "evicted")
			return
		case <-keepalive:
			if probing {
				if misses++; misses >= keepaliveMisses {
					s.closeConn(conn, name, "keepalives unanswered")
					return
				}
				continue
			}
			// One probe in flight at a time: SendRequest blocks until
			// the client answers or the connection closes.
			probing = true
			go func() {
				if _, _, err := conn.SendRequest("keepalive@openssh.com", true, nil); err == nil {
					answered <- struct{}{}
				}
			}()
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

// connState is what the server knows of one connection, kept in its
// ssh.Context from the first byte. A connection holds an unauthenticated
// slot until it logs in, then a session slot until it closes: MAX_SESSIONS
// counts logged-in connections, each of which may run one chat. A
// logged-in connection that opens no chat within noChatLimit, or whose chat
// has ended, is closed.
type connState struct {
	ip     string
	limits *limits
	conn   net.Conn
	shells atomic.Int32

	onClose func() // once, when the connection closes

	mu             sync.Mutex
	closed         bool
	channels       int // session channels open (guardSessions)
	releaseUnauth  func()
	releaseSession func()      // nil until logged in, or if no slot was free
	closer         *time.Timer // closes a connection that has no chat
}

type connStateKey struct{}

func connOf(ctx ssh.Context) *connState {
	c, _ := ctx.Value(connStateKey{}).(*connState)
	return c
}

// loggedIn moves the connection from the unauthenticated count to the
// sessions, and gives it noChatLimit to start its chat.
func (c *connState) loggedIn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.releaseUnauth()
	if c.closed || c.closer != nil { // closer is set once logged in
		return
	}
	if release, ok := c.limits.admitSession(c.ip); ok {
		c.releaseSession = release
	}
	c.closer = time.AfterFunc(noChatLimit, func() { _ = c.conn.Close() })
}

// startChat reports whether the connection may run a chat now: its first,
// with a session slot.
func (c *connState) startChat() (ok bool, why string) {
	if c.shells.Add(1) > 1 {
		return false, "One chat per connection: open another connection for another chat."
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.releaseSession == nil {
		return false, "Too many chat sessions are open (from your address, or in all). Close one and try again."
	}
	c.closer.Stop()
	return true, ""
}

// openChannel counts a new session channel, unless the connection has
// maxChannelsPerConn open already.
func (c *connState) openChannel() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.channels >= maxChannelsPerConn {
		return false
	}
	c.channels++
	return true
}

func (c *connState) closeChannel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.channels--
}

// chatEnded closes the connection shortly after its chat: nothing else can
// happen on it, and the pause lets the last bytes reach the client.
func (c *connState) chatEnded() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closer = time.AfterFunc(hangUpGrace, func() { _ = c.conn.Close() })
	}
}

// close gives back the connection's slots; idempotent.
func (c *connState) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.onClose()
	}
	c.closed = true
	c.releaseUnauth()
	if c.releaseSession != nil {
		c.releaseSession()
	}
	if c.closer != nil {
		c.closer.Stop()
	}
}

// admitConnection is the server's connection callback: it refuses, before
// any cryptography, connections from penalised addresses and connections
// over the caps on unauthenticated ones.
func (s *Server) admitConnection(ctx ssh.Context, conn net.Conn) net.Conn {
	ip := hostOf(conn.RemoteAddr())
	release, ok := s.limits.admitConnection(ip)
	if !ok {
		s.log.Debug("connection refused", "remote", conn.RemoteAddr().String())
		return nil // the server closes it
	}
	s.conns.add(1)
	c := &connState{ip: ip, limits: s.limits, releaseUnauth: release, onClose: func() { s.conns.add(-1) }}
	wrapped := &trackedConn{Conn: conn, state: c}
	c.conn = wrapped
	ctx.SetValue(connStateKey{}, c)
	return wrapped
}

// trackedConn gives back the connection's slots when it closes.
type trackedConn struct {
	net.Conn
	state *connState
}

func (c *trackedConn) Close() error {
	c.state.close()
	return c.Conn.Close()
}
