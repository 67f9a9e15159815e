package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"
)

// waitLimit bounds every wait in these tests: they wait for conditions, and
// fail if a condition does not hold in time.
const waitLimit = 15 * time.Second

// testServer is a real server on 127.0.0.1:0 with its own database and host
// key in a temporary directory.
type testServer struct {
	srv      *Server
	cfg      Config
	addr     string
	logs     *syncBuffer
	cancel   context.CancelCauseFunc
	done     chan error
	stopOnce sync.Once
}

func testConfig(t testing.TB) Config {
	dir := t.TempDir()
	return Config{
		Addr:        "127.0.0.1",
		Port:        0,
		PublicHost:  "chat.example.org",
		Workers:     2,
		Database:    filepath.Join(dir, "messaging.db"),
		HostKey:     filepath.Join(dir, "ssh", "host_ed25519"),
		PasswordMin: 8,
		PasswordMax: 15,
		History:     100,
		MaxMessage:  1000,
		// The abuse limits are off here; the tests of each defence turn
		// it on. Keepalives are on, as in production.
		Keepalive: 30 * time.Second,
	}
}

// startServer starts a server with cfg and stops it when the test ends.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return startServerWith(t, cfg, nil)
}

// startServerWith starts a server built with opts, after prepare has
// adjusted it (the clock of the limits).
func startServerWith(t testing.TB, cfg Config, prepare func(*Server), opts ...option) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	srv, err := newWith(context.Background(), cfg, log, opts...)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	if prepare != nil {
		prepare(srv)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	ts := &testServer{srv: srv, cfg: cfg, addr: srv.Addr().String(), logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ctx) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down and waits for it; safe to call twice.
func (ts *testServer) stop(t testing.TB) {
	t.Helper()
	ts.stopWith(t, nil)
}

// restart shuts the server down as main does on SIGHUP: telling its users
// that it is restarting.
func (ts *testServer) restart(t testing.TB) {
	t.Helper()
	ts.stopWith(t, ErrRestart)
}

// stopWith cancels the server's context with cause (nil: a plain stop) and
// waits for it to stop; only the first call acts.
func (ts *testServer) stopWith(t testing.TB, cause error) {
	t.Helper()
	ts.stopOnce.Do(func() {
		ts.cancel(cause)
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("server did not stop in time")
		}
	})
}

func clientConfig(user string, auth ...gossh.AuthMethod) *gossh.ClientConfig {
	return &gossh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         waitLimit,
	}
}

func (ts *testServer) dial(user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", ts.addr, clientConfig(user, auth...))
}

// dialFrom connects from another loopback address (127.0.0.0/8 is all
// local), so that per-address limits can be tested.
func (ts *testServer) dialFrom(from, user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: waitLimit}
	conn, err := d.Dial("tcp", ts.addr)
	if err != nil {
		return nil, err
	}
	c, chans, reqs, err := gossh.NewClientConn(conn, ts.addr, clientConfig(user, auth...))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return gossh.NewClient(c, chans, reqs), nil
}

// loginPassword logs in with the "password" method.
func (ts *testServer) loginPassword(t *testing.T, user, password string) *gossh.Client {
	t.Helper()
	c, err := ts.dial(user, gossh.Password(password))
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// prompt is one keyboard-interactive round as the client saw it.
type prompt struct {
	name, instruction string
	questions         []string
	echos             []bool
}

// scriptedKeyboard answers keyboard-interactive rounds from a script of
// answer lists and records every round it was shown. Rounds with no
// questions (messages) consume no answers. A list answers one round or, when
// it holds more answers than the round asks for, the rounds that follow it,
// in order, until a round asks a question the list has answered already
// (the server refused that answer and asks again) or asks for more than is
// left: that round takes the next list. So {name, password, password} signs
// up whether the server asks the three questions in one round or the name
// first and the passwords next, and {bad name, password, password}, {good
// name, password, password} answers a re-asked name with the second list.
type scriptedKeyboard struct {
	mu      sync.Mutex
	answers [][]string
	rest    []string        // what is left of the list in use
	asked   map[string]bool // the questions the list in use answered
	rounds  []prompt
}

func (k *scriptedKeyboard) challenge(name, instruction string, questions []string, echos []bool) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rounds = append(k.rounds, prompt{name, instruction, questions, echos})
	if len(questions) == 0 {
		return nil, nil
	}
	askedAgain := slices.ContainsFunc(questions, func(q string) bool { return k.asked[q] })
	if len(k.rest) < len(questions) || askedAgain {
		if len(k.answers) == 0 {
			return nil, errors.New("script exhausted")
		}
		k.rest, k.asked = k.answers[0], map[string]bool{}
		k.answers = k.answers[1:]
	}
	n := min(len(questions), len(k.rest)) // a short list is answered as it is
	a := k.rest[:n]
	k.rest = k.rest[n:]
	for _, q := range questions {
		k.asked[q] = true
	}
	return a, nil
}

func (k *scriptedKeyboard) shown() []prompt {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]prompt(nil), k.rounds...)
}

func (ts *testServer) dialKeyboard(user string, answers ...[]string) (*gossh.Client, *scriptedKeyboard, error) {
	k := &scriptedKeyboard{answers: answers}
	c, err := ts.dial(user, gossh.KeyboardInteractive(k.challenge))
	return c, k, err
}

// signup creates an account through the signup dialogue and returns the
// connection, which continues as the new user.
func (ts *testServer) signup(t *testing.T, name, password string) *gossh.Client {
	t.Helper()
	c, _, err := ts.dialKeyboard("signup", []string{name, password, password})
	if err != nil {
		t.Fatalf("signup %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// terminal is one SSH session with a PTY whose output is fed into a
// terminal emulator, so tests read the screen a user would see.
type terminal struct {
	t       *testing.T
	session *gossh.Session
	stdin   io.WriteCloser

	mu      sync.Mutex
	emu     *vt.Emulator
	raw     bytes.Buffer  // every byte the server sent
	changed chan struct{} // closed and replaced on every write
	ended   chan struct{} // closed when the session's output ends
	exit    error
}

func openTerminal(t *testing.T, c *gossh.Client, width, height int) *terminal {
	t.Helper()
	return openTerminalAs(t, c, "xterm-256color", width, height)
}

// openTerminalAs opens a session whose PTY reports the terminal type term.
func openTerminalAs(t *testing.T, c *gossh.Client, term string, width, height int) *terminal {
	t.Helper()
	session, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	modes := gossh.TerminalModes{gossh.ECHO: 0, gossh.TTY_OP_ISPEED: 38400, gossh.TTY_OP_OSPEED: 38400}
	if err := session.RequestPty(term, height, width, modes); err != nil {
		t.Fatalf("request pty: %v", err)
	}
	stdin, err := session.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := session.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := session.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{
		t: t, session: session, stdin: stdin, emu: vt.NewEmulator(width, height),
		changed: make(chan struct{}), ended: make(chan struct{}),
	}
	// The emulator answers the program's queries (colours, modes) through
	// its input pipe, as a real terminal would.
	go func() { _, _ = io.Copy(stdin, tm.emu) }()
	// Like OpenSSH, show the session's stderr on the same screen.
	if err := session.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	// Read only once the shell started: a session refused at once would
	// otherwise end before Wait may be called.
	stderrDone := make(chan struct{})
	go func() { _, _ = io.Copy(tm, stderr); close(stderrDone) }()
	go tm.read(stdout, stderrDone)
	t.Cleanup(func() { _ = session.Close() })
	return tm
}

func (tm *terminal) read(stdout io.Reader, stderrDone <-chan struct{}) {
	_, _ = io.Copy(tm, stdout)
	<-stderrDone
	tm.exit = tm.session.Wait()
	tm.mu.Lock()
	close(tm.ended)
	tm.mu.Unlock()
}

// Write takes what the server sent: into the emulator, and the raw log.
func (tm *terminal) Write(p []byte) (int, error) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.raw.Write(p)
	_, _ = tm.emu.Write(p)
	close(tm.changed)
	tm.changed = make(chan struct{})
	return len(p), nil
}

// resize changes the terminal's size, as a user resizing the window: the
// emulator first, resetting its scroll region as xterm does, then the
// window-change request, which the server may clamp.
func (tm *terminal) resize(width, height, askWidth, askHeight int) {
	tm.t.Helper()
	tm.mu.Lock()
	tm.emu.Resize(width, height)
	_, _ = tm.emu.WriteString("\x1b[r")
	tm.mu.Unlock()
	if err := tm.session.WindowChange(askHeight, askWidth); err != nil {
		tm.t.Fatal(err)
	}
}

// screen is the emulator's current screen as plain text.
func (tm *terminal) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.emu.String()
}

func (tm *terminal) rawOutput() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.raw.String()
}

// waitFor waits until cond holds for the screen, or fails the test.
func (tm *terminal) waitFor(what string, cond func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		tm.mu.Lock()
		screen, changed := tm.emu.String(), tm.changed
		tm.mu.Unlock()
		if cond(screen) {
			return screen
		}
		select {
		case <-changed:
		case <-tm.ended:
			if s := tm.screen(); cond(s) {
				return s
			}
			tm.t.Fatalf("session ended while waiting for %s; screen:\n%s", what, tm.screen())
		case <-deadline.C:
			tm.t.Fatalf("timed out waiting for %s; screen:\n%s", what, tm.screen())
		}
	}
}

func (tm *terminal) waitText(text string) string {
	tm.t.Helper()
	return tm.waitFor(strings.TrimSpace(text), func(s string) bool { return strings.Contains(s, text) })
}

func (tm *terminal) send(keys string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.stdin, keys); err != nil {
		tm.t.Fatalf("send keys: %v", err)
	}
}

// waitEnd waits for the session to end and returns its exit error.
func (tm *terminal) waitEnd() error {
	tm.t.Helper()
	select {
	case <-tm.ended:
		return tm.exit
	case <-time.After(waitLimit):
		tm.t.Fatalf("session did not end; screen:\n%s", tm.screen())
		return nil
	}
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (tm *terminal) altScreen() bool {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.emu.IsAltScreen()
}

// say types a line and presses Enter.
func (tm *terminal) say(text string) {
	tm.t.Helper()
	tm.send(text + "\r")
}

// paste sends text as a bracketed paste, as a terminal does.
func (tm *terminal) paste(text string) {
	tm.t.Helper()
	tm.send("\x1b[200~" + text + "\x1b[201~")
}

// chatter signs name up and opens a chat screen for them.
func (ts *testServer) chatter(t *testing.T, name string, width, height int) *terminal {
	t.Helper()
	tm := openTerminal(t, ts.signup(t, name, "password1"), width, height)
	tm.waitText("signed in as " + name)
	return tm
}

// startStalledChat opens a chat at the largest size on c whose output is
// never read: a client that stopped reading.
func startStalledChat(t *testing.T, c *gossh.Client) *gossh.Session {
	t.Helper()
	stalled, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := stalled.RequestPty("xterm-256color", maxHeight, maxWidth, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if _, err := stalled.StdoutPipe(); err != nil { // never read
		t.Fatal(err)
	}
	if err := stalled.Shell(); err != nil {
		t.Fatal(err)
	}
	return stalled
}

// keepResizing resizes s every few milliseconds until ctx ends or the
// session does: each resize is a full repaint for the server to write, so
// a client that does not read fills its SSH window quickly.
func keepResizing(ctx context.Context, s *gossh.Session) {
	for i := 0; ctx.Err() == nil; i++ {
		if s.WindowChange(maxHeight-i%2, maxWidth-i%2) != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
}
