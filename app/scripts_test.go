package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
)

const scriptPassword = "password1"

// accounts signs each name up (and closes the signup connection).
func (ts *testServer) accounts(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		ts.signup(t, name, scriptPassword).Close()
	}
}

// runScript runs command as user over a new connection, without a PTY,
// with stdin as its standard input, and returns its output, its errors and
// its exit status.
func (ts *testServer) runScript(t *testing.T, user, command, stdin string) (stdout, stderr string, status int) {
	t.Helper()
	c := ts.loginPassword(t, user, scriptPassword)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errs strings.Builder
	s.Stdin, s.Stdout, s.Stderr = strings.NewReader(stdin), &out, &errs
	done := make(chan error, 1)
	go func() { done <- s.Run(command) }()
	select {
	case err = <-done:
	case <-time.After(waitLimit):
		c.Close()
		t.Fatalf("%q did not end in time", command)
	}
	return out.String(), errs.String(), exitStatus(t, command, err)
}

func exitStatus(t *testing.T, command string, err error) int {
	t.Helper()
	var exit *gossh.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitStatus()
	}
	t.Fatalf("%q: %v, want an exit status", command, err)
	return -1
}

// mustRun runs command and fails the test unless it exits 0 with nothing on
// stderr; it returns the output.
func (ts *testServer) mustRun(t *testing.T, user, command, stdin string) string {
	t.Helper()
	out, errs, status := ts.runScript(t, user, command, stdin)
	if status != 0 || errs != "" {
		t.Fatalf("%q: exit status %d, stderr %q", command, status, errs)
	}
	return out
}

// member joins a hidden member of name in the server's room, reading and
// dropping what it receives, for the test to post with.
func (ts *testServer) member(t *testing.T, name string) *chat.Member {
	t.Helper()
	m, err := ts.srv.room.Watch(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, err := m.Receive(context.Background()); err != nil {
				return
			}
		}
	}()
	t.Cleanup(m.Leave)
	return m
}

// postAll posts bodies in #lobby as m, many in flight, and waits for their
// commits.
func postAll(t *testing.T, m *chat.Member, bodies ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var waiting []*chat.Receipt
	for _, b := range bodies {
		for {
			r, err := m.Send(m.Room().Lobby().ID, chat.KindText, b)
			if errors.Is(err, chat.ErrBusy) && len(waiting) > 0 {
				if err := waiting[0].Wait(ctx); err != nil {
					t.Fatal(err)
				}
				waiting = waiting[1:]
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			waiting = append(waiting, r)
			break
		}
	}
	for _, r := range waiting {
		if err := r.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// texts returns the text lines of a history ("TIME author: body") as
// "author: body".
func texts(out string) []string {
	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if _, rest, ok := strings.Cut(line, " "); ok && strings.Contains(rest, ": ") && !strings.HasPrefix(rest, "-- ") {
			got = append(got, rest)
		}
	}
	return got
}

func TestSayPostsItsArgumentsInTheLobby(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob")
	bob := openTerminal(t, ts.loginPassword(t, "bob", scriptPassword), 100, 30)
	bob.waitText("signed in as bob")

	if out := ts.mustRun(t, "alice", "say hello   world, it's me", ""); out != "" {
		t.Errorf("say printed %q, want nothing", out)
	}
	bob.waitText("alice: hello   world, it's me")
	if strings.Contains(bob.screen(), "alice joined") {
		t.Error("say announced alice")
	}
}

func TestSayPostsEachLineOfItsInputInOrder(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice")
	ts.mustRun(t, "alice", "say", "one\r\ntwo\n\n   \nthree") // blank lines post nothing
	got := texts(ts.mustRun(t, "alice", "history", ""))
	if want := []string{"alice: one", "alice: two", "alice: three"}; !slices.Equal(got, want) {
		t.Errorf("history: %q, want %q", got, want)
	}
}

func TestSayRefusesALineTooLongAndStopsThere(t *testing.T) {
	ts := startServer(t, testConfig(t)) // MaxMessage 1000
	ts.accounts(t, "alice")
	tests := []struct {
		name, command, stdin string
		want                 string // in the one line on stderr
	}{
		{"a line over the limit", "say", "first\n" + strings.Repeat("x", 1001) + "\nnever\n", "line 2: message is 1001 characters long; the limit is 1000"},
		{"a line over the reader's buffer", "say", "first\n" + strings.Repeat("é", 3000) + "\nnever\n", "line 2 is longer than 1000 characters"},
		{"the arguments", "say " + strings.Repeat("y", 1001), "", "message is 1001 characters long; the limit is 1000"},
		{"nothing left once sanitised", "say \x1b\x07", "", "message is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, status := ts.runScript(t, "alice", tt.command, tt.stdin)
			if status != exitRefused || out != "" {
				t.Errorf("exit status %d, output %q; want 1 and nothing", status, out)
			}
			if !strings.HasPrefix(errs, "say: ") || !strings.Contains(errs, tt.want) || strings.Count(errs, "\n") != 1 || !strings.HasSuffix(errs, "\n") {
				t.Errorf("stderr %q, want one line with %q", errs, tt.want)
			}
		})
	}
	got := texts(ts.mustRun(t, "alice", "history 100", ""))
	if want := []string{"alice: first", "alice: first"}; !slices.Equal(got, want) {
		t.Errorf("history: %q, want %q: the lines before the refused one, none after", got, want)
	}
}

func TestSayWaitsOutTheFloodLimitInsteadOfDropping(t *testing.T) {
	cfg := testConfig(t)
	cfg.MsgBurst, cfg.MsgPerSec = 2, 10
	ts := startServer(t, cfg)
	ts.accounts(t, "alice")
	lines := []string{"1", "2", "3", "4", "5", "6", "7"}
	start := time.Now()
	ts.mustRun(t, "alice", "say", strings.Join(lines, "\n")+"\n")
	if took, least := time.Since(start), 400*time.Millisecond; took < least {
		t.Errorf("7 lines over a limit of 2 then 10 a second took %s, want at least %s", took, least)
	}
	var want []string
	for _, l := range lines {
		want = append(want, "alice: "+l)
	}
	if got := texts(ts.mustRun(t, "alice", "history", "")); !slices.Equal(got, want) {
		t.Errorf("history: %q, want %q", got, want)
	}
}

var scriptTime = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`

func TestHistoryPrintsTheLastMessagesOldestFirst(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob")
	bob, err := ts.srv.room.Join(context.Background(), "bob") // visible: a join notice
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for i := range 25 {
		bodies = append(bodies, fmt.Sprintf("message %02d", i))
	}
	postAll(t, bob, bodies...)
	ctx := context.Background()
	if r, err := bob.Send(ts.srv.room.Lobby().ID, chat.KindAction, "waves"); err != nil || r.Wait(ctx) != nil {
		t.Fatal(err)
	}
	// From another node, say: stored as it came, sanitised on the way out.
	raw := chat.Message{Conv: ts.srv.room.Lobby().ID, Author: "bob", Kind: chat.KindText, Time: time.Now(),
		Body: "\x1b]0;pwned\x07\x1b[31mred\x1b[0m \u202eevil"}
	if err := ts.srv.store.Append(ctx, []chat.Message{raw}); err != nil {
		t.Fatal(err)
	}
	bob.Leave()
	postAll(t, ts.member(t, "alice"), "last") // after bob's leave notice

	out := ts.mustRun(t, "alice", "history", "")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != historyDefault {
		t.Fatalf("history printed %d lines, want %d:\n%s", len(lines), historyDefault, out)
	}
	if strings.ContainsAny(out, "\x1b\x07\u202e\r") {
		t.Errorf("history printed control characters: %q", out)
	}
	line := regexp.MustCompile(`^` + scriptTime + ` `)
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("line %q does not start with a UTC time", l)
		}
	}
	tail := lines[len(lines)-5:]
	for i, want := range []string{`bob: message 24`, `\* bob waves`, `bob: .*red.*evil`, `-- bob left`, `alice: last`} {
		if !regexp.MustCompile(`^` + scriptTime + ` ` + want + `$`).MatchString(tail[i]) {
			t.Errorf("line %d from the end: %q, want %s", 5-i, tail[i], want)
		}
	}
	if lines[0][len("2026-01-01T00:00:00Z "):] != "bob: message 09" {
		t.Errorf("first line %q, want message 09 (the last 20, oldest first)", lines[0])
	}

	three := strings.Split(strings.TrimSuffix(ts.mustRun(t, "alice", "history 3", ""), "\n"), "\n")
	if !slices.Equal(three, lines[len(lines)-3:]) {
		t.Errorf("history 3: %q, want the last three of %q", three, lines)
	}
	all := ts.mustRun(t, "alice", "history 1000", "")
	if n := strings.Count(all, "\n"); n != 1+25+1+1+1+1 { // join, posts, action, raw, leave, last
		t.Errorf("history 1000 printed %d lines, want all 30:\n%s", n, all)
	}
	if !regexp.MustCompile(`(?m)^` + scriptTime + ` -- bob joined$`).MatchString(all) {
		t.Errorf("no join notice in\n%s", all)
	}
}

// scriptLine is a line of --json output as a client reads it.
type scriptLine struct {
	ID           int64  `json:"id"`
	Time         string `json:"time"`
	Conversation string `json:"conversation"`
	From         string `json:"from"`
	Kind         string `json:"kind"`
	Text         string `json:"text"`
	To           string `json:"to"`
}

func parseJSONLines(t *testing.T, out string) []scriptLine {
	t.Helper()
	var got []scriptLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l scriptLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339, l.Time); err != nil {
			t.Errorf("line %q: time: %v", sc.Text(), err)
		}
		got = append(got, l)
	}
	return got
}

func TestHistoryJSONPagesThroughAThousandMessages(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob")
	bob := ts.member(t, "bob")
	var bodies []string
	for i := range 1100 {
		bodies = append(bodies, fmt.Sprint("m", i))
	}
	postAll(t, bob, bodies...)
	if r, err := bob.Send(ts.srv.room.Lobby().ID, chat.KindAction, "waves <&>"); err != nil || r.Wait(context.Background()) != nil {
		t.Fatal(err)
	}

	got := parseJSONLines(t, ts.mustRun(t, "alice", "history --json 1000", ""))
	if len(got) != 1000 {
		t.Fatalf("%d messages, want 1000", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID <= got[i-1].ID {
			t.Fatalf("message %d has ID %d after %d: not oldest first", i, got[i].ID, got[i-1].ID)
		}
	}
	first, last := got[0], got[len(got)-1]
	if first.Text != "m101" || first.Kind != "text" || first.From != "bob" || first.Conversation != "#lobby" {
		t.Errorf("first: %+v, want bob's m101", first)
	}
	if last.Text != "waves <&>" || last.Kind != "action" || last.From != "bob" {
		t.Errorf("last: %+v, want bob's action", last)
	}

	two := parseJSONLines(t, ts.mustRun(t, "alice", "history 2 --json", ""))
	if len(two) != 2 || two[0] != got[998] || two[1] != got[999] {
		t.Errorf("history 2 --json: %+v, want the last two", two)
	}
}

func TestScriptsRefuseBadUsageWithStatus2(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice")
	tests := []struct{ command, want string }{
		{"history 0", `N must be a whole number from 1 to 1000, not "0"`},
		{"history 1001", `not "1001"`},
		{"history abc", `not "abc"`},
		{"history -5", `not "-5"`},
		{"history 2.5", `not "2.5"`},
		{"history 5 6", `unexpected argument "6"`},
		{"history --xml", `unknown flag "--xml"`},
		{"history 5 --json --verbose", `unknown flag "--verbose"`},
		{"who everyone", `unexpected argument "everyone"`},
		{"who --json", `unknown flag "--json"`},
		{"tail 10", `unexpected argument "10"`},
		{"tail -f", `unknown flag "-f"`},
		{"help say", `unexpected argument "say"`},
		{"frobnicate --now", `unknown command "frobnicate"`},
		{"Say hi", `unknown command "Say"`},
		{"\x1b[2Jclear", `unknown command "[2Jclear"`},
		{"   ", `no command given`},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			out, errs, status := ts.runScript(t, "alice", tt.command, "")
			if status != exitUsage || out != "" {
				t.Errorf("exit status %d, output %q; want 2 and nothing", status, out)
			}
			first, usage, _ := strings.Cut(errs, "\n")
			if !strings.Contains(first, tt.want) {
				t.Errorf("first line %q, want %q", first, tt.want)
			}
			if !strings.HasPrefix(usage, "usage: ssh -p ") || !strings.Contains(usage, "alice@chat.example.org COMMAND") ||
				!strings.Contains(usage, "history [N] [--json]") || !strings.HasSuffix(usage, "\n") {
				t.Errorf("no usage after the line:\n%s", errs)
			}
			if strings.Contains(errs, "\x1b") {
				t.Errorf("stderr holds an escape: %q", errs)
			}
		})
	}
}

func TestHelpListsTheCommands(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice")
	out := ts.mustRun(t, "alice", "help", "")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1+len(scriptCommands()) {
		t.Fatalf("help printed %d lines, want the usage and one a command:\n%s", len(lines), out)
	}
	for i, c := range scriptCommands() {
		if f := strings.Fields(lines[1+i]); f[0] != c.name {
			t.Errorf("line %q, want the command %s", lines[1+i], c.name)
		}
	}
}

// tailSession is a tail running over its own connection, read line by line
// unless told to stop.
type tailSession struct {
	t       *testing.T
	client  *gossh.Client
	session *gossh.Session
	stdin   io.WriteCloser
	stdout  io.Reader
	stderr  *syncBuffer
	ended   chan struct{}
	exit    error

	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

// startTail runs command (a tail) as user. With pty, it asks for one.
// Unless read is false, its output is read as it comes.
func (ts *testServer) startTail(t *testing.T, user, command string, pty, read bool) *tailSession {
	t.Helper()
	c := ts.loginPassword(t, user, scriptPassword)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if pty {
		if err := s.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
	}
	tl := &tailSession{t: t, client: c, session: s, stderr: &syncBuffer{}, ended: make(chan struct{}), changed: make(chan struct{})}
	if tl.stdin, err = s.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if tl.stdout, err = s.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	s.Stderr = tl.stderr
	if err := s.Start(command); err != nil {
		t.Fatal(err)
	}
	if read {
		go tl.read()
	}
	go func() {
		tl.exit = s.Wait()
		close(tl.ended)
	}()
	t.Cleanup(func() { c.Close() })
	return tl
}

func (tl *tailSession) read() {
	sc := bufio.NewScanner(tl.stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		tl.mu.Lock()
		tl.lines = append(tl.lines, sc.Text())
		close(tl.changed)
		tl.changed = make(chan struct{})
		tl.mu.Unlock()
	}
}

func (tl *tailSession) output() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.lines)
}

// waitLine waits for a line matching re and returns it.
func (tl *tailSession) waitLine(re string) string {
	tl.t.Helper()
	match := regexp.MustCompile(re)
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		tl.mu.Lock()
		lines, changed := tl.lines, tl.changed
		tl.mu.Unlock()
		for _, l := range lines {
			if match.MatchString(l) {
				return l
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			tl.t.Fatalf("no line matching %s; output:\n%s\nstderr: %s", re, strings.Join(lines, "\n"), tl.stderr.String())
		case <-tl.ended:
			tl.t.Fatalf("tail ended (%v) while waiting for %s; stderr: %s", tl.exit, re, tl.stderr.String())
		}
	}
}

// live posts a ping as poster until the tail shows one: from then on, it
// receives everything.
func (tl *tailSession) live(poster *chat.Member) {
	tl.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for i := 0; ; i++ {
		postAll(tl.t, poster, fmt.Sprint("ping ", i))
		tl.mu.Lock()
		changed := tl.changed
		seen := slices.ContainsFunc(tl.lines, func(l string) bool { return strings.Contains(l, "ping ") })
		tl.mu.Unlock()
		if seen {
			return
		}
		if time.Now().After(deadline) {
			tl.t.Fatal("the tail never showed a ping")
		}
		select { // the next line, or a moment: the tail may not have joined yet
		case <-changed:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitEnd waits for the tail to end and returns its exit status and
// stderr.
func (tl *tailSession) waitEnd() (int, string) {
	tl.t.Helper()
	select {
	case <-tl.ended:
	case <-time.After(waitLimit):
		tl.t.Fatalf("the tail did not end; stderr: %s", tl.stderr.String())
	}
	return exitStatus(tl.t, "tail", tl.exit), tl.stderr.String()
}

func TestTailPrintsTheMessagesOfEveryConversationAsTheyCome(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob")
	ctx := context.Background()
	dev, err := ts.member(t, "alice").JoinChannel(ctx, "#dev") // before the tail: in its memberships
	if err != nil {
		t.Fatal(err)
	}
	bob := ts.member(t, "bob")
	if _, err := bob.JoinChannel(ctx, "#dev"); err != nil {
		t.Fatal(err)
	}
	text := ts.startTail(t, "alice", "tail", false, true)
	asJSON := ts.startTail(t, "alice", "tail --json", false, true)
	text.live(bob)
	asJSON.live(bob)

	ts.mustRun(t, "bob", "say hello \x1b[31mthere", "")
	text.waitLine(`^` + scriptTime + ` bob: hello \[31mthere$`)
	if r, err := bob.Send(dev.ID, chat.KindText, "in dev"); err != nil || r.Wait(ctx) != nil {
		t.Fatal(err)
	}
	text.waitLine(`^\[#dev\] ` + scriptTime + ` bob: in dev$`)
	direct, err := bob.Direct(ctx, "alice") // after the tail started
	if err != nil {
		t.Fatal(err)
	}
	if r, err := bob.Send(direct.ID, chat.KindAction, "whispers"); err != nil || r.Wait(ctx) != nil {
		t.Fatal(err)
	}
	text.waitLine(`^\[@bob\] ` + scriptTime + ` \* bob whispers$`)
	for _, l := range text.output() {
		if strings.ContainsAny(l, "\x1b\r") {
			t.Errorf("tail printed %q", l)
		}
	}

	asJSON.waitLine(`"text":"whispers"`)
	var got []scriptLine
	for _, l := range parseJSONLines(t, strings.Join(asJSON.output(), "\n")) {
		if !strings.HasPrefix(l.Text, "ping ") {
			got = append(got, scriptLine{Conversation: l.Conversation, From: l.From, Kind: l.Kind, Text: l.Text})
		}
	}
	want := []scriptLine{
		{Conversation: "#lobby", From: "bob", Kind: "text", Text: "hello [31mthere"},
		{Conversation: "#dev", From: "bob", Kind: "text", Text: "in dev"},
		{Conversation: "@bob", From: "bob", Kind: "action", Text: "whispers"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("tail --json: %+v, want %+v", got, want)
	}
}

func TestATailIsNeverOnline(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob", "carol")
	bob := openTerminal(t, ts.loginPassword(t, "bob", scriptPassword), 100, 30)
	bob.waitText("signed in as bob")
	carol := openTerminal(t, ts.loginPassword(t, "carol", scriptPassword), 100, 30)
	bob.waitText("→ carol joined")
	carol.say("/away lunch")
	bob.waitText("carol is away")

	tail := ts.startTail(t, "alice", "tail", false, true)
	tail.live(ts.member(t, "bob"))
	if out := ts.mustRun(t, "bob", "who", ""); out != "bob\ncarol (away)\n" {
		t.Errorf("who: %q, want bob and carol (away)", out)
	}
	bob.say("/who")
	bob.waitText("2 online in #lobby: bob, carol (away: lunch)")
	ts.mustRun(t, "bob", "say still there?", "")
	tail.waitLine(`bob: still there\?$`)
	if screen := bob.screen(); strings.Contains(screen, "alice") {
		t.Errorf("bob's screen shows alice:\n%s", screen)
	}
	if _, online := ts.srv.room.Presence("alice"); online {
		t.Error("alice is online")
	}
}

func TestATailEndsAtShutdown(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob")
	tail := ts.startTail(t, "alice", "tail", false, true)
	tail.live(ts.member(t, "bob"))
	ts.stop(t)
	if status, errs := tail.waitEnd(); status != exitRefused || errs != "tail: The server is shutting down.\n" {
		t.Errorf("exit status %d, stderr %q; want 1 and why", status, errs)
	}
}

func TestATailEndsWhenTheAccountIsRemoved(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob")
	tail := ts.startTail(t, "alice", "tail", false, true)
	tail.live(ts.member(t, "bob"))
	if n := ts.srv.room.Disconnect("ALICE", "Your account was deleted."); n != 1 {
		t.Errorf("Disconnect = %d, want 1", n)
	}
	if status, errs := tail.waitEnd(); status != exitRefused || errs != "tail: Your account was deleted.\n" {
		t.Errorf("exit status %d, stderr %q; want 1 and the reason", status, errs)
	}
}

func TestATailWithATerminalQuitsOnCtrlC(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob")
	tail := ts.startTail(t, "alice", "tail", true, true)
	tail.live(ts.member(t, "bob"))
	if _, err := io.WriteString(tail.stdin, "\x03"); err != nil {
		t.Fatal(err)
	}
	if status, errs := tail.waitEnd(); status != exitOK || errs != "" {
		t.Errorf("exit status %d, stderr %q; want 0 and nothing", status, errs)
	}
}

// A tail whose client stops reading is evicted like a slow chat: it gets
// nothing more, and once its client reads again, it says why and exits 1.
func TestATailThatStopsReadingIsCut(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: fills a client's SSH window")
	}
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob")
	tail := ts.startTail(t, "alice", "tail", false, false)
	// Read until the tail is live, then stop reading.
	poster := ts.member(t, "bob")
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(tail.stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ping") {
				close(seen)
				return
			}
		}
	}()
	deadline := time.Now().Add(waitLimit)
	for live := false; !live; {
		postAll(t, poster, "ping")
		select {
		case <-seen:
			live = true
		case <-time.After(50 * time.Millisecond): // the tail may not have joined yet
		}
		if time.Now().After(deadline) {
			t.Fatal("the tail never showed a ping")
		}
	}
	// 2 MiB of SSH window, then a blocked write, the outbox and the
	// overflow: about 3,600 messages of 1,000 characters evict it.
	line := strings.Repeat("x", 990)
	var flood []string
	for i := range 5000 {
		flood = append(flood, fmt.Sprintf("%05d %s", i, line))
	}
	postAll(t, poster, flood...)
	waitUntil(t, "the eviction", func() bool {
		return strings.Contains(ts.logs.String(), "chat: member evicted") || isClosed(tail.ended)
	})
	go func() { _, _ = io.Copy(io.Discard, tail.stdout) }() // reading again
	status, errs := tail.waitEnd()
	if status != exitRefused || errs != "tail: you were disconnected because your connection could not keep up\n" {
		t.Errorf("exit status %d, stderr %q; want 1 and why\nlog:\n%s", status, errs, ts.logs.String())
	}
	if _, online := ts.srv.room.Presence("alice"); online {
		t.Error("alice is online")
	}
	waitUntil(t, "the tail's session to end", func() bool { return ts.srv.sessions.len() == 0 })
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestScriptsWithATerminalEndLinesWithCRLF(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice")
	run := func(command string) (string, string, int) {
		t.Helper()
		s, err := ts.loginPassword(t, "alice", scriptPassword).NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		var out, errs strings.Builder
		s.Stdout, s.Stderr = &out, &errs
		status := exitStatus(t, command, s.Run(command))
		return out.String(), errs.String(), status
	}
	if out, _, status := run("say with a terminal"); status != 0 || out != "" {
		t.Errorf("say: exit status %d, output %q", status, out)
	}
	out, _, status := run("history 1")
	if status != 0 || !regexp.MustCompile(`^`+scriptTime+` alice: with a terminal\r\n$`).MatchString(out) {
		t.Errorf("history 1: exit status %d, output %q", status, out)
	}
	// A terminal in raw mode gives say no lines to read.
	if _, errs, status := run("say"); status != exitUsage || !strings.Contains(errs, "give the text as arguments") {
		t.Errorf("say without text: exit status %d, stderr %q; want 2", status, errs)
	}
	if _, errs, status := run("ls -la"); status != exitUsage || !strings.HasPrefix(errs, "unknown command \"ls\"\r\n") {
		t.Errorf("ls -la: exit status %d, stderr %q; want 2", status, errs)
	}
}

// fakeConn is the connection the watch looks after, in a unit test.
type fakeConn struct {
	gossh.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *fakeConn) Close() error         { c.once.Do(func() { close(c.closed) }); return nil }
func (c *fakeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *fakeConn) SendRequest(string, bool, []byte) (bool, []byte, error) {
	<-c.closed
	return false, nil, io.EOF
}

// The watch closes the connection of a session the room removed (its
// account deleted) once the grace has passed, as for an eviction: its
// program may be blocked writing to a client that stopped reading.
func TestTheWatchClosesARemovedSessionsConnectionAfterTheGrace(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice")
	m, err := ts.srv.room.Join(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Leave()
	conn := &fakeConn{closed: make(chan struct{})}
	stop := ts.srv.watch(conn, m, "alice")
	defer stop()
	start := time.Now()
	if n := ts.srv.room.Disconnect("alice", "Your account was deleted."); n != 1 {
		t.Fatalf("Disconnect = %d, want 1", n)
	}
	select {
	case <-conn.closed:
	case <-time.After(waitLimit):
		t.Fatal("the connection was not closed")
	}
	if took := time.Since(start); took < evictedGrace {
		t.Errorf("closed after %s, before the grace of %s", took, evictedGrace)
	}
	if !strings.Contains(ts.logs.String(), "closing connection: removed") {
		t.Errorf("no reason in the log:\n%s", ts.logs.String())
	}
}

func TestHistoryShowsAPurgedMessageAsRemovedAndThePurgeNotice(t *testing.T) {
	ts := startServer(t, testConfig(t))
	ts.accounts(t, "alice", "bob")
	ctx := context.Background()
	postAll(t, ts.member(t, "bob"), "before the purge")
	since := time.Now().Truncate(time.Second).Add(time.Second)
	lobby := ts.srv.room.Lobby()
	// Stored at since and after: the purge removes them.
	later := []chat.Message{
		{Conv: lobby.ID, Author: "bob", Kind: chat.KindText, Time: since, Body: "spam one"},
		{Conv: lobby.ID, Author: "bob", Kind: chat.KindAction, Time: since.Add(time.Second), Body: "spams"},
		{Conv: lobby.ID, Author: "alice", Kind: chat.KindText, Time: since.Add(2 * time.Second), Body: "stop it"},
	}
	if err := ts.srv.store.Append(ctx, later); err != nil {
		t.Fatal(err)
	}
	if n, err := ts.srv.store.Purge(ctx, "bob", since); err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2 removed", n, err)
	}
	notice := chat.Message{Conv: lobby.ID, Author: "bob", Kind: chat.KindPurge, Time: since.Add(3 * time.Second), Body: "carol", Since: since}
	if err := ts.srv.store.Append(ctx, []chat.Message{notice}); err != nil {
		t.Fatal(err)
	}

	out := ts.mustRun(t, "alice", "history 5", "")
	if strings.Contains(out, "spam") || strings.Contains(out, "carol") {
		t.Errorf("history shows a removed text or the moderator:\n%s", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	at := since.UTC().Format(time.RFC3339)
	want := []string{
		`bob: before the purge`,
		`bob: \[removed by a moderator\]`,
		`\* bob \[removed by a moderator\]`,
		`alice: stop it`,
		`-- bob's messages since ` + at + ` were removed by a moderator`,
	}
	if len(lines) != len(want) {
		t.Fatalf("history 5 printed %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !regexp.MustCompile(`^` + scriptTime + ` ` + w + `$`).MatchString(lines[i]) {
			t.Errorf("line %d: %q, want %s", i+1, lines[i], w)
		}
	}

	type removedLine struct {
		From    string `json:"from"`
		Kind    string `json:"kind"`
		Removed bool   `json:"removed"`
		Since   string `json:"since"`
	}
	var got []removedLine
	for _, l := range strings.Split(strings.TrimSuffix(ts.mustRun(t, "alice", "history 4 --json", ""), "\n"), "\n") {
		var r removedLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if (r.Removed || r.Kind == "purge") && !strings.Contains(l, `"text":""`) {
			t.Errorf("line %q: want an empty text", l)
		}
		got = append(got, r)
	}
	wantJSON := []removedLine{
		{From: "bob", Kind: "text", Removed: true},
		{From: "bob", Kind: "action", Removed: true},
		{From: "alice", Kind: "text"},
		{From: "bob", Kind: "purge", Since: at},
	}
	if !slices.Equal(got, wantJSON) {
		t.Errorf("history 4 --json:\n got %+v\nwant %+v", got, wantJSON)
	}
}

func TestScriptLinesOfARemovedMessageAndAPurge(t *testing.T) {
	at := time.Date(2026, 3, 4, 14, 7, 0, 0, time.UTC)
	since := at.Add(-2 * time.Minute)
	removed := chat.Message{ID: 7, Time: at, Author: "bob", Kind: chat.KindText, Body: "left behind", Removed: true}
	purge := chat.Message{ID: 9, Time: at, Author: "bob", Kind: chat.KindPurge, Body: "carol", Since: since}
	f := scriptFormatter{lobby: "#lobby", maxBody: 1000}
	for _, tt := range []struct {
		msg  chat.Message
		want string
	}{
		{removed, "2026-03-04T14:07:00Z bob: [removed by a moderator]\n"},
		{purge, "2026-03-04T14:07:00Z -- bob's messages since 2026-03-04T14:05:00Z were removed by a moderator\n"},
	} {
		if got := string(f.line(tt.msg, "#lobby")); got != tt.want {
			t.Errorf("text line of %+v = %q, want %q", tt.msg, got, tt.want)
		}
	}
	f.asJSON = true
	for _, tt := range []struct {
		msg  chat.Message
		want string
	}{
		{removed, `{"id":7,"time":"2026-03-04T14:07:00Z","conversation":"#lobby","from":"bob","kind":"text","text":"","removed":true}` + "\n"},
		{purge, `{"id":9,"time":"2026-03-04T14:07:00Z","conversation":"#lobby","from":"bob","kind":"purge","text":"","since":"2026-03-04T14:05:00Z"}` + "\n"},
	} {
		if got := string(f.line(tt.msg, "#lobby")); got != tt.want {
			t.Errorf("JSON line of %+v = %s, want %s", tt.msg, got, tt.want)
		}
	}
}
