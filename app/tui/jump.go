package tui

import (
	"cmp"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// jumper is Ctrl+K's prompt, in place of the input line: part of a
// conversation's name, the matches listed in the hint bar, best first.
// Enter shows the one picked (the best, unless Tab or the arrows picked
// another), Esc cancels. The line being typed waits in the input.
type jumper struct {
	active bool
	prompt *prompt // made at the first Ctrl+K: most sessions never open it
	found  []*conv // the matches, best first
	pick   int     // the one Enter shows
}

// maxJump bounds what the jump prompt takes, in characters: a name is at
// most 31.
const maxJump = 64

func newJumpPrompt(st *styles) *prompt {
	p := newPrompt(st, maxJump)
	p.input.Prompt = "Go to: "
	p.input.Placeholder = "part of a name; Enter shows it, Tab picks another, Esc cancels"
	return &p
}

// jumpKey opens the jump prompt.
func (m *Model) jumpKey(tea.KeyPressMsg) (tea.Cmd, bool) {
	if m.jump.prompt == nil {
		m.jump.prompt = newJumpPrompt(m.st)
	}
	m.jump.active = true
	m.jump.prompt.clear()
	m.jump.match(m.convs.all, m.cur)
	return nil, true
}

// jumping takes a key while the jump prompt is open.
func (m *Model) jumping(k tea.KeyPressMsg) tea.Cmd {
	j := &m.jump
	switch k.String() {
	case "enter", "ctrl+j":
		j.active = false
		if len(j.found) == 0 {
			m.notice("No conversation matches " + j.prompt.value() + ".")
			return nil
		}
		return m.show(j.found[j.pick])
	case "esc", "ctrl+c", "ctrl+k":
		j.active = false
	case "tab", "down", "ctrl+n":
		if len(j.found) > 0 {
			j.pick = (j.pick + 1) % len(j.found)
		}
	case "shift+tab", "up", "ctrl+p":
		if len(j.found) > 0 {
			j.pick = (j.pick + len(j.found) - 1) % len(j.found)
		}
	default:
		cmd := j.prompt.edit(k)
		j.match(m.convs.all, m.cur)
		return cmd
	}
	return nil
}

// match finds the conversations (other than cur) whose name holds what
// was typed, and picks the best.
func (j *jumper) match(all []*conv, cur *conv) {
	j.found, j.pick = rankConvs(all, cur, j.prompt.value()), 0
}

// rankConvs are the conversations of all but cur that query names, best
// first: a name that is the query, then one it begins, one with a word it
// begins ("go" in "#learn-go"), one that holds it, one that holds its
// letters in order. A leading "#" looks among channels only, "@" among
// direct conversations. Among equals, those that need the user come first
// (a mention or a direct message unread, then anything unread), then the
// most recently shown. An empty query lists them all that way.
func rankConvs(all []*conv, cur *conv, query string) []*conv {
	q := strings.ToLower(strings.TrimSpace(query))
	var kind chat.ConvKind
	switch {
	case strings.HasPrefix(q, "#"):
		kind, q = chat.Channel, q[1:]
	case strings.HasPrefix(q, "@"):
		kind, q = chat.Direct, q[1:]
	}
	type match struct {
		c     *conv
		score int
	}
	var found []match
	for _, c := range all {
		if c == cur || (kind != 0 && c.Kind != kind) {
			continue
		}
		name := strings.ToLower(strings.TrimLeft(c.title, "#@"))
		if score := matchScore(name, q); score >= 0 {
			found = append(found, match{c, score})
		}
	}
	slices.SortStableFunc(found, func(a, b match) int {
		return cmp.Or(
			cmp.Compare(a.score, b.score),
			-cmp.Compare(b2i(a.c.marked), b2i(b.c.marked)),
			-cmp.Compare(b2i(a.c.unread > 0), b2i(b.c.unread > 0)),
			-cmp.Compare(a.c.shown, b.c.shown),
		)
	})
	convs := make([]*conv, len(found))
	for i, f := range found {
		convs[i] = f.c
	}
	return convs
}

// matchScore says how well name matches q (lower case both): 0 is best,
// -1 no match at all.
func matchScore(name, q string) int {
	switch {
	case name == q:
		return 0
	case strings.HasPrefix(name, q):
		return 1
	case strings.Contains(name, "-"+q), strings.Contains(name, "_"+q):
		return 2
	case strings.Contains(name, q):
		return 3
	}
	rest := q
	for _, r := range name {
		if rest == "" {
			break
		}
		if strings.HasPrefix(rest, string(r)) {
			rest = rest[len(string(r)):]
		}
	}
	if rest == "" {
		return 4
	}
	return -1
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hintLine lists the matches in the hint bar, width cells wide, the one
// Enter shows in bold.
func (j *jumper) hintLine(st *styles, width int) line {
	if len(j.found) == 0 {
		return plain(st.hint, ansi.WcWidth.Truncate(" no conversation matches · Esc cancels", width, "…"))
	}
	var b strings.Builder
	used := 0
	for i, c := range j.found {
		text := " " + c.badgedTitle()
		if i > 0 {
			text = " " + text
		}
		w := ansi.WcWidth.StringWidth(text)
		if used+w > width-2 && i > 0 {
			b.WriteString(st.hint.Render(" …"))
			used += 2
			break
		}
		text = ansi.WcWidth.Truncate(text, width, "…")
		style := st.hint
		if i == j.pick {
			style = st.sideMe
		}
		b.WriteString(style.Render(text))
		used += ansi.WcWidth.StringWidth(text)
	}
	return line{text: b.String(), width: used}
}

// inputRows are the rows under the log: the input line, or the question
// asked, or the jump prompt while it is open.
func (m *Model) inputRows() inputRows {
	if m.ask.active {
		return m.ask.rows(m.width)
	}
	if !m.jump.active {
		if m.prompt.stale {
			m.prompt.refresh(m.width)
		}
		return m.prompt.rows
	}
	if p := m.jump.prompt; p.stale {
		p.refresh(m.width)
		p.rows.hint = m.jump.hintLine(m.st, m.width)
	}
	return m.jump.prompt.rows
}
