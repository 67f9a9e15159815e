package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

func TestWrapText(t *testing.T) {
	tests := []struct {
		text  string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"hello world", 20, []string{"hello world"}},
		{"hello world", 8, []string{"hello", "world"}},
		{"hello   world again", 11, []string{"hello", "world again"}},
		// A word wider than a row starts where the row has room.
		{"alice: https://example.com/a/long/path", 16, []string{"alice: https://e", "xample.com/a/lon", "g/path"}},
		{"bob: 日本語のテキストです", 12, []string{"bob: 日本語", "のテキストで", "す"}},
		// A wide character never straddles the edge.
		{"ab 日本語のテ", 6, []string{"ab 日", "本語の", "テ"}},
		// No room after the blank: the long word starts on the next row.
		{"abcde " + strings.Repeat("x", 8), 6, []string{"abcde", "xxxxxx", "xx"}},
		// A character wider than a row is cut between its runes.
		{"👍🏽", 2, []string{"👍", "🏽"}},
		{"a\u00a0b c", 3, []string{"a\u00a0b", "c"}},
		{"10\u202f000 x", 6, []string{"10\u202f000", "x"}},
	}
	for _, tt := range tests {
		got := wrapText(tt.text, tt.width)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrapText(%q, %d) = %q, want %q", tt.text, tt.width, got, tt.want)
		}
	}
}

// TestWrapTextBreaksOrdinaryTextAsBefore: text whose words all fit on a
// row wraps as ansi.Wrap wrapped it (hyphens aside, where ansi also
// breaks).
func TestWrapTextBreaksOrdinaryTextAsBefore(t *testing.T) {
	texts := []string{
		"hi bob! this line is long enough that it has to wrap around at least once on a narrow terminal, with a hanging indent",
		"wide characters: 世界 こんにちは 👋🏽 wrap by cells, not bytes",
		"alice: a b c d e f g h i j k l m n o p q r s t u v w x y z",
	}
	for _, text := range texts {
		for width := 12; width <= 60; width++ {
			want := strings.Split(ansi.WcWidth.Wrap(text, width, ""), "\n")
			for i := range want {
				want[i] = strings.TrimRight(want[i], " ")
			}
			if got := wrapText(text, width); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("width %d:\n got %q\nwant %q", width, got, want)
			}
		}
	}
}

func FuzzWrapText(f *testing.F) {
	f.Add("alice: https://example.com/a/long/path", 16)
	f.Add("bob: 日本語のテキストです 👍🏽 e\u0301", 3)
	f.Add("  a  b  ", 1)
	f.Fuzz(func(t *testing.T, text string, width int) {
		text = strings.ToValidUTF8(text, "?")
		width = 2 + int(uint64(width)%100)
		rows := wrapText(text, width)
		for _, row := range rows {
			if n := ansi.WcWidth.StringWidth(row); n > width {
				t.Fatalf("row %q is %d cells, wider than %d", row, n, width)
			}
		}
		// Breaks swallow blanks only: nothing else is lost or moved.
		noBlanks := func(s string) string { return strings.Join(strings.FieldsFunc(s, isBreak), "") }
		if got, want := noBlanks(strings.Join(rows, "")), noBlanks(text); got != want {
			t.Fatalf("wrapText(%q, %d) = %q: lost characters", text, width, rows)
		}
	})
}

// TestANameAloneOnItsRowKeepsItsColour: when a message's first word does
// not fit after the name, the name's row ends without its blank, and
// must still be painted as a name.
func TestANameAloneOnItsRowKeepsItsColour(t *testing.T) {
	st := newStyles(colorprofile.ANSI256)
	word := strings.Repeat("w", 40) // fits a row, not after "bob: "
	for _, kind := range []chat.Kind{chat.KindText, chat.KindAction} {
		msg := chat.Message{ID: 1, Time: base, Author: "bob", Kind: kind, Body: word}
		lines := st.render(entry{msg: msg}, "alice", timeWidth+42)
		if len(lines) != 2 || !strings.Contains(lines[1].text, word) {
			t.Fatalf("kind %d: want the name alone, then the word: %+v", kind, lines)
		}
		name := st.nameStyle("bob", "alice").Render("bob")
		if kind == chat.KindAction {
			name = st.nameActionStyle("bob", "alice").Render("bob")
		}
		if !strings.Contains(lines[0].text, name) {
			t.Errorf("kind %d: the name is not painted: %q", kind, lines[0].text)
		}
	}
}
