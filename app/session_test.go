package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
)

// panicOn is a session input that panics on reading "☠": a bug in the
// input path, which tui.Run decodes on goroutines of its own.
type panicOn struct{ r io.Reader }

func (p panicOn) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if strings.Contains(string(b[:n]), "☠") {
		panic("a bug in the input")
	}
	return n, err
}

func TestAPanicEndsOnlyItsOwnSession(t *testing.T) {
	ts := startServerWith(t, testConfig(t), nil, withChatInput(func(r io.Reader) io.Reader { return panicOn{r} }))
	alice := ts.chatter(t, "alice", 80, 24)
	bob := ts.chatter(t, "bob", 80, 24)

	bob.send("☠")
	bob.waitEnd()
	if bob.altScreen() {
		t.Error("the panicking session left its terminal in the alternate screen")
	}
	alice.waitText("← bob left")
	logs := ts.logs.String()
	if n := strings.Count(logs, "level=ERROR"); n != 1 || !strings.Contains(logs, "a bug in the input") {
		t.Errorf("the panic was logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, "goroutine ") || !strings.Contains(logs, "panicOn.Read") {
		t.Errorf("the panic was logged without its stack:\n%s", logs)
	}
	alice.say("still here")
	alice.waitText("alice: still here")
	carol := ts.chatter(t, "carol", 80, 24)
	carol.waitText("alice: still here")
}

// A flood of window changes leaves the chat working; each becomes a layout
// only as pacedSizes allows (TestPacedSizesCoalesceAndClamp).
func TestAResizeFloodLeavesTheChatWorking(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 80, 24)
	bob := ts.chatter(t, "bob", 80, 24)

	// A window large enough for every size of the flood.
	bob.resize(maxWidth, maxHeight, 80, 24)
	for i := 0; i < 5000; i++ {
		if err := bob.session.WindowChange(20+i%50, 60+i%100); err != nil {
			t.Fatal(err)
		}
	}
	if err := bob.session.WindowChange(100000, 100000); err != nil {
		t.Fatal(err)
	}
	alice.say("are you still there?")
	bob.waitText("alice: are you still there?")
}

func TestPacedSizesCoalesceAndClamp(t *testing.T) {
	p := &windowPacer{every: resizeEvery}
	p.offer(ssh.Window{Width: 0, Height: 0}) // before the screen subscribes: kept
	sizes := make(chan [2]int, 1000)
	var sending atomic.Int32
	stop := p.subscribe(func(width, height int) {
		if sending.Add(1) != 1 {
			t.Error("two sends at once")
		}
		sizes <- [2]int{width, height}
		sending.Add(-1)
	})
	if first := waitSize(t, sizes); first != [2]int{80, 24} {
		t.Errorf("the change offered before subscribing came as %v, want it clamped to 80x24", first)
	}
	start := time.Now()
	floods := 0
	for ; time.Since(start) < 10*resizeEvery; floods++ { // a flood that lasts ten periods
		p.offer(ssh.Window{Width: 20 + floods%50, Height: 60 + floods%100})
	}
	p.offer(ssh.Window{Width: 100000, Height: 100000})
	n := 1
	for {
		size := waitSize(t, sizes)
		n++
		if size[0] > maxWidth || size[1] > maxHeight {
			t.Errorf("window %v came through, want at most %dx%d", size, maxWidth, maxHeight)
		}
		if size[0] == maxWidth {
			break
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d window changes in %s became %d sizes", floods+1, elapsed.Round(time.Millisecond), n)
	// One per period, plus the first and some slack; without pacing it
	// would be thousands.
	if limit := int(elapsed/resizeEvery) + 3; n > limit {
		t.Errorf("%d sizes for a flood of %d in %s, want at most %d", n, floods, elapsed, limit)
	}
	stop()
	scheduled := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.sending != nil
	}
	waitUntil(t, "the send under way to end", func() bool { return !scheduled() })
	p.offer(ssh.Window{Width: 90, Height: 30})
	if scheduled() {
		t.Error("a size was scheduled after the screen stopped taking them")
	}
}

// waitSize returns the next size sent to sizes.
func waitSize(t *testing.T, sizes <-chan [2]int) [2]int {
	t.Helper()
	select {
	case s := <-sizes:
		return s
	case <-time.After(waitLimit):
		t.Fatal("no size came")
		return [2]int{}
	}
}

func TestIdleTimeoutQuitsCleanly(t *testing.T) {
	cfg := testConfig(t)
	cfg.IdleTimeout = 400 * time.Millisecond
	ts := startServer(t, cfg)
	bob := ts.chatter(t, "bob", 80, 24)
	bob.waitEnd()
	if bob.altScreen() {
		t.Error("idle timeout left the terminal in the alternate screen")
	}
	if s := bob.screen(); !strings.Contains(s, "without activity") {
		t.Errorf("no reason given:\n%s", s)
	}
}

// An idle session wakes nothing: Bubble Tea starts a frame ticker for every
// program, renderer or not, and the session stops it once the chat runs;
// keys still arrive (the session reads them itself).
func TestAnIdleSessionHasNoFrameTicker(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 80, 24)
	waitUntil(t, "the frame ticker to stop", func() bool { return frameTickers() == 0 })
	alice.say("still typing")
	alice.waitText("alice: still typing")
	// Stopping it gave nothing back to the terminal.
	if !alice.altScreen() || strings.Contains(alice.rawOutput(), "\x1b[?1049l") {
		t.Error("stopping the frame ticker left the chat screen")
	}
}

// frameTickers counts the groups of goroutines that run Bubble Tea's frame
// ticker (0 if none does).
func frameTickers() int {
	var dump strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
	return strings.Count(dump.String(), "bubbletea/v2.(*Program).startRenderer.func1")
}

func TestFloodControlRefusesWithANoticeAndSendsNothing(t *testing.T) {
	cfg := testConfig(t)
	cfg.MsgBurst, cfg.MsgPerSec = 5, 1
	ts := startServer(t, cfg)
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.chatter(t, "bob", 100, 30)
	start := time.Now()
	for i := 1; i <= 10; i++ {
		alice.say(fmt.Sprintf("spam %d", i))
	}
	alice.waitText("slow down")
	alice.say("")                 // a refused message is back in the input: nothing lost
	bob.waitText("alice: spam 4") // the burst of 5, less the one her join notice took
	allowed := 4 + int(time.Since(start).Seconds()) + 1
	seen := strings.Count(bob.screen(), "alice: spam")
	if seen > allowed {
		t.Errorf("bob saw %d of 10 messages sent in a burst; the limit allows %d", seen, allowed)
	}
}

// blackhole is a TCP proxy that can stop forwarding in both directions
// while keeping both connections open: a client that vanished without
// closing anything.
type blackhole struct {
	ln     net.Listener
	frozen chan struct{}
	once   sync.Once
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, frozen: make(chan struct{})}
	t.Cleanup(func() { ln.Close(); b.freeze() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				return
			}
			t.Cleanup(func() { client.Close(); server.Close() })
			go b.pipe(client, server)
			go b.pipe(server, client)
		}
	}()
	return b
}

func (b *blackhole) pipe(dst, src net.Conn) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		select {
		case <-b.frozen:
			return // stop reading: the bytes pile up in the kernel
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (b *blackhole) freeze() { b.once.Do(func() { close(b.frozen) }) }

func TestKeepalivesDetectAVanishedClient(t *testing.T) {
	cfg := testConfig(t)
	cfg.Keepalive = 200 * time.Millisecond
	ts := startServer(t, cfg)
	alice := ts.chatter(t, "alice", 80, 24)
	ts.signup(t, "bob", "password1")

	hole := newBlackhole(t, ts.addr)
	c, err := gossh.Dial("tcp", hole.ln.Addr().String(), clientConfig("bob", gossh.Password("password1")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	openTerminal(t, c, 80, 24).waitText("signed in as bob")
	alice.waitText("→ bob joined")

	hole.freeze()
	start := time.Now()
	alice.waitText("← bob left")
	t.Logf("a vanished client left after %s (keepalive every %s)", time.Since(start).Round(time.Millisecond), cfg.Keepalive)
	if !strings.Contains(ts.logs.String(), "keepalives unanswered") {
		t.Error("the reason is not in the log")
	}
}

func TestAStalledClientIsEvictedAndDoesNotSlowTheOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: fills a client's SSH window and socket buffers")
	}
	ts := startServer(t, testConfig(t))
	carol := ts.chatter(t, "carol", 100, 30)
	ts.signup(t, "bob", "password1")

	// bob's client stops reading its session. To fill the SSH window (2 MiB)
	// and the socket buffers quickly, it keeps resizing a huge terminal:
	// each resize is a full repaint for the server to write.
	stalled := startStalledChat(t, ts.loginPassword(t, "bob", "password1"))
	carol.waitText("→ bob joined")
	// Fill the screen with text, so that each repaint is about 100 KB.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts.signup(t, "erin", "password1").Close()
	filler, err := ts.srv.room.Join(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	var posts sync.WaitGroup
	for i := 0; i < 100; i++ {
		posts.Add(1)
		go func() {
			defer posts.Done()
			_ = post(ctx, filler, chat.KindText, strings.Repeat(fmt.Sprintf("filler %03d ", i), 90))
		}()
	}
	posts.Wait()
	filler.Leave()
	go keepResizing(ctx, stalled)

	// Meanwhile dave talks and carol's delivery latency is measured.
	dave := ts.chatter(t, "dave", 80, 24)
	start := time.Now()
	var worst time.Duration
	for i := 0; !strings.Contains(carol.screen(), "← bob left"); i++ {
		if time.Since(start) > 90*time.Second {
			t.Fatalf("the stalled client was never evicted; log:\n%s", ts.logs.String())
		}
		probe := fmt.Sprintf("probe-%d", i)
		sent := time.Now()
		dave.say(probe)
		carol.waitText("dave: " + probe)
		worst = max(worst, time.Since(sent))
	}
	t.Logf("stalled client evicted %s after it stopped reading; carol's worst latency meanwhile %s",
		time.Since(start).Round(time.Millisecond), worst.Round(time.Millisecond))
	if !strings.Contains(ts.logs.String(), "client stopped reading") {
		t.Error("the reason is not in the log")
	}
	if worst > time.Second {
		t.Errorf("carol's delivery latency reached %s while bob was stalled", worst)
	}
}

// TestTerminalOutputIsTheChannel checks that chat screens write to the SSH
// channel under charm's session, skipping its newline translation: if a
// charm upgrade changes how a session holds its channel, terminalOutput
// falls back to the session, and this fails so that someone looks.
func TestTerminalOutputIsTheChannel(t *testing.T) {
	got := make(chan io.Writer, 1)
	srv := &ssh.Server{
		Handler: func(sess ssh.Session) {
			got <- terminalOutput(sess)
			_, _ = io.WriteString(terminalOutput(sess), "raw\r\n")
		},
		ChannelHandlers: map[string]ssh.ChannelHandler{"session": guardSessions},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	client, err := gossh.Dial("tcp", l.Addr().String(), &gossh.ClientConfig{User: "x", HostKeyCallback: gossh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := session.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	out, err := session.Output("")
	if err != nil {
		t.Fatal(err)
	}
	w := <-got
	if _, isSession := w.(ssh.Session); isSession {
		t.Errorf("terminalOutput gave the session (%T), not its channel", w)
	}
	if string(out) != "raw\r\n" {
		t.Errorf("the client read %q, want %q", out, "raw\r\n")
	}
}

// gateWriter blocks each write while its gate is closed.
type gateWriter struct{ open chan struct{} }

func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.open
	return len(p), nil
}

func TestStallWriterCatchesOnlyABlockedWrite(t *testing.T) {
	// Long enough that a writer descheduled between two stores on a
	// loaded machine (-race, other tests) is not a write blocked that
	// long: 40 ms was, once in CI.
	const limit = 250 * time.Millisecond
	gate := &gateWriter{make(chan struct{})}
	close(gate.open)
	var stalls atomic.Int32
	stalled := make(chan struct{}, 1)
	sw := newStallWriter(gate, limit, func() {
		stalls.Add(1)
		stalled <- struct{}{}
	})

	// Quick writes for several limits: the timer fires while they come and
	// must find no write blocked for the limit.
	for start := time.Now(); time.Since(start) < 5*limit; {
		if _, err := sw.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := stalls.Load(); n != 0 {
		t.Fatalf("quick writes were taken for %d stalls", n)
	}

	// Then one write blocks: caught, after the limit, whenever the timer
	// was last set. Closing the gate ends the write, as closing the
	// connection does.
	blockedWrite := func(what string) time.Duration {
		t.Helper()
		gate.open = make(chan struct{})
		began := time.Now()
		done := make(chan struct{})
		go func() {
			_, _ = sw.Write([]byte(what))
			close(done)
		}()
		defer func() { close(gate.open); <-done }()
		select {
		case <-stalled:
			return time.Since(began)
		case <-time.After(waitLimit):
			t.Fatalf("%s: never caught", what)
			return 0
		}
	}
	if waited := blockedWrite("a blocked write"); waited < limit {
		t.Errorf("caught after %s, before the limit %s", waited, limit)
	}
	// Idle, then blocked again: the timer is set again by the next write.
	blockedWrite("a blocked write after an idle spell")
}

// synced returns once the server has what was sent so far: the reply to a
// channel request comes after the data sent before it is in the session's
// channel, whose reader, waiting for it, has been woken.
func (tm *terminal) synced() {
	tm.t.Helper()
	if _, err := tm.session.SendRequest("sync@messaging.test", true, nil); err != nil {
		tm.t.Fatalf("sync: %v", err)
	}
}

// inputRow is the chat's input line on a screen: the row above the hint
// bar, which is the last.
func inputRow(screen string) string {
	rows := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(rows) < 2 {
		return ""
	}
	return strings.TrimRight(rows[len(rows)-2], " ")
}

// Esc, and a moment later more typing, is Esc then the typing: Esc clears
// the draft, and the next key is a key, not Alt+key. Over SSH the Esc
// arrives alone in its packet; the terminal reader used to wait 50 ms for
// the rest of an escape sequence and took the next key for it.
func TestEscThenQuickTypingIsEscThenTheTyping(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 80, 24)
	alice.send("draft")
	alice.waitText("> draft")
	alice.send("\x1b")
	alice.synced() // in the server's reader now, well within 50 ms
	alice.send("hello")
	screen := alice.waitFor("the typing after Esc", func(s string) bool { return strings.HasSuffix(inputRow(s), "ello") })
	if row := inputRow(screen); row != "> hello" {
		t.Fatalf("draft, Esc, hello gave the input %q, want %q", row, "> hello")
	}

	// Sequences still decode: Alt+B (a word back), then Right.
	alice.send("\x1bb")
	alice.send("X")
	alice.waitText("> Xhello")
	alice.send("\x1b[C")
	alice.send("Y")
	alice.waitText("> XhYello")
}
