package app

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Bounds on what a logged-in client can make the server hold through the
// SSH layer, before any chat runs. charm.land/ssh keeps every "env" request
// until a shell starts, accepts any number of "session" channels (each with
// x/crypto/ssh's fixed 2 MiB receive window), and hands each window change
// to a one-slot channel that only a running chat drains, so that a client
// resizing a session with no chat blocks the connection's only read loop
// for good. guardSessions wraps the library's session handler and filters
// each channel's requests before the library sees them.
const (
	// maxChannelsPerConn caps the session channels open at once on one
	// connection: one chat runs per connection, but a ControlMaster may
	// open others, which are refused by the session middleware at once.
	maxChannelsPerConn = 4
	// channelStartLimit: a session channel that asks for no shell or
	// command this long after it opened is closed, so that nobody holds
	// its 2 MiB window for nothing.
	channelStartLimit = 10 * time.Second
	// maxEnvPerSession caps the environment variables a session keeps;
	// maxEnvValue their length. Only allowedEnv are kept at all.
	maxEnvPerSession = 16
	maxEnvValue      = 256
	// maxPtyRequest bounds a pty-req's payload (TERM and the terminal
	// modes; OpenSSH sends about 300 bytes).
	maxPtyRequest = 4096
	// requestQueue is how many requests may wait for the library's loop;
	// past it (the loop is stuck or flooded) a request is refused.
	requestQueue = 16
)

// allowedEnv are the variables the server reads (the colour profile).
var allowedEnv = map[string]bool{
	"TERM": true, "COLORTERM": true, "NO_COLOR": true, "CLICOLOR": true, "CLICOLOR_FORCE": true,
	"LANG": true, "LC_ALL": true, "LC_CTYPE": true,
}

// guardSessions is the server's handler for "session" channels: it refuses
// channels over the connection's cap, and runs charm's session handler on
// a channel whose requests pass through filterRequests.
func guardSessions(srv *ssh.Server, conn *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	c := connOf(ctx)
	if c != nil {
		if !c.openChannel() {
			_ = newChan.Reject(gossh.Prohibited, fmt.Sprintf("at most %d sessions per connection", maxChannelsPerConn))
			return
		}
		defer c.closeChannel()
	}
	ssh.DefaultSessionHandler(srv, conn, &guardedNewChannel{NewChannel: newChan}, ctx)
}

// guardedNewChannel hands charm's handler a sessionChannel and a filtered
// request stream instead of the raw ones.
type guardedNewChannel struct {
	gossh.NewChannel
}

func (g *guardedNewChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := g.NewChannel.Accept()
	if err != nil {
		return nil, nil, err
	}
	sc := &sessionChannel{Channel: ch, windows: windowPacer{every: resizeEvery}}
	forwarded := make(chan *gossh.Request, requestQueue)
	go sc.filterRequests(reqs, forwarded)
	return sc, forwarded, nil
}

// sessionChannel is a session's SSH channel as charm's session holds it.
// It carries the session's window changes, which never reach the library.
type sessionChannel struct {
	gossh.Channel
	// windows paces the window changes: a new one replaces the one not
	// yet taken, so a flood costs nothing and never blocks.
	windows windowPacer
}

// filterRequests reads the channel's requests as fast as they come, so the
// connection's read loop never waits on this channel: it answers window
// changes itself, bounds env and pty requests, and passes the rest on to
// charm's loop without ever blocking. It closes forwarded when the
// channel closes, and closes the channel if it starts nothing within
// channelStartLimit.
func (sc *sessionChannel) filterRequests(in <-chan *gossh.Request, forwarded chan<- *gossh.Request) {
	defer close(forwarded)
	idle := time.AfterFunc(channelStartLimit, func() { _ = sc.Close() })
	defer idle.Stop()
	env := 0
	for req := range in {
		switch req.Type {
		case "window-change":
			win, ok := parseWindowChange(req.Payload)
			if ok {
				sc.windows.offer(win)
			}
			_ = req.Reply(ok, nil)
			continue
		case "env":
			if env >= maxEnvPerSession || !allowedEnvRequest(req.Payload) {
				_ = req.Reply(false, nil)
				continue
			}
			env++
		case "pty-req":
			if len(req.Payload) > maxPtyRequest {
				_ = req.Reply(false, nil)
				continue
			}
		case "shell", "exec", "subsystem":
			idle.Stop()
		}
		select {
		case forwarded <- req:
		default: // charm's loop is not keeping up: refuse rather than wait
			_ = req.Reply(false, nil)
		}
	}
}

// allowedEnvRequest reports whether an env request's payload names an
// allowed variable with a value of bounded length.
func allowedEnvRequest(payload []byte) bool {
	var kv struct{ Key, Value string }
	if err := gossh.Unmarshal(payload, &kv); err != nil {
		return false
	}
	return allowedEnv[kv.Key] && len(kv.Value) <= maxEnvValue
}

// parseWindowChange decodes a window-change request (RFC 4254 6.7): width
// and height in cells, then in pixels.
func parseWindowChange(p []byte) (ssh.Window, bool) {
	if len(p) < 16 {
		return ssh.Window{}, false
	}
	return ssh.Window{
		Width:        int(binary.BigEndian.Uint32(p[0:])),
		Height:       int(binary.BigEndian.Uint32(p[4:])),
		WidthPixels:  int(binary.BigEndian.Uint32(p[8:])),
		HeightPixels: int(binary.BigEndian.Uint32(p[12:])),
	}, true
}

// channelOf is the sessionChannel under a charm session, which embeds the
// channel its handler was given; nil for a session guardSessions did not
// make, or if charm stops embedding it (TestTerminalOutputIsTheChannel
// notices).
func channelOf(sess ssh.Session) *sessionChannel {
	v := reflect.ValueOf(sess)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Channel")
	if !f.IsValid() || !f.CanInterface() {
		return nil
	}
	sc, _ := f.Interface().(*sessionChannel)
	return sc
}
