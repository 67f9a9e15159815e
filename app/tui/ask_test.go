package tui

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"messaging/chat"
)

// asked is what a command's Ask received: the answers, once given.
type asked struct {
	answers [][]string
}

// ask has the screen ask questions for a command that ran from line, as
// a command's Session.Ask does; it returns the session the command holds
// and what its answer receives.
func (f *fixture) ask(line string, questions ...chat.Question) (*commandScreen, *asked) {
	f.t.Helper()
	got := &asked{}
	s := &commandScreen{m: &f.model, line: line}
	s.Ask(questions, func(answers []string) { got.answers = append(got.answers, answers) })
	return s, got
}

var (
	password = chat.Question{Prompt: "Password: ", Secret: true}
	username = chat.Question{Prompt: "Type your username to confirm: "}
)

var (
	keyCtrlC = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	keyEsc   = tea.KeyPressMsg{Code: tea.KeyEscape}
)

// inputText is the screen's input line, without its trailing blanks.
func (f *fixture) inputText() string {
	rows := f.screen()
	return strings.TrimRight(rows[len(rows)-2], " ")
}

func (f *fixture) hintRow() string {
	rows := f.screen()
	return strings.TrimSpace(rows[len(rows)-1])
}

func TestASecretAnswerIsShownOnlyAsDots(t *testing.T) {
	f := newFixture(t, 80, 24, sample())
	f.ask("/passwd", password)
	if got := f.inputText(); got != "Password:" {
		t.Errorf("input row %q, want the question", got)
	}
	if got := f.hintRow(); got != "Enter to answer · Esc to cancel" {
		t.Errorf("hint %q, want what Enter and Esc do", got)
	}
	f.typeText("hunter2 ß")
	if got := f.inputText(); got != "Password: •••••••••" {
		t.Errorf("input row %q, want one • per character typed", got)
	}
	if x := f.model.View().Cursor.X; x != len("Password: ")+9 {
		t.Errorf("cursor at column %d, want after the last •", x)
	}
	// Pasting works, and shows no more.
	f.send(tea.PasteMsg{Content: "pasted\n"})
	if got := f.inputText(); got != "Password: "+strings.Repeat("•", 15) {
		t.Errorf("after a paste the input row is %q", got)
	}
	for _, secret := range []string{"hunter", "pasted", "ß"} {
		if s := f.screenText(); strings.Contains(s, secret) {
			t.Errorf("the screen shows %q of the secret:\n%s", secret, s)
		}
	}
	// The line renderer's bytes too.
	term := newTerminal(80, 24)
	term.draw(&f.model)
	if out := term.emu.String(); strings.Contains(out, "hunter") || !strings.Contains(out, "Password: •••") {
		t.Errorf("the renderer drew:\n%s", out)
	}
}

// The answers arrive in order, on the session the command asked from,
// in the Update that takes the last one: what the answer asks of the
// program (here: quit) is that Update's command.
func TestAnswersArriveInOrderWhereCommandsRun(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	var got []string
	s := &commandScreen{m: &f.model, line: "/account delete"}
	s.Ask([]chat.Question{password, username, password}, func(answers []string) {
		got = answers
		s.Notice("answered, and now quitting")
		s.Quit()
	})
	for i, answer := range []string{"first secret", "alice", "second secret"} {
		if i == 1 && f.inputText() != "Type your username to confirm:" {
			t.Errorf("second question shown as %q", f.inputText())
		}
		if i == 1 && !strings.Contains(f.hintRow(), "2 of 3") {
			t.Errorf("hint %q does not say which question", f.hintRow())
		}
		f.typeText(answer)
		cmd := f.press(tea.KeyEnter)
		if i < 2 {
			if cmd != nil || got != nil {
				t.Fatalf("answer %d: the command's answer ran before the last question", i+1)
			}
			if f.model.ask.prompt.value() != "" {
				t.Errorf("answer %d left %q in the line", i+1, f.model.ask.prompt.value())
			}
			continue
		}
		if cmd == nil || !isQuit(cmd()) {
			t.Error("what the answer asked of the program (quit) was not returned from Update")
		}
	}
	if want := []string{"first secret", "alice", "second secret"}; !slices.Equal(got, want) {
		t.Errorf("answers %q, want %q", got, want)
	}
	if s := f.screenText(); !strings.Contains(s, "answered, and now quitting") {
		t.Errorf("the answer's notice is not shown:\n%s", s)
	}
	if f.model.ask.active || f.inputText() != "> Type a message, /help for commands" {
		t.Errorf("after the last answer the input row is %q", f.inputText())
	}
}

// A command whose answer keeps its line (a wrong password) has it back in
// the input, to send again.
func TestAnAnswerThatKeepsTheLineGivesTheCommandBack(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	f.typeText("/passwd")
	f.model.prompt.sent("/passwd") // as the submit that ran it
	s := &commandScreen{m: &f.model, line: "/passwd"}
	s.Ask([]chat.Question{password}, func([]string) {
		s.Keep()
		s.Notice("Wrong password.")
	})
	f.typeText("wrong")
	f.press(tea.KeyEnter)
	if got := f.model.prompt.value(); got != "/passwd" {
		t.Errorf("input %q, want the command back", got)
	}
}

func TestRecallNeverReturnsASecret(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	f.typeText("an earlier line")
	f.press(tea.KeyEnter)
	f.ask("/passwd", password, username)
	f.typeText("hunter2")
	// Up, Down, Tab and the conversation keys do nothing while asking.
	for _, k := range []tea.KeyPressMsg{{Code: tea.KeyUp}, {Code: tea.KeyDown}, {Code: tea.KeyTab},
		{Code: 'p', Mod: tea.ModCtrl}, {Code: '1', Mod: tea.ModAlt}, {Code: 'k', Mod: tea.ModCtrl}} {
		f.send(k)
		if got := f.model.ask.prompt.value(); got != "hunter2" || f.model.jump.active {
			t.Errorf("%s while asking: the answer is %q, jump open %v", k, got, f.model.jump.active)
		}
	}
	f.press(tea.KeyEnter)
	f.typeText("alice")
	f.press(tea.KeyEnter)
	for range 3 {
		f.press(tea.KeyUp)
		if got := f.model.prompt.value(); got != "an earlier line" {
			t.Errorf("Up gave %q, want only the line sent before", got)
		}
	}
	if slices.ContainsFunc(f.model.prompt.recall, func(l string) bool { return strings.Contains(l, "hunter") || l == "alice" }) {
		t.Errorf("the recall holds an answer: %q", f.model.prompt.recall)
	}
	if f.model.prompt.draft != "" {
		t.Errorf("the draft holds %q", f.model.prompt.draft)
	}
}

func TestEscOrCtrlCCancelsAndTheDraftComesBack(t *testing.T) {
	for _, key := range []tea.KeyPressMsg{keyEsc, keyCtrlC} {
		t.Run(key.String(), func(t *testing.T) {
			f := newFixture(t, 80, 24, nil)
			f.typeText("half a draft")
			f.press(tea.KeyLeft)
			_, got := f.ask("", password, username)
			f.typeText("hunter2")
			f.press(tea.KeyEnter)
			f.typeText("alice")
			if cmd := f.send(key); cmd != nil && isQuit(cmd()) {
				t.Fatal("cancelling a question quit")
			}
			if got.answers != nil {
				t.Errorf("the answer ran with %q after a cancel", got.answers)
			}
			if s := f.screenText(); !strings.Contains(s, "-!- Cancelled.") || strings.Contains(s, "hunter2") {
				t.Errorf("after the cancel:\n%s", s)
			}
			if got, pos := f.model.prompt.value(), f.model.prompt.input.Position(); got != "half a draft" || pos != len("half a draf") {
				t.Errorf("input %q, cursor %d: want the draft as it was", got, pos)
			}
			if f.model.ask.active || f.model.ask.prompt.value() != "" || f.model.ask.answers != nil {
				t.Errorf("the question is still there: %+v", f.model.ask)
			}
			f.press(tea.KeyEnter) // the draft is sent, not an answer
			if got.answers != nil {
				t.Errorf("Enter after the cancel answered %q", got.answers)
			}
		})
	}
}

func TestASecondAskWhileAskingIsRefused(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	_, first := f.ask("/passwd", password)
	_, second := f.ask("/account delete", username)
	if len(f.logEntries("A question is being asked already")) != 1 {
		t.Errorf("no notice for the second Ask:\n%s", f.screenText())
	}
	f.typeText("hunter2")
	f.press(tea.KeyEnter)
	if len(first.answers) != 1 || first.answers[0][0] != "hunter2" || second.answers != nil {
		t.Errorf("first got %q, second %q: want the first answered only", first.answers, second.answers)
	}
	if f.model.ask.active {
		t.Error("the refused Ask is being asked")
	}
}

// An answer may ask again: the question before is over by then.
func TestAnAnswerMayAskAgain(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	var got []string
	s := &commandScreen{m: &f.model}
	s.Ask([]chat.Question{password}, func(a []string) {
		got = append(got, a...)
		s.Ask([]chat.Question{username}, func(a []string) { got = append(got, a...) })
	})
	f.typeText("one")
	f.press(tea.KeyEnter)
	if f.inputText() != "Type your username to confirm:" {
		t.Fatalf("the second question is not asked: %q", f.inputText())
	}
	f.typeText("two")
	f.press(tea.KeyEnter)
	if !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("answers %q", got)
	}
}

func TestNoticesAreShownWhenTheChatOpens(t *testing.T) {
	room, st := newRoom(t)
	f := joinFixture(t, room, st, 100, 24, nil)
	hint := "Log in without a password next time: /key add followed by the contents of ~/.ssh/id_ed25519.pub"
	m := newModel(f.model.ctx, Options{Room: room, Member: f.model.member, Recent: sample(), HistoryLen: 100,
		MaxMessage: 1000, Width: 100, Height: 24, Notices: []string{hint, "second notice"}})
	f.model = m
	entries := f.model.log.entries
	if len(entries) < 2 || entries[len(entries)-2].msg.Body != hint || entries[len(entries)-1].msg.Body != "second notice" {
		t.Fatalf("the log does not end with the notices: %+v", entries)
	}
	if s := f.screenText(); !strings.Contains(s, "-!- Log in without a password next time") {
		t.Errorf("the notice is not shown:\n%s", s)
	}
}

func TestARemovedMemberIsToldWhy(t *testing.T) {
	reason := "Your account was deleted. Goodbye."
	if got := endReason(&chat.RemovedError{Reason: reason}); got != reason {
		t.Errorf("endReason = %q, want %q", got, reason)
	}
	f := newFixture(t, 80, 24, nil)
	if cmd := f.send(endedMsg{&chat.RemovedError{Reason: reason}}); cmd == nil || !isQuit(cmd()) {
		t.Error("the screen does not close")
	}
	if got := f.model.ExitReason(); got != reason {
		t.Errorf("exit reason %q", got)
	}
}

// checked is a Question whose Check refuses the first refusals answers,
// saying so on the session too, and counts its calls.
func checked(q chat.Question, s **commandScreen, refusals int, calls *int) chat.Question {
	q.Check = func(answer string) string {
		*calls++
		(*s).Notice("checking answer " + strconv.Itoa(*calls))
		if *calls <= refusals {
			return "The password is wrong."
		}
		return ""
	}
	return q
}

// A Check runs at Enter: its problem is a notice and the same question is
// asked again, in an empty line, as the same "N of M"; an answer it
// accepts goes on to the next question.
func TestACheckedQuestionIsAskedAgainUntilItsAnswerIsAccepted(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	var s *commandScreen
	calls := 0
	s, got := f.ask("/passwd", checked(password, &s, 2, &calls), username)
	for i, answer := range []string{"nope1", "nope2"} {
		f.typeText(answer)
		if cmd := f.press(tea.KeyEnter); cmd != nil && isQuit(cmd()) {
			t.Fatal("a refused answer quit")
		}
		if n := len(f.logEntries("The password is wrong.")); n != i+1 {
			t.Errorf("after refusal %d: %d problem notices, want %d:\n%s", i+1, n, i+1, f.screenText())
		}
		if len(f.logEntries("checking answer "+strconv.Itoa(i+1))) != 1 {
			t.Errorf("the check's own notice is not shown:\n%s", f.screenText())
		}
		if !f.model.ask.active || f.inputText() != "Password:" || f.model.ask.prompt.value() != "" {
			t.Errorf("after refusal %d: asking %v, input row %q", i+1, f.model.ask.active, f.inputText())
		}
		if !strings.Contains(f.hintRow(), "1 of 2") {
			t.Errorf("hint %q, want the same question", f.hintRow())
		}
		if got.answers != nil {
			t.Fatalf("the answer ran with %q", got.answers)
		}
	}
	f.typeText("right")
	f.press(tea.KeyEnter)
	if calls != 3 || f.inputText() != "Type your username to confirm:" || !strings.Contains(f.hintRow(), "2 of 2") {
		t.Errorf("after an accepted answer: %d checks, input row %q, hint %q", calls, f.inputText(), f.hintRow())
	}
	f.typeText("alice")
	f.press(tea.KeyEnter)
	if len(got.answers) != 1 || !slices.Equal(got.answers[0], []string{"right", "alice"}) {
		t.Errorf("answers %q, want right then alice", got.answers)
	}
	if sc := f.screenText(); strings.Contains(sc, "nope") || strings.Contains(sc, "Cancelled") {
		t.Errorf("the screen shows a refused secret or a cancel:\n%s", sc)
	}
	if slices.ContainsFunc(f.model.prompt.recall, func(l string) bool { return strings.Contains(l, "nope") || l == "right" }) {
		t.Errorf("the recall holds an answer: %q", f.model.prompt.recall)
	}
}

// After MaxReasks asks again, the next refusal ends the questions: no
// "Cancelled." (the problem said why), and the answer never runs.
func TestACheckRefusingPastMaxReasksEndsTheQuestions(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	f.typeText("half a draft")
	var s *commandScreen
	calls := 0
	s, got := f.ask("/passwd", checked(password, &s, 100, &calls), username)
	for range chat.MaxReasks + 1 {
		if !f.model.ask.active {
			t.Fatalf("the questions ended after %d refusals", calls)
		}
		f.typeText("wrong")
		f.press(tea.KeyEnter)
	}
	if calls != chat.MaxReasks+1 || f.model.ask.active {
		t.Errorf("%d checks, asking %v: want %d checks, then no question", calls, f.model.ask.active, chat.MaxReasks+1)
	}
	if n := len(f.logEntries("The password is wrong.")); n != chat.MaxReasks+1 {
		t.Errorf("%d problem notices, want %d", n, chat.MaxReasks+1)
	}
	if len(f.logEntries("Cancelled.")) != 0 {
		t.Errorf("the end says Cancelled.:\n%s", f.screenText())
	}
	if got.answers != nil {
		t.Errorf("the answer ran with %q", got.answers)
	}
	if v := f.model.prompt.value(); v != "half a draft" || f.model.ask.answers != nil || f.model.ask.prompt.value() != "" {
		t.Errorf("after the end: input %q, answers %q", v, f.model.ask.answers)
	}
}

// A line that may hold a secret (chat.Sensitive) leaves the input after it
// ran, even when the command kept it (refused), and Up never recalls it;
// nor does Ctrl+C's "Up brings the line back".
func TestASensitiveLineIsNeitherKeptNorRecalled(t *testing.T) {
	for _, tt := range []struct{ line, notice string }{
		{"/key add -----BEGIN OPENSSH PRIVATE KEY----- abc", "Account commands are not available"}, // refused: Keep
		{"/passwd something", "/passwd takes nothing after it"},
	} {
		t.Run(tt.line, func(t *testing.T) {
			f := newFixture(t, 80, 24, nil)
			f.typeText("an earlier line")
			f.press(tea.KeyEnter)
			f.typeText(tt.line)
			f.press(tea.KeyEnter)
			if len(f.logEntries(tt.notice)) != 1 {
				t.Errorf("the command's notice is not shown:\n%s", f.screenText())
			}
			if v := f.model.prompt.value(); v != "" {
				t.Errorf("the input holds %q after it ran", v)
			}
			for range 3 {
				f.press(tea.KeyUp)
				if v := f.model.prompt.value(); v != "an earlier line" {
					t.Errorf("Up gave %q, want only the line before", v)
				}
			}
			f.press(tea.KeyDown)
			if v := f.model.prompt.value(); v != "" {
				t.Errorf("Down past the newest gave %q", v)
			}
			// Ctrl+C on it: gone, not stashed for Up.
			f.typeText(tt.line)
			f.send(keyCtrlC)
			f.press(tea.KeyUp)
			if v := f.model.prompt.value(); v != "an earlier line" {
				t.Errorf("Up after Ctrl+C gave %q", v)
			}
			if slices.Contains(f.model.prompt.recall, tt.line) || f.model.prompt.draft == tt.line || f.model.prompt.refused != "" {
				t.Errorf("kept: recall %q, draft %q, refused %q", f.model.prompt.recall, f.model.prompt.draft, f.model.prompt.refused)
			}
		})
	}
	// A refused line that is not sensitive is still kept.
	f := newFixture(t, 80, 24, nil)
	f.typeText("/key add ssh-ed25519 AAAA")
	f.press(tea.KeyEnter)
	if v := f.model.prompt.value(); v != "/key add ssh-ed25519 AAAA" {
		t.Errorf("a refused line left the input: %q", v)
	}
}
