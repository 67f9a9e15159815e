package app

import (
	"strings"
	"testing"
)

// A purge reaches the screens already showing the messages: carol's chat
// shows dave's two lines, and after bob (a moderator) purges dave they
// read "[removed by a moderator]" there, while carol's own line stays.
func TestAPurgeRemovesTheMessagesFromAnotherMembersScreen(t *testing.T) {
	ts := modServer(t)
	alice := ts.chatAs(t, "alice")
	alice.say("/op bob")
	alice.waitText("alice made bob a moderator")
	carol := ts.chatAs(t, "carol")
	ts.mustRun(t, "dave", "say buy cheap watches", "")
	ts.mustRun(t, "dave", "say more cheap watches", "")
	carol.say("hello all")
	carol.waitText("dave: more cheap watches")
	carol.waitText("carol: hello all")

	bob := ts.chatAs(t, "bob")
	bob.say("/purge dave 10")
	bob.waitText("Removed 2 messages by dave")
	screen := carol.waitFor("dave's lines removed", func(s string) bool {
		return !strings.Contains(s, "watches") && strings.Count(s, "dave: [removed by a moderator]") == 2
	})
	if !strings.Contains(screen, "carol: hello all") {
		t.Errorf("carol's own line went too:\n%s", screen)
	}
}

// A ban set after a connection logged in, before it started its session,
// still refuses that session, with the reason.
func TestABanBetweenLoginAndSessionHolds(t *testing.T) {
	ts := modServer(t)
	c := ts.loginPassword(t, "carol", scriptPassword) // logged in, no session yet
	alice := ts.chatAs(t, "alice")
	alice.say("/ban carol 1h spam")
	alice.waitText("carol was banned by alice")
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var errs strings.Builder
	s.Stderr = &errs
	if status := exitStatus(t, "who", s.Run("who")); status != exitRefused || !strings.Contains(errs.String(), "You are banned until ") || !strings.Contains(errs.String(), "spam") {
		t.Errorf("exit %d, stderr %q; want 1 and the ban", status, errs.String())
	}
}
