package app

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
	"messaging/store"
	"messaging/store/sqlite"
)

// cliResult is what one run of the command line did.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCommand runs the admin command line on the database at db, as main
// does with os.Args[1:].
func runCommand(t *testing.T, db string, args ...string) cliResult {
	t.Helper()
	env := map[string]string{"DATABASE": db, "PUBLIC_HOST": "chat.example.org", "PASSWORD_MIN": "8", "PASSWORD_MAX": "15"}
	var stdout, stderr bytes.Buffer
	code := Command(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return cliResult{code, stdout.String(), stderr.String()}
}

// cliDatabase makes a database holding the accounts named, each with the
// password "password1" and one login from 192.0.2.1.
func cliDatabase(t *testing.T, names ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "messaging.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := store.HashPassword("password1")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := st.CreateAccount(ctx, store.Account{Name: name, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := st.RecordLogin(ctx, name, store.Login{At: time.Now(), Address: "192.0.2.1", Method: "password"}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// inStore runs f on the database at path, opened beside whoever else has it.
func inStore(t *testing.T, path string, f func(store.Store)) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f(st)
}

func TestCommandHelpListsEveryCommand(t *testing.T) {
	r := runCommand(t, "unused.db", "help")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("help: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, c := range cliCommands {
		if !strings.Contains(r.stdout, "messaging") || !strings.Contains(r.stdout, c.words+" "+c.args) {
			t.Errorf("help does not list %q:\n%s", c.words, r.stdout)
		}
	}
}

func TestCommandRefusesWrongFormsWithUsage(t *testing.T) {
	db := cliDatabase(t, "bob")
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"users"}, "unknown command"},
		{[]string{"users", "show"}, "missing arguments"},
		{[]string{"users", "delete"}, "missing arguments"},
		{[]string{"users", "reset-password"}, "missing arguments"},
		{[]string{"users", "show", "bob", "alice"}, `unexpected argument "alice"`},
		{[]string{"users", "role", "bob"}, "missing arguments"},
		{[]string{"users", "role", "bob", "king"}, `unknown role "king"`},
		{[]string{"users", "list", "--color"}, "flag provided but not defined"},
		{[]string{"bans", "add"}, "missing arguments"},
		{[]string{"bans", "add", "bob", "--for", "2x"}, `--for "2x" is not a duration`},
		{[]string{"bans", "add", "bob", "--for", "-1h"}, `--for "-1h" is not a duration`},
		{[]string{"bans", "add", "bob", "--for", "0s"}, `--for "0s" is not a duration`},
		{[]string{"bans", "add", "bob", "--for"}, "flag needs an argument"},
		{[]string{"bans", "remove"}, "missing arguments"},
		{[]string{"bans", "list", "bob"}, `unexpected argument "bob"`},
		{[]string{"audit", "--last", "0"}, "--last 0 is out of range"},
		{[]string{"audit", "--last", "x"}, "invalid value"},
		{[]string{"audit", "--last", "-3"}, "out of range"},
	} {
		r := runCommand(t, db, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.says) || !strings.Contains(r.stderr, "usage: messaging") {
			t.Errorf("%q: exit %d, stderr %q; want 2, %q and the usage", tc.args, r.code, r.stderr, tc.says)
		}
		if r.stdout != "" {
			t.Errorf("%q: stdout %q, want nothing", tc.args, r.stdout)
		}
	}
}

func TestCommandFailsForUnknownAccountOrDatabase(t *testing.T) {
	db := cliDatabase(t, "bob")
	for _, args := range [][]string{
		{"users", "show", "nobody"},
		{"users", "delete", "nobody"},
		{"users", "reset-password", "nobody"},
		{"users", "role", "nobody", "admin"},
		{"bans", "add", "nobody"},
		{"bans", "remove", "nobody"},
	} {
		r := runCommand(t, db, args...)
		if r.code != 1 || r.stderr != "messaging "+args[0]+" "+args[1]+`: no account is called "nobody"`+"\n" {
			t.Errorf("%q: exit %d, stderr %q; want 1 and one line", args, r.code, r.stderr)
		}
	}
	missing := filepath.Join(t.TempDir(), "typo.db")
	r := runCommand(t, missing, "users", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "no database at "+missing) {
		t.Errorf("missing database: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCommand(t, db, "bans", "remove", "bob"); r.code != 1 || !strings.Contains(r.stderr, "bob is not banned") {
		t.Errorf("unbanning a member not banned: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestCLIUsersListShowAndRole(t *testing.T) {
	db := cliDatabase(t, "alice", "Bob")
	if r := runCommand(t, db, "users", "role", "bob", "moderator"); r.code != 0 || r.stdout != "Bob is now moderator.\n" {
		t.Fatalf("role: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r := runCommand(t, db, "users", "list")
	if r.code != 0 {
		t.Fatalf("list: exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.HasPrefix(lines[1], "alice ") || !strings.Contains(lines[1], "member") ||
		!strings.HasPrefix(lines[2], "Bob ") || !strings.Contains(lines[2], "moderator") {
		t.Errorf("list:\n%s", r.stdout)
	}

	r = runCommand(t, db, "users", "list", "--json")
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("list --json: %v in %q", err, line)
		}
		rows = append(rows, row)
	}
	if len(rows) != 2 || rows[1]["name"] != "Bob" || rows[1]["role"] != "moderator" || rows[1]["keys"] != 0.0 {
		t.Errorf("list --json:\n%s", r.stdout)
	}

	r = runCommand(t, db, "users", "show", "BOB")
	for _, want := range []string{"name:", "Bob", "role:", "moderator", "last logins:", "192.0.2.1 by password", "keys:"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("show: exit %d, no %q in:\n%s", r.code, want, r.stdout)
		}
	}
	inStore(t, db, func(st store.Store) {
		if role, err := st.Role(context.Background(), "bob"); err != nil || role != chat.RoleModerator {
			t.Errorf("role in the store: %v, %v", role, err)
		}
	})
}

func TestCLIBansAddListRemoveAndAudit(t *testing.T) {
	db := cliDatabase(t, "alice", "bob")
	r := runCommand(t, db, "bans", "add", "bob", "--for", "7d", "--reason", "spam\x1b[2J spam")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Banned bob by cli") {
		t.Fatalf("bans add: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	inStore(t, db, func(st store.Store) {
		s, err := st.Sanctions(context.Background(), time.Now())
		if err != nil || len(s) != 1 || s[0].Kind != store.Ban || s[0].By != "cli" || s[0].Address != "192.0.2.1" ||
			s[0].Until.Before(time.Now().Add(6*24*time.Hour)) || s[0].Until.After(time.Now().Add(8*24*time.Hour)) {
			t.Errorf("sanctions: %+v, %v", s, err)
		}
	})
	r = runCommand(t, db, "bans", "list")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 2 ||
		!strings.HasPrefix(lines[1], "ban ") || !strings.Contains(lines[1], "bob") || strings.Contains(r.stdout, "\x1b") {
		t.Errorf("bans list: exit %d:\n%q", r.code, r.stdout)
	}
	if r := runCommand(t, db, "bans", "remove", "bob"); r.code != 0 {
		t.Errorf("bans remove: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCommand(t, db, "bans", "list"); strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("bans list after remove:\n%s", r.stdout)
	}
	runCommand(t, db, "users", "role", "alice", "admin")

	r = runCommand(t, db, "audit")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 {
		t.Fatalf("audit: exit %d, stderr %q:\n%s", r.code, r.stderr, r.stdout)
	}
	for i, want := range [][]string{{"cli", "role", "alice", "admin"}, {"cli", "unban", "bob"}, {"cli", "ban", "bob", "7d:", "spam[2J", "spam"}} {
		if fields := strings.Fields(lines[i]); len(fields) < 2+len(want) || !equalStrings(fields[2:2+len(want)], want) {
			t.Errorf("audit line %d: %q, want %q after the time", i, lines[i], want)
		}
	}
	if r := runCommand(t, db, "audit", "--last", "1"); strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, "role") {
		t.Errorf("audit --last 1:\n%s", r.stdout)
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

func TestCLIUsersDeleteHoldsTheName(t *testing.T) {
	db := cliDatabase(t, "bob")
	if r := runCommand(t, db, "users", "delete", "bob"); r.code != 0 || !strings.HasPrefix(r.stdout, "Deleted bob; the name is held until") {
		t.Fatalf("delete: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	inStore(t, db, func(st store.Store) {
		ctx := context.Background()
		if _, err := st.Account(ctx, "bob"); err == nil {
			t.Error("bob is still there")
		}
		if err := st.NameAvailable(ctx, "bob"); err == nil {
			t.Error("the name bob is free at once")
		}
		log, err := st.AuditLog(ctx, 1)
		if err != nil || len(log) != 1 || log[0].Actor != "cli" || log[0].Action != "delete" || log[0].Target != "bob" {
			t.Errorf("audit: %+v, %v", log, err)
		}
	})
}

func TestCLICommandsBesideARunningServer(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "alice", "password1")
	ts.signup(t, "bob", "password1")

	if r := runCommand(t, ts.cfg.Database, "users", "role", "alice", "admin"); r.code != 0 {
		t.Fatalf("users role: exit %d, stderr %q", r.code, r.stderr)
	}
	if role, err := ts.srv.store.Role(context.Background(), "alice"); err != nil || role != chat.RoleAdmin {
		t.Errorf("the server reads alice's role as %v, %v", role, err)
	}
	if r := runCommand(t, ts.cfg.Database, "users", "list"); r.code != 0 || !strings.Contains(r.stdout, "alice") || !strings.Contains(r.stdout, "bob") {
		t.Errorf("users list: exit %d, stderr %q:\n%s", r.code, r.stderr, r.stdout)
	}
	// The server goes on serving while the command line writes.
	ts.loginPassword(t, "alice", "password1")
	if r := runCommand(t, ts.cfg.Database, "bans", "add", "bob", "--reason", "testing"); r.code != 0 {
		t.Fatalf("bans add: exit %d, stderr %q", r.code, r.stderr)
	}
	if s, err := ts.srv.store.Sanctions(context.Background(), time.Now()); err != nil || len(s) != 1 || s[0].Address != "127.0.0.1" {
		t.Errorf("the server reads the sanctions as %+v, %v", s, err)
	}
	// The server reads the ban at the next login: refused, with the reason.
	if _, err := ts.dial("bob", gossh.Password("password1")); err == nil {
		t.Error("banned bob logged in by password")
	}
	_, k, err := ts.dialKeyboard("bob", []string{"password1"})
	if err == nil {
		t.Fatal("banned bob logged in by keyboard-interactive")
	}
	if rounds := k.shown(); !strings.Contains(rounds[len(rounds)-1].instruction, "testing") {
		t.Errorf("the refusal does not say why: %+v", rounds)
	}
}

// resetPassword resets name's password with the command line and returns
// the one-time password it printed.
func resetPassword(t *testing.T, db, name string) string {
	t.Helper()
	r := runCommand(t, db, "users", "reset-password", name)
	if r.code != 0 || !strings.Contains(r.stderr, "One-time password of "+name) {
		t.Fatalf("reset-password: exit %d, stderr %q", r.code, r.stderr)
	}
	oneTime := strings.TrimSuffix(r.stdout, "\n")
	if err := store.ValidatePassword(oneTime, 8, 15); err != nil || strings.Contains(oneTime, "\n") {
		t.Fatalf("one-time password %q: %v", oneTime, err)
	}
	return oneTime
}

func TestResetPasswordMustBeChangedAtKeyboardLogin(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "bob", "password1")
	oneTime := resetPassword(t, ts.cfg.Database, "bob")
	ctx := context.Background()
	if acct, err := ts.srv.store.Account(ctx, "bob"); err != nil || !acct.MustChangePassword {
		t.Fatalf("after the reset: %+v, %v", acct, err)
	}
	if _, err := ts.dial("bob", gossh.Password("password1")); err == nil {
		t.Error("the old password still works")
	}

	c, k, err := ts.dialKeyboard("bob", []string{oneTime}, []string{"newpass12", "newpass12"})
	if err != nil {
		t.Fatalf("keyboard login with the one-time password: %v; rounds %+v", err, k.shown())
	}
	c.Close()
	rounds := k.shown()
	last := rounds[len(rounds)-1]
	if !strings.Contains(last.instruction, "Your password was reset by an admin: choose a new one.") ||
		!equalStrings(last.questions, []string{"New password: ", "Repeat new password: "}) || last.echos[0] || last.echos[1] {
		t.Errorf("the new password round: %+v", last)
	}
	if acct, err := ts.srv.store.Account(ctx, "bob"); err != nil || acct.MustChangePassword {
		t.Errorf("after the change: %+v, %v; want the mark cleared", acct, err)
	}
	ts.loginPassword(t, "bob", "newpass12")
	if _, err := ts.dial("bob", gossh.Password(oneTime)); err == nil {
		t.Error("the one-time password still works")
	}
}

func TestResetPasswordReasksWhatWasWrong(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "bob", "password1")
	oneTime := resetPassword(t, ts.cfg.Database, "bob")

	c, k, err := ts.dialKeyboard("bob", []string{oneTime},
		[]string{"short", "short"}, []string{"newpass12", "newpass13"}, []string{"newpass12", "newpass12"})
	if err != nil {
		t.Fatalf("login: %v; rounds %+v", err, k.shown())
	}
	c.Close()
	var instructions []string
	for _, p := range k.shown() {
		instructions = append(instructions, p.instruction)
	}
	all := strings.Join(instructions, "\n")
	for _, want := range []string{"Password must be 8 to 15 characters long. Please try again (attempt 2 of 3).",
		"The two passwords differ. Please try again (attempt 3 of 3)."} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in the rounds:\n%s", want, all)
		}
	}
	ts.loginPassword(t, "bob", "newpass12")
}

func TestResetPasswordRefusesALoginThatCannotChangeIt(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.signup(t, "bob", "password1")
	oneTime := resetPassword(t, ts.cfg.Database, "bob")

	// Three rounds wrong (the last reuses the one-time password): refused,
	// the one-time password still the one.
	_, _, err := ts.dialKeyboard("bob", []string{oneTime},
		[]string{"short", "short"}, []string{"newpass12", "newpass13"}, []string{oneTime, oneTime})
	if err == nil {
		t.Fatal("logged in without choosing a valid password")
	}
	// The password method cannot ask: refused, and logged.
	if _, err := ts.dial("bob", gossh.Password(oneTime)); err == nil {
		t.Fatal("logged in by the password method with a one-time password")
	}
	if !strings.Contains(ts.logs.String(), "password method cannot change it") {
		t.Errorf("the refusal is not logged:\n%s", ts.logs.String())
	}
	if acct, err := ts.srv.store.Account(context.Background(), "bob"); err != nil || !acct.MustChangePassword {
		t.Errorf("after the refusals: %+v, %v; want the mark kept", acct, err)
	}
}

// An account deleted from the command line while it chats is ended within
// the server's poll of the audit log, with the reason on its screen.
func TestCLIDeleteEndsTheAccountsSessions(t *testing.T) {
	ts := startServer(t, testConfig(t))
	bob := ts.chatter(t, "bob", 120, 30)
	if r := runCommand(t, ts.cfg.Database, "users", "delete", "bob"); r.code != 0 {
		t.Fatalf("users delete: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := bob.waitEnd(); err != nil {
		t.Errorf("session end: %v", err)
	}
	if !strings.Contains(bob.screen(), "Your account bob was deleted by an admin.") {
		t.Errorf("the reason is not on the screen:\n%s", bob.screen())
	}
}
