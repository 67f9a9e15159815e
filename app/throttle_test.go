package app

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// loginAtFirstPrompt logs in as user from `from` through keyboard-interactive
// with up to two tries of password, and returns the prompts the client saw.
// A login that succeeds at the first prompt was neither refused nor made to
// wait: the second prompt would say why the first try failed.
func (ts *testServer) loginAtFirstPrompt(from, user, password string) (*gossh.Client, []prompt, error) {
	k := &scriptedKeyboard{answers: [][]string{{password}, {password}}}
	c, err := ts.dialFrom(from, user, gossh.RetryableAuthMethod(gossh.KeyboardInteractive(k.challenge), 2))
	return c, k.shown(), err
}

// Issue 16: 30 wrong guesses from one address used to make the account back
// off everywhere, so that a guesser could keep its owner out. Now the
// back-off is the guessing address's alone.
func TestThrottleLetsTheOwnerInWhileAnotherAddressGuesses(t *testing.T) {
	cfg := testConfig(t)
	// As in production, but without the address penalty, which would
	// stop the guesser after 5 failures: this is about the account.
	cfg.AccountFailures, cfg.AccountFailuresHour = 3, 100
	ts, _, hashChecks := startServerCountingChecks(t, cfg)
	ts.signup(t, "alice", "password1").Close()

	// The clock stands still from here on: a back-off in force now is in
	// force until the end of the test.
	guesses := 0
	for guesses < 30 {
		tries := gossh.RetryableAuthMethod(gossh.PasswordCallback(func() (string, error) {
			guesses++
			return fmt.Sprint("guess", guesses), nil
		}), min(maxAuthTries, 30-guesses))
		if c, err := ts.dialFrom("127.0.0.2", "alice", tries); err == nil {
			c.Close()
			t.Fatal("a guess logged in")
		}
	}
	t.Logf("%d guesses from 127.0.0.2 cost %d hash checks", guesses, hashChecks.Load())

	// The owner, from another address, at the same instant: with the clock
	// standing still, a back-off that applied to the owner would refuse
	// this try (and the next prompt would say so), not merely delay it.
	before := hashChecks.Load()
	c, rounds, err := ts.loginAtFirstPrompt("127.0.0.1", "alice", "password1")
	if err != nil {
		t.Fatalf("the owner, from another address, could not log in: %v; prompts %+v", err, rounds)
	}
	c.Close()
	if len(rounds) != 1 || rounds[0].instruction != "" {
		t.Errorf("the owner's prompts: %+v; want one, explaining nothing (no refusal)", rounds)
	}
	if checks := hashChecks.Load() - before; checks != 1 {
		t.Errorf("the owner's login took %d hash checks, want 1", checks)
	}

	// The back-off was real, and is still in force where the guesses came
	// from: there, even the right password is refused unchecked.
	before = hashChecks.Load()
	c, rounds, err = ts.loginAtFirstPrompt("127.0.0.2", "alice", "password1")
	if err == nil {
		c.Close()
		t.Fatal("the guessing address logged in during its back-off")
	}
	if len(rounds) != 2 || !strings.HasPrefix(rounds[1].instruction, "Login refused for now: too many failed logins. Try again in ") {
		t.Errorf("the guessing address's prompts: %+v; want a refusal saying when to try again", rounds)
	}
	if checks := hashChecks.Load() - before; checks != 0 {
		t.Errorf("%d hash checks during the back-off, want 0", checks)
	}
}

// Guesses spread over many addresses, none of them backing off, still meet
// the account's hourly budget: then every address is refused, the owner's
// too, with a message saying when to try again, until the hour rolls on.
func TestThrottleRefusesEveryAddressOnceManySpendTheHourlyBudget(t *testing.T) {
	cfg := testConfig(t)
	cfg.PenaltyFailures, cfg.AccountFailures, cfg.AccountFailuresHour = 5, 3, 6
	ts, clock, hashChecks := startServerCountingChecks(t, cfg)
	ts.signup(t, "alice", "password1").Close()

	before := hashChecks.Load()
	for i := range 10 { // one guess each from 127.0.1.0 to 127.0.1.9
		if c, err := ts.dialFrom(fmt.Sprintf("127.0.1.%d", i), "alice", gossh.Password("guess")); err == nil {
			c.Close()
			t.Fatal("a guess logged in")
		}
	}
	if checks := hashChecks.Load() - before; checks != 6 {
		t.Errorf("10 guesses from 10 addresses cost %d hash checks, want the budget of 6", checks)
	}

	c, rounds, err := ts.loginAtFirstPrompt("127.0.0.1", "alice", "password1")
	if err == nil {
		c.Close()
		t.Fatal("the owner's password was checked with the account's budget spent")
	}
	// The fake clock stands on a whole minute: the guesses leave the hour
	// when the minute after the hour's last begins.
	want := "Login refused for now: too many failed logins. Try again in 61 min."
	if len(rounds) != 2 || rounds[1].instruction != want {
		t.Errorf("the owner's prompts: %+v; want the second to say %q", rounds, want)
	}

	clock.advance(time.Hour + time.Minute)
	c, rounds, err = ts.loginAtFirstPrompt("127.0.0.1", "alice", "password1")
	if err != nil {
		t.Fatalf("the owner, once the guesses left the hour: %v; prompts %+v", err, rounds)
	}
	c.Close()
	if len(rounds) != 1 {
		t.Errorf("the owner's prompts an hour later: %+v; want one", rounds)
	}
}
