package tui

import (
	"io"
	"slices"
	"strconv"
)

// Terminal modes the chat screen uses, set on start and reset on exit.
const (
	enterScreen = "\x1b[?1049h" + // alternate screen
		"\x1b[?2004h" + // bracketed paste: a paste arrives as one message
		"\x1b[?1000h\x1b[?1006h" + // mouse buttons (for the wheel), SGR encoding
		// No autowrap: a row the terminal draws wider than counted (an
		// emoji its width table disagrees on) is cut at the edge instead
		// of spilling onto the next row.
		"\x1b[?7l"
	leaveScreen = "\x1b[r\x1b[m" + // whole-screen scroll region, plain text
		"\x1b[?7h\x1b[?1006l\x1b[?1000l\x1b[?2004l" +
		"\x1b[?25h" + // cursor shown
		"\x1b[?1049l" // main screen, as the user left it
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
)

// lineRenderer draws frames on a terminal by writing only what changed
// since the last one. The log between the header and the input is the
// terminal's scroll region: a new line scrolls the region (delete lines at
// its top, which every VT102 has) and prints one row; the member column
// beside it, which the scroll moves too, is repainted where it no longer
// matches.
//
// A row is rewritten whole: erased to the end of the line (a row that
// fills the width is erased first), then the member column after it is
// drawn again, border and cell, erased to the end. Where the terminal's
// width of a character differs from ours, no stale cells survive.
//
// It is not safe for concurrent use: a session's program owns it.
type lineRenderer struct {
	w           io.Writer
	buf         []byte
	shown       frame      // what the terminal shows now
	borderDrawn []bool     // rows of the log whose member-column border is on screen
	sideRows    []byte     // what redrawing each row of the member column writes (see sideRow)
	sideEnds    []int      // row i of sideRows ends at sideEnds[i+1]
	sideRowsFor []sideCell // the column sideRows was made for
	sideRowsAt  int        // and the screen column it starts at
	scrolled    []byte     // what the column needs after a scroll (see scrolledSide)
	scrolledFor sideScroll // the column, layout and scroll scrolled was made for
	drawn       bool       // shown is on the terminal
	started     bool
	err         error // the first write error: nothing is written after it
}

func newLineRenderer(w io.Writer) *lineRenderer { return &lineRenderer{w: w} }

// start switches the terminal to the chat screen's modes.
func (r *lineRenderer) start() {
	r.started = true
	r.write([]byte(enterScreen))
}

// restore gives the terminal back as it was: main screen, cursor shown, no
// scroll region, no mouse or paste reporting. Safe to call more than once.
func (r *lineRenderer) restore() {
	if r.started {
		r.started = false
		r.write([]byte(leaveScreen))
	}
}

func (r *lineRenderer) write(b []byte) {
	if r.err == nil && len(b) > 0 {
		_, r.err = r.w.Write(b)
	}
}

// draw brings the terminal from the last frame to f in one write, ringing
// the bell first if asked.
func (r *lineRenderer) draw(f frame, bell bool) {
	b := r.buf[:0]
	if bell {
		b = append(b, '\a')
	}
	mark := len(b)
	b = append(b, hideCursor...)
	b = append(b, "\x1b[m"...)
	body := len(b)
	s := &r.shown
	if !r.drawn || s.width != f.width || s.height != f.height || (s.side == nil) != (f.side == nil) || s.tooSmall != f.tooSmall {
		b = r.repaint(b, f)
	} else {
		b = r.update(b, f)
	}
	if len(b) == body && s.cursorX == f.cursorX {
		b = b[:mark] // nothing changed: leave the cursor as it is
	} else if f.cursorX >= 0 {
		b = cup(b, f.height-2, f.cursorX)
		b = append(b, showCursor...)
	}
	r.shown = f
	r.drawn = true
	r.write(b)
	r.buf = b[:0]
}

// repaint draws f on a cleared screen and sets the log's scroll region.
func (r *lineRenderer) repaint(b []byte, f frame) []byte {
	b = append(b, "\x1b[H\x1b[J"...) // home, erase below: the whole screen
	if h := len(f.log); h >= 2 {
		b = append(b, "\x1b[2;"...)
		b = strconv.AppendInt(b, int64(h+1), 10)
		b = append(b, 'r')
	} else {
		b = append(b, "\x1b[r"...)
	}
	b = cup(b, 0, 0)
	b = append(b, f.header...)
	if f.tooSmall {
		return b
	}
	r.borderDrawn = r.borderDrawn[:0]
	for i, row := range f.log {
		if row.width > 0 {
			b = cup(b, i+1, 0)
			b = append(b, row.text...)
		}
		if f.side != nil {
			b = r.drawSideCell(b, f, i, false, sideCell{})
		}
	}
	b = r.bottom(b, f, line{}, line{})
	return b
}

// update draws the difference between the shown frame and f, which have
// the same layout.
func (r *lineRenderer) update(b []byte, f frame) []byte {
	s := &r.shown
	if s.header != f.header {
		b = cup(b, 0, 0)
		b = append(b, f.header...)
	}
	// After a scroll by k, the terminal shows the old rows from k on,
	// then k blank ones: row i holds what row i+k held.
	k := scrolledBy(s.log, f.log)
	if k > 0 {
		b = cup(b, 1, 0)
		b = append(b, "\x1b["...)
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, 'M')
		if s.side != nil {
			copy(r.borderDrawn, r.borderDrawn[k:])
			clear(r.borderDrawn[len(r.borderDrawn)-k:])
		}
	}
	// The column unchanged, the rows a scroll moved are drawn together by
	// scrolledSide, once the log rows are written.
	sameSide := k > 0 && len(f.side) > 0 && slices.Equal(s.side, f.side)
	if f.side != nil {
		r.layoutSide(f)
	}
	for i, row := range f.log {
		var old line
		if i+k < len(s.log) {
			old = s.log[i+k]
		}
		rewritten := old.text != row.text
		if rewritten {
			b = writeRow(b, i+1, row, f.width)
		}
		if s.side != nil {
			var shown sideCell // nothing, on a rewritten row: it was erased whole
			switch {
			case rewritten:
				r.borderDrawn[i] = false
			case sameSide && i+k < len(f.side) && r.borderDrawn[i]:
				continue // in scrolledSide
			case i+k < len(s.side):
				shown = s.side[i+k]
			}
			b = r.drawSideCell(b, f, i, r.borderDrawn[i], shown)
		}
	}
	if sameSide {
		// A row drawn above as well is drawn again alike: harmless, and
		// rare (a rewritten row above the new ones).
		b = append(b, r.scrolledSide(f, k)...)
	}
	return r.bottom(b, f, s.input, s.hint)
}

// scrolledSide is what the member column needs after the log scrolled by
// k with the column unchanged: each row whose cell differs from the one
// the scroll moved there, redrawn as drawSideCell would. It is the same
// for every message in a busy room, so it is made once per column, layout
// and k, in one piece of memory: a message then costs one copy instead of
// a comparison per row.
func (r *lineRenderer) scrolledSide(f frame, k int) []byte {
	if key := r.scrolledFor; key.at != f.sideAt || key.k != k || !slices.Equal(key.side, f.side) {
		r.scrolledFor = sideScroll{side: f.side, at: f.sideAt, k: k}
		r.scrolled = r.scrolled[:0]
		for i := 0; i+k < len(f.side); i++ {
			moved := f.side[i+k]
			if moved.text != f.side[i].text {
				r.scrolled = r.sideRow(r.scrolled, i)
				if moved.width > f.side[i].width {
					r.scrolled = append(r.scrolled, "\x1b[K"...)
				}
			}
		}
	}
	return r.scrolled
}

// sideScroll names what scrolledSide was made for: a member column (a
// frame's column is never changed once made, so keeping it is keeping a
// copy), where it stands, and a scroll.
type sideScroll struct {
	side  []sideCell
	at, k int
}

// drawSideCell draws row i of the member column where it differs from
// old, the cell shown there; hasBorder says whether the row's border is
// on screen. A row drawn from its border on is erased to its end: a log
// row the terminal drew wider than counted may have spilled there.
func (r *lineRenderer) drawSideCell(b []byte, f frame, i int, hasBorder bool, old sideCell) []byte {
	switch {
	case !hasBorder:
		b = cup(b, i+1, f.sideAt)
		b = append(b, f.border...)
		if i < len(r.borderDrawn) {
			r.borderDrawn[i] = true
		} else {
			r.borderDrawn = append(r.borderDrawn, true)
		}
		b = append(b, f.side[i].text...)
		return append(b, "\x1b[K"...)
	case old.text != f.side[i].text:
		b = r.sideRow(b, i)
		if old.width > f.side[i].width {
			b = append(b, "\x1b[K"...)
		}
		return b
	default:
		return b
	}
}

// layoutSide makes what redrawing each row of f's member column writes
// (the move there and the cell), unless it has it already: a scroll moves
// the whole column, so most of its rows are redrawn for every message, and
// the bytes are made once per column and layout, in one piece of memory.
func (r *lineRenderer) layoutSide(f frame) {
	if r.sideRowsAt == f.sideAt && len(r.sideEnds) == len(f.side)+1 && slices.Equal(r.sideRowsFor, f.side) {
		return
	}
	r.sideRowsFor, r.sideRowsAt = f.side, f.sideAt
	r.sideRows, r.sideEnds = r.sideRows[:0], append(r.sideEnds[:0], 0)
	for y, cell := range f.side {
		r.sideRows = cup(r.sideRows, y+1, f.sideAt+sideBorderWidth)
		r.sideRows = append(r.sideRows, cell.text...)
		r.sideEnds = append(r.sideEnds, len(r.sideRows))
	}
}

// sideRow redraws row i of the member column after its border, as
// layoutSide made it.
func (r *lineRenderer) sideRow(b []byte, i int) []byte {
	return append(b, r.sideRows[r.sideEnds[i]:r.sideEnds[i+1]]...)
}

// bottom draws the input and hint rows where they differ from the shown
// ones.
func (r *lineRenderer) bottom(b []byte, f frame, input, hint line) []byte {
	if f.tooSmall {
		return b
	}
	if input.text != f.input.text {
		b = writeRow(b, f.height-2, f.input, f.width)
	}
	if f.height >= 2 && hint.text != f.hint.text {
		b = writeRow(b, f.height-1, f.hint, f.width)
	}
	return b
}

// scrolledBy is how many rows the log moved up from old to cur: the rows
// old[k:] are cur[:len-k]. 0 if it did not scroll that way.
func scrolledBy(old, cur []line) int {
	n := len(cur)
	if len(old) != n || n < 2 || old[n-1].id == 0 {
		return 0
	}
	bottom := old[n-1].id
	for j := n - 2; j >= 0; j-- {
		if cur[j].id != bottom {
			continue
		}
		k := n - 1 - j
		for i := 0; i <= j; i++ {
			if old[i+k].text != cur[i].text {
				return 0
			}
		}
		return k
	}
	return 0
}

// cup moves the cursor to row y, column x (from 0).
func cup(b []byte, y, x int) []byte {
	b = append(b, "\x1b["...)
	b = strconv.AppendInt(b, int64(y+1), 10)
	if x > 0 {
		b = append(b, ';')
		b = strconv.AppendInt(b, int64(x+1), 10)
	}
	return append(b, 'H')
}

// writeRow writes text on row y from its first column, leaving nothing of
// what was there: erased after the text, or, when the text fills the row
// (the cursor then rests on its last cell, which must stay), before it.
func writeRow(b []byte, y int, text line, rowWidth int) []byte {
	b = cup(b, y, 0)
	if text.width >= rowWidth {
		b = append(b, "\x1b[K"...)
		return append(b, text.text...)
	}
	b = append(b, text.text...)
	return append(b, "\x1b[K"...)
}
