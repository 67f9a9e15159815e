package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// The layout: on a terminal at least sideMinWidth wide, the conversation
// list on the left of the log and the member column on its right; on a
// narrower one, the list as a switcher in the header.
const (
	// sideWidth is the member column, border included.
	sideWidth    = 20
	sideMinWidth = 80
)

// leftWidth is the conversation list's column, border included: wider on
// wider terminals, where names fit better.
func (m *Model) leftWidth() int {
	switch {
	case !m.showSide():
		return 0
	case m.width < 100:
		return 16
	case m.width < 120:
		return 18
	}
	return 22
}

// wrapWidth is the log's width less a column of space before the member
// list.
func (m *Model) wrapWidth() int {
	if m.showSide() {
		return m.logWidth() - 1
	}
	return m.logWidth()
}

func (m *Model) showSide() bool { return m.width >= sideMinWidth }

func (m *Model) logWidth() int {
	if m.showSide() {
		return m.width - m.leftWidth() - sideWidth
	}
	return m.width
}

// logHeight: the screen less the header, the input and the hint bar.
func (m *Model) logHeight() int { return max(m.height-3, 1) }

// frame builds the screen from the model's ready state: cached chrome,
// pre-wrapped log lines and the input.
func (m *Model) frame() frame {
	if m.width < minWidth || m.height < minHeight {
		return frame{width: m.width, height: m.height, cursorX: -1, tooSmall: true,
			header: m.st.header.Render(tooSmallText(m.width))}
	}
	f := frame{
		width: m.width, height: m.height,
		header:     m.chrome.header,
		log:        m.log.rows(),
		side:       m.chrome.side,
		sideAt:     m.leftWidth() + m.logWidth(),
		border:     m.chrome.border,
		left:       m.chrome.left,
		leftWidth:  m.leftWidth(),
		leftBorder: m.chrome.border,
		cursorX:    -1,
	}
	rows := m.inputRows()
	f.input, f.hint, f.cursorX = rows.input, rows.hint, rows.cursorX
	return f
}

// chrome is the part of the screen that changes only with the list, the
// members, the conversation shown or the size: built then, not for every
// frame.
type chrome struct {
	header string
	left   []sideCell // the conversation list; nil when narrow
	side   []sideCell // the member column; nil when narrow
	border string     // starts each row of both columns
}

// part names what of the chrome changed.
type part uint8

const (
	headerPart  part = 1 << iota // the conversation shown, its topic
	listPart                     // the list: conversations, unread counts
	membersPart                  // who is online in the conversation shown
	allParts    = headerPart | listPart | membersPart
)

// refreshChrome rebuilds the parts that changed (and the header, which
// counts the members, and holds the list when narrow).
func (m *Model) refreshChrome(parts part) {
	if parts == 0 {
		return
	}
	if parts&membersPart != 0 || (parts&listPart != 0 && !m.showSide()) {
		parts |= headerPart
	}
	c := m.chrome // a new chrome: the last frame drawn may hold the old one's rows
	c.border = m.st.border.Render(sideBorder) + " "
	if parts&headerPart != 0 {
		c.header = m.headerLine()
	}
	if parts&listPart != 0 {
		c.left = m.listRows()
	}
	if parts&membersPart != 0 {
		c.side = m.memberRows()
	}
	m.chrome = c
}

// headerLine names the conversation shown, with its topic, and who is
// there; on a narrow terminal it is the conversation switcher instead.
func (m *Model) headerLine() string {
	right := fmt.Sprintf("%d online · signed in as %s ", len(m.online), m.me)
	if !m.showSide() {
		right = fmt.Sprintf("%d online ", len(m.online))
		if m.width < 40 {
			right = ""
		}
		left := m.switcher(m.width - ansi.WcWidth.StringWidth(right) - 1)
		return m.st.header.on + left.text + strings.Repeat(" ", max(m.width-left.width-ansi.WcWidth.StringWidth(right), 0)) + right + m.st.header.off
	}
	left := " Messaging · " + m.cur.title
	if topic := chat.Sanitize(m.cur.Topic, 0); topic != "" {
		room := m.width - ansi.WcWidth.StringWidth(right) - 1
		if ansi.WcWidth.StringWidth(left)+4 < room {
			left = ansi.WcWidth.Truncate(left+" — "+topic, room, "…")
		}
	}
	gap := m.width - ansi.WcWidth.StringWidth(left) - ansi.WcWidth.StringWidth(right)
	if gap < 1 {
		return m.st.header.Render(ansi.WcWidth.Truncate(left+" "+right, m.width, "…") + strings.Repeat(" ", max(m.width-ansi.WcWidth.StringWidth(left+" "+right), 0)))
	}
	return m.st.header.Render(left + strings.Repeat(" ", gap) + right)
}

// cell is a row of a side column: text cut to width cells, in style.
func cell(style paint, text string, width int) sideCell {
	text = ansi.WcWidth.Truncate(text, width, "…")
	return sideCell{text: style.Render(text), width: ansi.WcWidth.StringWidth(text)}
}

// memberRows is the member column after its border: who is online in the
// conversation shown, each marked with their role ("@" an admin, "+" a
// moderator), those away dimmed; nil when the terminal is narrow.
func (m *Model) memberRows() []sideCell {
	if !m.showSide() {
		return nil
	}
	h := m.logHeight()
	rows := make([]sideCell, h)
	inner := sideWidth - sideBorderWidth
	rows[0] = cell(m.st.sideMe, fmt.Sprintf("Online (%d)", len(m.online)), inner)
	for i, p := range m.online {
		row := i + 1
		if row >= h {
			break
		}
		if row == h-1 && i < len(m.online)-1 {
			rows[row] = cell(m.st.hint, fmt.Sprintf("+%d more", len(m.online)-i), inner)
			break
		}
		name := chat.Sanitize(p.Name, 64)
		marked := p.Role.Mark() + name // "@alice": the mark is cut with the name
		if p.IsAway {
			rows[row] = cell(m.st.hint, marked+" (away)", inner)
			continue
		}
		rows[row] = cell(m.st.nameStyle(name, m.me), marked, inner)
	}
	return rows
}
