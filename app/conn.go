package app

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/ssh"
)

// noChatLimit is how long a logged-in connection may go without starting
// its chat.
const noChatLimit = 30 * time.Second

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
	if noProxyHeader(conn) {
		s.repeated.Info(hostOf(conn.RemoteAddr()), "connections without a PROXY header",
			"connection refused: it comes from a PROXY_PROTOCOL address without a PROXY header (is the load balancer sending one?)",
			"remote", conn.RemoteAddr().String())
		return nil
	}
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
