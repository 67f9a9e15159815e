package chat

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
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
		{"zero width", "a\u200bb\u2060c\ufeffd", "abcd", 0},
		{"braille blank", "\u2800", " ", 0},
		{"braille words", "⠓⠊\u2800⠃⠕⠃", "⠓⠊ ⠃⠕⠃", 0},
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

// TestSanitizeDropsInvisibles: every default-ignorable range, and the
// controls, at both ends of the range: gone alone, inside a word, and
// beside a joiner they might otherwise keep company with.
func TestSanitizeDropsInvisibles(t *testing.T) {
	ranges := []struct {
		name   string
		lo, hi rune
	}{
		{"C0", 0x00, 0x08},
		{"C0 after tab", 0x0b, 0x0c},
		{"C0 after CR", 0x0e, 0x1f},
		{"DEL and C1", 0x7f, 0x9f},
		{"soft hyphen", 0x00ad, 0x00ad},
		{"combining grapheme joiner", 0x034f, 0x034f},
		{"Arabic letter mark", 0x061c, 0x061c},
		{"Hangul choseong and jungseong fillers", 0x115f, 0x1160},
		{"Khmer inherent vowels", 0x17b4, 0x17b5},
		{"Mongolian vowel separator", 0x180e, 0x180e},
		{"zero width space", 0x200b, 0x200b},
		{"directional marks", 0x200e, 0x200f},
		{"bidi embeddings and overrides", 0x202a, 0x202e},
		{"word joiner", 0x2060, 0x2060},
		{"invisible operators", 0x2061, 0x2064},
		{"reserved", 0x2065, 0x2065},
		{"bidi isolates", 0x2066, 0x2069},
		{"deprecated format characters", 0x206a, 0x206f},
		{"Hangul filler", 0x3164, 0x3164},
		{"byte-order mark", 0xfeff, 0xfeff},
		{"halfwidth Hangul filler", 0xffa0, 0xffa0},
		{"reserved specials", 0xfff0, 0xfff8},
		{"interlinear annotation", 0xfff9, 0xfffb},
		{"shorthand format controls", 0x1bca0, 0x1bca3},
		{"musical format controls", 0x1d173, 0x1d17a},
		{"language tag", 0xe0000, 0xe0001},
		{"tag characters", 0xe0020, 0xe007f},
		{"reserved tags", 0xe0080, 0xe00ff},
		{"reserved after the selectors", 0xe01f0, 0xe0fff},
	}
	for _, rg := range ranges {
		for _, r := range []rune{rg.lo, rg.hi} {
			x := string(r)
			for _, tt := range []struct{ in, want string }{
				{x, ""},
				{"a" + x + "b", "ab"},
				{x + x + "a", "a"},
				{"a\u200d" + x + "\u200db", "ab"}, // a run once x is gone
				{"👨\u200d" + x + "👩", "👨\u200d👩"}, // a pair once x is gone
				{"a" + x + "\ufe0f", "a\ufe0f"},   // selects a once x is gone
			} {
				if got := Sanitize(tt.in, 0); got != tt.want {
					t.Errorf("%s: Sanitize(%q) = %q, want %q", rg.name, tt.in, got, tt.want)
				}
			}
		}
	}
}

// TestSanitizeKeepsJoinedSequences: joiners and variation selectors that
// hold visible characters together stay.
func TestSanitizeKeepsJoinedSequences(t *testing.T) {
	for _, s := range []string{
		"👨\u200d👩\u200d👧",    // family
		"🏳\ufe0f\u200d🌈",     // rainbow flag
		"👩🏽\u200d💻",          // woman technologist, medium skin tone
		"❤\ufe0f\u200d🔥",     // heart on fire
		"می\u200cخواهم",      // Persian "I want"
		"क्\u200dष",          // Devanagari conjunct with a joiner
		"क्\u200cष",          // and without one
		"❤\ufe0f", "☺\ufe0e", // emoji and text presentation
		"1\ufe0f\u20e3",              // keycap
		"葛\U000e0100", "葛\U000e01ef", // ideographic variation selectors
		"ᠠ\u180b", "ᠠ\u180f", // Mongolian free variation selectors
		"hi 👨\u200d👩\u200d👧 and 🏳\ufe0f\u200d🌈!",
		"a\u200db", // between any two visible characters
	} {
		if got := Sanitize(s, 0); got != s {
			t.Errorf("Sanitize(%q) = %q, want it unchanged", s, got)
		}
	}
}

// TestSanitizeDropsLooseJoiners: joiners and selectors that join nothing
// visible go.
func TestSanitizeDropsLooseJoiners(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"alone", "\u200d", ""},
		{"leading", "\u200dab", "ab"},
		{"leading non-joiner", "\u200cab", "ab"},
		{"trailing", "ab\u200d", "ab"},
		{"trailing after a selector", "❤\ufe0f\u200d", "❤\ufe0f"},
		{"run of two", "a\u200d\u200db", "ab"},
		{"run of mixed", "a\u200c\u200d\u200cb", "ab"},
		{"run made by a dropped character", "a\u200d\x1b\u200cb", "ab"},
		{"before a space", "a\u200d b", "a b"},
		{"after a space", "a \u200db", "a b"},
		{"before a no-break space", "a\u200d\u00a0b", "a\u00a0b"},
		{"beside a line break", "a\u200d\nb", "a b"},
		{"beside a braille blank", "a\u2800\u200db", "a b"},
		{"after @", "@\u200dbob", "@bob"},
		{"before @", "bob\u200d@x", "bob@x"},
		{"before a selector", "a\u200d\ufe0fb", "ab"},
		{"selector leading", "\ufe0fa", "a"},
		{"selector after a space", "a \ufe0f", "a "},
		{"selector after @", "@\ufe0fbob", "@bob"},
		{"second selector", "a\ufe0f\ufe0eb", "a\ufe0fb"},
		{"joiner after a dropped selector", "a\ufe0f\ufe0e\u200db", "a\ufe0fb"},
		{"tag sequence", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "🏴"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in, 0); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSanitizeCutsToExactlyMaxRunes: a cut never ends on a joiner (a second
// pass would drop it), and still gives maxRunes runes, so that a caller
// can tell a cut text from a short one by its length (see clean).
func TestSanitizeCutsToExactlyMaxRunes(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"ab\u200dc", 4, "ab\u200dc"},
		{"ab\u200dcd", 4, "ab\u200dc"},
		{"ab\u200dcd", 3, "abc"},
		{"ab\u200dcd", 2, "ab"},
		{"🏳\ufe0f\u200d🌈", 3, "🏳\ufe0f🌈"},
		{"👨\u200d👩\u200d👧", 4, "👨\u200d👩👧"},
		{"a\ufe0fb", 1, "a"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in, tt.max); got != tt.want {
			t.Errorf("Sanitize(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// TestDroppedIsDefaultIgnorable checks the tables against Unicode's own
// properties, as Go's unicode package has them: what Sanitize may drop is
// the controls and Default_Ignorable_Code_Point (and three annotation
// characters terminals draw as nothing), and of those it may keep the two
// joiners and the variation selectors.
func TestDroppedIsDefaultIgnorable(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		want := unicode.Is(unicode.Cc, r) && !strings.ContainsRune("\t\n\r", r) ||
			defaultIgnorable(r) || r >= 0xfff9 && r <= 0xfffb
		if got := dropped(r); got != want {
			t.Errorf("dropped(%U) = %v, want %v", r, got, want)
		}
		keepable := r == '\u200c' || r == '\u200d' || unicode.Is(unicode.Variation_Selector, r)
		if got := classify(r) == joiner || classify(r) == selector; got != keepable {
			t.Errorf("%U: joiner or selector %v, want %v", r, got, keepable)
		}
	}
}

// defaultIgnorable is Default_Ignorable_Code_Point, derived as
// DerivedCoreProperties.txt derives it.
func defaultIgnorable(r rune) bool {
	switch {
	case unicode.Is(unicode.White_Space, r),
		r >= 0xfff9 && r <= 0xfffb,   // interlinear annotation
		r >= 0x13430 && r <= 0x1343f, // Egyptian hieroglyph format controls
		unicode.Is(unicode.Prepended_Concatenation_Mark, r):
		return false
	}
	return unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r)
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "hello", "\x1b[2J", "\u202e", "\xff\xfe", "a\r\nb", "世界👋", "\u009b31m",
		"👨\u200d👩\u200d👧", "🏳\ufe0f\u200d🌈", "👩🏽\u200d💻", "می\u200cخواهم", "क्\u200dष", "@\u200dbob",
		"a\u200d\u200db", "a\u200d\x00\u200db", "a\ufe0f\ufe0e\u200db", "\u2800\u3164\u115f\U000e0041"} {
		f.Add(s, 10)
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		max %= 2000
		out := Sanitize(in, max)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out: %q", out)
		}
		if err := residue(out); err != nil {
			t.Fatalf("%v in %q", err, out)
		}
		if strings.ContainsAny(out, "\x1b\u009b\r\x07") {
			t.Fatalf("escape material left in %q", out)
		}
		if again := Sanitize(out, max); again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
		whole := Sanitize(in, 0)
		switch n := utf8.RuneCountInString(out); {
		case max <= 0 || utf8.RuneCountInString(whole) <= max:
			if out != whole {
				t.Fatalf("cut to %d: %q, uncut %q", max, out, whole)
			}
		case n != max:
			t.Fatalf("%d runes out, want %d: %q", n, max, out)
		case !strings.HasPrefix(withoutJoiners(whole), withoutJoiners(out)):
			t.Fatalf("cut to %d: %q is not the start of %q", max, out, whole)
		}
	})
}

// residue reports what Sanitize must not leave in its result, found without
// its tables: controls, default-ignorable characters other than joiners
// and variation selectors, and those where they join nothing visible.
func residue(s string) error {
	rs := []rune(s)
	// shows: a visible character, or one joiners may follow.
	shows := func(i int) bool {
		if i < 0 || i >= len(rs) {
			return false
		}
		r := rs[i]
		if unicode.Is(unicode.Variation_Selector, r) {
			return i > 0 && !defaultIgnorable(rs[i-1]) && !unicode.IsSpace(rs[i-1]) && rs[i-1] != '@'
		}
		return !defaultIgnorable(r) && !unicode.IsSpace(r) && r != '@'
	}
	for i, r := range rs {
		switch {
		case unicode.Is(unicode.Cc, r), r == '\u2028', r == '\u2029', r == '\u2800':
			return fmt.Errorf("control or blank %U", r)
		case unicode.In(r, unicode.Bidi_Control):
			return fmt.Errorf("bidi control %U", r)
		case r == '\u200c' || r == '\u200d':
			if !shows(i-1) || !shows(i+1) || unicode.Is(unicode.Variation_Selector, rs[i+1]) {
				return fmt.Errorf("joiner %U at %d joins nothing", r, i)
			}
		case unicode.Is(unicode.Variation_Selector, r):
			if !shows(i) {
				return fmt.Errorf("variation selector %U at %d follows nothing visible", r, i)
			}
		case defaultIgnorable(r):
			return fmt.Errorf("default-ignorable %U", r)
		}
	}
	return nil
}

func withoutJoiners(s string) string {
	return strings.NewReplacer("\u200c", "", "\u200d", "").Replace(s)
}
