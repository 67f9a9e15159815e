package tui

import (
	"io"
	"slices"
	"strconv"

	"github.com/charmbracelet/x/ansi"
)

// Terminal modes the chat screen uses, set on start and reset on exit.
const (
	enterScreen = "\x1b[?1049h" + // alternate screen
		"\x1b[?2004h" + // bracketed paste: a paste arrives as one message
		"\x1b[?1000h\x1b[?1006h" + // mouse buttons (for the wheel), SGR encoding
		// No autowrap: a row the terminal draws wider than counted (an
		// emoji its width table disagrees on) is cut at the edge instead
		// of spilling onto the next row.
		"\x1b[?7l" +
		// Left and right margins allowed (DECLRMM), where the terminal
		// has them: see askMargins. While it is set, CSI s sets the
		// margins (DECSLRM) instead of saving the cursor; nothing here
		// saves the cursor that way.
		"\x1b[?69h"
	// askMargins asks whether mode 69 is now set (DECRQM). Only a terminal
	// that has left and right margins answers that it is (set, or set for
	// good): it took the mode from enterScreen. Asked before the mode is
	// set, xterm answers "reset" (2), which a terminal that merely knows
	// the mode's number may answer too. See lineRenderer.modeReport.
	askMargins  = "\x1b[?69$p"
	leaveScreen = "\x1b[?69l" + // no left and right margins
		"\x1b[r\x1b[m" + // whole-screen scroll region, plain text
		"\x1b[?7h\x1b[?1006l\x1b[?1000l\x1b[?2004l" +
		"\x1b[?25h" + // cursor shown
		"\x1b[?1049l" // main screen, as the user left it
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
)

// lineRenderer draws frames on a terminal by writing only what changed
// since the last one. The log between the header and the input is the
// terminal's scroll region: a new line scrolls the log and prints one row.
//
// How the log scrolls depends on the terminal. Every VT102 deletes lines
// at the top of the region, which moves the whole width of its rows: the
// side columns (the conversation list on the log's left, the member list
// on its right) move too, and are repainted where they no longer match.
// A terminal with left and right margins (DECLRMM; modeReport) scrolls
// only the log's rectangle, and the side columns stay as they are.
//
// A log row is rewritten whole: erased to the end of the line (a row that
// reaches the screen's edge is erased first), then the member column after
// it is drawn again, border and cell, erased to the end. A new row that a
// scroll within margins brings is written while the margins hold, which
// cut it at the log's edge. Where the terminal's width of a character
// differs from ours, no stale cells survive.
//
// It is not safe for concurrent use: a session's program owns it.
type lineRenderer struct {
	w     io.Writer
	buf   []byte
	shown frame // what the terminal shows now
	// What redrawing each cell of the side columns writes, made once per
	// column and layout.
	left, right sideColumn
	margins     bool // scroll the log's rectangle only (modeReport)
	drawn       bool // shown is on the terminal
	started     bool
	err         error // the first write error: nothing is written after it
}

func newLineRenderer(w io.Writer) *lineRenderer { return &lineRenderer{w: w} }

// start switches the terminal to the chat screen's modes and asks whether
// it has left and right margins.
func (r *lineRenderer) start() {
	r.started = true
	r.write([]byte(enterScreen + askMargins))
}

// restore gives the terminal back as it was: main screen, cursor shown, no
// scroll region or margins, no mouse or paste reporting. Safe to call more
// than once.
func (r *lineRenderer) restore() {
	if r.started {
		r.started = false
		r.write([]byte(leaveScreen))
	}
}

// modeReport takes a mode report (DECRPM) from the terminal. The answer to
// askMargins that mode 69 is set (1) or set for good (3) switches the log
// to scrolling within left and right margins, once; any other answer, or
// none, leaves it as it is. The switch repaints the screen: the answer
// arrives after the first frames, and the next frame starts the new way
// from a known screen. The answer is the user's to type, as all input is:
// a false one garbles only that user's screen.
func (r *lineRenderer) modeReport(mode ansi.Mode, value ansi.ModeSetting) {
	if r.margins || mode != ansi.ModeLeftRightMargin || !value.IsSet() {
		return
	}
	r.margins = true
	r.drawn = false
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
	if !r.drawn || !sameLayout(s, &f) {
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

// sameLayout reports whether b puts its parts where a does: the same size,
// the same columns beside the log at the same places. Anything else is
// repainted.
func sameLayout(a, b *frame) bool {
	return a.width == b.width && a.height == b.height && a.tooSmall == b.tooSmall &&
		len(a.log) == len(b.log) &&
		(a.left == nil) == (b.left == nil) && (a.side == nil) == (b.side == nil) &&
		a.logAt() == b.logAt() && a.logEnd() == b.logEnd() &&
		a.leftBorder == b.leftBorder && a.border == b.border
}

// repaint draws f on a cleared screen and sets the log's scroll region.
func (r *lineRenderer) repaint(b []byte, f frame) []byte {
	b = append(b, "\x1b[H\x1b[J"...) // home, erase below: the whole screen
	if r.margins {
		b = append(b, "\x1b[s"...) // margins at the screen's edges (DECSLRM)
	}
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
	r.layoutColumns(&f)
	for i, row := range f.log {
		switch {
		case f.left != nil:
			b = r.wholeLeftCell(b, &f, i) // leaves the cursor where the log starts
			b = append(b, row.text...)
		case row.text != "":
			b = cup(b, i+1, 0)
			b = append(b, row.text...)
		}
		if f.side != nil {
			b = r.wholeRightCell(b, &f, i)
		}
	}
	return r.bottom(b, f, line{}, line{})
}

// update draws the difference between the shown frame and f, which have
// the same layout.
func (r *lineRenderer) update(b []byte, f frame) []byte {
	s := &r.shown
	if s.header != f.header {
		b = cup(b, 0, 0)
		b = append(b, f.header...)
	}
	r.layoutColumns(&f)
	// After a scroll by k, the log shows the old rows from k on, then k
	// blank ones: row i holds what row i+k held. So do the side columns
	// (moved by k) unless the log scrolled within margins (moved by 0),
	// in which case the new rows are drawn there already.
	k := scrolledBy(s.log, f.log)
	n := len(f.log)
	moved, drawnTo := 0, n
	if k > 0 {
		if r.margins && (f.left != nil || f.side != nil) && f.logEnd()-f.logAt() >= 2 {
			b = r.scrollLog(b, &f, k)
			drawnTo = n - k
		} else {
			b = cup(b, 1, 0)
			b = append(b, "\x1b["...)
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, 'M')
			moved = k
		}
	}
	// A side column unchanged, the rows a scroll moved are drawn together
	// by afterScroll, once the log rows are written.
	leftMoved := moved > 0 && f.left != nil && sameCells(s.left, f.left)
	rightMoved := moved > 0 && f.side != nil && sameCells(s.side, f.side)
	for i, row := range f.log {
		var old line
		if i+k < n {
			old = s.log[i+k]
		}
		rewritten := i < drawnTo && old.text != row.text
		if rewritten {
			b = writeRow(b, i+1, f.logAt(), row, f.width)
		}
		blank := i+moved >= n // the side columns' rows a scroll left blank
		if f.left != nil {
			switch {
			case blank:
				b = r.wholeLeftCell(b, &f, i)
			case !leftMoved && s.left[i+moved].text != f.left[i].text:
				b = r.left.redraw(b, i, s.left[i+moved].width)
			}
		}
		if f.side != nil {
			switch {
			case blank || rewritten: // erased to the end of the row
				b = r.wholeRightCell(b, &f, i)
			case !rightMoved && s.side[i+moved].text != f.side[i].text:
				b = r.right.redraw(b, i, s.side[i+moved].width)
			}
		}
	}
	// A row drawn above as well is drawn again alike: harmless, and rare
	// (a rewritten row above the new ones).
	if leftMoved {
		b = append(b, r.left.afterScroll(moved)...)
	}
	if rightMoved {
		b = append(b, r.right.afterScroll(moved)...)
	}
	return r.bottom(b, f, s.input, s.hint)
}

// scrollLog scrolls the log's rows, and only them, up by k within left and
// right margins set to the log's columns (DECSLRM; DECLRMM is set), and
// draws the k new rows at the bottom while the margins hold: a row the
// terminal draws wider than counted is cut at the right margin instead of
// reaching the member column. Scroll up (SU) needs no cursor inside the
// margins; setting the margins homes it. The margins are then put back at
// the screen's edges, where every other row is drawn.
func (r *lineRenderer) scrollLog(b []byte, f *frame, k int) []byte {
	b = append(b, "\x1b["...)
	b = strconv.AppendInt(b, int64(f.logAt()+1), 10)
	b = append(b, ';')
	b = strconv.AppendInt(b, int64(f.logEnd()), 10)
	b = append(b, 's')
	b = append(b, "\x1b["...)
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, 'S')
	n := len(f.log)
	for i := n - k; i < n; i++ { // blank after the scroll
		if row := f.log[i]; row.text != "" {
			b = cup(b, i+1, f.logAt())
			b = append(b, row.text...)
		}
	}
	return append(b, "\x1b[s"...)
}

// layoutColumns makes the side columns' cells ready to draw for f.
func (r *lineRenderer) layoutColumns(f *frame) {
	if f.left != nil {
		r.left.layout(f.left, 0, false)
	}
	if f.side != nil {
		r.right.layout(f.side, f.sideAt+sideBorderWidth, true)
	}
}

// wholeLeftCell draws row i of the conversation list on a row where
// nothing of it shows: the cell, then its border where the padding ends.
// It leaves the cursor where the log starts.
func (r *lineRenderer) wholeLeftCell(b []byte, f *frame, i int) []byte {
	b = r.left.redraw(b, i, 0)
	if pad := f.leftWidth - sideBorderWidth - f.left[i].width; pad > 0 {
		b = append(b, "\x1b["...)
		b = strconv.AppendInt(b, int64(pad), 10)
		b = append(b, 'C') // forward over the blanks (CUF)
	}
	return append(b, f.leftBorder...)
}

// wholeRightCell draws row i of the member column on a row where nothing
// of it shows, from its border on, erased to the end (before the cell when
// it reaches the screen's edge, as writeRow does): a log row the terminal
// drew wider than counted may have spilled there.
func (r *lineRenderer) wholeRightCell(b []byte, f *frame, i int) []byte {
	b = cup(b, i+1, f.sideAt)
	b = append(b, f.border...)
	return writeText(b, f.side[i], f.width-f.sideAt-sideBorderWidth)
}

// sideColumn is what redrawing each cell of a side column writes (the
// move there and the cell), made once per column and layout, in one piece
// of memory: a scroll moves the whole column, so most of its cells are
// redrawn for every message.
type sideColumn struct {
	// cells is the column rows was made for (a frame's column is never
	// changed once made, so keeping it is keeping a copy), at the screen
	// column its cells start at.
	cells  []sideCell
	at     int
	toEdge bool   // the column ends at the screen's edge
	rows   []byte // cell i is rows[ends[i]:ends[i+1]]
	ends   []int
	// scrolled is what the column needs after a scroll by scrolledBy
	// (afterScroll); 0: not made.
	scrolled   []byte
	scrolledBy int
}

// sameCells reports whether two side columns hold the same cells. The
// model builds a column's cells anew whenever they change and never
// writes into cells a frame holds (refreshChrome), so the same array is
// the same column: most frames (a new message) skip comparing every cell,
// which cost 5% of the server's CPU in a 300-session load run.
func sameCells(a, b []sideCell) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

func (c *sideColumn) layout(cells []sideCell, at int, toEdge bool) {
	if c.at == at && c.toEdge == toEdge && len(c.ends) == len(cells)+1 && sameCells(c.cells, cells) {
		return
	}
	c.cells, c.at, c.toEdge, c.scrolledBy = cells, at, toEdge, 0
	c.rows, c.ends = c.rows[:0], append(c.ends[:0], 0)
	for y, cell := range cells {
		c.rows = cup(c.rows, y+1, at)
		c.rows = append(c.rows, cell.text...)
		c.ends = append(c.ends, len(c.rows))
	}
}

// redraw draws cell i over one oldWidth wide, erasing what the new one
// does not cover: to the end of the row at the screen's edge, else over
// the difference (ECH).
func (c *sideColumn) redraw(b []byte, i, oldWidth int) []byte {
	b = append(b, c.rows[c.ends[i]:c.ends[i+1]]...)
	switch n := oldWidth - c.cells[i].width; {
	case n <= 0:
	case c.toEdge:
		b = append(b, "\x1b[K"...)
	default:
		b = append(b, "\x1b["...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, 'X')
	}
	return b
}

// afterScroll is what the column needs after the rows moved up by k with
// the column unchanged: each cell that differs from the one the scroll
// moved there, redrawn. It is the same for every message in a busy room,
// so it is made once per column, layout and k: a message then costs one
// copy instead of a comparison per row.
func (c *sideColumn) afterScroll(k int) []byte {
	if c.scrolledBy != k {
		c.scrolledBy = k
		c.scrolled = c.scrolled[:0]
		for i := 0; i+k < len(c.cells); i++ {
			if moved := c.cells[i+k]; moved.text != c.cells[i].text {
				c.scrolled = c.redraw(c.scrolled, i, moved.width)
			}
		}
	}
	return c.scrolled
}

// bottom draws the input and hint rows where they differ from the shown
// ones.
func (r *lineRenderer) bottom(b []byte, f frame, input, hint line) []byte {
	if f.tooSmall {
		return b
	}
	if input.text != f.input.text {
		b = writeRow(b, f.height-2, 0, f.input, f.width)
	}
	if f.height >= 2 && hint.text != f.hint.text {
		b = writeRow(b, f.height-1, 0, f.hint, f.width)
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

// writeRow writes text on row y from column x, leaving nothing of what was
// there after it: erased after the text, or, when the text reaches the
// screen's edge (the cursor then rests on its last cell, which must stay),
// before it.
func writeRow(b []byte, y, x int, text line, screenWidth int) []byte {
	b = cup(b, y, x)
	return writeText(b, sideCell{text.text, text.width}, screenWidth-x)
}

// writeText writes text where the cursor is, room cells from the screen's
// edge, and erases the rest of the row.
func writeText(b []byte, text sideCell, room int) []byte {
	if text.width >= room {
		b = append(b, "\x1b[K"...)
		return append(b, text.text...)
	}
	b = append(b, text.text...)
	return append(b, "\x1b[K"...)
}
