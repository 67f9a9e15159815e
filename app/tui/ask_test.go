package tui

import (
	"slices"
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
