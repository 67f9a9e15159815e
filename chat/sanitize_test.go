package chat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in, want string
		max            int
	}{
		{"plain", "hello, world", "hello, world", 0},
		{"unicode kept", "héllo 世界 👋🏽", "héllo 世界 👋🏽", 0},
		{"clear screen", "a\x1b[2Jb", "a[2Jb", 0},
		{"colour", "\x1b[31mred\x1b[0m", "[31mred[0m", 0},
		{"osc 52 clipboard", "\x1b]52;c;ZXZpbA==\x07x", "]52;c;ZXZpbA==x", 0},
		{"title", "\x1b]0;pwned\x1b\\", "]0;pwned\\", 0},
		{"c1 csi", "a\u009b2Jb", "a2Jb", 0},
		{"c1 osc", "\u009d0;t\u009c", "0;t", 0},
		{"carriage return", "fake\rreal", "fake real", 0},
		{"crlf", "one\r\ntwo", "one  two", 0},
		{"backspace and bell", "ab\x08\x07c", "abc", 0},
		{"delete", "a\x7fb", "ab", 0},
		{"nul", "a\x00b", "ab", 0},
		{"tab", "a\tb", "a b", 0},
		{"line separators", "a\u2028b\u2029c", "a b c", 0},
		{"bidi override", "abc\u202edcba", "abcdcba", 0},
		{"bidi isolates", "\u2066x\u2069\u2067y\u2068", "xy", 0},
		{"marks", "\u200ea\u200fb\u061c", "ab", 0},
		{"zero width", "a\u200bb\u200cc\u200dd\u2060e\ufefff", "abcdef", 0},
		{"invalid utf8", "a\xffb\xc0", "a\ufffdb\ufffd", 0},
		{"cut in runes", "héllo", "hé", 2},
		{"cut counts after stripping", "\x1b\x1bab", "a", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in, tt.max); got != tt.want {
				t.Errorf("Sanitize(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "hello", "\x1b[2J", "\u202e", "\xff\xfe", "a\r\nb", "世界👋", "\u009b31m"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		max %= 2000
		out := Sanitize(in, max)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out: %q", out)
		}
		if !isClean(out) {
			t.Fatalf("control, bidi or zero-width character left in %q", out)
		}
		if max > 0 && utf8.RuneCountInString(out) > max {
			t.Fatalf("%d runes out, bound %d", utf8.RuneCountInString(out), max)
		}
		if again := Sanitize(out, max); again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
		if strings.ContainsAny(out, "\x1b\u009b\r\x07") {
			t.Fatalf("escape material left in %q", out)
		}
	})
}

// isClean reports whether s is already what Sanitize would make of it (with
// no length bound): valid UTF-8 without any dropped or replaced rune.
func isClean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if dropped(r) || r == '\t' || r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}
