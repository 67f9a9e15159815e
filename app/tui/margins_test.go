package tui

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"messaging/chat"
)

// sides is a session's screen with side columns of every kind, made as
// frames the way the model makes them: a bottom-aligned log of styled
// rows, each with an id, that scrolls as lines arrive; a conversation list
// on the log's left and a member list on its right, either, both or
// neither, which change and come and go; resizes, typing, the header.
type sides struct {
	rng           *rand.Rand
	st            styles
	width, height int
	leftWidth     int    // 0: no conversation list
	leftBorder    string // where the conversation list ends
	right         bool   // the member list
	lines         []line // the log, oldest first
	back          int    // lines scrolled back from the newest
	convs         []string
	members       []string
	header, input string
	nextID        uint64
}

func newSides(seed uint64, width, height, leftWidth int, right bool) *sides {
	s := &sides{
		rng: rand.New(rand.NewPCG(seed, 69)), st: newStyles(colorprofile.ANSI256),
		width: width, height: height, leftWidth: leftWidth, right: right,
		header:  "Messaging · #lobby",
		convs:   []string{"#lobby", "#golang", "#random", "@bob", "@carol (2)", "#ops"},
		members: crowd(12)[:8],
	}
	s.leftBorder = s.st.border.Render(sideBorder) + " "
	s.add(2 * height)
	return s
}

// logAt and logEnd are the log's columns.
func (s *sides) logAt() int {
	if s.leftWidth > 0 {
		return s.leftWidth
	}
	return 0
}

func (s *sides) logEnd() int {
	if s.right {
		return s.width - sideWidth
	}
	return s.width
}

var sideWords = []string{"hello", "lunch?", "世界", "ok", "the", "quick", "brown", "fox", "ÉÀ", "e\u0301", "你好", "deploy", "at", "noon", "@alice", "!!"}

// add appends n rows to the log, as messages wrapped to the log's width.
// Scrolled back, the view stays where it is.
func (s *sides) add(n int) {
	width := max(s.logEnd()-s.logAt(), 1)
	for range n {
		s.nextID++
		var plain, styled strings.Builder
		name := someNames[s.rng.IntN(len(someNames))]
		if s.rng.IntN(3) > 0 && width >= 20 {
			name = ansi.Truncate(name, width/3, "")
			plain.WriteString("09:30:00 " + name + ": ")
			styled.WriteString(s.st.time.Render("09:30:00") + " " + s.st.nameStyle(name, "alice").Render(name) + ": ")
		}
		style := []paint{{}, s.st.mention, s.st.system, s.st.notice}[s.rng.IntN(4)]
		styled.WriteString(style.on)
		for range s.rng.IntN(14) {
			word := sideWords[s.rng.IntN(len(sideWords))] + " "
			if ansi.WcWidth.StringWidth(plain.String()+word) > width {
				break
			}
			plain.WriteString(word)
			styled.WriteString(word)
		}
		styled.WriteString(style.off)
		s.lines = append(s.lines, line{text: styled.String(), width: ansi.WcWidth.StringWidth(plain.String()), id: s.nextID})
		if s.back > 0 {
			s.back++
		}
	}
}

// reflow writes the log again for a new layout, as the model wraps it
// again: new rows, new ids.
func (s *sides) reflow() {
	n := len(s.lines)
	s.lines, s.back = nil, 0
	s.add(n)
}

func (s *sides) cells(names []string, inner int, style func(i int, name string) paint) []sideCell {
	rows := make([]sideCell, s.height-3)
	for i := range min(len(names), len(rows)) {
		text := ansi.WcWidth.Truncate(names[i], inner, "…")
		rows[i] = sideCell{text: style(i, names[i]).Render(text), width: ansi.WcWidth.StringWidth(text)}
	}
	return rows
}

// headerRow is the header across the whole width, as the model's is.
func (s *sides) headerRow() string {
	text := ansi.Truncate(s.header, s.width, "")
	return s.st.header.Render(text + strings.Repeat(" ", s.width-ansi.WcWidth.StringWidth(text)))
}

func (s *sides) frame() frame {
	f := frame{width: s.width, height: s.height, cursorX: -1, header: s.headerRow()}
	if s.width < minWidth || s.height < minHeight {
		f.tooSmall = true
		return f
	}
	h := s.height - 3
	f.log = make([]line, h)
	for i, j := h-1, len(s.lines)-s.back-1; i >= 0 && j >= 0; i, j = i-1, j-1 {
		f.log[i] = s.lines[j]
	}
	if s.leftWidth > 0 {
		f.left = s.cells(append([]string{"Conversations"}, s.convs...), s.leftWidth-sideBorderWidth, func(i int, name string) paint {
			switch {
			case i == 0:
				return s.st.sideMe
			case i == 1:
				return s.st.marker // the one shown, in reverse
			case strings.HasSuffix(name, ")"):
				return s.st.mention
			}
			return paint{}
		})
		f.leftWidth, f.leftBorder = s.leftWidth, s.leftBorder
	}
	if s.right {
		names := append([]string{fmt.Sprintf("Online (%d)", len(s.members))}, s.members...)
		f.side = s.cells(names, sideWidth-sideBorderWidth, func(i int, name string) paint {
			if i == 0 {
				return s.st.sideMe
			}
			return s.st.nameStyle(name, "alice")
		})
		f.sideAt, f.border = s.logEnd(), s.st.border.Render(sideBorder)+" "
	}
	input := ansi.Truncate("> "+s.input, s.width-1, "")
	f.input = line{text: input, width: ansi.WcWidth.StringWidth(input)}
	f.hint = line{text: s.st.hint.Render("Enter sends"), width: 11}
	f.cursorX = f.input.width
	return f
}

// step changes the session as one thing it meets would, and says what.
func (s *sides) step() string {
	rng := s.rng
	switch n := rng.IntN(100); {
	case n < 35:
		k := 1 + rng.IntN(3)
		s.add(k)
		return fmt.Sprintf("%d new rows", k)
	case n < 38:
		s.add(s.height + rng.IntN(10))
		return "a burst"
	case n < 45:
		s.back = rng.IntN(len(s.lines)) * rng.IntN(2)
		return fmt.Sprintf("scrolled back %d", s.back)
	case n < 55:
		if rng.IntN(2) == 0 || len(s.members) < 2 {
			s.members = slices.Insert(slices.Clone(s.members), rng.IntN(len(s.members)+1), someNames[rng.IntN(len(someNames))])
		} else {
			s.members = slices.Delete(slices.Clone(s.members), 0, 1+rng.IntN(len(s.members)-1))
		}
		s.add(1) // the join or leave notice, in the same frame
		return fmt.Sprintf("%d members, with a notice", len(s.members))
	case n < 63:
		i := 1 + rng.IntN(len(s.convs)-1)
		convs := slices.Clone(s.convs)
		convs[i] = strings.Fields(convs[i])[0] + []string{"", " (1)", " (42)", " (9+)"}[rng.IntN(4)]
		if rng.IntN(3) == 0 {
			convs = append(convs, fmt.Sprintf("@%s", someNames[rng.IntN(len(someNames))]))
		}
		s.convs = convs
		if rng.IntN(2) == 0 {
			s.add(1)
			return "conversation list and a new row"
		}
		return "conversation list"
	case n < 70:
		switch rng.IntN(3) {
		case 0:
			s.leftWidth = []int{0, 14, 18, 24}[rng.IntN(4)]
		case 1:
			s.leftBorder = []string{s.st.border.Render(sideBorder) + " ", " " + s.st.border.Render(sideBorder)}[rng.IntN(2)]
		default:
			s.right = !s.right
		}
		if s.logEnd()-s.logAt() < 12 {
			s.leftWidth, s.right = 0, false
		}
		s.reflow()
		return fmt.Sprintf("layout: left %d, right %v", s.leftWidth, s.right)
	case n < 76:
		s.width, s.height = 40+rng.IntN(140), 4+rng.IntN(40)
		if s.logEnd()-s.logAt() < 12 {
			s.leftWidth, s.right = 0, false
		}
		s.reflow()
		return fmt.Sprintf("resize %dx%d", s.width, s.height)
	case n < 90:
		s.input += sideWords[rng.IntN(len(sideWords))] + " "
		if rng.IntN(8) == 0 {
			s.input = ""
		}
		return "typing"
	default:
		s.header = fmt.Sprintf("Messaging · #lobby · %d online", rng.IntN(100))
		return "header"
	}
}

// sideLayouts are the side columns a session starts with.
var sideLayouts = []struct {
	name      string
	leftWidth int
	right     bool
}{{"neither", 0, false}, {"left", 18, false}, {"right", 0, true}, {"both", 18, true}}

// scrollName names the way the log scrolls.
func scrollName(margins bool) string {
	if margins {
		return "margins"
	}
	return "repaint"
}

// TestSideColumnsAreDrawnAsViewShowsThem plays sessions that start with
// each kind of side columns (neither, the conversation list, the member
// list, both) and change them, on a terminal without left and right
// margins and on one with them, and checks after every step that the
// renderer's bytes give the screen View composes from the same frame.
func TestSideColumnsAreDrawnAsViewShowsThem(t *testing.T) {
	seeds, steps := 6, 150
	if testing.Short() || raceEnabled {
		seeds = 2
	}
	for _, margins := range []bool{false, true} {
		for _, layout := range sideLayouts {
			for seed := range seeds {
				name := fmt.Sprintf("%s/%s/%d", scrollName(margins), layout.name, seed)
				t.Run(name, func(t *testing.T) {
					s := newSides(uint64(seed), 120, 40, layout.leftWidth, layout.right)
					var term *terminal
					if margins {
						term = newMarginsTerminal(t, s.width, s.height)
					} else {
						term = newTerminal(s.width, s.height)
					}
					ref := vt.NewEmulator(s.width, s.height)
					_, _ = ref.WriteString(enterScreen)
					what := "start"
					for step := range steps {
						f := s.frame()
						term.drawFrame(f)
						if err := sameScreen(term.emu, referenceFrame(ref, f)); err != nil {
							t.Fatalf("step %d (%s, %dx%d, left %d, right %v): %v", step, what, s.width, s.height, s.leftWidth, s.right, err)
						}
						what = s.step()
					}
				})
			}
		}
	}
}

// BenchmarkMessageBytes is what one message costs a session in bytes
// (bytes/msg) and in the renderer's time: frames that each bring one new
// log row, on a 120x40 terminal with the conversation list (18 columns)
// on the log's left and a full member list (20) on its right, scrolled
// within margins or across the whole width.
func BenchmarkMessageBytes(b *testing.B) {
	for _, margins := range []bool{false, true} {
		b.Run(scrollName(margins), func(b *testing.B) {
			s := newSides(1, 120, 40, 18, true)
			s.members = crowd(300)
			f := s.frame() // its columns stay: the model keeps them until they change
			st, h := s.st, len(f.log)
			bodies := []string{"are we still on for lunch at noon?", "ok", "the deploy is done, all green", "see https://example.com/a/b", "👋 hello everyone"}
			rows := slices.Clone(f.log)
			var bytes countingWriter
			r := newLineRenderer(&bytes)
			if margins {
				r.modeReport(ansi.ModeLeftRightMargin, ansi.ModeSet)
			}
			r.draw(f, false)
			bytes = 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				msg := chat.Message{ID: int64(1000 + i), Time: base, Author: someNames[i%7], Kind: chat.KindText, Body: bodies[i%len(bodies)]}
				row := st.render(entry{msg: msg}, "alice", f.sideAt-f.leftWidth-1)[0]
				row.id = uint64(1000 + i)
				rows = append(rows, row)
				f.log = rows[len(rows)-h:]
				r.draw(f, false)
			}
			b.ReportMetric(float64(bytes)/float64(b.N), "bytes/msg")
		})
	}
}

// TestOnlyAPositiveMarginsAnswerSwitchesTheScroll hands the screen each
// answer a terminal may give to askMargins, decoded by the session's key
// reader: only "set" (1) and "set for good" (3) switch the log to scrolling
// within margins, with one repaint when the answer arrives; no answer,
// "not recognised" (0), "reset" (2), "reset for good" (4) or another
// mode's report keep the whole-width scroll. Either way the screen is as
// View shows it.
func TestOnlyAPositiveMarginsAnswerSwitchesTheScroll(t *testing.T) {
	for _, tc := range []struct {
		answer  string
		margins bool
	}{
		{"", false},
		{"\x1b[?69;0$y", false},
		{"\x1b[?69;2$y", false},
		{"\x1b[?69;4$y", false},
		{"\x1b[?2026;1$y", false},
		{"\x1b[?69;1$y", true},
		{"\x1b[?69;3$y", true},
	} {
		t.Run(fmt.Sprintf("%q", tc.answer), func(t *testing.T) {
			f := newFixture(t, 100, 30, conversation(50))
			f.model.setOnline(crowd(300))
			term := newTerminal(100, 30) // x/vt has the margins, whatever it is said to answer
			s := screenOn(&f.model, term.r)
			play := func() string {
				out := term.out.String()
				_, _ = term.emu.Write(term.out.Bytes())
				term.out.Reset()
				return out
			}
			s.draw()
			play()
			if tc.answer != "" {
				report, ok := decodeOne(t, tc.answer).(uv.ModeReportEvent)
				if !ok {
					t.Fatalf("%q did not decode as a mode report", tc.answer)
				}
				if _, cmd := s.Update(tea.ModeReportMsg(report)); cmd != nil {
					t.Errorf("the answer gave a command")
				}
				s.Update(flushMsg{})
				if repainted := strings.Contains(play(), "\x1b[H\x1b[J"); repainted != tc.margins {
					t.Errorf("repainted: %v, want %v", repainted, tc.margins)
				}
				s.Update(tea.ModeReportMsg(report)) // again: nothing more to do
				s.Update(flushMsg{})
				if out := play(); strings.Contains(out, "\x1b[H\x1b[J") {
					t.Errorf("the same answer again repainted: %q", out)
				}
			}
			s.Update(receivedMsg{[]chat.Message{{ID: 1000, Time: base, Author: "bob", Kind: chat.KindText, Body: "one more message for the log"}}})
			s.Update(flushMsg{})
			out := play()
			if tc.margins {
				fr := f.model.frame()
				if !strings.Contains(out, fmt.Sprintf("\x1b[%d;%ds\x1b[1S", fr.logAt()+1, fr.logEnd())) || strings.Contains(out, "member") {
					t.Errorf("a message on a terminal with margins: %q, want the log scrolled within them and no member redrawn", out)
				}
			} else if !strings.Contains(out, "\x1b[1M") || setsMargins.MatchString(out) {
				t.Errorf("a message: %q, want the whole width scrolled and no margins", out)
			}
			if err := sameScreen(term.emu, reference(vt.NewEmulator(100, 30), f.model)); err != nil {
				t.Error(err)
			}
		})
	}
}

// setsMargins finds left and right margins set (DECSLRM).
var setsMargins = regexp.MustCompile(`\x1b\[\d*;\d+s`)

// TestANewMessageLeavesTheSideColumnsAloneWithinMargins: with both side
// columns full, a new line on a terminal with margins scrolls the log's
// rectangle, writes the line, and touches neither column.
func TestANewMessageLeavesTheSideColumnsAloneWithinMargins(t *testing.T) {
	s := newSides(3, 120, 40, 18, true)
	s.members, s.convs = crowd(300), crowd(60)
	term := newMarginsTerminal(t, 120, 40)
	ref := vt.NewEmulator(120, 40)
	_, _ = ref.WriteString(enterScreen)
	term.drawFrame(s.frame())
	for i := range 3 {
		s.add(1 + i)
		f := s.frame()
		n := term.drawFrame(f)
		out := term.out.String()
		if want := fmt.Sprintf("\x1b[19;100s\x1b[%dS", 1+i); !strings.Contains(out, want) || strings.Contains(out, "member") || strings.Contains(out, sideBorder) {
			t.Errorf("%d new rows: %q, want the log scrolled within margins (%q) and neither column drawn", 1+i, out, want)
		}
		t.Logf("%d new rows: %d bytes", 1+i, n)
		if err := sameScreen(term.emu, referenceFrame(ref, f)); err != nil {
			t.Fatal(err)
		}
	}
}
