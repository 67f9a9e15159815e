package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
	"messaging/store"
)

// modServer starts a server whose ADMINS is alice, with the accounts
// alice, bob, carol and dave: they are signed up on a first server, and
// ADMINS applies when the second one starts on the same database.
func modServer(t *testing.T) *testServer {
	t.Helper()
	cfg := testConfig(t)
	cfg.Admins = []string{"Alice", "nobody"}
	first := startServer(t, cfg)
	first.accounts(t, "alice", "bob", "carol", "dave")
	first.stop(t)
	ts := startServer(t, cfg)
	if role, err := ts.srv.store.Role(t.Context(), "alice"); err != nil || role != chat.RoleAdmin {
		t.Fatalf("alice's role after a start with ADMINS: %v, %v", role, err)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "admin from ADMINS") || !strings.Contains(logs, "ADMINS names no account") {
		t.Errorf("ADMINS is not noted in the log:\n%s", logs)
	}
	return ts
}

// chatAs opens a chat screen of name, logged in by password.
func (ts *testServer) chatAs(t *testing.T, name string) *terminal {
	t.Helper()
	tm := openTerminal(t, ts.loginPassword(t, name, scriptPassword), 220, 50)
	tm.waitText("signed in as " + name)
	return tm
}

// audited waits until the audit log's newest entries hold one of action
// by actor on target whose detail starts with reason.
func (ts *testServer) audited(t *testing.T, actor, action, target, reason string) {
	t.Helper()
	entries, err := ts.srv.store.AuditLog(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(entries, func(e store.AuditEntry) bool {
		return e.Actor == actor && e.Action == action && e.Target == target && strings.HasPrefix(e.Reason, reason)
	}) {
		t.Errorf("the audit log has no %s %s %s %q: %+v", actor, action, target, reason, entries)
	}
}

// A member is refused every moderation command with a line that says who
// may; an admin makes a moderator, who then moderates; the audit log
// records each action; /whois says the roles.
func TestModerationByAnAdminAndAModeratorNotByAMember(t *testing.T) {
	ts := modServer(t)
	alice, bob, carol := ts.chatAs(t, "alice"), ts.chatAs(t, "bob"), ts.chatAs(t, "carol")

	for _, tt := range []struct{ line, refusal string }{
		{"/op dave", "Only admins can change roles."},
		{"/deop dave", "Only admins can change roles."},
		{"/kick dave", "Only moderators can kick."},
		{"/mute dave 10m", "Only moderators can mute."},
		{"/unmute dave", "Only moderators can unmute."},
		{"/ban dave", "Only moderators can ban."},
		{"/unban dave", "Only moderators can unban."},
		{"/bans", "Only moderators can list bans and mutes."},
		{"/purge dave", "Only moderators can purge."},
		{"/audit", "Only moderators can read the audit log."},
		{"/motd hello", "Only admins can set the message of the day."},
	} {
		carol.send("\x15") // the refused line is kept: erase it
		carol.say(tt.line)
		carol.waitText(tt.refusal)
	}
	carol.send("\x15")

	alice.say("/op bob")
	bob.waitText("alice made bob a moderator")
	bob.waitText("+bob") // every open member column shows the new role at once
	ts.audited(t, "alice", "role", "bob", "moderator")
	carol.say("/whois bob")
	carol.waitText("; moderator")
	bob.say("/op carol")
	bob.waitText("Only admins can change roles.")
	bob.send("\x15")
	bob.say("/kick alice")
	bob.waitText("alice is an admin: a moderator cannot kick an admin.")
	bob.send("\x15")

	// Mute: carol reads but cannot post, and is told until when.
	bob.say("/mute carol 10m spam")
	carol.waitText("carol was muted by bob until ")
	ts.audited(t, "bob", "mute", "carol", "10m: spam")
	carol.say("can I still talk")
	carol.waitText("You are muted until ")
	carol.waitText(": spam. Nothing was sent.")
	if strings.Contains(carol.screen(), "carol: can I still talk") {
		t.Error("a muted member's post was shown")
	}
	bob.say("/bans")
	bob.waitText("mute carol by bob on ")
	bob.say("/unmute carol")
	carol.waitText("carol was unmuted by bob")
	ts.audited(t, "bob", "unmute", "carol", "")
	carol.send("\x15")
	carol.say("thank you")
	bob.waitText("carol: thank you")

	// The message of the day, set by the admin, shown at the next login.
	alice.say("/motd Be kind to each other")
	alice.waitText("Message of the day set: Be kind to each other")
	ts.audited(t, "alice", "motd", "", "Be kind")
	dave := ts.chatAs(t, "dave")
	dave.waitText("Message of the day: Be kind to each other")
	dave.say("/motd")
	dave.waitText("Message of the day: Be kind to each other")

	// Kick: the session ends with the reason on its screen.
	bob.say("/kick dave flooding the room")
	if err := dave.waitEnd(); err != nil {
		t.Errorf("dave's session end: %v", err)
	}
	if !strings.Contains(dave.screen(), "You were removed by a moderator: flooding the room.") {
		t.Errorf("the kick's reason is not on dave's screen:\n%s", dave.screen())
	}
	alice.waitText("dave was kicked by bob: flooding the room")
	ts.audited(t, "bob", "kick", "dave", "flooding the room")

	bob.say("/audit 3")
	bob.waitText("Audit log, newest first (3):")
	bob.waitText("bob kick dave: flooding the room")

	alice.say("/deop bob")
	bob.waitText("alice took the moderator role back from bob")
	alice.waitFor("bob unmarked in the member column", func(s string) bool { return !strings.Contains(s, "+bob") })
	ts.audited(t, "alice", "role", "bob", "member")
	bob.say("/kick carol")
	bob.waitText("Only moderators can kick.")
}

// A ban ends the account's sessions with the reason, and refuses its
// logins by password, key and script, saying why where the method can;
// signups from its address are refused too, other addresses are not.
func TestABannedAccountCannotLogIn(t *testing.T) {
	ts := modServer(t)
	alice, dave := ts.chatAs(t, "alice"), ts.chatAs(t, "dave")
	signer, line := newKey(t, "ed25519", 0, "laptop")
	addKey(dave, line)
	tail := ts.startTail(t, "dave", "tail", false, true)

	alice.say("/ban dave 2h spam")
	if err := dave.waitEnd(); err != nil {
		t.Errorf("dave's session end: %v", err)
	}
	if !strings.Contains(dave.screen(), "You are banned until ") || !strings.Contains(dave.screen(), ": spam.") {
		t.Errorf("the ban's reason is not on dave's screen:\n%s", dave.screen())
	}
	if status, _ := tail.waitEnd(); status == 0 {
		t.Error("dave's tail ended with status 0")
	}
	alice.waitText("dave was banned by alice until ")
	ts.audited(t, "alice", "ban", "dave", "2h: spam")

	if c, err := ts.dial("dave", gossh.Password(scriptPassword)); err == nil {
		c.Close()
		t.Fatal("a banned account logs in by password (and so runs scripts)")
	}
	c, k, err := ts.dialKeyboard("dave", []string{scriptPassword})
	if err == nil {
		c.Close()
		t.Fatal("a banned account logs in by keyboard-interactive")
	}
	if !shownBan(k.shown()) {
		t.Errorf("keyboard-interactive was shown %+v, want the ban and its reason", k.shown())
	}
	byKey := &scriptedKeyboard{answers: [][]string{{scriptPassword}}}
	if c, err := ts.dial("dave", gossh.PublicKeys(signer), gossh.KeyboardInteractive(byKey.challenge)); err == nil {
		c.Close()
		t.Fatal("a banned account logs in by key")
	}
	if shown := byKey.shown(); len(shown) == 0 || !strings.Contains(shown[0].instruction, "You are banned until ") {
		t.Errorf("after the refused key, the prompt was %+v, want the ban's reason", shown)
	}
	if !strings.Contains(ts.logs.String(), "key login refused: banned") {
		t.Error("the refused key login is not logged")
	}
	// A script logging in by key alone reads the reason in a banner.
	var banner string
	cfg := clientConfig("dave", gossh.PublicKeys(signer))
	cfg.BannerCallback = func(message string) error { banner += message; return nil }
	if c, err := gossh.Dial("tcp", ts.addr, cfg); err == nil {
		c.Close()
		t.Fatal("a banned account logs in by key alone")
	}
	if !strings.Contains(banner, "You are banned until ") {
		t.Errorf("the key login's banner was %q, want the ban", banner)
	}

	c, k, err = ts.dialKeyboard("signup", []string{"erin", scriptPassword, scriptPassword})
	if err == nil {
		c.Close()
		t.Fatal("a signup from a banned account's address succeeded")
	}
	if shown := k.shown(); len(shown) == 0 || !strings.HasPrefix(shown[0].instruction, "Signups from your address are refused until ") {
		t.Errorf("signup from the banned address was shown %+v, want the refusal and until when", shown)
	}
	c, _, err = ts.dialKeyboardFrom("127.0.0.2", "signup", []string{"erin", scriptPassword, scriptPassword})
	if err != nil {
		t.Fatalf("a signup from another address: %v", err)
	}
	c.Close()

	alice.say("/unban dave")
	alice.waitText("dave is no longer banned.")
	ts.audited(t, "alice", "unban", "dave", "")
	ts.mustRun(t, "dave", "who", "")
}

// shownBan reports whether a keyboard-interactive dialogue showed a ban.
func shownBan(shown []prompt) bool {
	return slices.ContainsFunc(shown, func(p prompt) bool {
		return strings.Contains(p.instruction, "You are banned until ") && strings.Contains(p.instruction, ": spam.")
	})
}

// Purge hides the messages from history and tells the screens (a
// KindPurge notice in each of the author's conversations).
func TestPurgeRemovesTheMessagesFromHistory(t *testing.T) {
	ts := modServer(t)
	ts.mustRun(t, "dave", "say buy cheap watches", "")
	ts.mustRun(t, "dave", "say more cheap watches", "")
	ts.mustRun(t, "carol", "say hello all", "")
	watcher, err := ts.srv.room.Watch(t.Context(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Leave()
	alice := ts.chatAs(t, "alice")

	alice.say("/purge dave 30")
	alice.waitText("Removed 2 messages by dave from the last 30 minutes.")
	ts.audited(t, "alice", "purge", "dave", "30 min, 2 messages")
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	var purge *chat.Message
	for purge == nil {
		msgs, err := watcher.Receive(ctx)
		if err != nil {
			t.Fatalf("waiting for the purge notice: %v", err)
		}
		for i, m := range msgs {
			if m.Kind == chat.KindPurge {
				purge = &msgs[i]
			}
		}
	}
	if purge.Author != "dave" || purge.Body != "alice" || purge.Conv != ts.srv.room.Lobby().ID || time.Since(purge.Since) < 30*time.Minute {
		t.Errorf("the purge notice: %+v", *purge)
	}
	out := ts.mustRun(t, "carol", "history 20", "")
	if got := texts(out); slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "watches") }) || !slices.Contains(got, "carol: hello all") {
		t.Errorf("history after the purge:\n%s", out)
	}
}

// Roles, bans, mutes and the message of the day survive a restart, and
// changes made in the store by the command line reach live sessions.
func TestModerationSurvivesARestartAndFollowsTheCommandLine(t *testing.T) {
	ts := modServer(t)
	alice := ts.chatAs(t, "alice")
	alice.say("/op bob")
	alice.waitText("alice made bob a moderator")
	alice.say("/ban dave 7d spam")
	alice.waitText("dave was banned by alice until ")
	alice.say("/mute carol abuse")
	alice.waitText("carol was muted by alice until lifted: abuse")
	alice.say("/motd Welcome back")
	alice.waitText("Message of the day set: Welcome back")
	ts.stop(t)

	ts = startServer(t, ts.cfg)
	if role, err := ts.srv.store.Role(t.Context(), "bob"); err != nil || role != chat.RoleModerator {
		t.Errorf("bob after a restart: %v, %v", role, err)
	}
	if c, err := ts.dial("dave", gossh.Password(scriptPassword)); err == nil {
		c.Close()
		t.Error("a ban did not survive the restart")
	}
	_, errs, status := ts.runScript(t, "carol", "say still muted?", "")
	if status == 0 || !strings.Contains(errs, "you are muted until lifted: abuse") {
		t.Errorf("a muted account's say after the restart: status %d, %q", status, errs)
	}
	bob := ts.chatAs(t, "bob")
	bob.waitText("Message of the day: Welcome back")
	if p, ok := ts.srv.room.Presence("bob"); !ok || p.Role != chat.RoleModerator {
		t.Errorf("bob shows as %v (online %v), want a moderator", p.Role, ok)
	}

	// The command line writes to the store (and its audit log); the
	// server applies it within a second.
	ctx := t.Context()
	if err := ts.srv.store.SetRole(ctx, "bob", chat.RoleMember); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.store.Lift(ctx, "carol", store.Mute); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.store.Sanction(ctx, store.Sanction{Kind: store.Ban, Account: "bob", Reason: "from the CLI", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.store.Audit(ctx, store.AuditEntry{At: time.Now(), Action: "ban", Target: "bob", Reason: "from the CLI"}); err != nil {
		t.Fatal(err)
	}
	if err := bob.waitEnd(); err != nil {
		t.Errorf("bob's session end: %v", err)
	}
	if !strings.Contains(bob.screen(), "You are banned until lifted: from the CLI.") {
		t.Errorf("the CLI ban's reason is not on bob's screen:\n%s", bob.screen())
	}
	// The same pass applied the mutes first.
	if _, errs, status = ts.runScript(t, "carol", "say free again", ""); status != 0 {
		t.Errorf("carol is still muted after the command line lifted it: %q", errs)
	}
}

// The service itself refuses an actor without the role (the commands
// check first, but a role can change in between).
func TestModerationServiceChecksTheActor(t *testing.T) {
	ts := modServer(t)
	mod := ts.srv.room.Moderation()
	ctx := t.Context()
	var refusal chat.Refusal
	if _, err := mod.Ban(ctx, "carol", "dave", 0, ""); !errors.As(err, &refusal) {
		t.Errorf("a member's Ban: %v, want a refusal", err)
	}
	if err := mod.SetRole(ctx, "carol", "dave", chat.RoleModerator); !errors.As(err, &refusal) {
		t.Errorf("a member's SetRole: %v, want a refusal", err)
	}
	if err := mod.SetRole(ctx, "alice", "bob", chat.RoleModerator); err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Mute(ctx, "bob", "alice", time.Hour, ""); !errors.As(err, &refusal) {
		t.Errorf("a moderator's Mute of an admin: %v, want a refusal", err)
	}
	if err := mod.Unmute(ctx, "bob", "dave"); fmt.Sprint(err) != "dave is not muted." {
		t.Errorf("Unmute of nobody muted: %v", err)
	}
}
