package tui

import (
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// wrapText breaks plain text into rows of at most width cells (at least 2,
// so that the widest character fits), measured as terminals without
// Unicode core mode advance (ansi.WcWidth). Rows break at
// blanks, which the break swallows. A word wider than a whole row starts on
// the row it is reached on, if that has room, and is cut at the row's edge:
// a long link, or a run of Chinese or Japanese (which has no blanks), does
// not leave the author alone on the row before it.
func wrapText(text string, width int) []string {
	width = max(width, 2)
	w := wrapper{width: width}
	for text != "" {
		end := strings.IndexFunc(text, isBreak)
		if end == 0 { // blanks: held until a word follows them on this row
			end = strings.IndexFunc(text, func(r rune) bool { return !isBreak(r) })
			if end < 0 {
				end = len(text)
			}
			w.blanks = text[:end]
			text = text[end:]
			continue
		}
		if end < 0 {
			end = len(text)
		}
		w.word(text[:end])
		text = text[end:]
	}
	return append(w.rows, w.row.String())
}

// isBreak reports the blanks a row may break at: not the no-break spaces.
func isBreak(r rune) bool {
	return unicode.IsSpace(r) && r != '\u00a0' && r != '\u2007' && r != '\u202f'
}

type wrapper struct {
	width  int
	rows   []string
	row    strings.Builder
	used   int    // cells on row
	blanks string // blanks before the next word
}

func (w *wrapper) word(word string) {
	blanks, cells := w.blanks, ansi.WcWidth.StringWidth(word)
	w.blanks = ""
	space := ansi.WcWidth.StringWidth(blanks)
	switch {
	case w.used+space+cells <= w.width:
		w.write(blanks, space)
		w.write(word, cells)
		return
	case cells <= w.width:
		w.newRow()
		w.write(word, cells)
		return
	case w.used > 0 && w.used+space < w.width:
		w.write(blanks, space) // the word starts here
	case w.used > 0:
		w.newRow()
	}
	for word != "" {
		cluster, n := ansi.FirstGraphemeCluster(word, ansi.WcWidth)
		word = word[len(cluster):]
		if n > w.width { // wider than a row (an emoji and its modifiers): cut between its runes
			for _, r := range cluster {
				w.cell(string(r), ansi.WcWidth.StringWidth(string(r)))
			}
			continue
		}
		w.cell(cluster, n)
	}
}

// cell writes one character, on the next row if it does not fit.
func (w *wrapper) cell(s string, cells int) {
	if w.used > 0 && w.used+cells > w.width {
		w.newRow()
	}
	w.write(s, cells)
}

func (w *wrapper) write(s string, cells int) {
	w.row.WriteString(s)
	w.used += cells
}

// newRow ends the row, without the blanks it may end with.
func (w *wrapper) newRow() {
	w.rows = append(w.rows, strings.TrimRightFunc(w.row.String(), isBreak))
	w.row.Reset()
	w.used = 0
}
