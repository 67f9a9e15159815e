package tui

import (
	"image/color"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// timeWidth is the width of the "15:04:05 " column; wrapped lines hang
// under the text, not under the time.
const timeWidth = 9

// removedText is what the log shows in place of a post a moderator
// removed.
const removedText = "[removed by a moderator]"

// indent, timeWidth spaces, hangs a message's wrapped lines under its
// text.
const indent = "         "

// line is one already-wrapped, already-styled row of the screen.
type line struct {
	text  string // styled
	width int    // cells
	// id names a log line for as long as it is shown (0: not a log line):
	// the renderer finds how far the log scrolled by it.
	id uint64
}

// styles are built per session, with colours converted to what the
// client's terminal shows (no colour at all on a dumb terminal). Each is
// a paint: lipgloss builds the style once, painting a text is then two
// concatenations.
type styles struct {
	time, system, action, me, meAction, notice, mention paint
	header, hint, marker, sideMe, counter, counterOver  paint
	border                                              paint
	names, namesAction                                  []paint
	profile                                             colorprofile.Profile
	// The input line's, for the textinput.
	prompt, placeholder lipgloss.Style
}

// paint is a style as the escape sequences around a text.
type paint struct{ on, off string }

func paintOf(style lipgloss.Style) paint {
	x := style.Render("x")
	i := strings.Index(x, "x")
	return paint{on: x[:i], off: x[i+1:]}
}

// Render paints text, which must be one line without tabs.
func (p paint) Render(text string) string { return p.on + text + p.off }

func newStyles(profile colorprofile.Profile) styles {
	// fg and bg colour a style if the terminal has that colour, or a
	// close one.
	convert := func(c string) color.Color {
		if profile == colorprofile.Unknown {
			return lipgloss.Color(c)
		}
		return profile.Convert(lipgloss.Color(c))
	}
	fg := func(s lipgloss.Style, c string) lipgloss.Style {
		if col := convert(c); col != nil {
			return s.Foreground(col)
		}
		return s
	}
	bg := func(s lipgloss.Style, c string) lipgloss.Style {
		if col := convert(c); col != nil {
			return s.Background(col)
		}
		return s
	}
	plain := lipgloss.NewStyle()
	me := fg(plain.Bold(true), "231")
	s := styles{
		profile:     profile,
		time:        paintOf(fg(plain, "245")),
		system:      paintOf(fg(plain, "244").Italic(true)),
		action:      paintOf(plain.Italic(true)),
		me:          paintOf(me),
		meAction:    paintOf(me.Italic(true)),
		notice:      paintOf(fg(plain, "214")),
		mention:     paintOf(bg(fg(plain.Bold(true), "231"), "88")),
		header:      paintOf(plain.Bold(true).Reverse(true)),
		hint:        paintOf(plain.Faint(true)),
		marker:      paintOf(plain.Bold(true).Reverse(true)),
		sideMe:      paintOf(plain.Bold(true)),
		counter:     paintOf(plain.Faint(true)),
		counterOver: paintOf(fg(plain.Bold(true), "196")),
		border:      paintOf(plain.Faint(true)),
		prompt:      fg(plain, "7"),
		placeholder: fg(plain, "240"),
	}
	palette := []string{"33", "39", "41", "45", "75", "112", "135", "166", "170", "178", "203", "214"}
	for _, c := range palette {
		s.names = append(s.names, paintOf(fg(plain, c)))
		s.namesAction = append(s.namesAction, paintOf(fg(plain, c).Italic(true)))
	}
	return s
}

// nameStyle colours a name by a stable hash, the same in every session;
// me is bold white.
func (s *styles) nameStyle(name, me string) paint {
	if strings.EqualFold(name, me) {
		return s.me
	}
	return s.names[nameHash(name)%uint32(len(s.names))]
}

// nameActionStyle is nameStyle in italics, for /me.
func (s *styles) nameActionStyle(name, me string) paint {
	if strings.EqualFold(name, me) {
		return s.meAction
	}
	return s.namesAction[nameHash(name)%uint32(len(s.namesAction))]
}

// nameHash is FNV-1a of the name in lower case (names are ASCII), without
// allocating: it runs for every message in every session.
func nameHash(name string) uint32 {
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint32(c)) * prime
	}
	return h
}

// entry is what the log shows: a room message, or a local notice (ID 0)
// that only this session sees.
type entry struct {
	msg     chat.Message
	local   bool
	mention bool
	rows    int // lines it takes in the log now, its day line included
	// A local notice given again right after itself is one entry: key
	// says which notices are the same, repeats how often it was given.
	key     string
	repeats int
	// event is the kind of a room event the log keeps as its sentence
	// (msg.Kind is then KindSystem): a purge rewrites an away or topic
	// sentence.
	event chat.Kind
}

// render wraps e to width cells and styles it. Text is sanitised again here:
// history and other nodes are inputs too.
func (s *styles) render(e entry, me string, width int) []line {
	width = max(width, timeWidth+2)
	m := e.msg
	author := chat.Sanitize(m.Author, 64)
	body := chat.Sanitize(m.Body, 0)
	var head, text string // head is the styled part before the text
	var plainHead string
	var textStyle paint
	switch {
	case e.local:
		// The prefix marks notices even without colour: no user name
		// can begin a line with it.
		plainHead, text, textStyle = "", "-!- "+body, s.notice
		if e.repeats > 1 {
			text += " (×" + strconv.Itoa(e.repeats) + ")"
		}
	case m.Kind == chat.KindText:
		plainHead, text = author+": ", body
		head = s.nameStyle(author, me).Render(author) + ": "
	case m.Kind == chat.KindAction:
		plainHead, text, textStyle = "* "+author+" ", body, s.action
		head = s.action.Render("* ") + s.nameActionStyle(author, me).Render(author) + " "
	case m.Kind == chat.KindJoin: // a login: the others it names are in Body
		plainHead, text, textStyle = "", "→ "+chat.Sanitize(m.Who(), 0)+" joined", s.system
	case m.Kind == chat.KindLeave:
		plainHead, text, textStyle = "", "← "+chat.Sanitize(m.Who(), 0)+" left", s.system
	default:
		plainHead, text, textStyle = "", body, s.system
	}
	switch {
	case !e.local && m.Removed && isPost(m):
		// The name and the time stay: who said something, and when.
		text, textStyle = removedText, s.hint
	case e.mention:
		textStyle = s.mention
	}
	wrapped := wrapText(plainHead+text, width-timeWidth)
	out := make([]line, 0, len(wrapped))
	var b strings.Builder
	for i, w := range wrapped {
		b.Reset()
		if i == 0 {
			b.WriteString(s.time.on)
			b.WriteString(m.Time.Format("15:04:05"))
			b.WriteString(s.time.off)
			b.WriteByte(' ')
		} else {
			b.WriteString(indent)
		}
		if i == 0 && head != "" {
			// The head's blank is gone when the text starts on the next
			// row.
			switch trimmed := strings.TrimRight(plainHead, " "); {
			case strings.HasPrefix(w, plainHead):
				b.WriteString(head)
				w = w[len(plainHead):]
			case w == trimmed:
				b.WriteString(strings.TrimRight(head, " "))
				w = ""
			}
		}
		b.WriteString(textStyle.on)
		b.WriteString(w)
		b.WriteString(textStyle.off)
		out = append(out, line{text: b.String(), width: timeWidth + ansi.WcWidth.StringWidth(wrapped[i])})
	}
	return out
}

// mentions reports whether body names me as a whole word, in any case, with
// or without a leading @.
func mentions(body, me string) bool {
	if me == "" {
		return false
	}
	lower, name := strings.ToLower(body), strings.ToLower(me)
	for i := 0; ; {
		j := strings.Index(lower[i:], name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(name)
		before, _ := utf8.DecodeLastRuneInString(lower[:start])
		after, _ := utf8.DecodeRuneInString(lower[end:])
		if !wordRune(before) && !wordRune(after) {
			return true
		}
		i = start + 1
	}
}

func wordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')
}
