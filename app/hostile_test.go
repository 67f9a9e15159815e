package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
)

// Tests of what a logged-in client can make the server hold through the
// SSH layer (app/channels.go), and of what happens to a chat whose
// connection is closed under it. The server runs in this process, so its
// memory is read from the runtime, after a collection.

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

const mib = 1 << 20

func TestAnEnvFloodKeepsMemoryBounded(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "mallory", "password1").Close()
	c := ts.loginPassword(t, "mallory", "password1")
	session, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()

	// The variables the server uses pass, up to the cap.
	accepted := 0
	for range maxEnvPerSession + 5 {
		if session.Setenv("COLORTERM", "truecolor") == nil {
			accepted++
		}
	}
	if accepted != maxEnvPerSession {
		t.Errorf("%d COLORTERM requests accepted, want the cap, %d", accepted, maxEnvPerSession)
	}

	// 4,000 requests of 100 KB: 400 MB, on one session that never starts.
	// (Under the race detector this can take longer than the server lets
	// a channel that starts nothing stay open: later requests then fail
	// with the channel closed, which holds nothing either.)
	requests, size := 4000, 100<<10
	if testing.Short() {
		requests = 400
	}
	before := heapInUse()
	value := strings.Repeat("x", size)
	kept := 0
	for i := range requests {
		name := fmt.Sprintf("VAR%d", i)
		if i%2 == 0 {
			name = "LANG" // an allowed name, with an overlong value
		}
		if session.Setenv(name, value) == nil {
			kept++
		}
	}
	grew := int64(heapInUse()) - int64(before)
	t.Logf("%d env requests of %d KB: %d accepted, the heap grew by %.1f MiB", requests, size>>10, kept, float64(grew)/mib)
	if kept != 0 {
		t.Errorf("%d overlong or unknown variables were accepted", kept)
	}
	if grew > 64*mib {
		t.Errorf("the heap grew by %.0f MiB, want at most 64", float64(grew)/mib)
	}
}

func TestAConnectionCannotOpenMoreSessionChannelsThanTheCap(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "mallory", "password1").Close()
	c := ts.loginPassword(t, "mallory", "password1")

	var open []gossh.Channel
	var refused error
	for range 50 {
		ch, reqs, err := c.OpenChannel("session", nil)
		if err != nil {
			refused = err
			break
		}
		go gossh.DiscardRequests(reqs)
		open = append(open, ch)
	}
	var openErr *gossh.OpenChannelError
	if len(open) != maxChannelsPerConn || !errors.As(refused, &openErr) || openErr.Reason != gossh.Prohibited {
		t.Fatalf("opened %d channels, then %v; want %d, then administratively prohibited", len(open), refused, maxChannelsPerConn)
	}

	// Each accepted channel buffers at most its window (2 MiB), whatever
	// the client writes into it.
	before := heapInUse()
	var written [maxChannelsPerConn]atomic.Int64
	for i, ch := range open {
		go func() {
			chunk := make([]byte, 32<<10)
			for written[i].Load() < 4*mib {
				if _, err := ch.Write(chunk); err != nil {
					return
				}
				written[i].Add(int64(len(chunk)))
			}
		}()
	}
	waitUntil(t, "the windows to fill", func() bool {
		for i := range written {
			if written[i].Load() < 2*mib {
				return false
			}
		}
		return true
	})
	grew := int64(heapInUse()) - int64(before)
	t.Logf("%d channels written into: the heap grew by %.1f MiB", len(open), float64(grew)/mib)
	if limit := int64(maxChannelsPerConn*2*mib + 16*mib); grew > limit {
		t.Errorf("the heap grew by %.1f MiB, want at most %.0f", float64(grew)/mib, float64(limit)/mib)
	}

	// A closed channel gives its place back.
	open[0].Close()
	waitUntil(t, "a channel to open again", func() bool {
		ch, reqs, err := c.OpenChannel("session", nil)
		if err != nil {
			return false
		}
		go gossh.DiscardRequests(reqs)
		open[0] = ch
		return true
	})

	// Channels that start nothing are closed by the server.
	if testing.Short() {
		return
	}
	for i, ch := range open {
		done := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, ch); close(done) }()
		select {
		case <-done:
		case <-time.After(channelStartLimit + waitLimit):
			t.Fatalf("channel %d, which never started, is still open", i)
		}
	}
}

// TestWindowChangesWithoutAChatDoNotHoldTheConnection: charm's session
// hands each window change to a channel only a running chat drains, so a
// client resizing a session that never starts blocked the connection's
// read loop for good, and closing the connection freed nothing.
func TestWindowChangesWithoutAChatDoNotHoldTheConnection(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "mallory", "password1").Close()
	connections := 200
	if testing.Short() {
		connections = 20
	}
	baseline := runtime.NumGoroutine()
	var wg sync.WaitGroup
	errs := make(chan error, connections)
	sem := make(chan struct{}, 8)
	deadline := time.Now().Add(2 * waitLimit)
	for range connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := ts.dial("mallory", gossh.Password("password1"))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			session, err := c.NewSession()
			if err != nil {
				errs <- err
				return
			}
			if err := session.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
				errs <- err
				return
			}
			for i := range 30 {
				if err := session.WindowChange(24+i, 80+i); err != nil {
					errs <- err
					return
				}
			}
			// The connection still answers: a new channel opens.
			opened := make(chan error, 1)
			go func() {
				ch, reqs, err := c.OpenChannel("session", nil)
				if err == nil {
					go gossh.DiscardRequests(reqs)
					ch.Close()
				}
				opened <- err
			}()
			select {
			case err := <-opened:
				if err != nil {
					errs <- fmt.Errorf("the connection stopped answering: %w", err)
				}
			case <-time.After(time.Until(deadline)):
				errs <- errors.New("the connection stopped answering: a channel did not open in time")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitUntil(t, "goroutines to return to the baseline", func() bool {
		return runtime.NumGoroutine() <= baseline+5
	})
}

// TestAClientThatStopsReadingAndResizesLeavesAtOnce: a chat client that
// stops reading (Ctrl+S, then resizing the window) is disconnected by the
// stall limit; its chat must end then, and the others see it leave,
// without waiting for the room to evict it.
func TestAClientThatStopsReadingAndResizesLeavesAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: fills a client's SSH window and waits for the stall limit")
	}
	ts := startServer(t, testConfig(t))
	carol := ts.chatter(t, "carol", 100, 30)
	ts.signup(t, "bob", "password1").Close()
	// Text on every screen, so that each repaint of a huge window is large.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts.signup(t, "erin", "password1").Close()
	filler, err := ts.srv.room.Join(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		if err := post(ctx, filler, chat.KindText, strings.Repeat(fmt.Sprintf("filler %03d ", i), 90)); err != nil {
			t.Fatal(err)
		}
	}
	filler.Leave()

	stalled := startStalledChat(t, ts.loginPassword(t, "bob", "password1"))
	carol.waitText("→ bob joined")
	start := time.Now()
	go keepResizing(ctx, stalled)
	// Nobody posts: only the stall limit can end bob's chat.
	deadline := stallLimit + 10*time.Second
	for !strings.Contains(carol.screen(), "← bob left") {
		if time.Since(start) > deadline {
			t.Fatalf("bob is still in the room %s after he stopped reading; log:\n%s", deadline, ts.logs.String())
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-carol.ended:
			t.Fatal("carol's session ended")
		}
	}
	t.Logf("bob left %s after he stopped reading", time.Since(start).Round(time.Millisecond))
	if online := ts.srv.room.Online(ts.srv.room.Lobby().ID); len(online) != 1 || online[0].Name != "carol" {
		t.Errorf("online: %v, want only carol", online)
	}
	waitUntil(t, "bob's program to end", func() bool { return ts.srv.sessions.len() == 1 })
	if !strings.Contains(ts.logs.String(), "client stopped reading") {
		t.Error("the reason is not in the log")
	}
}

func TestTheServersFilesArePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	ts := startServer(t, testConfig(t))
	carol := ts.chatter(t, "carol", 80, 24)
	carol.say("something for the journal")
	carol.waitText("carol: something for the journal")
	for _, path := range []string{ts.cfg.Database, ts.cfg.Database + "-wal", ts.cfg.Database + "-shm", ts.cfg.HostKey} {
		info, err := os.Stat(path)
		if err != nil {
			t.Error(err)
			continue
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s is %v, want -rw-------", path, perm)
		}
	}
	dir := ts.cfg.HostKey[:strings.LastIndex(ts.cfg.HostKey, "/")]
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("the host key's folder %s: %v %v, want drwx------", dir, info.Mode(), err)
	}
}

func TestAnExistingSharedDatabaseIsWarnedAbout(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	cfg := testConfig(t)
	if err := os.WriteFile(cfg.Database, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg.Database, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	ts := startServer(t, cfg)
	if !strings.Contains(ts.logs.String(), "the database is readable by other users") {
		t.Errorf("no warning; log:\n%s", ts.logs.String())
	}
}
