package tui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func TestCompleteName(t *testing.T) {
	names := []string{"alice", "Bob", "bobby", "carol", "日本"}
	tests := []struct {
		line       string
		pos        int
		want       string
		wantCursor int
		matches    string
	}{
		{"ca", 2, "carol: ", 7, ""},
		{"CA", 2, "carol: ", 7, ""},
		{"hi ca", 5, "hi carol ", 9, ""},
		{"hi @ca", 6, "hi @carol ", 10, ""},
		{"@ca", 3, "@carol ", 7, ""},
		{"tell ca about it", 7, "tell carol about it", 10, ""},
		{"bo", 2, "Bob", 3, ""},           // grows to what both share
		{"bob", 3, "bob", 3, "Bob,bobby"}, // cannot grow: who matches
		{"bobb", 4, "bobby: ", 7, ""},     // one left
		{"zz", 2, "zz", 2, ""},            // nobody
		{"", 0, "", 0, ""},                // no word
		{"hi ", 3, "hi ", 3, ""},          // no word
		{"ca", 99, "carol: ", 7, ""},      // a cursor past the end
		{"carol", 2, "carol", 2, ""},      // inside a word: nothing
		{"ca: hi", 2, "ca: hi", 2, ""},    // inside a word: nothing
		{"  ca", 4, "  carol: ", 9, ""},   // blanks do not start a line
		{"à ca", 4, "à carol ", 8, ""},    // runes, not bytes
		{"日", 1, "日本: ", 4, ""},           // names need not be ASCII here
		{"x" + strings.Repeat("y", 10), 3, "x" + strings.Repeat("y", 10), 3, ""},
	}
	for _, tt := range tests {
		got, cursor, matches := completeName(tt.line, tt.pos, names)
		if got != tt.want || cursor != tt.wantCursor || strings.Join(matches, ",") != tt.matches {
			t.Errorf("completeName(%q, %d) = %q, %d, %q; want %q, %d, %q",
				tt.line, tt.pos, got, cursor, matches, tt.want, tt.wantCursor, tt.matches)
		}
	}
}

func TestTabCompletesANameOnline(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	for _, name := range []string{"bob", "bobby", "carol"} {
		if _, err := f.room.Join(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	f.model.redraw(membersPart)

	f.typeText("ca")
	f.press(tea.KeyTab)
	if got := f.model.prompt.input.Value(); got != "carol: " {
		t.Errorf("Tab after ca gave %q", got)
	}
	f.typeText("hi")
	if got := f.model.prompt.input.Value(); got != "carol: hi" {
		t.Errorf("typing after the completion gave %q: the cursor is not after it", got)
	}
	f.model.prompt.input.SetValue("")

	f.typeText("bob")
	f.press(tea.KeyTab)
	if got := f.model.prompt.input.Value(); got != "bob" {
		t.Errorf("Tab with two matches changed the line to %q", got)
	}
	if s := f.screenText(); !strings.Contains(s, "2 names match: bob, bobby") {
		t.Errorf("no list of the matches:\n%s", s)
	}
}

func TestCompleteCommand(t *testing.T) {
	names := []string{"help", "who", "me", "quit", "whois"}
	tests := []struct {
		line       string
		pos        int
		want       string
		wantCursor int
		matches    string
		ok         bool
	}{
		{"/h", 2, "/help ", 6, "", true},
		{"/H", 2, "/help ", 6, "", true}, // as the table writes it
		{"  /q", 4, "  /quit ", 8, "", true},
		{"/me", 3, "/me ", 4, "", true},
		{"/w", 2, "/who", 4, "", true},              // grows to what both share
		{"/who", 4, "/who", 4, "/who,/whois", true}, // cannot grow: which match
		{"/", 1, "/", 1, "/help,/who,/me,/quit,/whois", true},
		{"/x", 2, "/x", 2, "", true},              // none: not a name either
		{"/h rest", 2, "/help rest", 5, "", true}, // a blank follows already
		{"/help", 2, "/help", 2, "", false},       // inside a word
		{"//h", 3, "//h", 3, "", false},           // text
		{"hi /h", 5, "hi /h", 5, "", false},       // not the first word
		{"ca", 2, "ca", 2, "", false},             // a name, maybe
		{"", 0, "", 0, "", false},
	}
	for _, tt := range tests {
		got, cursor, matches, ok := completeCommand(tt.line, tt.pos, names)
		if got != tt.want || cursor != tt.wantCursor || strings.Join(matches, ",") != tt.matches || ok != tt.ok {
			t.Errorf("completeCommand(%q, %d) = %q, %d, %q, %v; want %q, %d, %q, %v",
				tt.line, tt.pos, got, cursor, matches, ok, tt.want, tt.wantCursor, tt.matches, tt.ok)
		}
	}
}
