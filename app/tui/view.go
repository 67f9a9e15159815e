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
	input         line
	hint          line
	cursorX       int  // on the input row; -1: hidden
	tooSmall      bool // only the header, asking for a larger window
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

// frame builds the screen from the model's ready state: cached chrome,
// pre-wrapped log lines and the input.
func (m *Model) frame() frame {
	if m.width < minWidth || m.height < minHeight {
		return frame{width: m.width, height: m.height, cursorX: -1, tooSmall: true,
			header: m.st.header.Render(tooSmallText(m.width))}
	}
	f := frame{
		width: m.width, height: m.height,
		header:  m.chrome.header,
		log:     m.log.rows(),
		side:    m.chrome.side,
		sideAt:  m.logWidth(),
		border:  m.chrome.border,
		cursorX: -1,
	}
	if m.prompt.stale {
		m.prompt.refresh(m.width)
	}
	f.input, f.hint, f.cursorX = m.prompt.rows.input, m.prompt.rows.hint, m.prompt.rows.cursorX
	return f
}

// sideBorder starts every row of the member column: a line and a space.
const (
	sideBorder      = "│"
	sideBorderWidth = 2
)

// View composes the screen: header, log (with the member list beside it on
// wide terminals), input and hint bar. It is the reference picture the
// line renderer's output is tested against.
func (m Model) View() tea.View {
	f := m.frame()
	var b strings.Builder
	b.Grow(m.width * m.height * 2)
	b.WriteString(f.header)
	if f.tooSmall {
		return tea.NewView(b.String())
	}
	for i, row := range f.log {
		b.WriteByte('\n')
		b.WriteString(row.text)
		if f.side != nil {
			b.WriteString(strings.Repeat(" ", max(f.sideAt-row.width, 0)))
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
		v.Cursor = tea.NewCursor(f.cursorX, m.height-2)
		v.Cursor.Blink = false
	}
	return v
}

// chrome is the part of the screen that changes only with the member list
// or the size: built then, not for every frame.
type chrome struct {
	header string
	side   []sideCell
	border string
}

func (m *Model) refreshChrome() {
	m.chrome = chrome{header: m.headerLine(), side: m.sideRows(), border: m.st.border.Render(sideBorder) + " "}
}

func (m *Model) headerLine() string {
	left := " Messaging · #lobby"
	right := fmt.Sprintf("%d online · signed in as %s ", len(m.online), m.me)
	gap := m.width - ansi.WcWidth.StringWidth(left) - ansi.WcWidth.StringWidth(right)
	if gap < 1 {
		return m.st.header.Render(ansi.WcWidth.Truncate(left+" "+right, m.width, "…") + strings.Repeat(" ", max(m.width-ansi.WcWidth.StringWidth(left+" "+right), 0)))
	}
	return m.st.header.Render(left + strings.Repeat(" ", gap) + right)
}

// sideRows is the member column after its border, or nil when the
// terminal is narrow.
func (m *Model) sideRows() []sideCell {
	if !m.showSide() {
		return nil
	}
	h := m.logHeight()
	rows := make([]sideCell, h)
	inner := sideWidth - sideBorderWidth
	cell := func(style paint, text string) sideCell {
		text = ansi.WcWidth.Truncate(text, inner, "…")
		return sideCell{text: style.Render(text), width: ansi.WcWidth.StringWidth(text)}
	}
	rows[0] = cell(m.st.sideMe, fmt.Sprintf("Online (%d)", len(m.online)))
	for i, name := range m.online {
		row := i + 1
		if row >= h {
			break
		}
		if row == h-1 && i < len(m.online)-1 {
			rows[row] = cell(m.st.hint, fmt.Sprintf("+%d more", len(m.online)-i))
			break
		}
		rows[row] = cell(m.st.nameStyle(name, m.me), name)
	}
	return rows
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
