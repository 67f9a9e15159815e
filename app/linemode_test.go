package app

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
)

// dumbChatter signs name up and opens a session on a terminal of type
// term (TERM=dumb: the line mode).
func (ts *testServer) dumbChatter(t *testing.T, name, term string) *terminal {
	t.Helper()
	tm := openTerminalAs(t, ts.signup(t, name, "password1"), term, 80, 24)
	tm.waitText("signed in as " + name)
	return tm
}

// waitRaw waits until the session was sent text, or fails the test: what
// scrolled off the screen, or what a session without a PTY (whose lines
// end in a bare \n) printed.
func (tm *terminal) waitRaw(text string) string {
	tm.t.Helper()
	return tm.waitFor(fmt.Sprintf("%q sent", text), func(string) bool { return strings.Contains(tm.rawOutput(), text) })
}

// assertPlain fails the test if the session was sent an escape sequence
// or a bell: a dumb terminal shows them as garbage.
func assertPlain(t *testing.T, tm *terminal) {
	t.Helper()
	raw := tm.rawOutput()
	if i := strings.IndexAny(raw, "\x1b\a\u009b"); i >= 0 {
		t.Errorf("a dumb terminal was sent %q at byte %d: %q", raw[i], i, raw[max(i-40, 0):min(i+40, len(raw))])
	}
}

// lastLine is the screen's last line with text on it.
func lastLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, " \n"), "\n")
	return strings.TrimRight(lines[len(lines)-1], " ")
}

func TestADumbTerminalGetsPlainLines(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	alice.say("before bob came")
	alice.waitText("alice: before bob came")

	bob := ts.dumbChatter(t, "bob", "dumb")
	bob.waitText("alice: before bob came") // the history
	bob.waitText("→ bob joined")
	alice.say("hello bob, from the screen")
	bob.waitText("alice: hello bob, from the screen")
	line := regexp.MustCompile(`(^|\r|\n)\d\d:\d\d alice: hello bob, from the screen\r\n> $`)
	if raw := bob.rawOutput(); !line.MatchString(raw) {
		t.Errorf("the message is not one line followed by the prompt: %q", raw[max(len(raw)-80, 0):])
	}

	bob.say("hello from a dumb terminal")
	alice.waitText("bob: hello from a dumb terminal")
	screen := bob.waitText("bob: hello from a dumb terminal")
	if !strings.Contains(screen, "> hello from a dumb terminal\n") {
		t.Errorf("the typed line was not echoed:\n%s", screen)
	}
	if got := lastLine(screen); got != ">" {
		t.Errorf("last line %q, want the prompt alone:\n%s", got, screen)
	}
	assertPlain(t, bob) // a mention rings no bell either
}

func TestTermDumbInAnyCaseOrNoneGetsTheLineMode(t *testing.T) {
	ts := startServer(t, testConfig(t))
	for i, term := range []string{"DUMB", "Dumb", ""} {
		name := fmt.Sprintf("user%d", i)
		tm := ts.dumbChatter(t, name, term)
		tm.say("/who")
		tm.waitText("online in #lobby: ")
		assertPlain(t, tm)
	}
}

func TestLineModeCommands(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.dumbChatter(t, "bob", "dumb")

	bob.say("/who")
	bob.waitText("-!- 2 online in #lobby: alice, bob")
	bob.say("/help")
	bob.waitRaw("/me ACTION") // the list is longer than the screen
	for _, c := range chat.Commands() {
		bob.waitRaw("-!-   /" + c.Name)
	}
	bob.say("/dance")
	bob.waitText("-!- Unknown command /dance")
	bob.send("\x15") // kept at the prompt (see below): Ctrl+U
	bob.say("/me")
	bob.waitText("Usage: /me ACTION")
	bob.send("\x15")

	bob.say("/me waves")
	alice.waitText("* bob waves")
	bob.waitText("* bob waves")
	bob.say("//slash")
	alice.waitText("bob: /slash")
	for _, private := range []string{"online in", "Unknown command", "/dance", "Usage:"} {
		if strings.Contains(alice.screen(), private) {
			t.Errorf("bob's command output %q reached alice:\n%s", private, alice.screen())
		}
	}

	bob.say("/quit")
	if err := bob.waitEnd(); err != nil {
		t.Errorf("/quit: exit %v, want status 0", err)
	}
	alice.waitText("← bob left")
	assertPlain(t, bob)
}

func TestLineModeEditing(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.dumbChatter(t, "bob", "dumb")

	bob.send("hellp\x7fo wrld\x08\x08\x08orld 世界\x7f\x7f") // Backspace is DEL or Ctrl+H
	bob.waitFor("the edited line", func(s string) bool { return lastLine(s) == "> hello world" })
	bob.send("\r")
	alice.waitText("bob: hello world")

	bob.send("garbage\x15kept") // Ctrl+U erases the line
	bob.waitFor("the line erased and retyped", func(s string) bool { return lastLine(s) == "> kept" })
	bob.send("\r\n") // CRLF is one Enter
	alice.waitText("bob: kept")

	bob.send("oops\x03") // Ctrl+C clears a line with text, and stays
	bob.waitText("> oops^C")
	bob.say("after the clear")
	alice.waitText("bob: after the clear")

	screen := alice.screen()
	for _, gone := range []string{"hellp", "garbage", "oops", "世"} {
		if strings.Contains(screen, gone) {
			t.Errorf("erased text %q was sent:\n%s", gone, screen)
		}
	}
	if n := strings.Count(screen, "bob: "); n != 3 {
		t.Errorf("alice saw %d messages from bob, want 3 (an empty line sends nothing):\n%s", n, screen)
	}
	if raw := bob.rawOutput(); !strings.Contains(raw, "\b \b\b \b\b \b\b \b") { // 世 is two cells
		t.Errorf("Backspace is not echoed as \\b \\b per cell: %q", raw)
	}
	assertPlain(t, bob)
}

func TestCtrlCOrCtrlDOnAnEmptyLineLeaves(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	for _, key := range []struct{ name, bytes string }{{"carol", "\x03"}, {"dave", "\x04"}} {
		tm := ts.dumbChatter(t, key.name, "dumb")
		alice.waitText("→ " + key.name + " joined")
		tm.send(key.bytes)
		if err := tm.waitEnd(); err != nil {
			t.Errorf("%q: exit %v, want status 0", key.bytes, err)
		}
		alice.waitText("← " + key.name + " left")
		if s := tm.screen(); !strings.Contains(s, "You left the chat.") {
			t.Errorf("%q: no reason given:\n%s", key.bytes, s)
		}
		assertPlain(t, tm)
	}
}

func TestEscapeSequencesTypedInLineModeReachNobody(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.dumbChatter(t, "bob", "dumb")

	bob.say("safe\x1b[31mred\x1b[0m \x1b]0;title\x07text \x1bOA\x1b[A\x1b[1;5D\u009b2Jend \x1b]52;c;cHduZWQ=\x1b\\done")
	// The C1 CSI is dropped as Sanitize drops it; no keyboard sends it.
	screen := alice.waitText("bob: safered text 2Jend done")
	raw := alice.rawOutput()
	for _, bad := range []string{"[31m", "[0m", "0;title", "[A", "OA", "1;5D", "52;c", "cHduZWQ"} {
		if strings.Contains(screen, bad) || strings.Contains(raw, bad) {
			t.Errorf("%q of an escape sequence reached alice:\n%s", bad, screen)
		}
	}
	bob.waitText("bob: safered text 2Jend done")
	assertPlain(t, bob) // the echo did not send them back either
}

func TestAMessageArrivingMidLineKeepsWhatIsTyped(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.dumbChatter(t, "bob", "dumb")

	bob.send("half typ")
	bob.waitFor("the typing", func(s string) bool { return lastLine(s) == "> half typ" })
	alice.say("an interruption")
	screen := bob.waitText("alice: an interruption")
	if !regexp.MustCompile(`(?m)^> half typ *\n\d\d:\d\d alice: an interruption *\n> half typ *$`).MatchString(strings.TrimRight(screen, " \n")) {
		t.Errorf("the message is not printed between the line typed and its reprint:\n%s", screen)
	}
	bob.send("ed\r")
	alice.waitText("bob: half typed")
	assertPlain(t, bob)
}

func TestAnOverlongLineIsDroppedWithANotice(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxMessage = 20
	ts := startServer(t, cfg)
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.dumbChatter(t, "bob", "dumb")

	bob.send(strings.Repeat("x", 25) + "ignored")
	bob.waitText("Too long: a line holds at most 20 characters")
	bob.send("\r")
	bob.say("short one")
	alice.waitText("bob: short one")
	if s := alice.screen(); strings.Contains(s, "xxxx") || strings.Contains(s, "ignored") {
		t.Errorf("the overlong line was sent:\n%s", s)
	}
	if s := bob.screen(); strings.Contains(s, "ignored") {
		t.Errorf("the rest of the dropped line was echoed:\n%s", s)
	}
	assertPlain(t, bob)
}

func TestFloodControlInLineModeIsANotice(t *testing.T) {
	cfg := testConfig(t)
	cfg.MsgBurst, cfg.MsgPerSec = 3, 0.1
	ts := startServer(t, cfg)
	bob := ts.dumbChatter(t, "bob", "dumb") // the join notice takes one
	bob.say("one")
	bob.waitText("bob: one")
	bob.say("two")
	bob.waitText("bob: two")
	bob.say("three")
	bob.waitText("-!- Not sent: slow down: you can send again in")
	// Typed by hand, the line is back at the prompt to send again.
	bob.waitFor("the line back at the prompt", func(s string) bool { return lastLine(s) == "> three" })
	assertPlain(t, bob)
}

func TestLineModeTellsWhyTheServerStopped(t *testing.T) {
	for _, restart := range []bool{false, true} {
		ts := startServer(t, testConfig(t))
		bob := ts.dumbChatter(t, "bob", "dumb")
		want := "The server is shutting down."
		if restart {
			ts.restart(t)
			want = "The server is restarting. Please reconnect in a moment."
		} else {
			ts.stop(t)
		}
		if err := bob.waitEnd(); err != nil {
			t.Errorf("exit %v, want status 0", err)
		}
		if s := bob.screen(); !strings.Contains(s, want) {
			t.Errorf("restart %v: reason %q not given:\n%s", restart, want, s)
		}
		assertPlain(t, bob)
	}
}

func TestIdleTimeoutEndsTheLineMode(t *testing.T) {
	cfg := testConfig(t)
	cfg.IdleTimeout = 400 * time.Millisecond
	ts := startServer(t, cfg)
	bob := ts.dumbChatter(t, "bob", "dumb")
	bob.waitEnd()
	if s := bob.screen(); !strings.Contains(s, "without activity") {
		t.Errorf("no reason given:\n%s", s)
	}
	assertPlain(t, bob)
}

func TestDumbTerminal(t *testing.T) {
	for term, want := range map[string]bool{
		"dumb": true, "DUMB": true, "Dumb": true, "": true,
		"xterm-256color": false, "vt100": false, "dumb-ish": false, "emacs": false,
	} {
		if got := dumbTerminal(term); got != want {
			t.Errorf("dumbTerminal(%q) = %v, want %v", term, got, want)
		}
	}
}

// A command used wrongly, or unknown, gets one notice and is printed at the
// prompt again to fix; Enter on it again posts nothing, and a command typed
// after it runs alone: "/me" then " /who" is /who, not "* bob /who".
func TestLineModeKeepsAWrongCommandAtThePrompt(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.dumbChatter(t, "bob", "dumb")
	atPrompt := func(line string) {
		t.Helper()
		bob.waitFor(fmt.Sprintf("%q at the prompt", line), func(s string) bool { return lastLine(s) == "> "+line })
	}
	count := func(text string, n int) {
		t.Helper()
		bob.waitFor(fmt.Sprintf("%d of %q", n, text), func(string) bool { return strings.Count(bob.rawOutput(), text) == n })
	}

	bob.say("/foo bar")
	count("-!- Unknown command /foo.", 1)
	atPrompt("/foo bar")
	bob.send("\x15")

	bob.say("/me")
	count("-!- Usage: /me ACTION", 1)
	atPrompt("/me")
	bob.send("\r") // again: refused again, not posted
	count("-!- Usage: /me ACTION", 2)
	atPrompt("/me")
	bob.say(" /who") // "/me /who": /who runs
	count("-!- 2 online in #lobby: alice, bob", 1)
	bob.waitFor("an empty prompt", func(s string) bool { return lastLine(s) == ">" })

	bob.say("/me")
	atPrompt("/me")
	bob.say(" waves") // fixed: sent
	alice.waitText("* bob waves")
	if s := alice.screen(); strings.Contains(s, "bob /who") || strings.Contains(s, "bob: /") || strings.Count(s, "* bob") != 1 {
		t.Errorf("a refused line reached alice:\n%s", s)
	}
	assertPlain(t, bob)
}

func TestFormatLine(t *testing.T) {
	at := time.Date(2026, 3, 4, 9, 5, 59, 0, time.UTC)
	for _, tt := range []struct {
		msg  chat.Message
		want string
	}{
		{chat.Message{Time: at, Author: "bob", Kind: chat.KindText, Body: "hi"}, "09:05 bob: hi"},
		{chat.Message{Time: at, Author: "bob", Kind: chat.KindAction, Body: "waves"}, "09:05 * bob waves"},
		{chat.Message{Time: at, Author: "bob", Kind: chat.KindJoin}, "09:05 → bob joined"},
		{chat.Message{Time: at, Author: "bob", Kind: chat.KindLeave}, "09:05 ← bob left"},
		{chat.Message{Time: at, Kind: chat.KindSystem, Body: "notice"}, "09:05 notice"},
		// Stored text is sanitised again on the way out.
		{chat.Message{Time: at, Author: "b\x1b[31mob", Kind: chat.KindText, Body: "a\x1b]0;t\x07b\r\nc\u202e"}, "09:05 b[31mob: a]0;tb  c"},
		// A message a moderator removed keeps its name and time, whatever
		// body a store left in it.
		{chat.Message{Time: at, Author: "bob", Kind: chat.KindText, Removed: true}, "09:05 bob: [removed by a moderator]"},
		{chat.Message{Time: at, Author: "bob", Kind: chat.KindText, Body: "old", Removed: true}, "09:05 bob: [removed by a moderator]"},
		{chat.Message{Time: at, Author: "bob", Kind: chat.KindAction, Removed: true}, "09:05 * bob [removed by a moderator]"},
		// A purge cannot unprint the lines: it says which were removed.
		{chat.Message{Time: at, Author: "bob", Kind: chat.KindPurge, Body: "carol", Since: at.Add(-time.Hour)},
			"09:05 -- bob's messages since 08:05 were removed by a moderator (carol)"},
		{chat.Message{Time: at, Author: "bob", Kind: chat.KindPurge, Body: "carol", Since: at.Add(-24 * time.Hour)},
			"09:05 -- bob's messages since Tue 3 Mar 09:05 were removed by a moderator (carol)"},
	} {
		if got := formatLine(tt.msg); got != tt.want {
			t.Errorf("formatLine(%+v) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

// edit feeds keys to an editor of max characters and returns the lines it
// completed, the actions other than none and Enter, the echo and the text
// left.
func edit(max int, keys string) (lines []string, actions []keyAction, echo, left string) {
	e := &lineEditor{max: max}
	var out []byte
	for i := 0; i < len(keys); i++ {
		switch a := e.key(keys[i], &out); a {
		case keyNone:
		case keyEnter:
			lines = append(lines, e.take())
		default:
			actions = append(actions, a)
		}
	}
	return lines, actions, string(out), string(e.text)
}

func TestLineEditor(t *testing.T) {
	for _, tt := range []struct {
		name, keys string
		max        int // 0: 40
		lines      []string
		actions    []keyAction
		echo, left string
	}{
		{name: "typing is echoed", keys: "hi there", echo: "hi there", left: "hi there"},
		{name: "CR, LF and CRLF are one Enter each", keys: "a\rb\nc\r\nd\n\r", lines: []string{"a", "b", "c", "d", ""}, echo: "abcd"},
		{name: "Backspace and Ctrl+H erase a character", keys: "abc\x7f\x08d", echo: "abc\b \b\b \bd", left: "ad"},
		{name: "Backspace on an empty line does nothing", keys: "\x7fa", echo: "a", left: "a"},
		{name: "a wide character is erased over two cells", keys: "a世\x7f", echo: "a世\b \b\b \b", left: "a"},
		{name: "Ctrl+U erases the line", keys: "ab\x15c", echo: "ab\b \b\b \bc", left: "c"},
		{name: "Ctrl+C with text clears", keys: "ab\x03c", actions: []keyAction{keyClear}, echo: "abc", left: "c"},
		{name: "Ctrl+C on an empty line quits", keys: "\x03", actions: []keyAction{keyQuit}},
		{name: "Ctrl+D on an empty line quits", keys: "\x04", actions: []keyAction{keyQuit}},
		{name: "Ctrl+D with text does nothing", keys: "a\x04", echo: "a", left: "a"},
		{name: "other controls are ignored", keys: "a\tb\x00\x07\x01c", echo: "abc", left: "abc"},
		{name: "CSI sequences are dropped whole", keys: "a\x1b[A\x1b[1;5Cb\x1b[200~c\x1b[201~", echo: "abc", left: "abc"},
		{name: "SS3 keys are dropped", keys: "a\x1bOPb", echo: "ab", left: "ab"},
		{name: "OSC up to BEL or ST is dropped", keys: "a\x1b]0;x\x07b\x1b]52;c;eA==\x1b\\c", echo: "abc", left: "abc"},
		{name: "Alt+key is dropped", keys: "a\x1bxb", echo: "ab", left: "ab"},
		{name: "an unfinished CSI ends at a control", keys: "a\x1b[1\r", lines: []string{"a"}, echo: "a"},
		{name: "C1 controls are dropped", keys: "a\u009b2Jb\u0085c", echo: "a2Jbc", left: "a2Jbc"},
		{name: "invalid UTF-8 is dropped", keys: "a\xffb\xe4\xb8c\x80d", echo: "abcd", left: "abcd"},
		{name: "bidi controls are dropped, joiners kept", keys: "a\u202eb👨\u200d👩", echo: "ab👨\u200d👩", left: "ab👨\u200d👩"},
		{name: "over the limit the line is dropped to its end", max: 4, keys: "abcdef\x7fgh\rok", lines: []string{""}, actions: []keyAction{keyOverflow}, echo: "abcdok", left: "ok"},
		{name: "Ctrl+U ends a dropped line", max: 4, keys: "abcdefg\x15ok\r", lines: []string{"ok"}, actions: []keyAction{keyOverflow, keyClear}, echo: "abcdok"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines, actions, echo, left := edit(cmp.Or(tt.max, 40), tt.keys)
			if !slices.Equal(lines, tt.lines) || !slices.Equal(actions, tt.actions) || echo != tt.echo || left != tt.left {
				t.Errorf("keys %q:\n lines %q, actions %v, echo %q, left %q\n want %q, %v, %q, %q",
					tt.keys, lines, actions, echo, left, tt.lines, tt.actions, tt.echo, tt.left)
			}
		})
	}
}

// FuzzLineEditor: whatever a client sends, the line holds at most max
// characters, valid UTF-8 with no controls, and the echo is the text and
// erasures: no escape sequence, no control but the backspaces.
func FuzzLineEditor(f *testing.F) {
	for _, seed := range []string{"hi\r", "a\x1b[31mb\x7f\x15", "\x1b]0;t\x07x\x1b\\", "世界\x08\r\n", "\u009b\u202e\xff\xe4", "abcdefghijk\rz"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, keys []byte) {
		const max = 8
		e := &lineEditor{max: max}
		var echo []byte
		check := func(text string) {
			if !utf8.ValidString(text) || utf8.RuneCountInString(text) > max {
				t.Fatalf("line %q: invalid or over %d characters", text, max)
			}
			for _, r := range text {
				if !typeable(r) {
					t.Fatalf("line %q holds %U", text, r)
				}
			}
		}
		for _, b := range keys {
			if e.key(b, &echo) == keyEnter {
				check(e.take())
			}
		}
		check(string(e.text))
		for _, r := range string(echo) {
			if r != '\b' && !typeable(r) {
				t.Fatalf("echo %q holds %U", echo, r)
			}
		}
	})
}

func TestLineModeTalksInChannelsAndDirectly(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.dumbChatter(t, "bob", "dumb")

	bob.say("/join #go")
	bob.waitText("-!- Now in #go")
	alice.say("/join #go")
	bob.waitText("→ alice joined")
	alice.say("hello go")
	bob.waitText("alice: hello go")

	alice.send(altDigit(1))
	alice.waitHeader("#lobby")
	alice.say("hello lobby")
	bob.waitText("[#lobby] ") // not bob's current conversation: marked
	bob.waitText("alice: hello lobby")

	alice.say("/msg bob psst")
	bob.waitText("[@alice] ")
	bob.say("/reply noted")
	bob.waitText("-!- Now in @alice")
	alice.waitText("bob: noted")
	bob.say("/part #go")
	alice.send(keyCtrlK + "go\r")
	alice.waitHeader("#go")
	alice.waitText("← bob left the channel")
	assertPlain(t, bob)
}

// lineAsker is a line session on a buffer, without a room, and what its
// command's answer received: Session.Ask in the line mode, key by key.
type lineAsker struct {
	l       *lineSession
	out     *bytes.Buffer
	s       *lineCommand
	answers [][]string
}

// newLineAsker is a line session that has just run line (a command), with
// a PTY (echo) or without one.
func newLineAsker(echo bool, line string) *lineAsker {
	out := &bytes.Buffer{}
	l := &lineSession{ctx: context.Background(), out: out, ed: lineEditor{max: 40}, echo: echo, eol: "\n"}
	if echo {
		l.eol = "\r\n"
	}
	return &lineAsker{l: l, out: out, s: &lineCommand{l: l, line: line, keep: true}}
}

// ask asks questions as a command does; the answers are kept.
func (a *lineAsker) ask(questions ...chat.Question) {
	a.s.Ask(questions, func(answers []string) { a.answers = append(a.answers, answers) })
}

// typed types keys as one read, and returns what the session printed.
func (a *lineAsker) typed(keys string) string {
	a.out.Reset()
	a.l.typed([]byte(keys))
	a.l.prompt()
	a.l.flush()
	return a.out.String()
}

var (
	secretQuestion = chat.Question{Prompt: "Password: ", Secret: true}
	plainQuestion  = chat.Question{Prompt: "Your name: "}
)

func TestLineModeAsksInTurnAndEchoesASecretAsDots(t *testing.T) {
	a := newLineAsker(true, "/passwd")
	a.ask(secretQuestion, plainQuestion)
	if got := a.typed(""); got != "-!- Enter answers · Esc or Ctrl+C cancels.\r\nPassword: " {
		t.Errorf("the question is printed as %q", got)
	}
	if got := a.typed("hunter2"); got != "•••••••" {
		t.Errorf("a secret typed is echoed as %q", got)
	}
	if got := a.typed("x\x7f世\x7f"); got != "•\b \b•\b \b" { // one cell each, even a wide one
		t.Errorf("erasing a secret echoes %q", got)
	}
	if got := a.typed("\r"); got != "\r\nYour name: " {
		t.Errorf("Enter printed %q, want the next question", got)
	}
	if got := a.typed("bob\r"); got != "bob\r\n> " {
		t.Errorf("the last answer printed %q, want it echoed and the prompt back", got)
	}
	if len(a.answers) != 1 || !slices.Equal(a.answers[0], []string{"hunter2", "bob"}) {
		t.Errorf("answers %q, want hunter2 then bob", a.answers)
	}
	if a.l.ask != nil || len(a.l.ed.text) != 0 {
		t.Errorf("after the answers: asking %v, line %q", a.l.ask != nil, string(a.l.ed.text))
	}
}

func TestLineModeCancelsAQuestion(t *testing.T) {
	for _, tt := range []struct {
		name, keys string
		echo       bool
	}{
		{"Ctrl+C", "abc\x03", true},
		{"Ctrl+C on an empty answer", "\x03", true},
		{"Esc alone", "abc\x1b", true},
		{"Esc then Enter", "abc\x1b\r", true},
		{"Esc then Enter, without a PTY", "abc\x1b\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newLineAsker(tt.echo, "/passwd")
			a.l.ed.restore("a draft") // what was typed before, waiting
			a.ask(secretQuestion, plainQuestion)
			a.typed("")
			got := a.typed(tt.keys)
			if !strings.Contains(got, "-!- Cancelled.") || strings.Contains(got, "abc") {
				t.Errorf("%q printed %q", tt.keys, got)
			}
			if tt.echo && !strings.HasSuffix(got, "> a draft") {
				t.Errorf("the draft is not back at the prompt: %q", got)
			}
			if a.l.ask != nil || string(a.l.ed.text) != "a draft" {
				t.Errorf("after the cancel: asking %v, line %q", a.l.ask != nil, string(a.l.ed.text))
			}
			a.typed("more\r")
			if a.answers != nil {
				t.Errorf("the answer ran with %q", a.answers)
			}
		})
	}
}

func TestLineModeAsksWithoutAPTYWithoutEcho(t *testing.T) {
	a := newLineAsker(false, "/passwd")
	a.ask(secretQuestion, plainQuestion)
	if got := a.typed(""); got != "-!- Enter answers · Esc then Enter cancels.\nPassword (shown as you type: no terminal): " {
		t.Errorf("the question is printed as %q", got)
	}
	if got := a.typed("hunter2\n"); got != "Your name: " {
		t.Errorf("the answer gave %q: want nothing echoed, and the next question", got)
	}
	if got := a.typed("bob\n"); got != "" {
		t.Errorf("the last answer printed %q, want nothing (no prompt without a PTY)", got)
	}
	if len(a.answers) != 1 || !slices.Equal(a.answers[0], []string{"hunter2", "bob"}) {
		t.Errorf("answers %q", a.answers)
	}
}

func TestLineModeRefusesASecondAsk(t *testing.T) {
	a := newLineAsker(true, "/passwd")
	a.ask(secretQuestion)
	a.ask(plainQuestion)
	if got := a.typed(""); !strings.Contains(got, "-!- A question is being asked already") {
		t.Errorf("no notice for the second Ask: %q", got)
	}
	a.typed("pw\r")
	if len(a.answers) != 1 || !slices.Equal(a.answers[0], []string{"pw"}) {
		t.Errorf("answers %q, want the first question's only", a.answers)
	}
}

// An answer that keeps the command's line (a wrong password) has it back
// at the prompt, to send again; one that asks again is asked.
func TestLineModeAnswersRunOnTheAskingSession(t *testing.T) {
	a := newLineAsker(true, "/passwd")
	a.s.Ask([]chat.Question{secretQuestion}, func([]string) {
		a.s.Notice("Wrong password.")
		a.s.Keep()
		a.s.Ask([]chat.Question{plainQuestion}, func(answers []string) { a.answers = append(a.answers, answers) })
	})
	a.typed("")
	if got := a.typed("wrong\r"); !strings.Contains(got, "-!- Wrong password.") || !strings.HasSuffix(got, "Your name: ") {
		t.Errorf("the answer printed %q", got)
	}
	if got := a.typed("bob\r"); !strings.HasSuffix(got, "> /passwd") {
		t.Errorf("the command line is not back at the prompt: %q", got)
	}
	if len(a.answers) != 1 || a.answers[0][0] != "bob" {
		t.Errorf("the second Ask got %q", a.answers)
	}
}

func TestLineEndReasonForARemovedAccount(t *testing.T) {
	reason := "Your account bob is deleted. Goodbye."
	if got := lineEndReason(&chat.RemovedError{Reason: reason}); got != reason {
		t.Errorf("lineEndReason = %q, want %q", got, reason)
	}
}

// openPipe opens a session without a PTY, as ssh -T does: the client's
// terminal stays in cooked mode, echoes and edits each line itself and
// sends it whole. Read what the session printed with rawOutput and
// waitRaw (its screen is not a terminal's: its lines end in a bare \n).
func openPipe(t *testing.T, c *gossh.Client) *terminal {
	t.Helper()
	session, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
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
		t: t, session: session, stdin: stdin, emu: vt.NewEmulator(80, 24),
		changed: make(chan struct{}), ended: make(chan struct{}),
	}
	if err := session.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	stderrDone := make(chan struct{})
	go func() { _, _ = io.Copy(tm, stderr); close(stderrDone) }()
	go tm.read(stdout, stderrDone)
	t.Cleanup(func() { _ = session.Close() })
	return tm
}

// A session without a PTY (ssh -T) gets the line mode, which leaves the
// echo and the editing to the client's terminal: the server prints the
// room's lines and nothing of what is typed, no prompt and no \r.
func TestASessionWithoutAPTYGetsTheLineModeWithoutEcho(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	carol := openPipe(t, ts.signup(t, "carol", "password1"))
	carol.waitRaw("signed in as carol (plain lines: no terminal).\n")
	alice.waitText("→ carol joined")

	carol.send("hello from a pipe\n")
	alice.waitText("carol: hello from a pipe")
	alice.say("hello carol")
	carol.waitRaw("alice: hello carol\n")
	carol.send("/who\r\n")
	carol.waitRaw("-!- 2 online in #lobby: alice, carol\n")

	raw := carol.rawOutput()
	if n := strings.Count(raw, "hello from a pipe"); n != 1 {
		t.Errorf("the line typed was printed %d times, want once (the message, no echo):\n%s", n, raw)
	}
	if strings.Contains(raw, "/who") || strings.Contains(raw, "\r") || strings.Contains(raw, linePrompt) {
		t.Errorf("the session echoed, prompted or moved the cursor:\n%q", raw)
	}
	assertPlain(t, carol)

	carol.stdin.Close() // Ctrl+D at the start of a line
	if err := carol.waitEnd(); err != nil {
		t.Errorf("end of input: exit %v, want status 0", err)
	}
	if raw := carol.rawOutput(); !strings.HasSuffix(raw, "End of input: you left the chat.\n") {
		t.Errorf("no reason given: %q", raw[max(len(raw)-80, 0):])
	}
	alice.waitText("← carol left")
}

// /passwd asks its three secrets at the prompt: each character echoed as
// •, the answers never printed or logged, and the password changed.
func TestLineModeAsksForSecretsWithoutShowingThem(t *testing.T) {
	ts := startServer(t, testConfig(t))
	bob := ts.dumbChatter(t, "bob", "dumb")
	atPrompt := func(line string) {
		t.Helper()
		bob.waitFor(fmt.Sprintf("%q at the prompt", line), func(s string) bool { return lastLine(s) == line })
	}

	bob.say("/passwd")
	bob.waitText("-!- Enter answers · Esc or Ctrl+C cancels.")
	atPrompt("Current password:")
	bob.send("password1")
	atPrompt("Current password: •••••••••")
	bob.send("\x7f\x7f1")
	atPrompt("Current password: ••••••••")
	bob.send("\x1b") // Esc: the questions are cancelled
	bob.waitText("-!- Cancelled.")
	atPrompt(">")

	bob.say("/passwd")
	atPrompt("Current password:")
	bob.say("password1")
	atPrompt("New password:")
	bob.say("newsecret99")
	atPrompt("New password again:")
	bob.say("newsecret99")
	bob.waitText("-!- Password changed.")
	atPrompt(">")

	for _, secret := range []string{"password1", "passwor1", "newsecret"} {
		if strings.Contains(bob.rawOutput(), secret) {
			t.Errorf("the session printed %q", secret)
		}
		if strings.Contains(ts.logs.String(), secret) {
			t.Errorf("the server logged %q", secret)
		}
	}
	assertPlain(t, bob)
	ts.loginPassword(t, "bob", "newsecret99") // the answers arrived in order
}

// Without a PTY the client's terminal shows what is typed: a secret
// question says so instead of pretending, and the server still echoes
// nothing.
func TestASecretWithoutAPTYIsAskedSayingItIsShown(t *testing.T) {
	ts := startServer(t, testConfig(t))
	carol := openPipe(t, ts.signup(t, "carol", "password1"))
	carol.waitRaw("signed in as carol")
	carol.send("/passwd\n")
	carol.waitRaw("-!- Enter answers · Esc then Enter cancels.\nCurrent password (shown as you type: no terminal): ")
	carol.send("password1\n")
	carol.waitRaw("New password (shown as you type: no terminal): ")
	carol.send("\x1b\n") // Esc, Enter
	carol.waitRaw("-!- Cancelled.\n")
	carol.send("/passwd\n")
	carol.send("password1\nnewsecret99\nnewsecret99\n")
	carol.waitRaw("-!- Password changed.")
	if raw := carol.rawOutput(); strings.Contains(raw, "password1") || strings.Contains(raw, "newsecret") {
		t.Errorf("the server echoed a secret:\n%s", raw)
	}
	assertPlain(t, carol)
	ts.loginPassword(t, "carol", "newsecret99")
}

// A session whose account is deleted ends with the reason.
func TestLineModeEndsWithTheReasonItsAccountWasRemoved(t *testing.T) {
	ts := startServer(t, testConfig(t))
	bob := ts.dumbChatter(t, "bob", "dumb")
	bob.say("/account delete")
	bob.waitFor("the password question", func(s string) bool { return lastLine(s) == "Password:" })
	bob.say("password1")
	bob.waitFor("the name question", func(s string) bool { return lastLine(s) == "Type your username to confirm:" })
	bob.say("bob")
	if err := bob.waitEnd(); err != nil {
		t.Errorf("exit %v, want status 0", err)
	}
	if s := bob.screen(); !strings.Contains(s, "Your account bob is deleted.") {
		t.Errorf("the reason is not shown:\n%s", s)
	}
	assertPlain(t, bob)
}

// checkedQuestion is q with a Check that refuses the first refusals
// answers, saying so on the session too, and records what it was given.
func (a *lineAsker) checkedQuestion(q chat.Question, refusals int, given *[]string) chat.Question {
	q.Check = func(answer string) string {
		*given = append(*given, answer)
		a.s.Notice(fmt.Sprintf("checking answer %d", len(*given)))
		if len(*given) <= refusals {
			return "The password is wrong."
		}
		return ""
	}
	return q
}

// A Check runs at Enter: its problem is a notice and the same question is
// asked again; an answer it accepts goes on to the next question.
func TestLineModeAsksACheckedQuestionAgainUntilItsAnswerIsAccepted(t *testing.T) {
	for _, echo := range []bool{true, false} {
		t.Run(fmt.Sprintf("echo=%v", echo), func(t *testing.T) {
			a := newLineAsker(echo, "/passwd")
			var given []string
			a.ask(a.checkedQuestion(secretQuestion, 2, &given), plainQuestion)
			a.typed("")
			for i, answer := range []string{"nope1", "nope2"} {
				got := a.typed(answer + "\r")
				if !strings.Contains(got, fmt.Sprintf("-!- checking answer %d", i+1)) || !strings.Contains(got, "-!- The password is wrong.") {
					t.Errorf("refusal %d printed %q, want the check's notices", i+1, got)
				}
				if !strings.Contains(got, "Password") || strings.Contains(got, "Your name") || strings.Contains(got, "nope") || strings.Contains(got, "Cancelled") {
					t.Errorf("refusal %d printed %q, want the same question again", i+1, got)
				}
				if a.l.ask == nil || len(a.l.ask.ed.text) != 0 || a.answers != nil {
					t.Fatalf("after refusal %d: asking %v, answers %q", i+1, a.l.ask != nil, a.answers)
				}
			}
			if got := a.typed("right\r"); !strings.HasSuffix(got, "Your name: ") {
				t.Errorf("an accepted answer printed %q, want the next question", got)
			}
			a.typed("bob\r")
			if !slices.Equal(given, []string{"nope1", "nope2", "right"}) {
				t.Errorf("the check was given %q", given)
			}
			if len(a.answers) != 1 || !slices.Equal(a.answers[0], []string{"right", "bob"}) {
				t.Errorf("answers %q, want right then bob", a.answers)
			}
		})
	}
}

// After MaxReasks asks again, the next refusal ends the questions without
// "Cancelled.", and the answer never runs.
func TestLineModeEndsTheQuestionsAfterMaxReasks(t *testing.T) {
	a := newLineAsker(true, "/passwd")
	a.l.ed.restore("a draft")
	var given []string
	a.ask(a.checkedQuestion(secretQuestion, 100, &given), plainQuestion)
	a.typed("")
	var out string
	for range chat.MaxReasks + 1 {
		if a.l.ask == nil {
			t.Fatalf("the questions ended after %d refusals", len(given))
		}
		out += a.typed("nope\r")
	}
	if len(given) != chat.MaxReasks+1 || a.l.ask != nil {
		t.Errorf("%d checks, asking %v", len(given), a.l.ask != nil)
	}
	if n := strings.Count(out, "-!- The password is wrong."); n != chat.MaxReasks+1 {
		t.Errorf("%d problem notices in %q", n, out)
	}
	if strings.Contains(out, "Cancelled") || !strings.HasSuffix(out, "> a draft") {
		t.Errorf("the end printed %q: want no Cancelled., the draft back at the prompt", out)
	}
	if a.answers != nil {
		t.Errorf("the answer ran with %q", a.answers)
	}
}

// A line that may hold a secret (chat.Sensitive) never goes back to the
// prompt, even when the command refused it and kept it.
func TestLineModeNeverKeepsASensitiveLine(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "bob", "password1")
	ctx := context.Background()
	member, err := ts.srv.room.Join(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(member.Leave)
	a := newLineAsker(true, "")
	a.l.member, a.l.current, a.l.ed.max = member, ts.srv.room.Lobby(), 1000
	a.l.convs, a.l.lastID = map[int64]chat.Conversation{}, map[int64]int64{}
	a.typed("")

	// A refused line that is not sensitive is kept, as before.
	if got := a.typed("/key add\r"); !strings.Contains(got, "-!- Usage: /key add KEY") || !strings.HasSuffix(got, "> /key add") {
		t.Fatalf("a refused /key add printed %q, want it back at the prompt", got)
	}
	a.typed("\x15")
	for _, line := range []string{"/key add -----BEGIN OPENSSH PRIVATE KEY----- abc", "/passwd something"} {
		got := a.typed(line + "\r")
		if !strings.Contains(got, "-!- ") || !strings.HasSuffix(got, "\r\n> ") {
			t.Errorf("%q printed %q, want a notice and an empty prompt", line, got)
		}
		if len(a.l.ed.text) != 0 || a.l.refused != "" {
			t.Errorf("%q: at the prompt %q, refused %q", line, string(a.l.ed.text), a.l.refused)
		}
	}
}
