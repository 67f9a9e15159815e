package app

import (
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// /passwd in the full-screen chat: each answer is checked as it is
// given, and a wrong one is said and asked again: the current password,
// a new one that breaks the rules, a repeat that differs. Then only the
// new password logs in. No answer is ever on the screen, in what the
// server sent, or in its log, and Up recalls /passwd, never an answer.
func TestPasswdInTheChatRefusesThenChanges(t *testing.T) {
	ts := startServer(t, testConfig(t))
	tm := ts.chatter(t, "alice", 180, 30)
	tm.say("/passwd")
	for _, step := range []struct{ question, answer, said string }{
		{"Current password:", "wrong pass", "The password is wrong."},
		{"Current password:", "password1", ""},
		{"New password:", "short", "Password must be 8 to 15 characters long."},
		{"New password:", "new secret 9", ""},
		{"New password again:", "new secret 8", "That is not the new password typed before."},
		{"New password again:", "new secret 9", "Password changed."},
	} {
		tm.waitFor(step.question+" asked", func(s string) bool { return strings.HasPrefix(inputRow(s), step.question) })
		tm.say(step.answer)
		if step.said != "" {
			tm.waitText(step.said)
		}
	}

	for _, secret := range []string{"wrong pass", "password1", "new secret", "short"} {
		if strings.Contains(tm.rawOutput(), secret) {
			t.Errorf("the screen was sent %q", secret)
		}
		if strings.Contains(ts.logs.String(), secret) {
			t.Errorf("the server logged %q", secret)
		}
	}
	tm.send("\x1b[A") // Up recalls /passwd, never an answer
	tm.waitFor("/passwd recalled", func(s string) bool { return strings.Contains(inputRow(s), "/passwd") })

	if c, err := ts.dial("alice", gossh.Password("password1")); err == nil {
		c.Close()
		t.Fatal("the old password still logs in")
	}
	ts.loginPassword(t, "alice", "new secret 9")
}

// /account delete in the full-screen chat: a wrong name keeps the
// account; the right one ends every session of it with the reason. The
// name is then held (signup refuses it and its look-alikes), the account
// no longer logs in, and its messages stay in history as from a deleted
// account.
func TestAccountDeleteEndsItsSessionsAndHoldsTheName(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "bob")
	alice := ts.chatter(t, "alice", 180, 30)
	other := openTerminal(t, ts.loginPassword(t, "alice", "password1"), 180, 30)
	other.waitText("signed in as alice")
	alice.say("hello from alice")
	alice.waitText("alice: hello from alice")

	alice.say("/account")
	alice.waitText("Account alice: signed up ")
	alice.waitText("from 127.0.0.1 by signup")

	alice.say("/account delete")
	alice.waitText("Password:")
	alice.say("password1")
	alice.waitText("Type your username to confirm:")
	alice.say("bob")
	alice.waitText("The name typed is not alice: your account is not deleted.")
	if _, err := ts.srv.store.Account(t.Context(), "alice"); err != nil {
		t.Fatalf("after a wrong name: %v", err)
	}
	alice.say("ALICE") // asked again
	for _, tm := range []*terminal{alice, other} {
		if err := tm.waitEnd(); err != nil {
			t.Errorf("session end: %v", err)
		}
		if !strings.Contains(tm.screen(), "Your account alice is deleted. Goodbye.") {
			t.Errorf("the reason is not on the screen:\n%s", tm.screen())
		}
	}

	if c, err := ts.dial("alice", gossh.Password("password1")); err == nil {
		c.Close()
		t.Fatal("a deleted account still logs in")
	}
	for _, name := range []string{"alice", "AIice"} {
		c, k, err := ts.dialKeyboard("signup", []string{name, "password1", "password1"})
		if err == nil {
			c.Close()
			t.Fatalf("signup took %s, the name of an account deleted now", name)
		}
		if shown := k.shown(); len(shown) < 2 || !strings.Contains(shown[1].instruction, "taken") && !strings.Contains(shown[1].instruction, "too similar") {
			t.Errorf("signup as %s was told %+v, want taken or too similar", name, shown)
		}
	}
	out := ts.mustRun(t, "bob", "history 5", "")
	if !strings.Contains(out, " alice (deleted): hello from alice\n") {
		t.Errorf("history after the deletion:\n%s", out)
	}
}
