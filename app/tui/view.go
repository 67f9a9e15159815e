package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// frame is the screen as rows of styled text: View composes it into one
// string, the line renderer draws only its difference from the last frame.
type frame struct {
	width, height int
	header        string     // full width
	log           []line     // logHeight rows, bottom-aligned
	side          []sideCell // the member column beside the log; nil when narrow
	sideAt        int        // first column of the member column
	border        string     // starts each row of the member column
	// left is the conversation list on the left of the log, nil when
	// narrow; each row is its cell, padded to leftWidth-sideBorderWidth,
	// then leftBorder. The log starts at column leftWidth (0 without it).
	left       []sideCell
	leftWidth  int
	leftBorder string
	input      line
	hint       line
	cursorX    int  // on the input row; -1: hidden
	tooSmall   bool // only the header, asking for a larger window
}

// The smallest terminal the chat is drawn in; a smaller one shows a line
// asking for more room.
const (
	minWidth  = 16
	minHeight = 4
)

// tooSmallText says what size the chat needs, as fully as width allows.
func tooSmallText(width int) string {
	need := fmt.Sprintf("%d×%d", minWidth, minHeight)
	for _, text := range []string{
		"Window too small: the chat needs " + need,
		"Too small: need " + need,
		"Need " + need,
		"≥" + need,
		need,
	} {
		if ansi.WcWidth.StringWidth(text) <= width {
			return text
		}
	}
	return ansi.WcWidth.Truncate("≥"+need, width, "…")
}

// sideCell is one row of the member column after its border.
type sideCell struct {
	text  string // styled
	width int
}

// sideBorder starts every row of the member column: a line and a space.
const (
	sideBorder      = "│"
	sideBorderWidth = 2
)

// View composes the screen: header, log (with the conversation list on its
// left and the member list on its right on wide terminals), input and hint
// bar. It is the reference picture the line renderer's output is tested
// against.
func (m Model) View() tea.View { return m.frame().view() }

// view composes f as View shows it.
func (f frame) view() tea.View {
	var b strings.Builder
	b.Grow(f.width * f.height * 2)
	b.WriteString(f.header)
	if f.tooSmall {
		return tea.NewView(b.String())
	}
	for i, row := range f.log {
		b.WriteByte('\n')
		if f.left != nil {
			b.WriteString(f.left[i].text)
			b.WriteString(strings.Repeat(" ", max(f.leftWidth-sideBorderWidth-f.left[i].width, 0)))
			b.WriteString(f.leftBorder)
		}
		b.WriteString(row.text)
		if f.side != nil {
			b.WriteString(strings.Repeat(" ", max(f.sideAt-f.logAt()-row.width, 0)))
			b.WriteString(f.border)
			b.WriteString(f.side[i].text)
		}
	}
	b.WriteByte('\n')
	b.WriteString(f.input.text)
	b.WriteByte('\n')
	b.WriteString(f.hint.text)

	// The picture only: the terminal's modes are the renderer's
	// (enterScreen).
	v := tea.NewView(b.String())
	if f.cursorX >= 0 {
		v.Cursor = tea.NewCursor(f.cursorX, f.height-2)
		v.Cursor.Blink = false
	}
	return v
}

// logAt is the first column of the log, logEnd the column after its last.
func (f *frame) logAt() int {
	if f.left == nil {
		return 0
	}
	return f.leftWidth
}

func (f *frame) logEnd() int {
	if f.side == nil {
		return f.width
	}
	return f.sideAt
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
