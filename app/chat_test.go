package app

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestTwoPeopleChatAndALatecomerSeesHistory(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.chatter(t, "bob", 80, 24)
	alice.waitText("→ bob joined")

	alice.say("hello bob")
	bob.waitText("alice: hello bob")
	alice.waitText("alice: hello bob") // the sender sees their own message
	bob.say("hi alice, 世界 👋")
	alice.waitText("bob: hi alice, 世界 👋")
	bob.say("/me waves")
	alice.waitText("* bob waves")
	alice.waitText("Online (2)")

	carol := ts.chatter(t, "carol", 100, 30)
	screen := carol.waitText("→ carol joined") // drawn live, maybe a frame after the history
	for _, want := range []string{"alice: hello bob", "bob: hi alice", "* bob waves"} {
		if !strings.Contains(screen, want) {
			t.Errorf("carol's screen lacks %q:\n%s", want, screen)
		}
	}
	carol.say("/who")
	carol.waitText("3 online in #lobby: alice, bob, carol")
	if strings.Contains(alice.screen(), "/who") || strings.Contains(alice.screen(), "3 online in") {
		t.Error("carol's /who reached alice")
	}

	bob.say("/quit")
	bob.waitEnd()
	alice.waitText("← bob left")
}

func TestEscapeSequencesNeverReachAnotherTerminal(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	mallory := ts.chatter(t, "mallory", 100, 30)

	attacks := []string{
		"\x1b]52;c;cHduZWQ=\x07", // OSC 52: write the clipboard
		"\x1b]0;pwned title\x07", // set the window title
		"\x1b[2J\x1b[H",          // clear the screen
		"\x1b[31mred",            // colour
		"\u009b2J",               // C1 CSI
		"\u009d0;c1 title\u009c", // C1 OSC ... ST
		"\u202eevil\u202c",       // bidi override
		"\r\x08\x07overwrite",    // CR, BS, BEL
		"zero\u200bwidth\ufeff",  // invisible characters
	}
	mallory.paste("BEGIN " + strings.Join(attacks, " ") + " END")
	mallory.say("")
	screen := alice.waitText("END")
	if !strings.Contains(screen, "BEGIN") {
		t.Fatalf("attack message not shown:\n%s", screen)
	}
	raw := alice.rawOutput()
	for _, bad := range []string{
		"\x1b]52", "\x1b]0;pwned", "pwned title\x07", "\x1b[31mred", "\u009b", "\u009d", "\u009c",
		"\u202e", "\u202c", "\x08", "\u200b", "\ufeff",
	} {
		if strings.Contains(raw, bad) {
			t.Errorf("alice's terminal received %q", bad)
		}
	}
	if strings.Contains(raw, "\aoverwrite") {
		t.Error("a BEL from mallory reached alice")
	}
}

func TestOverlongMessageIsRefusedAndTheRoomKeepsWorking(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 100, 30)
	bob := ts.chatter(t, "bob", 100, 30)

	bob.paste(strings.Repeat("y", 5000))
	bob.say("")
	bob.waitText("5000 characters long")
	bob.waitText("5000/1000") // still in the input, to shorten: nothing lost
	bob.send("\x15")          // Ctrl+U clears the input
	bob.say("short and sweet")
	alice.waitText("bob: short and sweet")
	if strings.Contains(alice.rawOutput(), "yyyyyyyyyy") {
		t.Error("the refused message reached alice")
	}
}

func TestHistorySurvivesARestart(t *testing.T) {
	cfg := testConfig(t)
	first := startServer(t, cfg)
	alice := first.chatter(t, "alice", 80, 24)
	alice.say("remember me")
	alice.waitText("alice: remember me")
	first.stop(t)
	alice.waitEnd()

	second := startServer(t, cfg)
	again := openTerminal(t, second.loginPassword(t, "alice", "password1"), 80, 24)
	again.waitText("alice: remember me")
}

func TestShutdownTellsEveryoneTheServerIsShuttingDown(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 80, 24)
	ts.stop(t)
	alice.waitEnd()
	if alice.altScreen() {
		t.Error("terminal left in the alternate screen")
	}
	if s := alice.screen(); !strings.Contains(s, "The server is shutting down.") || strings.Contains(s, "restarting") {
		t.Errorf("no shutdown notice on the screen, or one of a restart:\n%s", s)
	}
	// The screen writes to the SSH channel untranslated (terminalOutput):
	// a bare line feed would leave the cursor in its column.
	if raw := alice.rawOutput(); strings.Count(raw, "\n") != strings.Count(raw, "\r\n") {
		t.Errorf("a line feed without a carriage return in the output: %q", raw)
	}
}

// A restart (SIGHUP in main, or RESTART_NOTICE for every stop) is
// announced as one: users may reconnect in a moment.
func TestARestartIsAnnouncedAsOne(t *testing.T) {
	for _, tt := range []struct {
		name          string
		restartNotice bool
		stop          func(*testServer, testing.TB)
	}{
		{"restart", false, (*testServer).restart},
		{"RESTART_NOTICE", true, (*testServer).stop},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.RestartNotice = tt.restartNotice
			ts := startServer(t, cfg)
			alice := ts.chatter(t, "alice", 80, 24)
			tt.stop(ts, t)
			alice.waitEnd()
			if s := alice.screen(); !strings.Contains(s, "The server is restarting. Please reconnect in a moment.") {
				t.Errorf("no restart notice on the screen:\n%s", s)
			}
		})
	}
}

func TestMentionRingsTheBellOnce(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 80, 24)
	bob := ts.chatter(t, "bob", 80, 24)
	before := bells(alice.rawOutput())
	bob.say("lunch, @Alice?")
	alice.waitText("bob: lunch, @Alice?")
	bob.say("nothing for you")
	alice.waitText("bob: nothing for you")
	if got := bells(alice.rawOutput()) - before; got != 1 {
		t.Errorf("%d bells for one mention, want 1", got)
	}
	if bells(bob.rawOutput()) != 0 {
		t.Error("bob's own message rang his bell")
	}
}

func TestScrollBackThroughTheWholeHistory(t *testing.T) {
	cfg := testConfig(t)
	cfg.History = 10
	ts := startServer(t, cfg)
	alice := ts.chatter(t, "alice", 80, 24)
	for i := 1; i <= 40; i++ {
		alice.say(fmt.Sprintf("note %d", i))
	}
	alice.waitText("alice: note 40")

	bob := ts.chatter(t, "bob", 80, 24)
	if s := bob.waitText("→ bob joined"); strings.Contains(s, "note 25") {
		t.Fatalf("more than HISTORY messages loaded:\n%s", s)
	}
	for i := 0; i < 10 && !strings.Contains(bob.screen(), "start of the conversation"); i++ {
		bob.send("\x1b[H") // Home: the top, fetching older pages
		bob.waitFor("older page", func(s string) bool { return strings.Contains(s, "scrolled back") })
	}
	screen := bob.waitText("start of the conversation")
	if !strings.Contains(screen, "alice: note 1\n") && !strings.Contains(screen, "alice: note 1 ") {
		t.Errorf("the first message is not at the top:\n%s", screen)
	}
	bob.send("\x1b[F") // End
	bob.waitText("→ bob joined")
}

func TestDumbTerminalStillWorks(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 80, 24)
	bob := openTerminalAs(t, ts.signup(t, "bob", "password1"), "dumb", 80, 24)
	bob.waitText("signed in as bob")
	alice.say("plain text please")
	bob.waitText("alice: plain text please")
	if raw := bob.rawOutput(); strings.Contains(raw, "38;5;") || strings.Contains(raw, "38;2;") {
		t.Error("colours sent to a dumb terminal")
	}
}

// oscSequence matches operating system commands, which may end in BEL.
var oscSequence = regexp.MustCompile("\x1b\\][^\x07\x1b]*(\x07|\x1b\\\\)")

// bells counts the BEL characters that ring, not those ending an OSC.
func bells(raw string) int {
	return strings.Count(oscSequence.ReplaceAllString(raw, ""), "\a")
}

func TestAHugePasteIsRefusedWhole(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 80, 24)
	alice.paste(strings.Repeat("z", 2<<20)) // tui.Run reads at most pasteLimit bytes of it
	alice.waitText("Not pasted")
	alice.say("after the paste")
	alice.waitText("alice: after the paste")
}

// TestALineFeedSendsLikeEnter: keys typed before the client's terminal
// switches to raw mode arrive with Enter as a line feed.
func TestALineFeedSendsLikeEnter(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 80, 24)
	alice.send("typed ahead\n")
	alice.waitText("alice: typed ahead")
}
