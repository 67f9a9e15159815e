package tui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// View composes the screen from the model's ready state: header, log (with
// the member list beside it on wide terminals), input and hint bar.
func (m Model) View() tea.View {
	var b strings.Builder
	b.Grow(m.width * m.height * 2)
	b.WriteString(m.headerLine())
	rows := m.logRows()
	side := m.sideRows()
	for i, row := range rows {
		b.WriteByte('\n')
		b.WriteString(row.text)
		if side != nil {
			b.WriteString(strings.Repeat(" ", max(m.logWidth()-row.width, 0)))
			b.WriteString(side[i])
		}
	}
	b.WriteByte('\n')
	b.WriteString(m.input.View())
	b.WriteByte('\n')
	b.WriteString(m.hintLine())

	v := tea.NewView(b.String())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	if c := m.input.Cursor(); c != nil {
		c.Y = m.height - 2
		c.Blink = false
		v.Cursor = c
	}
	return v
}

func (m Model) headerLine() string {
	left := " Messaging · #lobby"
	right := fmt.Sprintf("%d online · signed in as %s ", len(m.online), m.me)
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return m.st.header.Render(ansi.Truncate(left+" "+right, m.width, "…") + strings.Repeat(" ", max(m.width-ansi.StringWidth(left+" "+right), 0)))
	}
	return m.st.header.Render(left + strings.Repeat(" ", gap) + right)
}

// logRows are the log lines in view, bottom-aligned, with a marker on the
// last row while scrolled up.
func (m Model) logRows() []line {
	h := m.logHeight()
	rows := make([]line, h)
	end := len(m.lines) - m.scroll
	start := max(end-h, 0)
	visible := m.lines[start:end]
	copy(rows[h-len(visible):], visible)
	if m.scroll > 0 {
		text := " ↑ scrolled back · End to return "
		if m.unseen > 0 {
			text = fmt.Sprintf(" ↓ %d new message%s below · End to jump ", m.unseen, plural(m.unseen))
		}
		rows[h-1] = m.plain(m.st.marker, ansi.Truncate(text, m.logWidth(), "…"))
	}
	return rows
}

func (m Model) plain(style interface{ Render(...string) string }, text string) line {
	return line{text: style.Render(text), width: ansi.StringWidth(text)}
}

// sideRows is the member list column, or nil when the terminal is narrow.
func (m Model) sideRows() []string {
	if !m.showSide() {
		return nil
	}
	h := m.logHeight()
	rows := make([]string, h)
	inner := sideWidth - 2
	names := []string{m.st.sideMe.Render(fmt.Sprintf("Online (%d)", len(m.online)))}
	for i, name := range m.online {
		if len(names) == h-1 && i < len(m.online)-1 {
			names = append(names, m.st.hint.Render(fmt.Sprintf("+%d more", len(m.online)-i)))
			break
		}
		style := m.st.nameStyle(name)
		if strings.EqualFold(name, m.me) {
			style = m.st.me
		}
		names = append(names, style.Render(ansi.Truncate(name, inner, "…")))
	}
	bar := m.st.border.Render("│")
	for i := range rows {
		rows[i] = bar + " "
		if i < len(names) {
			rows[i] += names[i]
		}
	}
	return rows
}

func (m Model) hintLine() string {
	hint := " /help · PgUp/PgDn scroll · Ctrl+C quit"
	counter := ""
	if n := utf8.RuneCountInString(m.input.Value()); n > m.max-100 {
		style := m.st.counter
		if n > m.max {
			style = m.st.counterOver
		}
		counter = style.Render(fmt.Sprintf("%d/%d ", n, m.max))
	}
	space := m.width - ansi.StringWidth(hint) - ansi.StringWidth(counter)
	if space < 0 {
		return ansi.Truncate(m.st.hint.Render(hint), max(m.width-ansi.StringWidth(counter), 0), "") + counter
	}
	return m.st.hint.Render(hint) + strings.Repeat(" ", space) + counter
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
