package tui

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

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
	// sum is a hash of text. The renderer compares cells for every message
	// (a scroll moves the column), and most differ: telling them apart by
	// sum reads no text, which is rarely in the CPU's cache.
	sum uint64
}

func newSideCell(text string, width int) sideCell {
	return sideCell{text: text, width: width, sum: textSum(text)}
}

// textSum is FNV-1a, but 0 for "": an empty cell's zero value is right.
func textSum(s string) uint64 {
	if s == "" {
		return 0
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// differs reports whether c and d show different text.
func (c sideCell) differs(d sideCell) bool { return c.sum != d.sum || c.text != d.text }

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
		log:     m.logRows(),
		side:    m.chrome.side,
		sideAt:  m.logWidth(),
		border:  m.chrome.border,
		cursorX: -1,
	}
	if m.inputStale {
		m.refreshInput()
	}
	f.input, f.hint, f.cursorX = m.inputRows.input, m.inputRows.hint, m.inputRows.cursorX
	return f
}

// inputRows are the input line, the hint bar and the cursor.
type inputRows struct {
	input, hint line
	cursorX     int
}

// refreshInput draws the input row: the prompt, then the part of the text
// around the cursor that fits, and says where the cursor is. The textinput
// edits the text; its own view counts characters where the terminal
// counts cells, so the cursor would stray after wide characters.
func (m *Model) refreshInput() {
	r := inputRows{hint: m.hintLine()}
	prompt := m.st.prompt.Render(m.input.Prompt)
	promptWidth := ansi.WcWidth.StringWidth(m.input.Prompt)
	if value := m.input.Value(); value == "" {
		placeholder := ansi.WcWidth.Truncate(m.input.Placeholder, max(m.width-promptWidth, 0), "")
		r.input = line{text: prompt + m.st.placeholder.Render(placeholder), width: promptWidth + ansi.WcWidth.StringWidth(placeholder)}
		r.cursorX, m.inputOffset = promptWidth, 0
	} else {
		runes, pos := []rune(value), m.input.Position()
		row := max(m.width-promptWidth, 1)
		m.inputOffset = inputWindow(runes, pos, m.inputOffset, row)
		shown := 0
		var b strings.Builder
		for i := m.inputOffset; i < len(runes) && shown+runeCells(runes[i]) <= row; i++ {
			if i == pos {
				r.cursorX = promptWidth + shown
			}
			shown += runeCells(runes[i])
			if !hidden(runes[i]) {
				b.WriteRune(runes[i])
			}
		}
		if pos == len(runes) {
			r.cursorX = promptWidth + shown
		}
		r.input = line{text: prompt + b.String(), width: promptWidth + shown}
	}
	m.inputRows, m.inputStale = r, false
}

// inputWindow is the first character of the input shown in a row of the
// given cells: it moves only as far as keeping the cursor in view needs
// (a cell is kept for the cursor after the text), never leaves the row's
// end empty while text is hidden on the left, and never starts on a
// character that only modifies the one before it.
func inputWindow(runes []rune, pos, offset, row int) int {
	// first: the earliest start that still shows the cursor's cell.
	first, used := pos, runeCellsAt(runes, pos)
	for first > 0 && used+runeCells(runes[first-1]) <= row {
		used += runeCells(runes[first-1])
		first--
	}
	// fill: the earliest start whose text still fits the row.
	fill, used := len(runes), 1 // the cursor may sit after the text
	for fill > 0 && used+runeCells(runes[fill-1]) <= row {
		used += runeCells(runes[fill-1])
		fill--
	}
	offset = min(max(min(offset, fill), first), pos)
	for offset < pos && modifies(runes[offset]) {
		offset++
	}
	return offset
}

// runeCellsAt is the cells of the character at i, or the one cell the
// cursor takes after the text.
func runeCellsAt(runes []rune, i int) int {
	if i < len(runes) {
		return max(runeCells(runes[i]), 1)
	}
	return 1
}

// runeCells is how many cells a terminal gives r: wcwidth, as xterm and
// tmux count. Controls and format characters are not shown at all.
func runeCells(r rune) int {
	if hidden(r) {
		return 0
	}
	return ansi.WcWidth.StringWidth(string(r))
}

// hidden: controls and format characters are never drawn.
func hidden(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

// modifies reports whether r only changes the character before it: a
// combining mark (variation selectors are marks too), an emoji skin tone.
func modifies(r rune) bool {
	return unicode.IsMark(r) || (r >= 0x1F3FB && r <= 0x1F3FF) || hidden(r)
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

// logRows are the log lines in view, bottom-aligned, with a marker on the
// last row while scrolled up.
func (m *Model) logRows() []line {
	h := m.logHeight()
	end := len(m.lines) - m.scroll
	start := max(end-h, 0)
	visible := m.lines[start:end:end]
	if len(visible) == h && m.scroll == 0 {
		// The common case, without a copy: lines already in m.lines are
		// never changed in place (new ones are appended, a reflow builds a
		// new array), so the frame the renderer keeps stays valid.
		return visible
	}
	rows := make([]line, h)
	copy(rows[h-len(visible):], visible)
	if m.scroll > 0 {
		text := " ↑ scrolled back · Esc to return "
		if m.unseen > 0 {
			text = fmt.Sprintf(" ↓ %d new message%s below · Esc to jump ", m.unseen, plural(m.unseen))
		}
		rows[h-1] = m.plain(m.st.marker, ansi.WcWidth.Truncate(text, m.logWidth(), "…"))
	}
	return rows
}

// plain is a styled line that is not part of the log (id 0).
func (m *Model) plain(style paint, text string) line {
	return line{text: style.Render(text), width: ansi.WcWidth.StringWidth(text)}
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
		return newSideCell(style.Render(text), ansi.WcWidth.StringWidth(text))
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

func (m *Model) hintLine() line {
	hint := " /help · PgUp/PgDn scroll · Ctrl+C quit"
	counter, counterWidth := "", 0
	if n := utf8.RuneCountInString(m.input.Value()); n > m.max-100 {
		style := m.st.counter
		if n > m.max {
			style = m.st.counterOver
		}
		plain := fmt.Sprintf("%d/%d ", n, m.max)
		counter, counterWidth = style.Render(plain), len(plain)
	}
	space := m.width - ansi.WcWidth.StringWidth(hint) - counterWidth
	if space < 0 {
		room := max(m.width-counterWidth, 0)
		return line{text: ansi.WcWidth.Truncate(m.st.hint.Render(hint), room, "") + counter, width: min(ansi.WcWidth.StringWidth(hint), room) + counterWidth}
	}
	return line{text: m.st.hint.Render(hint) + strings.Repeat(" ", space) + counter, width: m.width}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
