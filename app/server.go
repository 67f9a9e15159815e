// Package app is the composition root of Messaging: configuration, the SSH
// server and its middleware, authentication and signup, and the wiring of
// each session to its chat screen.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	gossh "golang.org/x/crypto/ssh"

	"messaging/app/tui"
	"messaging/chat"
	"messaging/store"
)

const (
	// handshakeTimeout includes the time a person spends typing at the
	// signup prompts: minutes, not seconds.
	handshakeTimeout = 2 * time.Minute
	// maxAuthTries matches OpenSSH's MaxAuthTries.
	maxAuthTries = 6
	// shutdownGrace bounds the wait for sessions to end at shutdown;
	// hangUpGrace the wait for clients to close their connections after.
	shutdownGrace = 3 * time.Second
	hangUpGrace   = time.Second
	// Terminal sizes from clients are clamped before anything allocates.
	maxWidth, maxHeight = 500, 200
)

// Server is a running Messaging server: the listener, the SSH server, the
// store and the live sessions.
type Server struct {
	log    *slog.Logger
	store  store.Store
	room   *chat.Room
	cfg    Config
	limits *limits
	auth   *authenticator
	conns  connCount // open connections, for shutdown
	// chatInput wraps each chat's input (see withChatInput).
	chatInput func(io.Reader) io.Reader
	ssh       *ssh.Server
	listener  net.Listener
	sessions  *sessionSet
	// keepalives probes every session's client (KEEPALIVE).
	keepalives *keepalives
	lines      *tui.LineCache // log lines rendered once for the sessions showing them alike
	// repeated logs failed logins, and the like, summarised per address.
	repeated    *repeatLog
	metrics     *metrics // nil unless METRICS_ADDR is set
	metricsAddr net.Addr // where the metrics are served, nil if not
	relay       *relay   // nil unless NATS_URL is set
}

// ErrRestart, as the cause of the context Run or Serve was given
// (context.WithCancelCause), stops the server telling its users it is
// restarting: main cancels with it on SIGHUP. Any other stop says the
// server is shutting down, unless RESTART_NOTICE is set.
var ErrRestart = errors.New("restart")

// Run is the whole program behind main: it loads the configuration, serves
// until ctx is cancelled, shuts down gracefully and returns the exit status
// (2 for bad configuration).
func Run(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "messaging: invalid configuration:\n%v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	if cfg.PprofAddr != "" {
		if _, err := serveProfiler(ctx, cfg.PprofAddr, log); err != nil {
			log.Error("start", "err", err)
			return 1
		}
	}
	srv, err := New(ctx, cfg, log)
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	log.Info("listening", "addr", srv.Addr().String(), "workers", cfg.Workers, "database", redactedURL(cfg.Database),
		"host_key", srv.HostKeyFingerprint())
	// What to tell users: the commands, with the port the server got.
	port := portFlag(srv.Addr())
	log.Info("to sign up", "run", "ssh"+port+" "+signupUser+"@"+cfg.PublicHost)
	log.Info("to log in", "run", "ssh"+port+" NAME@"+cfg.PublicHost)
	switch {
	case cfg.NatsURL != "":
		log.Info("one of several nodes", "nats", redactedNatsURL(cfg.NatsURL), "subject", cfg.NatsSubject)
	case isPostgres(cfg.Database):
		log.Info("running alone: NATS_URL is not set, so other nodes on this database do not see this one's messages live")
	}
	if len(cfg.ProxyFrom) > 0 {
		log.Info("behind a load balancer: connections from it must open with a PROXY protocol header", "from", fmt.Sprint(cfg.ProxyFrom))
	}
	if err := srv.Serve(ctx); err != nil {
		log.Error("serve", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// New opens the store, loads or creates the host key and starts listening.
// Call Serve to accept connections. The metrics endpoint (METRICS_ADDR), if
// any, serves until ctx ends.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	return newWith(ctx, cfg, log)
}

// option adjusts a server as newServer builds it.
type option func(*Server)

// withChatInput has wrap wrap the input of every chat screen, after the
// input rate bound: the tests' way to make a session's input misbehave
// (a reader that panics).
func withChatInput(wrap func(io.Reader) io.Reader) option {
	return func(s *Server) { s.chatInput = wrap }
}

// newWith is New with options.
func newWith(ctx context.Context, cfg Config, log *slog.Logger, opts ...option) (*Server, error) {
	st, err := openStore(ctx, cfg.Database, log)
	if err != nil {
		return nil, err
	}
	s, err := newServer(ctx, cfg, log, st, opts...)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return s, nil
}

// warnIfShared warns when an existing database can be read or written by
// other users of the machine: it holds the password hashes. New databases
// are created 0600; an operator's existing file is theirs to fix.
func warnIfShared(log *slog.Logger, path string) {
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm()&0o077 == 0 {
		return
	}
	log.Warn("the database is readable by other users of this machine: it holds password hashes; run chmod 600 on it and its -wal and -shm files",
		"database", path, "mode", info.Mode().Perm().String())
}

func newServer(ctx context.Context, cfg Config, log *slog.Logger, st store.Store, opts ...option) (*Server, error) {
	var m *metrics
	if cfg.MetricsAddr != "" {
		m = newMetrics()
	}
	stats := newStatsRecorder(time.Now) // for /stats, with or without metrics
	lim := newLimits(cfg, time.Now)
	lim.metrics = m
	auth, err := newAuthenticator(st, log, cfg, lim)
	if err != nil {
		return nil, err
	}
	auth.metrics = m
	s := &Server{log: log, store: st, cfg: cfg, limits: lim, auth: auth, sessions: newSessionSet(), lines: tui.NewLineCache(),
		chatInput: func(r io.Reader) io.Reader { return r }, repeated: newRepeatLog(log, repeatWindow, repeatFirst), metrics: m}
	s.keepalives = newKeepalives(cfg.Keepalive, s.closeConn)
	for _, o := range opts {
		o(s)
	}
	s.ssh, err = wish.NewServer(
		wish.WithHostKeyPath(cfg.HostKey),
		wish.WithPublicKeyAuth(auth.keyHandler),
		wish.WithPasswordAuth(auth.passwordHandler),
		wish.WithKeyboardInteractiveAuth(auth.keyboardInteractiveHandler),
		wish.WithMiddleware(m.withMetrics(append(s.middleware(), stats.countSessions))...),
	)
	if err != nil {
		return nil, fmt.Errorf("ssh server (host key %s): %w", cfg.HostKey, err)
	}
	s.ssh.HandshakeTimeout = handshakeTimeout
	s.ssh.ConnCallback = s.admitConnection
	s.ssh.ChannelHandlers = map[string]ssh.ChannelHandler{"session": guardSessions} // no other channel types
	s.ssh.ServerConfigCallback = func(ctx ssh.Context) *gossh.ServerConfig {
		return &gossh.ServerConfig{MaxAuthTries: maxAuthTries, AuthLogCallback: s.logAuth,
			VerifiedPublicKeyCallback: func(conn gossh.ConnMetadata, _ gossh.PublicKey, perms *gossh.Permissions, _ string) (*gossh.Permissions, error) {
				return auth.keyVerified(ctx, conn, perms)
			}}
	}
	network := "tcp"
	if ip := net.ParseIP(cfg.Addr); ip != nil && ip.To4() != nil {
		network = "tcp4" // ADDR=0.0.0.0 means IPv4, as in the original
	}
	s.listener, err = net.Listen(network, cfg.ListenAddr())
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if len(cfg.ProxyFrom) > 0 {
		s.listener = proxyListener(s.listener, cfg.ProxyFrom)
	}
	accounts := newAccountService(st, auth, log, cfg.KeysPerAccount)
	var cluster chat.Cluster // not a nil *relay: the room would call it
	if cfg.NatsURL != "" {
		if s.relay, err = connectRelay(cfg, log); err != nil {
			s.listener.Close()
			return nil, err
		}
		cluster = s.relay
	}
	s.room, err = chat.NewRoom(ctx, st, st, chat.RoomConfig{
		Workers:            cfg.Workers,
		HistorySize:        cfg.History,
		MaxMessage:         cfg.MaxMessage,
		MsgBurst:           cfg.MsgBurst,
		MsgPerSec:          cfg.MsgPerSec,
		MaxChannels:        cfg.MaxChannels,
		ChannelsPerAccount: cfg.ChannelsPerUser,
		// 0 is "off" in the environment, "the default" in RoomConfig.
		PresenceWindow: cmp.Or(cfg.PresenceWindow, -1),
		PresenceQuiet:  cmp.Or(cfg.PresenceQuiet, -1),
		Accounts:       accounts,
		Observe:        chainObservers(m.observer(), stats.observer()),
		Moderation:     &moderationService{store: st, log: log, now: time.Now, stats: stats},
		Cluster:        cluster,
	}, log)
	if err == nil && s.relay != nil {
		if err = s.relay.start(s.room); err != nil {
			s.room.Close()
		}
	}
	if err != nil {
		s.listener.Close()
		s.closeRelay()
		return nil, err
	}
	accounts.disconnect = func(account, reason string) { s.room.Disconnect(account, reason) }
	// ADMINS, then the sanctions in force, before the first login.
	if err := s.applyAdmins(ctx); err != nil {
		s.room.Close()
		s.listener.Close()
		s.closeRelay()
		return nil, err
	}
	if err := s.applyModeration(ctx); err != nil {
		s.room.Close()
		s.listener.Close()
		s.closeRelay()
		return nil, err
	}
	if m != nil {
		if err := s.serveMetrics(ctx); err != nil {
			s.room.Close()
			s.listener.Close()
			s.closeRelay()
			return nil, err
		}
	}
	return s, nil
}

// closeRelay disconnects from the other nodes, if any.
func (s *Server) closeRelay() {
	if s.relay != nil {
		s.relay.close()
	}
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// HostKeyFingerprint is the SHA256 fingerprint of the server's host key, as
// ssh shows it to a user connecting for the first time.
func (s *Server) HostKeyFingerprint() string {
	if len(s.ssh.HostSigners) == 0 {
		return ""
	}
	return gossh.FingerprintSHA256(s.ssh.HostSigners[0].PublicKey())
}

// Serve accepts connections until ctx is cancelled, then shuts down: stop
// accepting; end every chat session, telling its user the server is
// shutting down, or restarting if ctx was cancelled with ErrRestart or
// RESTART_NOTICE is set (each restores its terminal); close the room, which commits what
// was posted; give clients a moment to hang up, then close what is left;
// close the store. Each step is bounded.
func (s *Server) Serve(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.ssh.Serve(s.listener) }()
	// Changes from the command line reach the live sessions.
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	watched := make(chan struct{})
	go func() { defer close(watched); s.watchModeration(watchCtx) }()
	go s.keepalives.run(watchCtx)
	var serveErr error
	select {
	case <-ctx.Done():
		_ = s.listener.Close() // stop accepting; Serve returns at once
		<-served
	case serveErr = <-served:
	}
	restart := s.cfg.RestartNotice || errors.Is(context.Cause(ctx), ErrRestart)
	s.log.Info("shutting down", "sessions", s.sessions.len(), "restart", restart)
	// Each session restores its terminal and tells its user why.
	s.sessions.endAll(shutdown{restart: restart}, shutdownGrace)
	stopWatch()
	<-watched
	s.room.Close() // after the last post a program could make
	s.closeRelay() // after the room's last commit was published
	// Not ssh.Server.Shutdown: its WaitGroup races with connections still
	// finishing their handshake. The server's own count of open
	// connections says when the clients have hung up.
	s.conns.waitZero(hangUpGrace)
	_ = s.ssh.Close() // clients that did not hang up in time
	if err := s.store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if serveErr != nil && !errors.Is(serveErr, ssh.ErrServerClosed) {
		return serveErr
	}
	return nil
}

func (s *Server) logAuth(conn gossh.ConnMetadata, method string, err error) {
	// A key that is not registered is no failure: OpenSSH offers every
	// key it has before asking for the password.
	if err == nil || method == "none" || method == "publickey" {
		return
	}
	user := conn.User()
	if len(user) > 40 { // names come from anyone: keep log lines short
		user = user[:40] + "…"
	}
	s.repeated.Info(hostOf(conn.RemoteAddr()), "auth failures", "auth failed",
		"user", user, "method", method, "remote", conn.RemoteAddr().String())
}

// shutdown is the cause with which the server ends its sessions'
// contexts when it stops; each tells its user the Reason (tui.Run, the
// line mode).
type shutdown struct{ restart bool }

func (c shutdown) Error() string {
	if c.restart {
		return "server restarting"
	}
	return "server shutting down"
}

// Reason is what the user reads.
func (c shutdown) Reason() string {
	if c.restart {
		return "The server is restarting. Please reconnect in a moment."
	}
	return "The server is shutting down."
}

// shutdownReason is what to tell the user of a session whose ctx has ended:
// the server's reason if it ended the session, else "" (the connection
// ended it: nobody is left to read).
func shutdownReason(ctx context.Context) string {
	var c shutdown
	if errors.As(context.Cause(ctx), &c) {
		return c.Reason()
	}
	return ""
}

// sessionSet tracks the live chat sessions (screens and line mode) so that
// shutdown can end them.
type sessionSet struct {
	mu      sync.Mutex
	cancels map[*context.CancelCauseFunc]struct{}
	closed  bool
	done    sync.WaitGroup
}

func newSessionSet() *sessionSet {
	return &sessionSet{cancels: map[*context.CancelCauseFunc]struct{}{}}
}

// start registers a session: ctx is its context, which endAll cancels;
// call end when the session is over. ok is false once shutdown has begun.
func (ss *sessionSet) start(parent context.Context) (ctx context.Context, end func(), ok bool) {
	ctx, cancel := context.WithCancelCause(parent)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		cancel(nil)
		return ctx, func() {}, false
	}
	key := &cancel
	ss.cancels[key] = struct{}{}
	ss.done.Add(1)
	return ctx, func() {
		cancel(nil)
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if _, ok := ss.cancels[key]; ok {
			delete(ss.cancels, key)
			ss.done.Done()
		}
	}, true
}

func (ss *sessionSet) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.cancels)
}

// endAll refuses new sessions, ends every live one with cause, and waits
// for them to finish (each restores its terminal and says why), at most
// grace.
func (ss *sessionSet) endAll(cause error, grace time.Duration) {
	ss.mu.Lock()
	ss.closed = true
	for cancel := range ss.cancels {
		(*cancel)(cause)
	}
	ss.mu.Unlock()

	finished := make(chan struct{})
	go func() { ss.done.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(grace):
	}
}

// connCount counts the open connections, and tells when there are none.
type connCount struct {
	mu    sync.Mutex
	n     int
	empty chan struct{} // closed while n is 0; replaced when n grows
}

func (c *connCount) add(delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.empty == nil {
		c.empty = make(chan struct{})
		close(c.empty)
	}
	if c.n == 0 && delta > 0 {
		c.empty = make(chan struct{})
	}
	c.n += delta
	if c.n == 0 && delta < 0 {
		close(c.empty)
	}
}

// waitZero waits until no connection is open, at most limit.
func (c *connCount) waitZero(limit time.Duration) {
	c.add(0)
	c.mu.Lock()
	empty := c.empty
	c.mu.Unlock()
	select {
	case <-empty:
	case <-time.After(limit):
	}
}
