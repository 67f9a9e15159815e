// Package app is the composition root of Messaging: configuration, the SSH
// server and its middleware, authentication and signup, and the wiring of
// each session to its chat screen.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"messaging/app/tui"
	"messaging/chat"
	"messaging/store"
	"messaging/store/sqlite"
)

const (
	// handshakeTimeout includes the time a person spends typing at the
	// signup prompts: minutes, not seconds.
	handshakeTimeout = 2 * time.Minute
	// maxAuthTries matches OpenSSH's MaxAuthTries.
	maxAuthTries = 6
	// shutdownGrace bounds the wait for programs to quit at shutdown;
	// hangUpGrace the wait for clients to close their connections after.
	shutdownGrace = 3 * time.Second
	hangUpGrace   = time.Second
	// Terminal sizes from clients are clamped before anything allocates.
	maxWidth, maxHeight = 500, 200
)

// Server is a running Messaging server: the listener, the SSH server, the
// store and the live sessions.
type Server struct {
	log      *slog.Logger
	store    store.Store
	room     *chat.Room
	cfg      Config
	ssh      *ssh.Server
	listener net.Listener
	programs *programSet
}

// Run is the whole program behind main: it loads the configuration, serves
// until ctx is cancelled, shuts down gracefully and returns the exit status
// (2 for bad configuration).
func Run(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "messaging: invalid configuration:\n%v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := New(ctx, cfg, log)
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	log.Info("listening", "addr", srv.Addr().String(), "workers", cfg.Workers, "database", cfg.Database)
	if err := srv.Serve(ctx); err != nil {
		log.Error("serve", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// New opens the store, loads or creates the host key and starts listening.
// Call Serve to accept connections.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	st, err := sqlite.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	s, err := newServer(cfg, log, st)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return s, nil
}

func newServer(cfg Config, log *slog.Logger, st store.Store) (*Server, error) {
	auth, err := newAuthenticator(st, log, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{log: log, store: st, cfg: cfg, programs: newProgramSet()}
	s.ssh, err = wish.NewServer(
		wish.WithHostKeyPath(cfg.HostKey),
		wish.WithPasswordAuth(auth.passwordHandler),
		wish.WithKeyboardInteractiveAuth(auth.keyboardInteractiveHandler),
		wish.WithMiddleware(s.middleware()...),
	)
	if err != nil {
		return nil, fmt.Errorf("ssh server (host key %s): %w", cfg.HostKey, err)
	}
	s.ssh.HandshakeTimeout = handshakeTimeout
	s.ssh.ServerConfigCallback = func(ssh.Context) *gossh.ServerConfig {
		return &gossh.ServerConfig{MaxAuthTries: maxAuthTries, AuthLogCallback: s.logAuth}
	}
	network := "tcp"
	if ip := net.ParseIP(cfg.Addr); ip != nil && ip.To4() != nil {
		network = "tcp4" // ADDR=0.0.0.0 means IPv4, as in the original
	}
	s.listener, err = net.Listen(network, cfg.ListenAddr())
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.room = chat.NewRoom(st, chat.RoomConfig{
		Workers:     cfg.Workers,
		HistorySize: cfg.History,
		MaxMessage:  cfg.MaxMessage,
		MsgBurst:    cfg.MsgBurst,
		MsgPerSec:   cfg.MsgPerSec,
	}, log)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Serve accepts connections until ctx is cancelled, then shuts down: stop
// accepting; close the room, which commits what was posted and tells every
// session the server is restarting, so their programs quit and restore the
// terminals; wait for the connections to end; close the store.
func (s *Server) Serve(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.ssh.Serve(s.listener) }()
	var serveErr error
	select {
	case <-ctx.Done():
		_ = s.listener.Close() // stop accepting; Serve returns at once
		<-served
	case serveErr = <-served:
	}
	s.log.Info("shutting down", "sessions", s.programs.len())
	s.programs.quitAll(shutdownGrace) // each tells its user why, and restores the terminal
	s.room.Close()                    // after the last post a program could make
	shutdownCtx, cancel := context.WithTimeout(context.Background(), hangUpGrace)
	defer cancel()
	if err := s.ssh.Shutdown(shutdownCtx); errors.Is(err, context.DeadlineExceeded) {
		_ = s.ssh.Close() // clients that did not hang up in time
	}
	if err := s.store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if serveErr != nil && !errors.Is(serveErr, ssh.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// middleware lists the session middleware in execution order, outermost
// first (wish composes its arguments so that the last one runs first; this
// function reverses the list for it).
func (s *Server) middleware() []wish.Middleware {
	order := []wish.Middleware{
		s.recoverPanics, // a panic ends only its own session
		s.logSessions,   // connect and disconnect lines
		requirePTY,      // outside the program: a non-PTY session never registers
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

// runChat joins the room and runs the session's chat screen until the user
// quits, the connection ends, or the room ends the session.
func (s *Server) runChat(ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		ctx, name := sess.Context(), identity(sess.Context())
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
		// Join first, then read the history: a message committed in between
		// arrives twice (the screen drops it by ID), never zero times.
		recent, err := s.room.Recent(ctx)
		if err != nil {
			s.log.Error("load history", "user", name, "err", err)
		}

		pty, windowChanges, _ := sess.Pty()
		width, height := clampSize(pty.Window.Width, pty.Window.Height)
		model := tui.New(ctx, tui.Options{
			Room: s.room, Member: member, Recent: recent, HistoryLen: s.cfg.History,
			MaxMessage: s.cfg.MaxMessage, Width: width, Height: height,
		})
		opts := append(bubbletea.MakeOptions(sess),
			tea.WithContext(ctx),
			tea.WithoutSignalHandler(), // the process's signals belong to main
			tea.WithWindowSize(width, height),
		)
		program := tea.NewProgram(model, opts...)
		if !s.programs.add(program) {
			wish.Errorln(sess, "The server is shutting down. Please reconnect in a moment.")
			_ = sess.Exit(1)
			return
		}
		defer s.programs.remove(program)

		go forwardResizes(ctx, program, windowChanges)
		final, err := program.Run()
		if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
			s.log.Error("program", "user", name, "err", err)
		}
		program.Kill() // restores the terminal if Run ended abnormally
		if m, ok := final.(tui.Model); ok && m.ExitReason() != "" {
			// On stdout, so it follows the terminal's restoration in order.
			wish.Println(sess, m.ExitReason())
		}
		_ = sess.Exit(0)
	}
}

// forwardResizes passes window changes to the program, clamped. It ends
// with the session.
func forwardResizes(ctx context.Context, program *tea.Program, changes <-chan ssh.Window) {
	defer func() { _ = recover() }() // a resize must never take the server down
	for {
		select {
		case <-ctx.Done():
			return
		case w, ok := <-changes:
			if !ok {
				return
			}
			width, height := clampSize(w.Width, w.Height)
			program.Send(tea.WindowSizeMsg{Width: width, Height: height})
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

func (s *Server) logAuth(conn gossh.ConnMetadata, method string, err error) {
	if err == nil || method == "none" {
		return
	}
	s.log.Info("auth failed", "user", conn.User(), "method", method, "remote", conn.RemoteAddr().String())
}

// programSet tracks the live programs so that shutdown can quit them.
type programSet struct {
	mu       sync.Mutex
	programs map[*tea.Program]struct{}
	closed   bool
	done     sync.WaitGroup
}

func newProgramSet() *programSet {
	return &programSet{programs: map[*tea.Program]struct{}{}}
}

// add registers p; false once shutdown has begun.
func (ps *programSet) add(p *tea.Program) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return false
	}
	ps.programs[p] = struct{}{}
	ps.done.Add(1)
	return true
}

func (ps *programSet) remove(p *tea.Program) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.programs[p]; ok {
		delete(ps.programs, p)
		ps.done.Done()
	}
}

func (ps *programSet) len() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.programs)
}

// quitAll refuses new programs, tells every live one the server is
// shutting down (they quit) and waits for them, at most grace.
func (ps *programSet) quitAll(grace time.Duration) {
	ps.mu.Lock()
	ps.closed = true
	for p := range ps.programs {
		// Send blocks until the program's event loop takes the message or
		// the program ends; one slow session must not hold up the others.
		go p.Send(tui.ShutdownMsg{})
	}
	ps.mu.Unlock()

	finished := make(chan struct{})
	go func() { ps.done.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(grace):
	}
}
