package chat

import "strings"

// Sanitize turns text one user sends to others into plain text, safe to
// store and to draw in anyone's terminal:
//   - tabs and line breaks (LF, CR, U+2028, U+2029) become spaces, so a
//     pasted paragraph stays readable on one line;
//   - every other C0 and C1 control, and DEL, is dropped: without ESC and
//     CSI no escape sequence (colours, cursor moves, OSC 52 clipboard
//     writes, titles) can reach a terminal;
//   - bidirectional controls and zero-width characters, which can disguise
//     what a line says, are dropped;
//   - invalid UTF-8 becomes U+FFFD;
//   - the result is cut to at most maxRunes runes (maxRunes <= 0: no cut).
//
// Sanitize is idempotent. Callers that must refuse overlong text rather than
// cut it check the length first.
func Sanitize(s string, maxRunes int) string {
	var b strings.Builder
	b.Grow(len(s))
	n := 0
	for _, r := range s { // ranging over a string yields U+FFFD for invalid bytes
		if maxRunes > 0 && n == maxRunes {
			break
		}
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			r = ' '
		case dropped(r):
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// dropped reports the runes Sanitize removes.
func dropped(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, // bidi embeddings, isolates
		r == 0x200e, r == 0x200f, r == 0x061c: // marks
		return true
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff: // zero-width
		return true
	}
	return false
}
