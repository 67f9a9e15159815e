package app

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
	"messaging/store/sqlite"
)

// These tests run the server binary as a child process, the way an operator
// runs it, and stop it with signals: SIGKILL to show that a crash loses no
// message anyone has seen, SIGTERM to show a clean shutdown.

// killCycles is how many times TestKill9LosesNothingAcknowledged kills the
// server mid-traffic.
const killCycles = 20

// TestKill9LosesNothingAcknowledged kills the server with SIGKILL while alice
// types as fast as she can, restarts it on the same database, and repeats.
// A message is shown to anyone only once it is committed, so every message
// bob ever saw must be in the history at the end, in a sound database.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the server 20 times")
	}
	bin := buildServer(t)
	dir := t.TempDir() // one database and host key for every cycle

	seen := map[string]bool{} // every token that ever appeared on bob's screen
	start := time.Now()
	for cycle := 1; cycle <= killCycles; cycle++ {
		// Kill at a different moment each cycle: after 3 to 15 tokens.
		killAfter := 3 + cycle*7%13
		began := time.Now()
		c := killMidTraffic(t, startServerProcess(t, bin, dir), cycle, killAfter, seen)
		t.Logf("cycle %2d: alice typed %5d; killed once bob had seen %2d of them (%2d by his end; %4d tokens in all) in %v",
			cycle, c.typed, c.atKill, c.seen, len(seen), time.Since(began).Round(time.Millisecond))
	}
	t.Logf("%d cycles in %v", killCycles, time.Since(start).Round(time.Millisecond))

	history := readWholeHistory(t, filepath.Join(dir, "messaging.db"))
	stored := map[string]bool{}
	for _, m := range history {
		if m.Author == "alice" && typedToken.MatchString(m.Body) {
			stored[m.Body] = true
		}
	}
	var lost []string
	for token := range seen {
		if !stored[token] {
			lost = append(lost, token)
		}
	}
	slices.Sort(lost)
	t.Logf("tokens seen by bob: %d; tokens stored: %d; messages stored: %d; lost: %d",
		len(seen), len(stored), len(history), len(lost))
	if len(lost) > 0 {
		t.Errorf("%d messages bob saw are not in the history: %v", len(lost), lost)
	}
}

// typedToken is what alice types: cCCmNNNNN, the cycle and a sequence
// number, unique across the whole test.
var typedToken = regexp.MustCompile(`^c\d{2}m\d{5}$`)

// tokenOnScreen finds alice's tokens in a screen's text.
var tokenOnScreen = regexp.MustCompile(`\bc\d{2}m\d{5}\b`)

// killMidTraffic runs one cycle against srv: bob watches, alice types
// without pause, and once bob has seen killAfter of this cycle's tokens the
// server is killed. Every token bob saw, before and after the kill, is added
// to seen.
func killMidTraffic(t *testing.T, srv *serverProcess, cycle, killAfter int, seen map[string]bool) cycleCounts {
	t.Helper()
	var bobClient, aliceClient *gossh.Client
	if cycle == 1 {
		bobClient = srv.signup(t, "bob", "password1")
		aliceClient = srv.signup(t, "alice", "password1")
	} else {
		bobClient = srv.login(t, "bob", "password1")
		aliceClient = srv.login(t, "alice", "password1")
	}
	defer bobClient.Close()
	defer aliceClient.Close()
	bob := openTerminal(t, bobClient, 80, 24)
	bob.waitText("signed in as bob")
	alice := openTerminal(t, aliceClient, 80, 24)
	alice.waitText("signed in as alice")

	typing := startTyping(alice.stdin, cycle)
	prefix := fmt.Sprintf("c%02dm", cycle)
	thisCycle := func() int {
		n := 0
		for token := range seen {
			if strings.HasPrefix(token, prefix) {
				n++
			}
		}
		return n
	}

	// Watch bob's screen until he has seen enough of this cycle, then kill.
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		changed := bob.collectTokens(seen)
		if thisCycle() >= killAfter {
			break
		}
		select {
		case <-changed:
		case <-bob.ended:
			t.Fatalf("cycle %d: bob's session ended before the kill; server log:\n%s", cycle, srv.log)
		case <-deadline.C:
			t.Fatalf("cycle %d: bob saw %d tokens, want %d; screen:\n%s", cycle, thisCycle(), killAfter, bob.screen())
		}
	}
	atKill := thisCycle()
	srv.kill(t)

	// What reached bob's terminal before the connection died counts too:
	// the server showed it, so it had committed it.
	select {
	case <-bob.ended:
	case <-time.After(waitLimit):
		t.Fatalf("cycle %d: bob's session outlived the server", cycle)
	}
	bob.collectTokens(seen)
	typed := typing.stop()
	if typed < thisCycle() {
		t.Errorf("cycle %d: alice typed %d tokens, yet bob saw %d", cycle, typed, thisCycle())
	}
	return cycleCounts{typed: typed, atKill: atKill, seen: thisCycle()}
}

// cycleCounts are one kill cycle's tokens: how many alice typed, how many of
// them bob had seen when the server was killed, and by the end of his
// session.
type cycleCounts struct{ typed, atKill, seen int }

// collectTokens adds every token on the screen to seen and returns the
// channel that is closed at the screen's next change.
func (tm *terminal) collectTokens(seen map[string]bool) <-chan struct{} {
	tm.mu.Lock()
	screen, changed := tm.emu.String(), tm.changed
	tm.mu.Unlock()
	for _, token := range tokenOnScreen.FindAllString(screen, -1) {
		seen[token] = true
	}
	return changed
}

// typist types tokens into a terminal without waiting for anything. Typed
// means handed to SSH: the channel buffers up to its window, so at a kill
// most typed lines have not reached the server yet.
type typist struct {
	quit  chan struct{}
	done  chan struct{}
	typed int
}

// startTyping types cCCm00000, cCCm00001, ... each followed by Enter, one
// after the other, until stop or until the connection fails.
func startTyping(stdin io.Writer, cycle int) *typist {
	ty := &typist{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(ty.done)
		for i := 0; i < 100000; i++ {
			select {
			case <-ty.quit:
				return
			default:
			}
			if _, err := fmt.Fprintf(stdin, "c%02dm%05d\r", cycle, i); err != nil {
				return // the server is gone
			}
			ty.typed++
		}
	}()
	return ty
}

// stop stops typing and returns how many tokens were typed.
func (ty *typist) stop() int {
	close(ty.quit)
	<-ty.done
	return ty.typed
}

// readWholeHistory opens the database the server left, as its next start
// would, checks its integrity, and returns every message, oldest first,
// paging back with Before and checking that IDs strictly increase.
func readWholeHistory(t *testing.T, path string) []chat.Message {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open the database the server left: %v", err)
	}
	defer st.Close()
	checkIntegrity(t, path)
	lobby, err := st.Channel(ctx, chat.Lobby)
	if err != nil {
		t.Fatalf("find %s: %v", chat.Lobby, err)
	}
	var pages [][]chat.Message
	before := int64(0)
	for {
		page, err := st.Before(ctx, lobby.ID, before, 500)
		if err != nil {
			t.Fatalf("read history: %v", err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		before = page[0].ID
	}
	slices.Reverse(pages)
	history := slices.Concat(pages...)
	for i := 1; i < len(history); i++ {
		if history[i].ID <= history[i-1].ID {
			t.Fatalf("history IDs not strictly increasing: %d then %d", history[i-1].ID, history[i].ID)
		}
	}
	return history
}

// TestSigtermShutsDownCleanly stops the server as an operator or a container
// runtime does: every screen is told why it closes and restored, what was
// acknowledged is kept, and the process exits 0 promptly.
func TestSigtermShutsDownCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary")
	}
	bin := buildServer(t)
	dir := t.TempDir()
	srv := startServerProcess(t, bin, dir)
	bobClient, aliceClient := srv.signup(t, "bob", "password1"), srv.signup(t, "alice", "password1")
	bob := openTerminal(t, bobClient, 80, 24)
	bob.waitText("signed in as bob")
	alice := openTerminal(t, aliceClient, 80, 24)
	alice.waitText("signed in as alice")
	// Like OpenSSH, hang up once the session ends: the server waits a
	// moment for clients to do so before it exits.
	hangUpAtEnd(bob, bobClient)
	hangUpAtEnd(alice, aliceClient)
	alice.say("last words")             // short: one row beside the side columns
	alice.waitText("alice: last words") // acknowledged

	sent := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM: %v", err)
	}
	select {
	case <-srv.exited:
	case <-time.After(10 * time.Second):
		srv.kill(t)
		t.Fatalf("still running 10 s after SIGTERM; log:\n%s", srv.log)
	}
	t.Logf("exited %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
	if srv.exitErr != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0; log:\n%s", srv.exitErr, srv.log)
	}

	for name, tm := range map[string]*terminal{"alice": alice, "bob": bob} {
		tm.waitEnd()
		if s := tm.screen(); !strings.Contains(s, "The server is shutting down.") || strings.Contains(s, "restarting") {
			t.Errorf("%s's screen has no shutdown notice, or one of a restart:\n%s", name, s)
		}
		if tm.altScreen() {
			t.Errorf("%s's terminal left in the alternate screen", name)
		}
	}

	found := false
	for _, m := range readWholeHistory(t, filepath.Join(dir, "messaging.db")) {
		found = found || m.Author == "alice" && m.Body == "last words"
	}
	if !found {
		t.Error("the message alice saw acknowledged is not in the history")
	}
}

// TestSighupAnnouncesARestart: SIGHUP stops the server as SIGTERM does, but
// tells users it is restarting (whoever sent it starts the server again).
func TestSighupAnnouncesARestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary")
	}
	srv := startServerProcess(t, buildServer(t), t.TempDir())
	c := srv.signup(t, "alice", "password1")
	alice := openTerminal(t, c, 80, 24)
	alice.waitText("signed in as alice")
	hangUpAtEnd(alice, c)
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("send SIGHUP: %v", err)
	}
	select {
	case <-srv.exited:
	case <-time.After(10 * time.Second):
		srv.kill(t)
		t.Fatalf("still running 10 s after SIGHUP; log:\n%s", srv.log)
	}
	if srv.exitErr != nil {
		t.Errorf("exit after SIGHUP: %v, want status 0; log:\n%s", srv.exitErr, srv.log)
	}
	alice.waitEnd()
	if s := alice.screen(); !strings.Contains(s, "The server is restarting. Please reconnect in a moment.") {
		t.Errorf("no restart notice on the screen:\n%s", s)
	}
}

// hangUpAtEnd closes the connection once the terminal's session has ended.
func hangUpAtEnd(tm *terminal, c *gossh.Client) {
	go func() {
		<-tm.ended
		_ = c.Close()
	}()
}

// buildServer builds the messaging binary into a temporary directory. Under
// the race detector the binary has it too: a race in the server then makes
// it exit with status 66 instead of 0, which TestSigtermShutsDownCleanly sees.
func buildServer(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build the server: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "messaging")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	start := time.Now()
	out, err := exec.Command(goTool, append(args, "messaging")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the server in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// serverProcess is the server binary running as a child process.
type serverProcess struct {
	cmd     *exec.Cmd
	addr    string
	log     *childLog
	exited  chan struct{} // closed once the process has exited
	exitErr error         // how it exited; read after exited is closed
}

// startServerProcess starts bin with its database and host key in dir and
// every abuse limit off, and waits until it listens. The process is killed
// when the test ends, if it is still running.
func startServerProcess(t testing.TB, bin, dir string, env ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"ADDR=127.0.0.1", "PORT=0",
		"DATABASE="+filepath.Join(dir, "messaging.db"),
		"HOST_KEY="+filepath.Join(dir, "host_ed25519"),
		"MAX_SESSIONS=0", "MAX_SESSIONS_PER_IP=0", "MAX_UNAUTH=0", "MAX_UNAUTH_PER_IP=0",
		"SIGNUPS_PER_IP_HOUR=0", "PENALTY_FAILURES=0", "ACCOUNT_FAILURES=0", "MSG_BURST=0",
	)
	cmd.Env = append(cmd.Env, env...)
	if raceEnabled {
		// The race runtime sleeps a second at exit by default; the exit
		// time is measured.
		cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	log := &childLog{changed: make(chan struct{})}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the server: %v", err)
	}
	srv := &serverProcess{cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		srv.exitErr = cmd.Wait()
		close(srv.exited)
	}()
	t.Cleanup(func() {
		srv.kill(t)
		if log := srv.log.String(); strings.Contains(log, "WARNING: DATA RACE") {
			t.Errorf("the server raced:\n%s", log)
		}
	})
	srv.addr = srv.waitListening(t)
	return srv
}

// listeningLine is the server's log line once it accepts connections.
var listeningLine = regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)

// waitListening reads the server's log until it says where it listens.
func (srv *serverProcess) waitListening(t testing.TB) string {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		text, changed := srv.log.read()
		if m := listeningLine.FindStringSubmatch(text); m != nil {
			return m[1]
		}
		select {
		case <-changed:
		case <-srv.exited:
			t.Fatalf("the server exited before listening (%v):\n%s", srv.exitErr, srv.log)
		case <-deadline.C:
			t.Fatalf("the server did not say where it listens:\n%s", srv.log)
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone; a no-op once it
// has exited.
func (srv *serverProcess) kill(t testing.TB) {
	t.Helper()
	select {
	case <-srv.exited:
		return
	default:
	}
	if err := srv.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill the server: %v", err)
	}
	select {
	case <-srv.exited:
	case <-time.After(waitLimit):
		t.Fatal("the server outlived SIGKILL")
	}
}

func (srv *serverProcess) dial(user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", srv.addr, clientConfig(user, auth...))
}

// signup creates an account through the keyboard-interactive dialogue; the
// connection continues as the new user.
func (srv *serverProcess) signup(t *testing.T, name, password string) *gossh.Client {
	t.Helper()
	k := &scriptedKeyboard{answers: [][]string{{name, password, password}}}
	c, err := srv.dial("signup", gossh.KeyboardInteractive(k.challenge))
	if err != nil {
		t.Fatalf("signup %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// login logs in with the "password" method.
func (srv *serverProcess) login(t *testing.T, name, password string) *gossh.Client {
	t.Helper()
	c, err := srv.dial(name, gossh.Password(password))
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// childLog collects what the child writes on stderr and signals each write.
type childLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (l *childLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// read returns the log so far and a channel closed at the next write.
func (l *childLog) read() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String(), l.changed
}

func (l *childLog) String() string {
	text, _ := l.read()
	return text
}

// checkIntegrity runs SQLite's integrity check on the database at path.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("integrity check: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatalf("integrity check: %v", err)
		}
		if line != "ok" {
			t.Errorf("the database the server left: %s", line)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("integrity check: %v", err)
	}
}
