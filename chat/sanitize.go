package chat

import (
	"strings"
	"unicode"
)

// Sanitize turns text one user sends to others into plain text, safe to
// store and to draw in anyone's terminal:
//   - tabs, line breaks (LF, CR, U+2028, U+2029) and the Braille blank
//     U+2800 become spaces: a pasted paragraph stays readable on one line,
//     and a blank that is not a space cannot pass for a message;
//   - every other C0 and C1 control, and DEL, is dropped: without ESC and
//     CSI no escape sequence (colours, cursor moves, OSC 52 clipboard
//     writes, titles) can reach a terminal;
//   - bidirectional controls and the other default-ignorable characters
//     (zero-width spaces, soft hyphens, tags, fillers), which draw nothing
//     and can disguise what a line says, are dropped, save those that
//     hold a visible character together (👨‍👩‍👧, 🏳️‍🌈, Persian and Indic
//     spelling): a zero-width joiner or non-joiner with a visible
//     character on each side, and a variation selector right after a
//     visible character (a joiner after it still counts as joined). A
//     space or '@' is not visible here: joiners at either end, in a run,
//     or beside a space or '@' are dropped;
//   - invalid UTF-8 becomes U+FFFD;
//   - text longer than maxRunes runes is cut to exactly maxRunes
//     (maxRunes <= 0: no cut); a joiner the cut would leave last is
//     dropped, and the character after it takes its place.
//
// Sanitize is idempotent. Callers that must refuse overlong text rather than
// cut it check the length first.
func Sanitize(s string, maxRunes int) string {
	var b strings.Builder
	b.Grow(len(s))
	n := 0
	before := stop        // what r follows, dropped runes left out
	var held rune         // a joiner that stays if a visible character comes next
	for _, r := range s { // ranging over a string yields U+FFFD for invalid bytes
		if maxRunes > 0 && n == maxRunes {
			break
		}
		c := classify(r)
		switch c {
		case removed:
			continue
		case blank:
			r, c = ' ', stop
		case joiner:
			held = 0 // a run: the joiner before this one goes too
			if before == visible || before == selector {
				held = r
			}
			before = joiner
			continue
		case selector:
			if before != visible {
				held, before = 0, stop
				continue
			}
		}
		if held != 0 {
			if c == visible && (maxRunes <= 0 || n+1 < maxRunes) {
				b.WriteRune(held)
				n++
			}
			held = 0
		}
		b.WriteRune(r)
		n++
		before = c
	}
	return b.String()
}

// dropped reports the runes Sanitize drops, or keeps only between visible
// characters: none of them stays at the start of a text.
func dropped(r rune) bool {
	c := classify(r)
	return c == removed || c == joiner || c == selector
}

// class is what Sanitize does with a rune.
type class uint8

const (
	visible  class = iota // kept; joiners may stand beside it
	stop                  // kept, but no joiner beside it: a space, '@'
	blank                 // becomes a space
	removed               // dropped
	joiner                // ZWJ, ZWNJ: kept between two visible characters
	selector              // a variation selector: kept right after a visible character
)

func classify(r rune) class {
	switch {
	case r > ' ' && r < 0x7f && r != '@': // most text
		return visible
	case r == '\t' || r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u2800':
		return blank
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return removed
	case r == ' ' || r == '@':
		return stop
	case r == '\u200c' || r == '\u200d':
		return joiner
	case unicode.Is(unicode.Variation_Selector, r): // FE00-FE0F, E0100-E01EF, Mongolian 180B-180D, 180F
		return selector
	case unicode.Is(ignorable, r), r >= 0xfff9 && r <= 0xfffb:
		// Interlinear annotation characters are not default-ignorable,
		// but terminals draw nothing for them.
		return removed
	case unicode.IsSpace(r):
		return stop
	}
	return visible
}

// ignorable is Unicode's Default_Ignorable_Code_Point property
// (DerivedCoreProperties.txt) without the joiners and variation selectors,
// the unassigned code points it reserves included. Go's unicode package
// has no table for it: the test derives it from the ones it has.
var ignorable = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x00ad, Hi: 0x00ad, Stride: 1}, // soft hyphen
		{Lo: 0x034f, Hi: 0x034f, Stride: 1}, // combining grapheme joiner
		{Lo: 0x061c, Hi: 0x061c, Stride: 1}, // Arabic letter mark
		{Lo: 0x115f, Hi: 0x1160, Stride: 1}, // Hangul choseong and jungseong fillers
		{Lo: 0x17b4, Hi: 0x17b5, Stride: 1}, // Khmer inherent vowels
		{Lo: 0x180e, Hi: 0x180e, Stride: 1}, // Mongolian vowel separator
		{Lo: 0x200b, Hi: 0x200b, Stride: 1}, // zero width space
		{Lo: 0x200e, Hi: 0x200f, Stride: 1}, // left-to-right and right-to-left marks
		{Lo: 0x202a, Hi: 0x202e, Stride: 1}, // bidi embeddings and overrides
		{Lo: 0x2060, Hi: 0x206f, Stride: 1}, // word joiner, invisible operators, bidi isolates, deprecated format characters
		{Lo: 0x3164, Hi: 0x3164, Stride: 1}, // Hangul filler
		{Lo: 0xfeff, Hi: 0xfeff, Stride: 1}, // zero width no-break space (byte-order mark)
		{Lo: 0xffa0, Hi: 0xffa0, Stride: 1}, // halfwidth Hangul filler
		{Lo: 0xfff0, Hi: 0xfff8, Stride: 1}, // unassigned
	},
	R32: []unicode.Range32{
		{Lo: 0x1bca0, Hi: 0x1bca3, Stride: 1}, // shorthand format controls
		{Lo: 0x1d173, Hi: 0x1d17a, Stride: 1}, // musical symbol format controls
		{Lo: 0xe0000, Hi: 0xe00ff, Stride: 1}, // tags (language tag, tag characters) and unassigned
		{Lo: 0xe01f0, Hi: 0xe0fff, Stride: 1}, // unassigned
	},
	LatinOffset: 1,
}
