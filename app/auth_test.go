package app

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

const ctrlC = "\x03"

func TestSignupLandsInChatAndLoginWorksAfterwards(t *testing.T) {
	ts := startServer(t, testConfig(t))

	c, k, err := ts.dialKeyboard("signup", []string{"alice", "correct horse", "correct horse"})
	if err != nil {
		t.Fatalf("signup: %v", err)
	}
	defer c.Close()
	rounds := k.shown()
	if len(rounds) != 2 {
		t.Fatalf("want a question round and a welcome round, got %+v", rounds)
	}
	ask := rounds[0]
	if strings.Join(ask.questions, "|") != "Username: |Password: |Repeat password: " ||
		len(ask.echos) != 3 || !ask.echos[0] || ask.echos[1] || ask.echos[2] {
		t.Errorf("signup questions = %q echos %v; want username echoed, passwords hidden", ask.questions, ask.echos)
	}
	if !strings.Contains(rounds[1].instruction, "Welcome to Messaging, alice") {
		t.Errorf("welcome round = %q", rounds[1].instruction)
	}

	term := openTerminal(t, c, 80, 24)
	term.waitText("signed in as alice")
	term.send(ctrlC)
	if err := term.waitEnd(); err != nil {
		t.Errorf("quit: exit %v, want status 0", err)
	}
	if term.altScreen() {
		t.Error("terminal left in the alternate screen after quitting")
	}

	// Log in again, both ways, and in another letter case.
	byPassword := ts.loginPassword(t, "alice", "correct horse")
	openTerminal(t, byPassword, 80, 24).waitText("signed in as alice")
	byKeyboard, k, err := ts.dialKeyboard("ALICE", []string{"correct horse"})
	if err != nil {
		t.Fatalf("keyboard-interactive login: %v", err)
	}
	defer byKeyboard.Close()
	if r := k.shown(); len(r) != 1 || len(r[0].questions) != 1 || r[0].questions[0] != "Password: " || r[0].echos[0] {
		t.Errorf("login prompt = %+v; want one hidden \"Password: \"", r)
	}
	openTerminal(t, byKeyboard, 100, 30).waitText("signed in as alice")
}

// OpenSSH shows nothing when a password is refused and simply asks again:
// the next prompt says why.
func TestAFailedLoginIsExplainedAtTheNextPrompt(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "alice", "password1")
	for _, user := range []string{"alice", "nobody"} {
		k := &scriptedKeyboard{answers: [][]string{{"wrong one"}, {"password1"}}}
		c, err := ts.dial(user, gossh.RetryableAuthMethod(gossh.KeyboardInteractive(k.challenge), 2))
		if user == "alice" && err != nil {
			t.Fatalf("second try with the right password: %v", err)
		}
		if c != nil {
			_ = c.Close()
		}
		r := k.shown()
		if len(r) != 2 || r[0].instruction != "" || r[1].instruction != wrongLogin {
			t.Errorf("%s: prompts = %+v; want none explained, then %q", user, r, wrongLogin)
		}
	}
}

func TestSignupExplainsBadAnswersAndAsksAgain(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "alice", "password1")

	tests := []struct {
		name   string
		answer []string
		want   string
	}{
		{"too short", []string{"a", "password1", "password1"}, "2 to 20 characters"},
		{"too long", []string{strings.Repeat("a", 21), "password1", "password1"}, "2 to 20 characters"},
		{"empty", []string{"", "password1", "password1"}, "2 to 20 characters"},
		{"starts with digit", []string{"1bob", "password1", "password1"}, "start with a letter"},
		{"punctuation", []string{"bob.smith", "password1", "password1"}, "letters"},
		{"space inside", []string{"bob smith", "password1", "password1"}, "letters"},
		{"non-ascii", []string{"bøb", "password1", "password1"}, "letters"},
		{"escape sequence", []string{"bob\x1b[2J", "password1", "password1"}, "letters"},
		{"reserved", []string{"signup", "password1", "password1"}, "reserved"},
		{"reserved other case", []string{"Root", "password1", "password1"}, "reserved"},
		{"taken in other case", []string{"ALICE", "password1", "password1"}, "taken"},
		{"look-alike", []string{"A1ice", "password1", "password1"}, "too similar to an existing name"},
		{"look-alike of a reserved name", []string{"R00T", "password1", "password1"}, "reserved"},
		{"password too short", []string{"bob", "short", "short"}, "8 to 15 characters"},
		{"password too long", []string{"bob", strings.Repeat("p", 16), strings.Repeat("p", 16)}, "8 to 15 characters"},
		{"password with control character", []string{"bob", "pass\x01word", "pass\x01word"}, "control"},
		{"passwords differ", []string{"bob", "password1", "password2"}, "differ"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := "user" + string("bcdefghjkmpqstuxyz"[i]) // no look-alikes among them
			c, k, err := ts.dialKeyboard("signup", tt.answer, []string{good, "password1", "password1"})
			if err != nil {
				t.Fatalf("signup after one bad answer: %v", err)
			}
			c.Close()
			rounds := k.shown()
			if len(rounds) != 3 {
				t.Fatalf("want question, question again, welcome; got %d rounds", len(rounds))
			}
			again := rounds[1].instruction
			if !strings.Contains(again, tt.want) || !strings.Contains(again, "try again") {
				t.Errorf("second round says %q; want it to mention %q and ask again", again, tt.want)
			}
		})
	}
}

func TestSignupGivesUpAfterFiveRounds(t *testing.T) {
	ts := startServer(t, testConfig(t))
	bad := []string{"x", "password1", "password1"}
	_, k, err := ts.dialKeyboard("signup", bad, bad, bad, bad, bad, bad, bad)
	if err == nil {
		t.Fatal("signup with only bad answers succeeded")
	}
	rounds := k.shown()
	asked := 0
	for _, r := range rounds {
		if len(r.questions) > 0 {
			asked++
		}
	}
	if asked != signupRounds {
		t.Errorf("asked %d times, want %d", asked, signupRounds)
	}
	if last := rounds[len(rounds)-1]; !strings.Contains(last.instruction, "Too many attempts") ||
		!strings.Contains(last.instruction, "2 to 20 characters") {
		t.Errorf("last round = %q, want the last answer's problem and a final explanation", last.instruction)
	}
	if _, err := ts.dial("x", gossh.Password("password1")); err == nil {
		t.Error("an account was created from bad answers")
	}
}

// TestAnEndedSignupIsNotAskedAgain: when the signup dialogue ends for good
// (too many rounds, the address's quota), the server says why once and
// closes the connection. A client like OpenSSH, which retries
// keyboard-interactive and then falls back to password prompts, would
// otherwise show the refusal again and ask for a password nothing accepts.
func TestAnEndedSignupIsNotAskedAgain(t *testing.T) {
	cfg := testConfig(t)
	cfg.SignupsPerIPHour = 1
	ts := startServer(t, cfg)
	dialLikeOpenSSH := func(k *scriptedKeyboard) error {
		_, err := ts.dial("signup",
			gossh.RetryableAuthMethod(gossh.KeyboardInteractive(k.challenge), 3),
			gossh.Password("password1"))
		if err == nil {
			t.Fatal("the signup succeeded")
		}
		return err
	}
	shown := func(k *scriptedKeyboard, text string) (n int) {
		for _, r := range k.shown() {
			if strings.Contains(r.instruction, text) {
				n++
			}
		}
		return n
	}

	bad := []string{"x", "password1", "password1"}
	k := &scriptedKeyboard{answers: [][]string{bad, bad, bad, bad, bad, bad, bad, bad, bad, bad}}
	err := dialLikeOpenSSH(k)
	if n := shown(k, "Too many attempts"); n != 1 || len(k.answers) != 10-signupRounds || !errors.Is(err, io.EOF) {
		t.Errorf("after %d rounds: ending shown %d times, %d answers left, error %v; want once, %d, the connection closed (EOF)",
			signupRounds, n, len(k.answers), err, 10-signupRounds)
	}

	ts.signup(t, "anna", "password1")
	k = &scriptedKeyboard{answers: [][]string{{"bert", "password1", "password1"}}}
	err = dialLikeOpenSSH(k)
	if n := shown(k, "Too many accounts"); n != 1 || !errors.Is(err, io.EOF) {
		t.Errorf("over the quota: refusal shown %d times, error %v; want once, the connection closed (EOF)", n, err)
	}
}

func TestWrongPasswordAndUnknownUserFailAlike(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "alice", "password1")

	attempts := []struct{ user, password string }{
		{"alice", "password2"},                 // wrong password
		{"alice", ""},                          // empty password
		{"alice", strings.Repeat("x", 100000)}, // absurd input, never hashed
		{"mallory", "password1"},               // unknown user
		{"root", "password1"},                  // reserved name: no account can exist
		{"signup", "password1"},                // signup needs the dialogue
	}
	var messages []string
	for _, a := range attempts {
		_, errPassword := ts.dial(a.user, gossh.Password(a.password))
		_, _, errKeyboard := ts.dialKeyboard(a.user, []string{a.password})
		if errPassword == nil || (errKeyboard == nil && a.user != "signup") {
			t.Fatalf("%s/%.10q logged in (password: %v, keyboard: %v)", a.user, a.password, errPassword, errKeyboard)
		}
		messages = append(messages, errPassword.Error())
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("failures differ: %q vs %q", m, messages[0])
		}
	}
	if logs := ts.logs.String(); strings.Contains(logs, "password2") || strings.Contains(logs, "$argon2id$") {
		t.Error("the log mentions a password or a hash")
	}
}

// A client that offers alice's public key without holding the private key,
// or even with it, never becomes alice: only a verified password does.
func TestIdentityNeverComesFromAnOfferedKey(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "alice", "password1")

	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.dial("alice", gossh.PublicKeys(signer)); err == nil {
		t.Fatal("public key alone logged in as alice")
	}
	if _, err := ts.dial("alice", gossh.PublicKeys(signer), gossh.Password("wrong-password")); err == nil {
		t.Fatal("offered key plus wrong password logged in as alice")
	}
	// A failed keyboard-interactive attempt leaves nothing behind for the
	// next method on the same connection.
	c, err := ts.dial("alice",
		gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"wrong-password"}, nil
		}),
		gossh.Password("wrong-again"))
	if err == nil {
		c.Close()
		t.Fatal("two wrong methods logged in as alice")
	}
}

func TestSessionWithoutTerminalIsRefusedAtOnce(t *testing.T) {
	ts := startServer(t, testConfig(t))
	c := ts.signup(t, "alice", "password1")

	for _, tt := range []struct {
		command string
		pty     bool
	}{{"", false}, {"ls -la", false}, {"ls -la", true}} {
		command := tt.command
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if tt.pty {
			if err := s.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
				t.Fatal(err)
			}
		}
		var stdout, stderr strings.Builder
		s.Stdout, s.Stderr = &stdout, &stderr
		if command == "" {
			err = s.Shell()
			if err == nil {
				err = s.Wait()
			}
		} else {
			err = s.Run(command)
		}
		var exit *gossh.ExitError
		if !errors.As(err, &exit) || exit.ExitStatus() != 1 {
			t.Errorf("command %q: err %v, want exit status 1", command, err)
		}
		if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "terminal") {
			t.Errorf("command %q: stderr %q, want one line about needing a terminal", command, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("command %q: stdout %q, want nothing", command, stdout.String())
		}
	}
}

func TestRestartKeepsAccountsAndHostKey(t *testing.T) {
	cfg := testConfig(t)
	first := startServer(t, cfg)
	first.signup(t, "alice", "password1")
	key1 := first.hostKey(t)
	first.stop(t)

	second := startServer(t, cfg)
	openTerminal(t, second.loginPassword(t, "alice", "password1"), 80, 24).waitText("signed in as alice")
	if key2 := second.hostKey(t); key1 != key2 {
		t.Error("host key changed across a restart")
	}
}

func TestShutdownQuitsSessionsAndRestoresTerminals(t *testing.T) {
	ts := startServer(t, testConfig(t))
	term := openTerminal(t, ts.signup(t, "alice", "password1"), 80, 24)
	term.waitText("signed in as alice")
	ts.stop(t)
	term.waitEnd()
	if term.altScreen() {
		t.Error("terminal left in the alternate screen after shutdown")
	}
	if _, err := ts.dial("alice", gossh.Password("password1")); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

func (ts *testServer) hostKey(t *testing.T) string {
	t.Helper()
	var got string
	cfg := clientConfig("nobody", gossh.Password("x"))
	cfg.HostKeyCallback = func(_ string, _ net.Addr, key gossh.PublicKey) error {
		got = gossh.FingerprintSHA256(key)
		return nil
	}
	if c, err := gossh.Dial("tcp", ts.addr, cfg); err == nil {
		c.Close()
	}
	if got == "" {
		t.Fatal("no host key seen")
	}
	return got
}
