package app

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"messaging/chat"
)

// Keys as OpenSSH in tmux sends them.
const (
	keyCtrlN   = "\x0e"
	keyCtrlP   = "\x10"
	keyCtrlK   = "\x0b"
	keyAltUp   = "\x1b[1;3A"
	keyAltDown = "\x1b[1;3B"
)

func altDigit(n int) string { return fmt.Sprintf("\x1b%d", n) }

// waitHeader waits until the header (the screen's first row) shows text.
func (tm *terminal) waitHeader(text string) string {
	tm.t.Helper()
	return tm.waitFor("header with "+text, func(screen string) bool {
		first, _, _ := strings.Cut(screen, "\n")
		return strings.Contains(first, text)
	})
}

// waitGone waits until text is nowhere on the screen.
func (tm *terminal) waitGone(text string) string {
	tm.t.Helper()
	return tm.waitFor("no "+text, func(screen string) bool { return !strings.Contains(screen, text) })
}

// relogin opens a new chat screen for an account that signed up with
// chatter.
func (ts *testServer) relogin(t *testing.T, name string, width, height int) *terminal {
	t.Helper()
	tm := openTerminal(t, ts.loginPassword(t, name, "password1"), width, height)
	tm.waitText("signed in as " + name)
	return tm
}

func TestChannelsKeepTheirMessagesToTheirMembers(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)
	carol := ts.chatter(t, "carol", 120, 40)

	alice.say("/join #go")
	alice.waitHeader("#go")
	bob.say("/join #GO") // names are case-insensitive
	bob.waitHeader("#go")
	alice.waitText("→ bob joined the channel")

	alice.say("gophers only")
	bob.waitText("alice: gophers only")
	// carol is only in #lobby: a later lobby line reaches her, the #go one
	// never does, not even in her sidebar's count.
	bob.send(altDigit(1))
	bob.waitHeader("#lobby")
	bob.say("lobby line")
	carol.waitText("bob: lobby line")
	if strings.Contains(carol.screen(), "gophers only") || strings.Contains(carol.screen(), "#go") {
		t.Errorf("carol, not in #go, sees it:\n%s", carol.screen())
	}

	bob.send(altDigit(2))
	bob.waitHeader("#go")
	bob.say("/part")
	bob.waitHeader("#lobby")
	alice.waitText("← bob left the channel")
	alice.say("after bob left")
	alice.waitText("alice: after bob left")
	bob.say("/list")
	bob.waitText("#go")
	if strings.Contains(bob.screen(), "after bob left") {
		t.Error("bob still receives #go after /part")
	}

	bob.say("/part #lobby")
	bob.waitText("You cannot leave #lobby")
}

func TestDirectMessagesReachOnlyTheTwo(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)
	carol := ts.chatter(t, "carol", 120, 40)

	alice.say("/msg bob the secret is 42")
	alice.waitHeader("@bob")
	alice.waitText("alice: the secret is 42")
	bob.waitText("@alice") // in bob's sidebar, unread
	bob.say("/reply got it")
	bob.waitHeader("@alice")
	bob.waitText("alice: the secret is 42")
	alice.waitText("bob: got it")

	// carol: not on her screen, not in any history she can page, not by a
	// conversation number she guesses.
	carol.say("/who")
	carol.waitText("online in #lobby")
	for range 3 {
		carol.send("\x1b[5~") // PgUp
	}
	if strings.Contains(carol.screen(), "secret") || strings.Contains(carol.screen(), "got it") {
		t.Errorf("carol sees the DM:\n%s", carol.screen())
	}
	room := ts.srv.room
	spy, err := room.Join(t.Context(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Leave()
	for id := int64(1); id <= 20; id++ {
		if spy.In(id) {
			continue
		}
		if msgs, err := spy.Recent(t.Context(), id); !errors.Is(err, chat.ErrNoConversation) {
			t.Errorf("carol reads conversation %d: %v, %v", id, msgs, err)
		}
		if msgs, err := spy.Older(t.Context(), id, 1<<40, 100); !errors.Is(err, chat.ErrNoConversation) {
			t.Errorf("carol pages conversation %d: %v, %v", id, msgs, err)
		}
		if _, err := spy.Send(id, chat.KindText, "let me in"); !errors.Is(err, chat.ErrNoConversation) {
			t.Errorf("carol posts into conversation %d: %v", id, err)
		}
	}

	alice.say("/msg nobody hello")
	alice.waitText("Nobody is called nobody")
}

func TestADirectMessageToSomeoneOfflineWaitsForThem(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)
	bob.say("/quit")
	bob.waitEnd()

	alice.say("/msg bob see you tomorrow")
	alice.waitText("bob is offline")
	alice.waitText("alice: see you tomorrow")

	bob = ts.relogin(t, "bob", 120, 40)
	bob.waitFor("@alice with an unread count", regexp.MustCompile(`@alice\s*1\b`).MatchString)
	bob.send(keyCtrlK)
	bob.send("ali\r")
	bob.waitHeader("@alice")
	screen := bob.waitText("alice: see you tomorrow")
	if !strings.Contains(screen, "new since") {
		t.Errorf("no unread marker above the DM:\n%s", screen)
	}
	if bells(bob.rawOutput()) != 0 {
		t.Error("a DM stored while bob was away rang his bell at login")
	}
	alice.say("are you there?")
	bob.waitText("alice: are you there?")
}

func TestADirectMessageRingsTheBellOnce(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)
	alice.say("/msg bob ping")
	bob.waitText("@alice")
	bob.waitFor("one bell", func(string) bool { return bells(bob.rawOutput()) == 1 })
	alice.say("/msg bob") // switching alone sends nothing
	alice.waitHeader("@bob")
	alice.say("pong")
	bob.waitFor("two bells", func(string) bool { return bells(bob.rawOutput()) == 2 })
}

func TestUnreadMarkersSurviveALogoutAndARestart(t *testing.T) {
	cfg := testConfig(t)
	first := startServer(t, cfg)
	alice := first.chatter(t, "alice", 120, 40)
	bob := first.chatter(t, "bob", 120, 40)
	bob.say("/join #ops")
	alice.say("/join #ops")
	alice.say("read this one")
	bob.waitText("alice: read this one")
	bob.say("/quit")
	bob.waitEnd()

	for i := 1; i <= 3; i++ {
		alice.say(fmt.Sprintf("missed %d", i))
		alice.waitText(fmt.Sprintf("alice: missed %d", i))
	}
	first.restart(t)
	alice.waitEnd()

	second := startServer(t, cfg)
	bob = second.relogin(t, "bob", 120, 40)
	bob.waitFor("#ops with 3 unread", regexp.MustCompile(`#ops\s*3\b`).MatchString)
	bob.send(altDigit(2))
	bob.waitHeader("#ops")
	screen := bob.waitText("alice: missed 3")
	marker := strings.Index(screen, "new since")
	read, missed := strings.Index(screen, "read this one"), strings.Index(screen, "missed 1")
	if marker < 0 || read > marker || missed < marker {
		t.Errorf("the unread marker is not between what bob read and what he missed:\n%s", screen)
	}
}

func TestSwitchingKeys(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 120, 40)
	ts.chatter(t, "bob", 80, 24)
	alice.say("/join #aa")
	alice.waitHeader("#aa")
	alice.say("/join #bb")
	alice.waitHeader("#bb")
	alice.say("/msg bob")
	alice.waitHeader("@bob")

	steps := []struct{ key, want string }{
		{altDigit(1), "#lobby"},
		{altDigit(3), "#bb"},
		{keyAltUp, "#aa"},
		{keyAltDown, "#bb"},
		{keyCtrlN, "@bob"},
		{keyCtrlP, "#bb"},
		{keyCtrlK + "aa\r", "#aa"},
		{keyCtrlK + "bo\r", "@bob"},
		{altDigit(2), "#aa"},
	}
	for _, step := range steps {
		alice.send(step.key)
		alice.waitHeader(step.want)
	}
}

func TestSwitchingKeysWorkOnANarrowTerminal(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := openTerminal(t, ts.signup(t, "alice", "password1"), 60, 20)
	alice.waitHeader("#lobby")
	alice.say("/join #narrow")
	alice.waitHeader("#narrow")
	alice.send(altDigit(1))
	alice.waitHeader("#lobby")
	screen := alice.waitText("#narrow") // the switcher line lists it
	if !strings.Contains(screen, "#lobby") {
		t.Errorf("the switcher does not list #lobby:\n%s", screen)
	}
}

func TestInviteOnlyChannelsStayHidden(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)

	alice.say("/join #secret")
	alice.waitHeader("#secret")
	alice.say("/private")
	alice.waitText("invite-only")
	alice.say("plans for the party")

	bob.say("/list")
	bob.waitText("channel")
	bob.say("/join #secret")
	bob.waitText("not available")
	if strings.Contains(bob.screen(), "#secret ") || strings.Contains(bob.screen(), "plans") {
		t.Errorf("bob sees the invite-only channel:\n%s", bob.screen())
	}

	bob.say("/topic mine now")
	bob.waitText("everyone's")

	alice.say("/invite bob")
	bob.waitText("alice invited bob to #secret")
	bob.say("/join #secret")
	bob.waitHeader("#secret")
	bob.waitText("alice: plans for the party")
	bob.say("/topic hijack")
	bob.waitText("Only #secret's owner, alice")

	alice.say("/uninvite bob")
	bob.waitText("removed")
	bob.waitHeader("#lobby")
	alice.say("after bob")
	alice.waitText("alice: after bob")
	bob.say("/join #secret")
	bob.waitText("not available")

	alice.say("/public")
	alice.waitText("#secret is public now")
	bob.say("/join #secret")
	bob.waitHeader("#secret")
	bob.waitText("alice: after bob")
}

func TestTopicShowsInTheHeader(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)
	alice.say("/join #go")
	alice.waitHeader("#go") // alice owns it
	bob.say("/join #go")
	alice.waitText("→ bob joined")
	alice.say("/topic Go 1.26 is out")
	bob.waitHeader("Go 1.26 is out")
	bob.waitText("alice set the topic: Go 1.26 is out")
	bob.say("/topic")
	bob.waitText("#go's topic: Go 1.26 is out")
}

func TestAwayShowsToOthersAndEndsWithAMessage(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)
	bob.say("/away lunch")
	alice.waitText("bob is away: lunch")
	alice.say("/who")
	alice.waitText("bob (away: lunch)")
	alice.say("/msg bob are you there")
	alice.waitText("bob is away: lunch.")
	alice.say("/whois bob")
	alice.waitText("away: lunch")

	bob.say("/back")
	bob.waitText("You are back")
	alice.waitGone("bob (away)")
	bob.say("/away")
	alice.waitText("bob (away)")
	bob.say("back now") // a message brings him back, in every channel
	alice.waitGone("bob (away)")
	alice.say("/who")
	alice.waitText("2 online in @bob: alice, bob")
	alice.send(altDigit(1))
	alice.waitHeader("#lobby")
	alice.waitText("bob is back")
}

func TestIgnoreHidesSomeoneFromYouAlone(t *testing.T) {
	cfg := testConfig(t)
	ts := startServer(t, cfg)
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)
	carol := ts.chatter(t, "carol", 120, 40)

	bob.say("/ignore alice")
	bob.waitText("You ignore alice")
	alice.say("buy my stuff")
	alice.say("/msg bob buy it")
	carol.waitText("alice: buy my stuff")
	carol.say("carol here")
	bob.waitText("carol: carol here")
	if s := bob.screen(); strings.Contains(s, "buy") {
		t.Errorf("bob sees whom he ignores:\n%s", s)
	}

	bob.say("/quit")
	bob.waitEnd()
	bob = ts.relogin(t, "bob", 120, 40)
	bob.say("/ignore")
	bob.waitText("You ignore: alice")
	if s := bob.screen(); strings.Contains(s, "buy") {
		t.Errorf("bob sees whom he ignores in history:\n%s", s)
	}
	bob.say("/unignore alice")
	bob.waitText("You see alice's messages again")
	alice.send(altDigit(1))
	alice.waitHeader("#lobby")
	alice.say("hello again")
	bob.waitText("alice: hello again")
}

func TestWhoisSaysWhenAndWhere(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)
	alice.say("/join #shared")
	bob.say("/join #shared")
	bob.say("/join #bobonly")
	bob.say("/private")
	bob.waitText("#bobonly is invite-only now")
	alice.waitText("→ bob joined")
	alice.say("/whois bob")
	screen := alice.waitText("channels in common")
	if !strings.Contains(screen, "#shared") || strings.Contains(screen, "#bobonly") {
		t.Errorf("whois lists the wrong channels:\n%s", screen)
	}
	alice.waitText("online since")
	bob.say("/quit")
	bob.waitEnd()
	alice.say("/whois bob")
	alice.waitText("last seen")
}

func TestFiftyChannelsAndTheLimit(t *testing.T) {
	cfg := testConfig(t)
	cfg.ChannelsPerUser = 50
	ts := startServer(t, cfg)
	alice := ts.chatter(t, "alice", 120, 40)
	bob := ts.chatter(t, "bob", 120, 40)
	for i := 1; i < 50; i++ {
		alice.say(fmt.Sprintf("/join #c%02d", i))
	}
	alice.waitHeader("#c49")
	alice.say("/join #c50")
	alice.waitText("the most one account may be in")

	// Every channel carries its own messages to its own members.
	for i := 1; i < 50; i += 7 {
		bob.say(fmt.Sprintf("/join #c%02d", i))
		bob.waitHeader(fmt.Sprintf("#c%02d", i))
		bob.say(fmt.Sprintf("in c%02d", i))
	}
	alice.send(keyCtrlK + "c43\r")
	alice.waitHeader("#c43")
	alice.waitText("bob: in c43")
	if strings.Contains(alice.screen(), "in c36") {
		t.Errorf("#c43 shows #c36's message:\n%s", alice.screen())
	}
}
