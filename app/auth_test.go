package app

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

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
	if len(rounds) != 3 {
		t.Fatalf("want the username's round, the passwords' round and a welcome, got %+v", rounds)
	}
	if name := rounds[0]; strings.Join(name.questions, "|") != "Username: " || len(name.echos) != 1 || !name.echos[0] {
		t.Errorf("first round asks %q echos %v; want the username alone, echoed", name.questions, name.echos)
	}
	if pw := rounds[1]; strings.Join(pw.questions, "|") != "Password: |Repeat password: " ||
		len(pw.echos) != 2 || pw.echos[0] || pw.echos[1] {
		t.Errorf("second round asks %q echos %v; want the password and its repeat, hidden", pw.questions, pw.echos)
	}
	_, port, _ := net.SplitHostPort(ts.addr)
	if welcome := rounds[2].instruction; !strings.Contains(welcome, "Welcome to Messaging, alice") ||
		!strings.Contains(welcome, "Next time, log in with: ssh -p "+port+" alice@chat.example.org") {
		t.Errorf("welcome round = %q; want the login command with PUBLIC_HOST", welcome)
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

// The username is asked alone and checked at once, so that nobody types
// two passwords for a name they cannot have.
func TestSignupChecksTheUsernameBeforeAskingPasswords(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "alice", "password1")

	c, k, err := ts.dialKeyboard("signup", []string{"alice"}, []string{"bob"}, []string{"password1", "password1"})
	if err != nil {
		t.Fatalf("signup after a taken name: %v", err)
	}
	c.Close()
	var asked []string
	for _, r := range k.shown() {
		asked = append(asked, strings.Join(r.questions, "+"))
	}
	if got := strings.Join(asked, " | "); got != "Username:  | Username:  | Password: +Repeat password:  | " {
		t.Fatalf("rounds asked %q; want the username, the username again, the passwords, the welcome", got)
	}
	r := k.shown()
	if !strings.Contains(r[1].instruction, `The username "alice" is taken`) || !strings.Contains(r[1].instruction, "attempt 2 of 5") {
		t.Errorf("second round says %q; want why the name was refused", r[1].instruction)
	}
	if !strings.Contains(r[2].instruction, "bob is free") {
		t.Errorf("passwords' round says %q; want the name accepted", r[2].instruction)
	}
}

// A refused login says when to try again, when the limits tell it; the
// time is rounded up, never to "0 s".
func TestLoginRefusalsSayWhenToTryAgain(t *testing.T) {
	for _, tt := range []struct {
		wait            time.Duration
		refused, failed string
	}{
		{0, "Login refused for now: too many failed logins. Please wait, then try again.", wrongLogin},
		{25 * time.Second,
			"Login refused for now: too many failed logins. Try again in 25 s.",
			"Wrong username or password. Too many failed logins: try again in 25 s."},
		{24200 * time.Millisecond, "Try again in 25 s.", "try again in 25 s."},
		{time.Millisecond, "Try again in 1 s.", "try again in 1 s."},
		{2 * time.Minute, "Try again in 120 s.", "try again in 120 s."},
		{150 * time.Second, "Try again in 3 min.", "try again in 3 min."},
		{10 * time.Minute, "Try again in 10 min.", "try again in 10 min."},
	} {
		if got := loginRefused(tt.wait); !strings.HasSuffix(got, tt.refused) {
			t.Errorf("refused, wait %v: %q, want it to end %q", tt.wait, got, tt.refused)
		}
		if got := loginFailed(tt.wait); !strings.HasSuffix(got, tt.failed) {
			t.Errorf("failed, wait %v: %q, want it to end %q", tt.wait, got, tt.failed)
		}
	}
}

func TestSignupExplainsBadAnswersAndAsksAgain(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "alice", "password1")

	tests := []struct {
		name      string
		username  string    // when passwords is zero: the bad name
		passwords [2]string // zero for a bad name; else bad passwords for a free name
		againAt   int       // the round that explains and asks again
		want      string
	}{
		{"too short", "a", [2]string{}, 1, "2 to 20 characters"},
		{"too long", strings.Repeat("a", 21), [2]string{}, 1, "2 to 20 characters"},
		{"empty", "", [2]string{}, 1, "2 to 20 characters"},
		{"starts with digit", "1bob", [2]string{}, 1, "start with a letter"},
		{"punctuation", "bob.smith", [2]string{}, 1, "letters"},
		{"space inside", "bob smith", [2]string{}, 1, "letters"},
		{"non-ascii", "bøb", [2]string{}, 1, "letters"},
		{"escape sequence", "bob\x1b[2J", [2]string{}, 1, "letters"},
		{"reserved", "signup", [2]string{}, 1, "reserved"},
		{"reserved other case", "Root", [2]string{}, 1, "reserved"},
		{"taken in other case", "ALICE", [2]string{}, 1, "taken"},
		{"look-alike of a reserved name", "R00T", [2]string{}, 1, "reserved"},
		{"look-alike", "A1ice", [2]string{}, 1, "too similar to an existing name"},
		{"password too short", "", [2]string{"short", "short"}, 2, "8 to 15 characters"},
		{"password too long", "", [2]string{strings.Repeat("p", 16), strings.Repeat("p", 16)}, 2, "8 to 15 characters"},
		{"password with control character", "", [2]string{"pass\x01word", "pass\x01word"}, 2, "control"},
		{"passwords differ", "", [2]string{"password1", "password2"}, 2, "differ"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := "user" + string("bcdefghjkmpqstuxyz"[i]) // no look-alikes among them
			script := [][]string{{tt.username, "password1", "password1"}, {good, "password1", "password1"}}
			if tt.passwords != ([2]string{}) {
				script = [][]string{{good, tt.passwords[0], tt.passwords[1]}, {"password1", "password1"}}
			}
			c, k, err := ts.dialKeyboard("signup", script...)
			if err != nil {
				t.Fatalf("signup after one bad answer: %v", err)
			}
			c.Close()
			rounds := k.shown()
			if len(rounds) <= tt.againAt {
				t.Fatalf("%d rounds, want the explanation in round %d: %+v", len(rounds), tt.againAt+1, rounds)
			}
			again := rounds[tt.againAt]
			if !strings.Contains(again.instruction, tt.want) || !strings.Contains(again.instruction, "try again") {
				t.Errorf("round %d says %q; want it to mention %q and ask again", tt.againAt+1, again.instruction, tt.want)
			}
			// The question refused is the one asked again.
			wantAsked := "Username: "
			if tt.passwords[0] != "" {
				wantAsked = "Password: "
			}
			if len(again.questions) == 0 || again.questions[0] != wantAsked {
				t.Errorf("round %d asks %q, want %q again", tt.againAt+1, again.questions, wantAsked)
			}
		})
	}
}

// The name is checked when asked, but the account is made after the
// passwords: if someone took the name (or one like it) meanwhile, signup
// explains and asks for another name.
func TestSignupAsksAnotherNameIfItsNameWasTakenMeanwhile(t *testing.T) {
	for _, tt := range []struct{ rival, want string }{
		{"BOB", `the username "bob" is taken`},
		{"B0B", `the username "bob" is too similar to an existing name`},
	} {
		rival := tt.rival
		ts := startServer(t, testConfig(t))
		k := &scriptedKeyboard{answers: [][]string{{"bob", "password1", "password1"}, {"carol", "password1", "password1"}}}
		raced := false
		c, err := ts.dial("signup", gossh.KeyboardInteractive(func(name, instruction string, questions []string, echos []bool) ([]string, error) {
			if len(questions) == 2 && !raced { // bob was free; now someone takes it
				raced = true
				ts.signup(t, rival, "password2")
			}
			return k.challenge(name, instruction, questions, echos)
		}))
		if err != nil {
			t.Fatalf("%s: signup after losing the name: %v", rival, err)
		}
		c.Close()
		rounds := k.shown()
		if len(rounds) != 5 || len(rounds[2].questions) != 1 || rounds[2].questions[0] != "Username: " ||
			!strings.Contains(strings.ToLower(rounds[2].instruction), tt.want) {
			t.Errorf("%s: rounds %+v; want the name, the passwords, the name again saying %q, the passwords, the welcome",
				rival, rounds, tt.want)
		}
		if !strings.Contains(rounds[len(rounds)-1].instruction, "Welcome to Messaging, carol") {
			t.Errorf("%s: last round %q, want carol welcomed", rival, rounds[len(rounds)-1].instruction)
		}
	}
}

func TestSignupGivesUpAfterFiveRounds(t *testing.T) {
	ts := startServer(t, testConfig(t))
	bad := []string{"x", "password1", "password1"}
	badPasswords := []string{"password1", "password2"}
	for _, tt := range []struct {
		name   string
		script [][]string
		want   string
	}{
		{"bad names", [][]string{bad, bad, bad, bad, bad, bad, bad}, "2 to 20 characters"},
		{"bad passwords", [][]string{{"yves"}, badPasswords, badPasswords, badPasswords, badPasswords, badPasswords}, "differ"},
	} {
		_, k, err := ts.dialKeyboard("signup", tt.script...)
		if err == nil {
			t.Fatalf("%s: signup with only bad answers succeeded", tt.name)
		}
		rounds := k.shown()
		asked := 0
		for _, r := range rounds {
			if len(r.questions) > 0 {
				asked++
			}
		}
		if asked != signupRounds {
			t.Errorf("%s: asked %d times, want %d", tt.name, asked, signupRounds)
		}
		if last := rounds[len(rounds)-1]; !strings.Contains(last.instruction, "Too many attempts") ||
			!strings.Contains(last.instruction, tt.want) {
			t.Errorf("%s: last round = %q, want the last answer's problem and a final explanation", tt.name, last.instruction)
		}
	}
	for _, name := range []string{"x", "yves"} {
		if _, err := ts.dial(name, gossh.Password("password1")); err == nil {
			t.Errorf("an account %s was created from bad answers", name)
		}
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
	return hostKeySeenAt(t, ts.addr)
}

// hostKeySeenAt is the SHA256 fingerprint of the host key a client sees
// when it connects to addr.
func hostKeySeenAt(t *testing.T, addr string) string {
	t.Helper()
	var got string
	cfg := clientConfig("nobody", gossh.Password("x"))
	cfg.HostKeyCallback = func(_ string, _ net.Addr, key gossh.PublicKey) error {
		got = gossh.FingerprintSHA256(key)
		return nil
	}
	if c, err := gossh.Dial("tcp", addr, cfg); err == nil {
		c.Close()
	}
	if got == "" {
		t.Fatal("no host key seen")
	}
	return got
}

func TestARefusedLoginSaysWhenToTryAgain(t *testing.T) {
	cfg := testConfig(t)
	cfg.AccountFailures = 3
	ts, clock := startServerWithClock(t, cfg)
	ts.signup(t, "alice", "password1").Close()
	k := &scriptedKeyboard{answers: [][]string{{"wrong1"}, {"wrong2"}, {"wrong3"}, {"password1"}}}
	if c, err := ts.dial("alice", gossh.RetryableAuthMethod(gossh.KeyboardInteractive(k.challenge), 4)); err == nil {
		c.Close()
		t.Fatal("the right password got in during the back-off")
	}
	rounds := k.shown()
	if len(rounds) != 4 {
		t.Fatalf("%d rounds, want 4", len(rounds))
	}
	// The third failure starts a 1 s back-off: the next prompt says so, and
	// the password given then is refused unchecked, saying how long.
	if got := rounds[3].instruction; got != "Wrong username or password. Too many failed logins: try again in 1 s." {
		t.Errorf("the prompt after the third failure says %q", got)
	}
	clock.advance(200 * time.Millisecond)
	k = &scriptedKeyboard{answers: [][]string{{"password1"}, {"password1"}}}
	if c, err := ts.dial("alice", gossh.RetryableAuthMethod(gossh.KeyboardInteractive(k.challenge), 2)); err == nil {
		c.Close()
		t.Fatal("logged in during the back-off")
	}
	if rounds := k.shown(); len(rounds) != 2 || rounds[1].instruction != "Login refused for now: too many failed logins. Try again in 1 s." {
		t.Errorf("the prompt after a refusal: %+v", rounds)
	}
	clock.advance(time.Second)
	if c, err := ts.dial("alice", gossh.Password("password1")); err != nil {
		t.Errorf("after the back-off: %v", err)
	} else {
		c.Close()
	}
}
