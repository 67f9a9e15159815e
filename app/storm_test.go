package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
	"messaging/store/sqlite"
)

// stormParallel is how many sessions TestDropStormReturnsToBaseline opens at
// once.
const stormParallel = 20

// stormSize is how many chat sessions TestDropStormReturnsToBaseline opens
// and drops. Each login hashes a password with argon2id, which the race
// detector slows about threefold: on two cores 500 logins take some 20 s,
// and 80 s under -race, so the race run drops fewer.
func stormSize() int {
	if raceEnabled {
		return 200
	}
	return 500
}

// TestDropStormReturnsToBaseline opens hundreds of chat sessions and then
// drops every one without a goodbye (a TCP reset, as when a laptop's Wi-Fi
// dies or a NAT forgets the flow). The server must notice each and free
// everything it held for it: goroutines and file descriptors come back to
// where they were before the storm.
func TestDropStormReturnsToBaseline(t *testing.T) {
	size := stormSize()
	if testing.Short() {
		t.Skipf("opens and drops %d sessions", size)
	}
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skipf("cannot count open files here: %v", err)
	}
	ts := startServer(t, testConfig(t))
	_ = ts.signup(t, "storm", "password1").Close()

	// Warm up with one session opened and dropped like the storm's, so that
	// what starts once and stays (database connections, pools) is part of
	// the baseline.
	warm, err := openDroppable(ts.addr, "storm", "password1")
	if err != nil {
		t.Fatalf("warm-up session: %v", err)
	}
	warm.drop()
	if !pollUntil(waitLimit, func() bool { return sessionsEnded(ts) == 1 }) {
		t.Fatal("the server did not end the warm-up session")
	}
	baseGoroutines, baseFiles := runtime.NumGoroutine(), openFiles(t)

	start := time.Now()
	sessions, err := openStorm(ts.addr, size, stormParallel)
	t.Cleanup(func() { dropAll(sessions) }) // on failure too
	if err != nil {
		t.Fatalf("opened %d of %d sessions: %v", len(sessions), size, err)
	}
	opened := time.Since(start)
	peakGoroutines, peakFiles := runtime.NumGoroutine(), openFiles(t)

	dropped := time.Now()
	dropAll(sessions)
	for _, d := range sessions {
		select {
		case <-d.ended: // our side of the connection is gone
		case <-time.After(waitLimit):
			t.Fatal("a dropped session did not end on the client side")
		}
	}
	// Generous: the server must notice hundreds of resets at once, on two
	// cores under -race; it usually takes well under a second.
	const settleLimit = 60 * time.Second
	goroutinesOK := func() bool { return runtime.NumGoroutine() <= baseGoroutines+20 }
	// The SQLite pool may have grown to its 8 connections under the storm's
	// history reads (two files each: the database and its WAL); it keeps
	// them. Bounded, not a leak.
	filesOK := func() bool { return openFiles(t) <= baseFiles+10+2*8 }
	if !pollUntil(settleLimit, func() bool {
		return sessionsEnded(ts) == size+1 && goroutinesOK() && filesOK()
	}) {
		var stacks strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		t.Errorf("%v after the drop: %d of %d sessions ended; goroutines %d (baseline %d), open files %d (baseline %d)\n%s",
			settleLimit, sessionsEnded(ts)-1, size, runtime.NumGoroutine(), baseGoroutines,
			openFiles(t), baseFiles, stacks.String())
	}
	if raceEnabled {
		t.Logf("race detector on: %d sessions instead of 500", size)
	}
	t.Logf("%d sessions opened in %v (%d at a time), back to baseline %v after the drop",
		size, opened.Round(time.Millisecond), stormParallel, time.Since(dropped).Round(time.Millisecond))
	t.Logf("goroutines: before %d, peak %d, after %d", baseGoroutines, peakGoroutines, runtime.NumGoroutine())
	t.Logf("open files: before %d, peak %d, after %d", baseFiles, peakFiles, openFiles(t))
}

// sessionsEnded counts the server's "session end" log lines.
func sessionsEnded(ts *testServer) int {
	return strings.Count(ts.logs.String(), "msg=\"session end\"")
}

// openFiles counts this process's open file descriptors: the server's and
// the clients' sockets, the database, and the few the runtime holds.
func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return len(entries)
}

// openStorm opens n chat sessions as user "storm", parallel at a time, and
// returns those it opened; it stops at the first failure.
func openStorm(addr string, n, parallel int) ([]*droppable, error) {
	var (
		mu       sync.Mutex
		sessions []*droppable
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for range parallel {
		wg.Go(func() {
			for range next {
				d, err := openDroppable(addr, "storm", "password1")
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if d != nil {
					sessions = append(sessions, d)
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return sessions, firstErr
}

func dropAll(sessions []*droppable) {
	for _, d := range sessions {
		d.drop()
	}
}

// droppable is a chat session whose TCP connection the test holds, so that
// it can vanish without a goodbye. It watches its screen through a terminal
// emulator, like terminal, but reports failures as errors: sessions are
// opened from several goroutines at once.
type droppable struct {
	tcp     *net.TCPConn
	session *gossh.Session
	answers io.Closer // the emulator's answers; closing it ends their copy to stdin

	mu       sync.Mutex
	emu      *vt.Emulator
	changed  chan struct{} // closed and replaced on every write
	ended    chan struct{} // closed when the session's output ends
	dropOnce sync.Once
}

// openDroppable logs in with a password over a connection of its own and
// opens an 80x24 chat screen, waiting until it shows who is signed in.
func openDroppable(addr, user, password string) (d *droppable, err error) {
	dialer := net.Dialer{Timeout: waitLimit}
	conn, err := dialer.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	emu := vt.NewEmulator(80, 24)
	d = &droppable{
		tcp: conn.(*net.TCPConn), answers: emu.InputPipe().(io.Closer), emu: emu,
		changed: make(chan struct{}), ended: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			d.drop()
			d = nil
		}
	}()
	_ = d.tcp.SetDeadline(time.Now().Add(waitLimit)) // bounds the handshake
	c, chans, reqs, err := gossh.NewClientConn(d.tcp, addr, clientConfig(user, gossh.Password(password)))
	if err != nil {
		return d, fmt.Errorf("login: %w", err)
	}
	_ = d.tcp.SetDeadline(time.Time{})
	client := gossh.NewClient(c, chans, reqs)
	if d.session, err = client.NewSession(); err != nil {
		return d, fmt.Errorf("new session: %w", err)
	}
	modes := gossh.TerminalModes{gossh.ECHO: 0, gossh.TTY_OP_ISPEED: 38400, gossh.TTY_OP_OSPEED: 38400}
	if err := d.session.RequestPty("xterm-256color", 24, 80, modes); err != nil {
		return d, fmt.Errorf("request pty: %w", err)
	}
	stdin, err := d.session.StdinPipe()
	if err != nil {
		return d, err
	}
	stdout, err := d.session.StdoutPipe()
	if err != nil {
		return d, err
	}
	go func() { _, _ = io.Copy(stdin, emu) }() // ends when answers is closed
	go func() {
		_, _ = io.Copy(d, stdout)
		_ = d.session.Wait()
		close(d.ended)
	}()
	if err := d.session.Shell(); err != nil {
		return d, fmt.Errorf("shell: %w", err)
	}
	return d, d.waitText("signed in as " + user)
}

func (d *droppable) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, _ = d.emu.Write(p)
	close(d.changed)
	d.changed = make(chan struct{})
	return len(p), nil
}

// waitText waits until the screen shows text.
func (d *droppable) waitText(text string) error {
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		screen, changed := d.emu.String(), d.changed
		d.mu.Unlock()
		if strings.Contains(screen, text) {
			return nil
		}
		select {
		case <-changed:
		case <-d.ended:
			return fmt.Errorf("session ended before the screen showed %q:\n%s", text, screen)
		case <-deadline.C:
			return fmt.Errorf("timed out waiting for %q; screen:\n%s", text, screen)
		}
	}
}

// drop resets the connection: with a zero linger time, closing the socket
// sends RST at once instead of FIN, and nothing of the SSH protocol says
// goodbye.
func (d *droppable) drop() {
	d.dropOnce.Do(func() {
		_ = d.tcp.SetLinger(0)
		_ = d.tcp.Close()
		_ = d.answers.Close()
	})
}

// TestTypingStormKeepsTheOrderTyped types many lines without pause: one
// person's messages must be stored, and so shown to everyone, in the order
// they were typed.
func TestTypingStormKeepsTheOrderTyped(t *testing.T) {
	cfg := testConfig(t)
	ts := startServer(t, cfg)
	alice := ts.chatter(t, "alice", 80, 24)
	const lines = 300
	var keys strings.Builder
	for i := range lines {
		fmt.Fprintf(&keys, "o%04d\r", i)
	}
	alice.send(keys.String())

	ctx := context.Background()
	st, err := sqlite.Open(ctx, cfg.Database) // a second reader beside the server's
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var bodies []string
	allStored := pollUntil(waitLimit, func() bool {
		msgs, err := st.Before(ctx, ts.srv.room.Lobby().ID, 0, 2*lines)
		if err != nil {
			t.Fatalf("read history: %v", err)
		}
		bodies = bodies[:0]
		for _, m := range msgs {
			if m.Author == "alice" && m.Kind == chat.KindText { // not her join notice
				bodies = append(bodies, m.Body)
			}
		}
		return len(bodies) == lines
	})
	if !allStored {
		t.Fatalf("%d of %d lines stored", len(bodies), lines)
	}
	var swaps []string
	for i := 1; i < len(bodies); i++ {
		prev, _ := strconv.Atoi(bodies[i-1][1:])
		n, _ := strconv.Atoi(bodies[i][1:])
		if n < prev {
			swaps = append(swaps, bodies[i-1]+" before "+bodies[i])
		}
	}
	if len(swaps) > 0 {
		t.Errorf("%d of %d lines stored out of the order typed, e.g. %v",
			len(swaps), lines, swaps[:min(len(swaps), 5)])
	}
}

// pollUntil polls cond every 20 ms until it holds (true) or limit passes
// (false). It is for conditions nothing signals, such as the number of
// goroutines or what another connection has committed.
func pollUntil(limit time.Duration, cond func() bool) bool {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return cond()
		}
	}
	return true
}
