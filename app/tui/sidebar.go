package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// badge is what a conversation shows beside its name: how many posts are
// unread ("" for none), and "*" when one names the user or is a direct
// message.
func (c *conv) badge() string {
	if c.unread == 0 {
		return ""
	}
	n := strconv.Itoa(c.unread)
	if c.unread > 999 {
		n = "999+"
	}
	if c.marked {
		n += "*"
	}
	return n
}

// badgedTitle is the title with its badge, for a row of names:
// "#go(3)", "@bob(1)*".
func (c *conv) badgedTitle() string {
	badge := c.badge()
	if badge == "" {
		return c.title
	}
	if count, marked := strings.CutSuffix(badge, "*"); marked {
		return c.title + "(" + count + ")*"
	}
	return c.title + "(" + badge + ")"
}

// listRows is the conversation list on the left of the log, before its
// border: channels, then direct conversations, the one shown highlighted,
// unread counts on the right. When they do not all fit, the headings go,
// and the list scrolls to keep the one shown in view. Nil when the
// terminal is narrow.
func (m *Model) listRows() []sideCell {
	if !m.showSide() {
		return nil
	}
	h, inner := m.logHeight(), m.leftWidth()-sideBorderWidth
	rows := make([]sideCell, 0, h)
	all := m.convs.all
	if n := 1 + len(all); n <= h { // with headings
		rows = append(rows, cell(m.st.hint, " Channels", inner))
		for i, c := range all {
			if c.Kind == chat.Direct && (i == 0 || all[i-1].Kind != chat.Direct) {
				if n += 2; n > h {
					return m.listWindow(h, inner) // not with a second heading
				}
				rows = append(rows, sideCell{}, cell(m.st.hint, " Direct", inner))
			}
			rows = append(rows, m.listCell(c, inner))
		}
		return append(rows, make([]sideCell, h-len(rows))...)
	}
	return m.listWindow(h, inner)
}

// listWindow is the list without headings, as much of it as h rows hold
// around the conversation shown; a row at either end says how many more
// there are, and "*" if one of those needs the user.
func (m *Model) listWindow(h, inner int) []sideCell {
	all := m.convs.all
	rows := make([]sideCell, 0, h)
	start, end := 0, len(all)
	if len(all) > h {
		at := 0
		for at < len(all) && all[at] != m.cur {
			at++
		}
		start = min(max(at-h/2, 0), len(all)-h)
		end = start + h
		if start > 0 && h >= 3 {
			start++ // a row for what is above
		}
		if end < len(all) && h >= 3 {
			end-- // and below
		}
	}
	more := func(arrow string, hidden []*conv) sideCell {
		mark := ""
		for _, c := range hidden {
			if c.marked {
				mark = " *"
			}
		}
		return cell(m.st.hint, fmt.Sprintf(" %s %d more%s", arrow, len(hidden), mark), inner)
	}
	if start > 0 {
		rows = append(rows, more("↑", all[:start]))
	}
	for _, c := range all[start:end] {
		rows = append(rows, m.listCell(c, inner))
	}
	if end < len(all) {
		rows = append(rows, more("↓", all[end:]))
	}
	return append(rows, make([]sideCell, h-len(rows))...)[:h]
}

// listCell is one conversation's row of the list, width cells wide: the
// one shown in reverse video, one with unread posts in bold with their
// count, which a mention or a direct message paints as a mention.
func (m *Model) listCell(c *conv, width int) sideCell {
	badge := c.badge()
	room := width - 2 // a blank at either end
	if badge != "" {
		room -= len(badge) + 1
	}
	name := ansi.WcWidth.Truncate(c.title, max(room, 1), "…")
	pad := strings.Repeat(" ", max(width-2-ansi.WcWidth.StringWidth(name)-len(badge), 0))
	switch {
	case c == m.cur:
		text := " " + name + pad + badge + " "
		return sideCell{text: m.st.marker.Render(text), width: ansi.WcWidth.StringWidth(text)}
	case badge == "":
		return sideCell{text: " " + name, width: 1 + ansi.WcWidth.StringWidth(name)}
	}
	badgeStyle := m.st.sideMe
	if c.marked {
		badgeStyle = m.st.mention
	}
	return sideCell{
		text:  " " + m.st.sideMe.Render(name) + pad + badgeStyle.Render(badge),
		width: 1 + ansi.WcWidth.StringWidth(name) + len(pad) + len(badge),
	}
}

// switcher is the list in one row of at most width cells, for the header
// of a narrow terminal: "#lobby  #go(3)  @bob(1)*", the one shown
// standing out of the header's reverse video. Conversations that do not
// fit around the one shown are an ellipsis at either end.
func (m *Model) switcher(width int) sideCell {
	all := m.convs.all
	labels, widths := make([]string, len(all)), make([]int, len(all))
	at := 0
	for i, c := range all {
		labels[i] = c.badgedTitle()
		widths[i] = ansi.WcWidth.StringWidth(labels[i])
		if c == m.cur {
			at = i
		}
	}
	if 1+widths[at] > width { // the one shown alone, cut
		label := ansi.WcWidth.Truncate(labels[at], max(width-1, 0), "…")
		return sideCell{text: " " + m.st.header.off + m.st.sideMe.Render(label) + m.st.header.on, width: 1 + ansi.WcWidth.StringWidth(label)}
	}
	lo, hi, used := at, at+1, 1+widths[at]
	fits := func(extra, lo, hi int) bool {
		ends := 0
		if lo > 0 {
			ends += 2 // "… "
		}
		if hi < len(all) {
			ends += 2 // " …"
		}
		return used+extra+ends <= width
	}
	for grown := true; grown; {
		grown = false
		if hi < len(all) && fits(2+widths[hi], lo, hi+1) {
			used, hi, grown = used+2+widths[hi], hi+1, true
		}
		if lo > 0 && fits(2+widths[lo-1], lo-1, hi) {
			used, lo, grown = used+2+widths[lo-1], lo-1, true
		}
	}
	var b strings.Builder
	b.WriteString(" ")
	if lo > 0 {
		b.WriteString("… ")
		used += 2
	}
	for i := lo; i < hi; i++ {
		if i > lo {
			b.WriteString("  ")
		}
		if i == at {
			b.WriteString(m.st.header.off + m.st.sideMe.Render(labels[i]) + m.st.header.on)
			continue
		}
		b.WriteString(labels[i])
	}
	if hi < len(all) {
		b.WriteString(" …")
		used += 2
	}
	return sideCell{text: b.String(), width: used}
}
