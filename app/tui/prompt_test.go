package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// newTestPrompt is a prompt for messages of at most 200 characters.
func newTestPrompt(t *testing.T) *prompt {
	t.Helper()
	st := newStyles(colorprofile.ANSI256)
	p := newPrompt(&st, 200)
	return &p
}

// typeText types s into the prompt, a key a character.
func (p *prompt) typeText(s string) {
	for _, r := range s {
		p.edit(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func TestPromptRecallsLinesAndKeepsTheDraft(t *testing.T) {
	p := newTestPrompt(t)
	for _, line := range []string{"one", "two", "two", "three"} {
		p.sent(line)
	}
	if len(p.recall) != 3 {
		t.Errorf("recall holds %q: a line sent twice in a row is kept once", p.recall)
	}
	p.typeText("draft")
	for _, want := range []string{"three", "two", "one", "one"} {
		if p.recallLine(-1); p.value() != want {
			t.Errorf("Up gave %q, want %q", p.value(), want)
		}
	}
	for _, want := range []string{"two", "three", "draft", "draft"} {
		if p.recallLine(1); p.value() != want {
			t.Errorf("Down gave %q, want %q", p.value(), want)
		}
	}
	for i := range recallSize + 10 {
		p.remember(strings.Repeat("x", i+1))
	}
	if len(p.recall) != recallSize || p.recall[0] != strings.Repeat("x", 11) {
		t.Errorf("recall holds %d lines from %q; want the last %d", len(p.recall), p.recall[0], recallSize)
	}
}

// A refused line stays to fix; a command typed after it is the line Enter
// submits, without it.
func TestPromptKeepsARefusedLine(t *testing.T) {
	p := newTestPrompt(t)
	p.typeText("/me")
	p.keep(p.line(), true)
	if p.value() != "/me" || p.refused != "/me" {
		t.Fatalf("after a refusal: input %q, refused %q", p.value(), p.refused)
	}
	p.typeText(" waves")
	if got := p.line(); got != "/me waves" {
		t.Errorf("the refused line fixed submits %q", got)
	}
	p.input.SetValue("/me /who")
	line := p.line()
	if line != "/who" {
		t.Fatalf("a command typed after a refused line submits %q, want /who", line)
	}
	p.keep(line, true) // refused too: it is what stays
	if p.value() != "/who" || p.refused != "/who" {
		t.Errorf("a second refusal: input %q, refused %q", p.value(), p.refused)
	}
	p.sent(p.line())
	if p.value() != "" || p.refused != "" || p.recall[len(p.recall)-1] != "/who" {
		t.Errorf("after sending: input %q, refused %q, recall %q", p.value(), p.refused, p.recall)
	}
}

func TestPromptGivesBackALineOnlyToAnEmptyInput(t *testing.T) {
	p := newTestPrompt(t)
	p.giveBack("lost")
	if p.value() != "lost" {
		t.Errorf("an empty input took back %q", p.value())
	}
	p.clear()
	p.typeText("new")
	p.giveBack("lost")
	if p.value() != "new" {
		t.Errorf("giving back a line replaced what was typed since: %q", p.value())
	}
}

func TestPromptPastesAParagraphAsOneLineOrNotAtAll(t *testing.T) {
	p := newTestPrompt(t)
	if _, notice := p.paste(tea.PasteMsg{Content: "one\ntwo\r\nthree"}); notice != "" || p.value() != "one two three" {
		t.Errorf("paste gave %q, notice %q", p.value(), notice)
	}
	_, notice := p.paste(tea.PasteMsg{Content: strings.Repeat("z", inputLimit(200))})
	if p.value() != "one two three" || !strings.Contains(notice, "Not pasted") || !strings.Contains(notice, "the limit is 200") {
		t.Errorf("an oversized paste: input %q, notice %q", p.value(), notice)
	}
}

func TestPromptCompletesCommandsThenNames(t *testing.T) {
	p := newTestPrompt(t)
	online := []string{"alice", "bob", "bobby"}
	channels := []string{"#go", "#golang", "#lobby"}
	p.typeText("/whoi")
	if notice := p.complete(online, channels); notice != "" || p.value() != "/whois " {
		t.Errorf("/whoi Tab gave %q, notice %q", p.value(), notice)
	}
	p.typeText("bo")
	p.complete(online, channels)
	if notice := p.complete(online, channels); p.value() != "/whois bob" || notice != "2 names match: bob, bobby" {
		t.Errorf("an ambiguous name: %q, notice %q", p.value(), notice)
	}
	p.typeText(" ")
	p.typeText("x")
	if p.value() != "/whois bob x" {
		t.Errorf("typing after a completion gave %q: the cursor is not after it", p.value())
	}
	p.clear()
	p.typeText("/join #l")
	if notice := p.complete(online, channels); notice != "" || p.value() != "/join #lobby " {
		t.Errorf("#l Tab gave %q, notice %q", p.value(), notice)
	}
	p.clear()
	p.typeText("#go")
	if notice := p.complete(online, channels); p.value() != "#go" || notice != "2 channels match: #go, #golang" {
		t.Errorf("an ambiguous channel: %q, notice %q", p.value(), notice)
	}
}

// The input row shows the text around the cursor, and the hint bar counts
// characters near the limit.
func TestPromptDrawsItsRows(t *testing.T) {
	p := newTestPrompt(t)
	p.refresh(40)
	if got := ansi.Strip(p.rows.input.text); !strings.HasPrefix(got, "> Type a message") || p.rows.cursorX != 2 {
		t.Errorf("empty: row %q, cursor %d", got, p.rows.cursorX)
	}
	p.typeText(strings.Repeat("a", 150))
	p.refresh(40)
	row, hint := ansi.Strip(p.rows.input.text), ansi.Strip(p.rows.hint.text)
	if row != "> "+strings.Repeat("a", 37) || p.rows.cursorX != 39 || p.stale {
		t.Errorf("a long line: row %q, cursor %d, stale %v", row, p.rows.cursorX, p.stale)
	}
	if !strings.HasSuffix(hint, "150/200 ") || p.rows.hint.width > 40 {
		t.Errorf("hint %q (%d cells) at 40 columns, want the count", hint, p.rows.hint.width)
	}
	p.typeText(strings.Repeat("b", 60))
	p.refresh(80)
	if hint := p.rows.hint; !strings.Contains(hint.text, p.st.counterOver.on) || !strings.HasSuffix(ansi.Strip(hint.text), "210/200 ") || hint.width != 80 {
		t.Errorf("over the limit: hint %q, %d cells", hint.text, hint.width)
	}
}
