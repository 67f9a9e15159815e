package app

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// fakeClock drives the limits' clock so that penalties expire without
// waiting for them.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func startServerWithClock(t *testing.T, cfg Config) (*testServer, *fakeClock) {
	ts, clock, _ := startServerCountingChecks(t, cfg)
	return ts, clock
}

// startServerCountingChecks starts a server on a fake clock that counts its
// password hash checks: what guessing costs it.
func startServerCountingChecks(t *testing.T, cfg Config) (*testServer, *fakeClock, *atomic.Int64) {
	clock := newFakeClock()
	checks := new(atomic.Int64)
	ts := startServerWith(t, cfg, func(s *Server) {
		s.limits.setClock(clock.now)
		verify := s.auth.verify
		s.auth.verify = func(hash, password string) (bool, error) {
			checks.Add(1)
			return verify(hash, password)
		}
	})
	return ts, clock, checks
}

// refusedBeforeHandshake reports whether a TCP connection from `from` is
// closed by the server without it sending its SSH version: refused before
// any cryptography.
func refusedBeforeHandshake(t *testing.T, addr, from string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: waitLimit}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return true
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitLimit))
	buf := make([]byte, 4)
	_, err = io.ReadFull(conn, buf)
	if err == nil && string(buf) == "SSH-" {
		return false
	}
	return true
}

// holdUnauthenticated opens a TCP connection that reads the server's
// version and then says nothing: a connection in flight, not logged in.
func holdUnauthenticated(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: waitLimit}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(waitLimit))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "SSH-" {
		t.Fatalf("held connection from %s refused: %v", from, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestUnauthenticatedConnectionsAreCappedBeforeAnyCrypto(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxUnauthPerIP, cfg.MaxUnauth = 2, 3
	ts := startServer(t, cfg)

	first := holdUnauthenticated(t, ts.addr, "127.0.0.1")
	holdUnauthenticated(t, ts.addr, "127.0.0.1")
	if !refusedBeforeHandshake(t, ts.addr, "127.0.0.1") {
		t.Fatal("a third connection in flight from one address was accepted (MAX_UNAUTH_PER_IP=2)")
	}
	holdUnauthenticated(t, ts.addr, "127.0.0.2")
	if !refusedBeforeHandshake(t, ts.addr, "127.0.0.3") {
		t.Fatal("a fourth connection in flight was accepted (MAX_UNAUTH=3)")
	}
	// A slot comes back when a connection closes, and logging in frees it.
	first.Close()
	waitUntil(t, "the closed connection's slot to return", func() bool {
		c, err := ts.dialFrom("127.0.0.4", "nobody", gossh.Password("x"))
		if c != nil {
			c.Close()
		}
		var refused *net.OpError
		return err != nil && !errors.As(err, &refused) && strings.Contains(err.Error(), "unable to authenticate")
	})
}

func TestSessionsAreCappedPerAddressAndInAll(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxSessionsPerIP, cfg.MaxSessions = 2, 3
	ts := startServer(t, cfg)
	// Sign up from elsewhere: a logged-in connection holds a session slot.
	c, _, err := ts.dialKeyboardFrom("127.0.0.50", "signup", []string{"alice", "password1", "password1"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	login := func(from string) *gossh.Client {
		c, err := ts.dialFrom(from, "alice", gossh.Password("password1"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a := openTerminal(t, login("127.0.0.1"), 80, 24)
	a.waitText("signed in as alice")
	openTerminal(t, login("127.0.0.1"), 80, 24).waitText("signed in as alice")
	third := openTerminal(t, login("127.0.0.1"), 80, 24)
	if err := third.waitEnd(); !isExit(err, 1) || !strings.Contains(third.screen(), "Too many chat sessions") {
		t.Fatalf("third session from one address: %v\n%s", err, third.screen())
	}
	openTerminal(t, login("127.0.0.2"), 80, 24).waitText("signed in as alice")
	fourth := openTerminal(t, login("127.0.0.3"), 80, 24)
	if err := fourth.waitEnd(); !isExit(err, 1) {
		t.Fatalf("fourth session in all: %v, want exit status 1", err)
	}
	a.send(ctrlC)
	a.waitEnd()
	waitUntil(t, "a freed session slot", func() bool {
		tm := openTerminal(t, login("127.0.0.3"), 80, 24)
		tm.waitFor("screen or refusal", func(s string) bool {
			return strings.Contains(s, "signed in as") || strings.Contains(s, "Too many")
		})
		return strings.Contains(tm.screen(), "signed in as alice")
	})
}

func TestOneChatPerConnection(t *testing.T) {
	ts := startServer(t, testConfig(t))
	c := ts.signup(t, "alice", "password1")
	openTerminal(t, c, 80, 24).waitText("signed in as alice")
	second := openTerminal(t, c, 80, 24)
	if err := second.waitEnd(); !isExit(err, 1) || !strings.Contains(second.screen(), "One chat per connection") {
		t.Fatalf("second chat on one connection: %v\n%s", err, second.screen())
	}
}

func TestRepeatedFailuresMakeTheAddressWait(t *testing.T) {
	cfg := testConfig(t)
	cfg.PenaltyFailures = 5
	ts, clock := startServerWithClock(t, cfg)
	ts.signup(t, "alice", "password1")

	guesses := 0
	for !refusedBeforeHandshake(t, ts.addr, "127.0.0.9") {
		if guesses++; guesses > 5 {
			t.Fatal("still no penalty after 5 failures")
		}
		if c, err := ts.dialFrom("127.0.0.9", "alice", gossh.Password(fmt.Sprint("guess", guesses))); err == nil {
			c.Close()
			t.Fatal("a guess logged in")
		}
	}
	t.Logf("failed logins before the first penalty: %d", guesses)
	if guesses != 5 {
		t.Errorf("penalty after %d failures, want 5", guesses)
	}
	// The account's owner, from elsewhere, is not locked out.
	if c, err := ts.dialFrom("127.0.0.10", "alice", gossh.Password("password1")); err != nil {
		t.Fatalf("owner locked out from another address: %v", err)
	} else {
		c.Close()
	}
	// The wait is 5 s, then doubles.
	clock.advance(4 * time.Second)
	if !refusedBeforeHandshake(t, ts.addr, "127.0.0.9") {
		t.Fatal("penalty ended before 5 s")
	}
	clock.advance(2 * time.Second)
	for i := 0; i < 5; i++ {
		if c, err := ts.dialFrom("127.0.0.9", "alice", gossh.Password("still guessing")); err == nil {
			c.Close()
		}
	}
	clock.advance(9 * time.Second)
	if !refusedBeforeHandshake(t, ts.addr, "127.0.0.9") {
		t.Fatal("second penalty shorter than 10 s: it should double")
	}
	clock.advance(2 * time.Second)
	if refusedBeforeHandshake(t, ts.addr, "127.0.0.9") {
		t.Fatal("second penalty longer than 10 s")
	}
}

func TestGuessingOneAccountCostsFewHashChecks(t *testing.T) {
	cfg := testConfig(t)
	cfg.AccountFailures = 3
	ts, clock, hashChecks := startServerCountingChecks(t, cfg)
	ts.signup(t, "alice", "password1")

	before := hashChecks.Load()
	const guesses = 1000
	var made atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for made.Load() < guesses {
				// Six tries per connection, as OpenSSH's MaxAuthTries allows.
				tries := gossh.RetryableAuthMethod(gossh.PasswordCallback(func() (string, error) {
					return fmt.Sprint("guess", made.Add(1)), nil
				}), maxAuthTries)
				if c, err := ts.dial("alice", tries); err == nil {
					c.Close()
					t.Error("a guess logged in")
					return
				}
			}
		}()
	}
	wg.Wait()
	checks := hashChecks.Load() - before
	t.Logf("%d guesses against one account cost %d password hash checks", made.Load(), checks)
	if checks > 40 {
		t.Errorf("%d hash checks for %d guesses, want at most a few dozen", checks, guesses)
	}
	// The owner gets in once the back-off (at most 30 s) has passed.
	clock.advance(accountMax + time.Second)
	if c, err := ts.dial("alice", gossh.Password("password1")); err != nil {
		t.Fatalf("owner after the back-off: %v", err)
	} else {
		c.Close()
	}
}

func TestSignupsAreLimitedPerAddress(t *testing.T) {
	cfg := testConfig(t)
	cfg.SignupsPerIPHour = 3
	ts, clock := startServerWithClock(t, cfg)
	for _, name := range []string{"anna", "bert", "cleo"} {
		ts.signup(t, name, "password1")
	}
	_, k, err := ts.dialKeyboard("signup", []string{"dora", "password1", "password1"})
	if err == nil {
		t.Fatal("a fourth signup in an hour succeeded")
	}
	if r := k.shown(); len(r) == 0 || !strings.Contains(r[0].instruction, "Too many accounts") {
		t.Errorf("refusal not explained: %+v", r)
	}
	c, _, err := ts.dialKeyboardFrom("127.0.0.2", "signup", []string{"dora", "password1", "password1"})
	if err != nil {
		t.Fatalf("signup from another address: %v", err)
	}
	c.Close()
	clock.advance(time.Hour + time.Second)
	c, _, err = ts.dialKeyboard("signup", []string{"emil", "password1", "password1"})
	if err != nil {
		t.Fatalf("signup an hour later: %v", err)
	}
	c.Close()
}

func (ts *testServer) dialKeyboardFrom(from, user string, answers ...[]string) (*gossh.Client, *scriptedKeyboard, error) {
	k := &scriptedKeyboard{answers: answers}
	c, err := ts.dialFrom(from, user, gossh.KeyboardInteractive(k.challenge))
	return c, k, err
}

func TestLoginStormKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 200 argon2id hashes")
	}
	ts := startServer(t, testConfig(t))
	ts.signup(t, "alice", "password1")

	// Collect sooner than the default while hashes come and go, so that
	// the heap in use follows what is live rather than what the collector
	// has not reached yet (a loaded machine ran it to 1029 MiB).
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	const logins = 200
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for i := 0; i < logins; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ts.dial("alice", gossh.Password("password1"))
			if err != nil {
				failed.Add(1)
				return
			}
			c.Close()
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("%d concurrent logins in %s: heap in use grew by at most %d MiB (one argon2id hash is 19 MiB)",
		logins, time.Since(start).Round(time.Millisecond), grew>>20)
	if failed.Load() > 0 {
		t.Errorf("%d of %d correct logins failed during the storm", failed.Load(), logins)
	}
	// Unbounded, 200 hashes at once would need 3.8 GiB; with one per CPU
	// the live memory is tens of MiB, and the rest is garbage not yet
	// collected.
	if limit := int64(1 << 30); grew > limit {
		t.Errorf("heap grew by %d MiB during the storm, want under %d MiB", grew>>20, limit>>20)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

func isExit(err error, status int) bool {
	var exit *gossh.ExitError
	return errors.As(err, &exit) && exit.ExitStatus() == status
}

func TestHandshakeHasADeadline(t *testing.T) {
	ts := startServerWith(t, testConfig(t), func(s *Server) {
		s.ssh.HandshakeTimeout = 300 * time.Millisecond // production: 2 minutes, for the signup dialogue
	})
	conn := holdUnauthenticated(t, ts.addr, "127.0.0.1")
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		var timeout net.Error
		if errors.As(err, &timeout) && timeout.Timeout() {
			t.Fatal("a silent connection was never closed")
		}
	}
	t.Logf("a silent connection was closed after %s", time.Since(start).Round(time.Millisecond))
}

func TestAtMostSixAuthenticationAttemptsPerConnection(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "alice", "password1")
	var tries atomic.Int32
	_, err := ts.dial("alice", gossh.RetryableAuthMethod(gossh.PasswordCallback(func() (string, error) {
		tries.Add(1)
		return "wrong-password", nil
	}), 20))
	if err == nil {
		t.Fatal("logged in with a wrong password")
	}
	if got := tries.Load(); got != maxAuthTries {
		t.Errorf("the server allowed %d attempts on one connection, want %d", got, maxAuthTries)
	}
}

// With both defences on, as in production, guesses refused by the account
// back-off still count against the guessing address.
func TestAddressPenaltyCountsGuessesTheAccountBackOffRefused(t *testing.T) {
	cfg := testConfig(t)
	cfg.PenaltyFailures, cfg.AccountFailures = 5, 3
	ts, _ := startServerWithClock(t, cfg)
	ts.signup(t, "alice", "password1")
	tries := gossh.RetryableAuthMethod(gossh.Password("wrong-password"), maxAuthTries)
	if c, err := ts.dialFrom("127.0.0.9", "alice", tries); err == nil {
		c.Close()
		t.Fatal("logged in with a wrong password")
	}
	if !refusedBeforeHandshake(t, ts.addr, "127.0.0.9") {
		t.Error("six failed guesses in one connection left the address unpenalised")
	}
}

func TestParallelGuessesDoNotSlipThroughTheBackOff(t *testing.T) {
	cfg := testConfig(t)
	cfg.AccountFailures = 3
	ts, clock, hashChecks := startServerCountingChecks(t, cfg)
	ts.signup(t, "alice", "password1")
	for i := 0; i < 3; i++ { // reach the back-off
		if c, err := ts.dial("alice", gossh.Password("wrong")); err == nil {
			c.Close()
		}
	}
	clock.advance(accountMax + time.Second) // the back-off has expired
	before := hashChecks.Load()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c, err := ts.dial("alice", gossh.Password(fmt.Sprint("parallel", i))); err == nil {
				c.Close()
			}
		}()
	}
	wg.Wait()
	if checks := hashChecks.Load() - before; checks > 1 {
		t.Errorf("20 parallel guesses cost %d hash checks once the back-off expired, want 1", checks)
	}
	// Names that cannot be accounts are not remembered per account.
	if c, err := ts.dial(strings.Repeat("x", 5000), gossh.Password("guess")); err == nil {
		c.Close()
	}
	ts.srv.limits.mu.Lock()
	tracked := ts.srv.limits.pairFails.Len()
	ts.srv.limits.mu.Unlock()
	if tracked != 1 {
		t.Errorf("%d (account, address) pairs tracked, want only alice's", tracked)
	}
}

func TestParallelSignupsKeepToTheQuota(t *testing.T) {
	cfg := testConfig(t)
	cfg.SignupsPerIPHour = 3
	ts := startServer(t, cfg)
	var wg sync.WaitGroup
	var created atomic.Int32
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("para%d", i)
			if c, _, err := ts.dialKeyboard("signup", []string{name, "password1", "password1"}); err == nil {
				created.Add(1)
				c.Close()
			}
		}()
	}
	wg.Wait()
	if got := created.Load(); got != 3 {
		t.Errorf("%d accounts created by 8 parallel signups, want the quota of 3", got)
	}
}

func TestConcurrentCorrectLoginsAreNotFailures(t *testing.T) {
	cfg := testConfig(t)
	cfg.PenaltyFailures, cfg.AccountFailures = 5, 3
	ts := startServer(t, cfg)
	ts.signup(t, "alice", "password1").Close()
	// A terminal multiplexer restoring ten windows at once.
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ts.dialFrom("127.0.0.9", "alice", gossh.Password("password1"))
			if err != nil {
				failed.Add(1)
				return
			}
			c.Close()
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of 10 concurrent correct logins failed", n)
	}
	if refusedBeforeHandshake(t, ts.addr, "127.0.0.9") {
		t.Error("concurrent correct logins put the address in the penalty box")
	}
}

func TestSignupTakenAnswersAreBudgetedPerAddress(t *testing.T) {
	cfg := testConfig(t)
	cfg.SignupNamesPerMin = 3
	ts, clock := startServerWithClock(t, cfg)
	ts.signup(t, "alice", "password1").Close()

	taken := []string{"alice", "password1", "password1"}
	similar := []string{"A1ice", "password1", "password1"}
	_, k, err := ts.dialKeyboardFrom("127.0.0.7", "signup", taken, similar, taken, taken)
	if err == nil {
		t.Fatal("signup went on past the address's budget of taken answers")
	}
	rounds := k.shown()
	last := rounds[len(rounds)-1]
	if len(last.questions) != 0 || !strings.Contains(last.instruction, "Too many names were tried from your address: please wait") {
		t.Fatalf("the last round says %q, want a request to wait; rounds: %+v", last.instruction, rounds)
	}
	// alice taken; A1ice too similar; alice taken; the fourth name
	// refused; the explanation.
	if n := len(rounds); n != 5 {
		t.Errorf("%d rounds, want 5", n)
	}
	if refused := rounds[len(rounds)-2]; len(refused.questions) != 1 || refused.questions[0] != "Username: " {
		t.Errorf("the refused round asked %q, want a username", refused.questions)
	}
	// Another address is not held back; this one is after a minute.
	if c, _, err := ts.dialKeyboardFrom("127.0.0.8", "signup", taken, []string{"bob", "password1", "password1"}); err != nil {
		t.Errorf("another address: %v", err)
	} else {
		c.Close()
	}
	clock.advance(time.Minute)
	if c, _, err := ts.dialKeyboardFrom("127.0.0.7", "signup", []string{"carol", "password1", "password1"}); err != nil {
		t.Errorf("a minute later: %v", err)
	} else {
		c.Close()
	}
}

// guess is one failed password check for account from ip, as login makes
// it: a real check only if mayTry allows one. It reports whether the check
// ran, and the wait mayTry or failed then named.
func guess(t *testing.T, l *limits, ip, account string) (checked bool, retryIn time.Duration) {
	t.Helper()
	ok, wait, retryIn := l.mayTry(ip, account)
	if wait != nil {
		t.Fatalf("%s from %s: told to wait for a check in flight, with none in flight", account, ip)
	}
	if !ok {
		return false, retryIn
	}
	return true, l.failed(ip, account)
}

func TestLimitsBackOffOnlyTheAddressThatGuessesAnAccount(t *testing.T) {
	clock := newFakeClock()
	l := newLimits(Config{AccountFailures: 3}, clock.now)
	for i := range 3 {
		if checked, _ := guess(t, l, "192.0.2.1", "alice"); !checked {
			t.Fatalf("guess %d refused before the third failure", i+1)
		}
	}
	if ok, _, retryIn := l.mayTry("192.0.2.1", "ALICE"); ok || retryIn != accountMin {
		t.Fatalf("after 3 failures the guessing address may try (%v) or waits %v, want a refusal for %v", ok, retryIn, accountMin)
	}
	// Neither the owner elsewhere nor another account from the guessing
	// address waits.
	for _, try := range []struct{ ip, account string }{{"192.0.2.2", "alice"}, {"192.0.2.1", "bob"}} {
		ok, wait, retryIn := l.mayTry(try.ip, try.account)
		if !ok || wait != nil || retryIn != 0 {
			t.Errorf("%s from %s: ok %v, wait %v, retry in %v; want a check at once", try.account, try.ip, ok, wait, retryIn)
		}
		l.succeeded(try.ip, try.account)
	}
	// The guessing address's back-off doubles with each failure after it,
	// up to accountMax.
	for _, want := range []time.Duration{2, 4, 8, 16, 30, 30} {
		clock.advance(accountMax)
		if checked, retryIn := guess(t, l, "192.0.2.1", "alice"); !checked || retryIn != want*time.Second {
			t.Fatalf("a guess after the back-off: checked %v, back-off %v; want %v s", checked, retryIn, want)
		}
	}
}

func TestLimitsRefuseEveryAddressOnceTheHourlyBudgetIsSpent(t *testing.T) {
	clock := newFakeClock()
	l := newLimits(Config{AccountFailures: 3, AccountFailuresHour: 5}, clock.now)
	addr := func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }
	// Three failures now and two half an hour later, each from its own
	// address: no address reaches its own back-off.
	for i := range 5 {
		if i == 3 {
			clock.advance(30 * time.Minute)
		}
		checked, retryIn := guess(t, l, addr(i), "alice")
		if !checked {
			t.Fatalf("guess %d refused before the budget was spent", i+1)
		}
		if want := i == 4; (retryIn > 0) != want {
			t.Errorf("failure %d: wait %v", i+1, retryIn)
		}
	}
	// The budget is spent: every address is refused, the owner's too,
	// until the first three failures leave the hour (61 minutes after
	// their minute began, at most: 31 minutes from now).
	for _, ip := range []string{addr(0), addr(99), "192.0.2.7"} {
		if checked, retryIn := guess(t, l, ip, "Alice"); checked || retryIn != 31*time.Minute {
			t.Errorf("from %s: checked %v, retry in %v; want a refusal for 31 min", ip, checked, retryIn)
		}
	}
	// Another account is not concerned.
	if checked, _ := guess(t, l, addr(0), "bob"); !checked {
		t.Error("bob was refused because of alice's budget")
	}
	clock.advance(31*time.Minute - time.Second)
	if checked, _ := guess(t, l, "192.0.2.7", "alice"); checked {
		t.Error("a check a second before the oldest failures leave the hour")
	}
	clock.advance(time.Second)
	ok, _, _ := l.mayTry("192.0.2.7", "alice")
	if !ok {
		t.Fatal("still refused once the oldest failures left the hour")
	}
	l.succeeded("192.0.2.7", "alice")
	// The failures of half an hour ago still count: three more spend the
	// budget again, until they too leave.
	for i := range 3 {
		guess(t, l, addr(10+i), "alice")
	}
	if checked, retryIn := guess(t, l, "192.0.2.7", "alice"); checked || retryIn != 30*time.Minute {
		t.Errorf("checked %v, retry in %v; want a refusal until the failures of half an hour ago leave, in 30 min", checked, retryIn)
	}

	// 0 switches the budget off.
	l = newLimits(Config{AccountFailuresHour: 0}, clock.now)
	for i := range 1000 {
		if checked, _ := guess(t, l, addr(i%250), "alice"); !checked {
			t.Fatalf("guess %d refused with the budget off", i+1)
		}
	}
}

// Checks in flight count toward the budget: parallel guesses from many
// addresses cannot overrun it; a login it refuses only because of them
// waits for them, and is not told to come back in an hour.
func TestLimitsCountChecksInFlightTowardTheBudget(t *testing.T) {
	clock := newFakeClock()
	l := newLimits(Config{AccountFailures: 3, AccountFailuresHour: 2}, clock.now)
	for _, ip := range []string{"192.0.2.1", "192.0.2.2"} {
		if ok, _, _ := l.mayTry(ip, "alice"); !ok {
			t.Fatalf("check from %s refused", ip)
		}
	}
	ok, wait, _ := l.mayTry("192.0.2.3", "alice")
	if ok || wait == nil {
		t.Fatalf("a third check while two are in flight with a budget of 2: ok %v, wait %v; want a wait", ok, wait)
	}
	l.failed("192.0.2.1", "alice")
	select {
	case <-wait:
	default:
		t.Fatal("a check in flight ended and the waiting login was not woken")
	}
	// One failure and one check in flight: still full.
	ok, wait, _ = l.mayTry("192.0.2.3", "alice")
	if ok || wait == nil {
		t.Fatalf("ok %v, wait %v; want a wait", ok, wait)
	}
	l.succeeded("192.0.2.2", "alice") // a correct login spends nothing
	<-wait
	if ok, _, _ := l.mayTry("192.0.2.3", "alice"); !ok {
		t.Fatal("refused with one failure in a budget of 2 and nothing in flight")
	}
	if retryIn := l.failed("192.0.2.3", "alice"); retryIn != time.Hour+time.Minute {
		t.Errorf("the failure that spent the budget says to wait %v, want 61 min", retryIn)
	}
}

func TestLimitsClearOnlyThePairThatLoggedIn(t *testing.T) {
	clock := newFakeClock()
	l := newLimits(Config{AccountFailures: 3, AccountFailuresHour: 7}, clock.now)
	for range 2 {
		guess(t, l, "192.0.2.1", "alice")
		guess(t, l, "192.0.2.2", "alice")
	}
	if ok, _, _ := l.mayTry("192.0.2.1", "alice"); !ok {
		t.Fatal("refused before the back-off")
	}
	l.succeeded("192.0.2.1", "Alice")
	// 192.0.2.1 starts afresh; 192.0.2.2 still has two failures.
	if _, retryIn := guess(t, l, "192.0.2.1", "alice"); retryIn != 0 {
		t.Errorf("the address that logged in backs off %v after one failure, want none", retryIn)
	}
	if _, retryIn := guess(t, l, "192.0.2.2", "alice"); retryIn != accountMin {
		t.Errorf("the other address backs off %v after its third failure, want %v", retryIn, accountMin)
	}
	// Nor does a success refund the account's hourly budget: 4 + 3 = 7
	// failures spend the 7.
	if checked, retryIn := guess(t, l, "192.0.2.3", "alice"); !checked || retryIn != time.Hour+time.Minute {
		t.Errorf("the seventh failure: checked %v, wait %v; want the budget spent, 61 min", checked, retryIn)
	}
	// An address both backing off and refused by the budget is told the
	// longer wait.
	if ok, _, retryIn := l.mayTry("192.0.2.2", "alice"); ok || retryIn != time.Hour+time.Minute {
		t.Errorf("backing off with the budget spent: ok %v, retry in %v; want 61 min", ok, retryIn)
	}
}

func TestLimitTablesStayBounded(t *testing.T) {
	l := newLimits(Config{PenaltyFailures: 5, AccountFailures: 3, AccountFailuresHour: 100}, newFakeClock().now)
	ip := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }
	// Many addresses guessing one account, then one address guessing many
	// accounts.
	for i := range maxTracked + 100 {
		guess(t, l, ip(i), "alice")
	}
	for i := range maxTracked + 100 {
		guess(t, l, "192.0.2.1", fmt.Sprintf("user%d", i))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, n := range map[string]int{
		"addresses": l.addressFails.Len(), "pairs": l.pairFails.Len(), "accounts": l.accountHour.Len(),
	} {
		if n > maxTracked {
			t.Errorf("%d %s tracked, want at most %d", n, name, maxTracked)
		}
	}
}
