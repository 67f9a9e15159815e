package tui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"messaging/chat"
)

// terminal is what a user sees: the line renderer's bytes played on an
// emulated terminal.
type terminal struct {
	emu *vt.Emulator
	r   *lineRenderer
	out bytes.Buffer
}

// newTerminal is a terminal that does not answer whether it has left and
// right margins, as most do not: the renderer scrolls the whole width.
func newTerminal(width, height int) *terminal {
	t, _ := openTerminal(width, height)
	return t
}

// newMarginsTerminal is a terminal that has left and right margins and
// says so: x/vt answers askMargins, the session's key reader decodes the
// answer, and the renderer takes it (as screen.Update hands it over; see
// TestAPositiveMarginsAnswerRepaintsOnceThenScrollsTheLogAlone).
func newMarginsTerminal(t testing.TB, width, height int) *terminal {
	t.Helper()
	term, answer := openTerminal(width, height)
	report, ok := decodeOne(t, answer).(uv.ModeReportEvent)
	if !ok || report.Mode != ansi.ModeLeftRightMargin || report.Value != ansi.ModeSet {
		t.Fatalf("x/vt answered %q to %q, want mode 69 set", answer, askMargins)
	}
	term.r.modeReport(report.Mode, report.Value)
	if !term.r.margins {
		t.Fatal("the answer did not reach the renderer")
	}
	return term
}

// openTerminal starts a renderer on an emulator and returns what the
// emulator answered.
func openTerminal(width, height int) (*terminal, string) {
	t := &terminal{emu: vt.NewEmulator(width, height)}
	t.r = newLineRenderer(&t.out)
	t.r.start()
	// The emulator writes its answer into a pipe as it reads the
	// question, and waits for it to be read.
	played := make(chan struct{})
	go func() {
		defer close(played)
		_, _ = t.emu.Write(t.out.Bytes())
	}()
	answer := make([]byte, 64)
	n, _ := t.emu.Read(answer)
	<-played
	t.out.Reset()
	return t, string(answer[:n])
}

// decodeOne decodes input as the session's input scanner does and returns
// the one event it holds.
func decodeOne(t testing.TB, input string) uv.Event {
	t.Helper()
	s := newInputScanner(len(input) + 1)
	var got []uv.Event
	s.decode(context.Background(), &loneEscReader{r: strings.NewReader(input)}, func(ev uv.Event) { got = append(got, ev) }, func(timeUp func()) { timeUp() })
	if len(got) != 1 {
		t.Fatalf("%q decoded as %#v, want one event", input, got)
	}
	return got[0]
}

// draw renders m as the session would, resizing the terminal first as the
// client's window would have been; it returns the bytes written.
func (t *terminal) draw(m *Model) int { return t.drawFrame(m.frame()) }

// drawFrame renders f, resizing the terminal first as the client's window
// would have been; it returns the bytes written.
func (t *terminal) drawFrame(f frame) int {
	if t.emu.Width() != f.width || t.emu.Height() != f.height {
		t.emu.Resize(f.width, f.height)
	}
	t.out.Reset()
	t.r.draw(f, false)
	n := t.out.Len()
	_, _ = t.emu.Write(t.out.Bytes())
	return n
}

// reference draws the screen View describes on emu, cleared first.
func reference(emu *vt.Emulator, m Model) *vt.Emulator { return play(emu, m.View(), m.width, m.height) }

// referenceFrame draws the screen View would compose from f on emu,
// cleared first.
func referenceFrame(emu *vt.Emulator, f frame) *vt.Emulator {
	return play(emu, f.view(), f.width, f.height)
}

func play(emu *vt.Emulator, v tea.View, width, height int) *vt.Emulator {
	if emu.Width() != width || emu.Height() != height {
		emu.Resize(width, height)
	}
	_, _ = emu.WriteString("\x1b[m\x1b[H\x1b[J" + strings.ReplaceAll(v.Content, "\n", "\r\n"))
	if v.Cursor != nil {
		_, _ = fmt.Fprintf(emu, "\x1b[%d;%dH", v.Cursor.Y+1, v.Cursor.X+1)
	}
	return emu
}

// sameScreen reports the first difference between two screens: every
// cell's text, width and style, and the cursor.
func sameScreen(got, want *vt.Emulator) error {
	for y := 0; y < want.Height(); y++ {
		for x := 0; x < want.Width(); x++ {
			g, w := got.CellAt(x, y), want.CellAt(x, y)
			if cellText(g.Content) != cellText(w.Content) || g.Width != w.Width || !g.Style.Equal(&w.Style) {
				return fmt.Errorf("cell %d,%d is %q %+v, want %q %+v\nrenderer:\n%s\nView:\n%s",
					x, y, g.Content, g.Style, w.Content, w.Style, got.String(), want.String())
			}
		}
	}
	if g, w := got.CursorPosition(), want.CursorPosition(); g != w {
		return fmt.Errorf("cursor at %v, want %v", g, w)
	}
	return nil
}

// sameContent reports whether View still draws what emu shows.
func sameContent(emu *vt.Emulator, m Model) bool {
	again := vt.NewEmulator(m.width, m.height)
	_, _ = again.WriteString(enterScreen)
	return sameScreen(emu, reference(again, m)) == nil
}

func cellText(s string) string {
	if s == "" {
		return " "
	}
	return s
}

// TestLineRendererDrawsWhatViewShows plays random sessions (messages,
// members coming and going, resizes, scrolling, typing) on a terminal
// without left and right margins and on one with them, and checks after
// every step that the renderer's bytes give the screen View describes.
func TestLineRendererDrawsWhatViewShows(t *testing.T) {
	seeds := 16
	if testing.Short() || raceEnabled { // the race detector makes each step 5-10 times slower
		seeds = 5
	}
	for seed := range 2 * seeds {
		margins := seed%2 == 1
		t.Run(fmt.Sprint(seed, "/", scrollName(margins)), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed/2), 7))
			sizes := [][2]int{{80, 24}, {100, 30}, {60, 15}, {200, 60}, {79, 20}, {120, 8}, {30, 6}, {16, 4}, {10, 3}}
			size := sizes[rng.IntN(len(sizes))]
			f := newFixture(t, size[0], size[1], conversation(rng.IntN(40)))
			term := newTerminal(size[0], size[1])
			if margins {
				term = newMarginsTerminal(t, size[0], size[1])
			}
			term.draw(&f.model)
			ref := vt.NewEmulator(size[0], size[1])
			_, _ = ref.WriteString(enterScreen) // the alternate screen keeps no scroll-back to fill
			nextID := int64(1000)
			for step := range 120 {
				what := f.randomEvent(rng, &nextID)
				want := reference(ref, f.model)
				term.draw(&f.model)
				if !sameContent(ref, f.model) {
					t.Fatalf("step %d (%s): drawing changed the model", step, what)
				}
				if err := sameScreen(term.emu, want); err != nil {
					t.Fatalf("step %d (%s, %dx%d): %v", step, what, f.model.width, f.model.height, err)
				}
			}
		})
	}
}

var (
	someWords = []string{"hello", "alice", "世界", "👋", "a", "lunch?", "https://example.com/a/very/long/path/that/wraps/somewhere",
		"ok", "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "ÉÀ", "@alice", "!!",
		"e\u0301", "你好世界", strings.Repeat("long", 30)}
	// Emoji with modifiers or variation selectors are left out: terminals
	// disagree on their width (tmux counts 👋🏽 as 4 cells, x/vt as 2), so
	// no one picture is right; the renderer survives them (see
	// TestRowsSurviveWidthDisagreements).
	someNames = []string{"bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia",
		"peggy", "rupert", "sybil", "trent", "victor", "walter", "averyveryverylongname1"}
)

// randomEvent changes the model as one thing a session meets would, and
// says what it was.
func (f *fixture) randomEvent(rng *rand.Rand, nextID *int64) string {
	switch n := rng.IntN(100); {
	case n < 35:
		var msgs []chat.Message
		for range 1 + rng.IntN(3) {
			*nextID++
			words := make([]string, 1+rng.IntN(30))
			for i := range words {
				words[i] = someWords[rng.IntN(len(someWords))]
			}
			kind := []chat.Kind{chat.KindText, chat.KindText, chat.KindText, chat.KindAction, chat.KindJoin, chat.KindLeave}[rng.IntN(6)]
			day := time.Duration(*nextID/40) * 24 * time.Hour
			msgs = append(msgs, chat.Message{ID: *nextID, Time: base.Add(day), Author: someNames[rng.IntN(len(someNames))], Kind: kind, Body: strings.Join(words, " ")})
		}
		f.send(receivedMsg{msgs})
		return fmt.Sprintf("%d messages", len(msgs))
	case n < 45:
		names := append([]string{"alice"}, someNames[:rng.IntN(len(someNames))]...)
		f.model.setOnline(names)
		return fmt.Sprintf("%d online", len(names))
	case n < 52:
		w, h := 10+rng.IntN(200), 3+rng.IntN(60)
		f.send(tea.WindowSizeMsg{Width: w, Height: h})
		return "resize"
	case n < 65:
		key := []rune{tea.KeyPgUp, tea.KeyPgDown, tea.KeyEnd, tea.KeyHome, tea.KeyEscape}[rng.IntN(5)]
		cmd := f.send(tea.KeyPressMsg{Code: key, Mod: tea.ModCtrl * tea.KeyMod(rng.IntN(2))})
		if cmd != nil && rng.IntN(2) == 0 {
			if msg := cmd(); msg != nil { // an older page
				f.send(msg)
			}
		}
		return "scroll key"
	case n < 70:
		f.send(tea.MouseWheelMsg{Button: []tea.MouseButton{tea.MouseWheelUp, tea.MouseWheelDown}[rng.IntN(2)]})
		return "wheel"
	case n < 88:
		f.typeText(someWords[rng.IntN(len(someWords))] + " ")
		return "typing"
	case n < 92:
		f.press(tea.KeyBackspace)
		for range rng.IntN(12) {
			f.press(tea.KeyLeft)
		}
		if rng.IntN(4) == 0 {
			f.send(tea.KeyPressMsg{Code: 'a', Mod: tea.ModCtrl})
		}
		return "editing"
	case n < 95:
		f.send(tea.PasteMsg{Content: strings.Repeat("pasted text ", rng.IntN(120))})
		return "paste"
	default:
		f.model.prompt.input.SetValue("")
		f.model.prompt.refresh(f.model.width)
		f.typeText([]string{"/who", "/help", "/nosuch"}[rng.IntN(3)])
		f.press(tea.KeyEnter)
		return "command"
	}
}

// crowd is n members besides alice, as the member column lists them.
func crowd(n int) []string {
	names := []string{"alice"}
	for i := range n {
		names = append(names, fmt.Sprintf("member%03d", i))
	}
	return names
}

// TestANewMessageCostsOneScrolledLine checks the renderer's point: at
// 100x30 with the member column full, one new message scrolls the log
// region and writes the line and the member column, not the screen.
func TestANewMessageCostsOneScrolledLine(t *testing.T) {
	f := newFixture(t, 100, 30, conversation(50))
	f.model.setOnline(crowd(300))
	term := newTerminal(100, 30)
	term.draw(&f.model)
	full := term.out.Len()
	f.send(receivedMsg{[]chat.Message{{ID: 1000, Time: base, Author: "bob", Kind: chat.KindText, Body: "one more message for the log"}}})
	n := term.draw(&f.model)
	if !strings.Contains(term.out.String(), "\x1b[1M") {
		t.Errorf("the log was not scrolled: %q", term.out.String())
	}
	t.Logf("a new message: %d bytes (a full repaint: %d)", n, full)
	if n > 1500 {
		t.Errorf("a new message took %d bytes, want at most 1500", n)
	}
	if err := sameScreen(term.emu, reference(vt.NewEmulator(100, 30), f.model)); err != nil {
		t.Error(err)
	}
}

// BenchmarkDrawNewMessage is the server's cost of one message in one
// session: Update, the frame and the renderer's bytes.
// BenchmarkDrawNewMessage is one session taking a new message and drawing
// it: alone, it wraps and styles the message itself; shared, another
// session showing it alike did that already (see LineCache), as for all but
// the first of a room's sessions.
func BenchmarkDrawNewMessage(b *testing.B) {
	for _, shared := range []bool{false, true} {
		b.Run(map[bool]string{false: "alone", true: "shared"}[shared], func(b *testing.B) {
			f := newFixture(b, 100, 30, conversation(50))
			f.model.setOnline(crowd(300))
			if shared {
				f.model.log.shared = NewLineCache()
			}
			s := newScreen(f.model, io.Discard, nil)
			s.out.draw(s.Model.frame(), false)
			var bytes countingWriter
			s.out.w = &bytes
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				msg := chat.Message{ID: int64(1000 + i), Time: base, Author: "bob", Kind: chat.KindText, Body: "one more message for the log"}
				if shared {
					b.StopTimer()
					other := *s.Model
					other.log.shared.put(lineKey{id: msg.ID, width: other.wrapWidth(), profile: other.st.profile}, other.st.render(entry{msg: msg}, "carol", other.wrapWidth()))
					b.StartTimer()
				}
				s.Model.apply(receivedMsg{[]chat.Message{msg}})
				s.draw()
			}
			b.ReportMetric(float64(bytes)/float64(b.N), "bytes/msg")
		})
	}
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// TestRowsSurviveWidthDisagreements draws characters whose width the
// terminal counts differently (x/vt gives 👋🏽 2 cells, wcwidth 4): the rows
// holding them may differ, every other row, the member column's border and
// the hint bar must not.
func TestRowsSurviveWidthDisagreements(t *testing.T) {
	const wave, heart = "👋🏽", "❤️"
	disputed := func(s string) bool { return strings.Contains(s, wave) || strings.Contains(s, heart) }
	f := newFixture(t, 80, 24, conversation(30))
	term := newTerminal(80, 24)
	ref := vt.NewEmulator(80, 24)
	_, _ = ref.WriteString(enterScreen)
	check := func(what string) {
		t.Helper()
		term.draw(&f.model)
		reference(ref, f.model)
		frame := f.model.frame()
		for y := range f.model.height {
			contested := y == f.model.height-2 && disputed(f.model.prompt.input.Value())
			if y >= 1 && y <= len(frame.log) {
				contested = disputed(frame.log[y-1].text)
				if got := term.emu.CellAt(frame.sideAt, y).Content; got != sideBorder {
					t.Errorf("%s: row %d has %q where the member column's border goes", what, y, got)
				}
			}
			if contested {
				// Only the member column must be right: its border where
				// it goes, the cell after it, nothing else.
				if frame.side != nil && y >= 1 && y <= len(frame.log) {
					want := []rune(sideBorder + " " + ansi.Strip(frame.side[y-1].text))
					want = append(want, []rune(strings.Repeat(" ", sideWidth-len(want)))...)
					for x := frame.sideAt; x < f.model.width; x++ {
						if got := cellText(term.emu.CellAt(x, y).Content); got != string(want[x-frame.sideAt]) {
							t.Fatalf("%s: member column cell %d,%d is %q, want %q\n%s", what, x, y, got, string(want[x-frame.sideAt]), term.emu.String())
						}
					}
				}
				continue
			}
			for x := range f.model.width {
				if g, w := term.emu.CellAt(x, y), ref.CellAt(x, y); cellText(g.Content) != cellText(w.Content) {
					t.Fatalf("%s: cell %d,%d is %q, want %q\nrenderer:\n%s\nView:\n%s", what, x, y, g.Content, w.Content, term.emu.String(), ref.String())
				}
			}
		}
	}
	check("start")
	f.send(receivedMsg{[]chat.Message{{ID: 1000, Time: base, Author: "bob", Kind: chat.KindText, Body: strings.Repeat(wave, 5) + " waving"}}})
	check("the waves")
	for range 2 {
		f.typeText("/help")
		f.press(tea.KeyEnter)
		check("/help")
	}
	f.press(tea.KeyPgUp)
	check("PgUp")
	f.press(tea.KeyEnd)
	f.typeText("wave " + wave + " ok")
	check("typing a wave")
	f.press(tea.KeyEscape)
	check("the input cleared")

	// Characters x/vt counts wider than we do: rows it draws too wide
	// are cut at the edge, never wrapped onto the next row.
	f.send(receivedMsg{[]chat.Message{{ID: 1001, Time: base, Author: "bob", Kind: chat.KindText, Body: strings.Repeat(heart, 100)}}})
	check("a row of hearts") // x/vt draws them wider: they reach the member column
	f.typeText(strings.Repeat(heart, 90))
	for y := range f.model.height {
		if y != f.model.height-1 && y != 0 {
			continue
		}
		term.draw(&f.model)
		reference(ref, f.model)
		for x := range f.model.width {
			if g, w := term.emu.CellAt(x, y), ref.CellAt(x, y); cellText(g.Content) != cellText(w.Content) {
				t.Fatalf("hearts: cell %d,%d is %q, want %q\nrenderer:\n%s", x, y, g.Content, w.Content, term.emu.String())
			}
		}
	}
}

// TestAWindowChangeRepaintsEvenAtTheSameSize: a terminal resets its scroll
// region when its window changes; a size over the clamp reaches the model
// unchanged, and the next scroll must not move the whole screen.
func TestAWindowChangeRepaintsEvenAtTheSameSize(t *testing.T) {
	f := newFixture(t, 80, 24, conversation(30))
	term := newTerminal(80, 24)
	s := screenOn(&f.model, term.r)
	play := func() {
		_, _ = term.emu.Write(term.out.Bytes())
		term.out.Reset()
	}
	s.Init()
	play()
	_, _ = term.emu.WriteString("\x1b[r") // the window changed: the region is gone
	s.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	s.Update(flushMsg{})
	play()
	s.Update(receivedMsg{[]chat.Message{{ID: 1000, Time: base, Author: "bob", Kind: chat.KindText, Body: "after the window changed"}}})
	s.Update(flushMsg{})
	play()
	if err := sameScreen(term.emu, reference(vt.NewEmulator(80, 24), f.model)); err != nil {
		t.Error(err)
	}
}

// TestTooSmallDrawsOnlyChanges: a window too small for the chat shows one
// line, drawn once, not repainted for every message.
func TestTooSmallDrawsOnlyChanges(t *testing.T) {
	f := newFixture(t, 10, 3, nil)
	term := newTerminal(10, 3)
	term.draw(&f.model)
	f.send(receivedMsg{[]chat.Message{{ID: 1000, Time: base, Author: "bob", Kind: chat.KindText, Body: "hello"}}})
	if n := term.draw(&f.model); n != 0 {
		t.Errorf("a message in a too-small window wrote %d bytes: %q", n, term.out.String())
	}
}

// TestAFullWidthRowLeavesNothingBehind: a row that fills the width is
// erased before it is written, so a terminal that draws it narrower than
// counted shows no cells of the row before.
func TestAFullWidthRowLeavesNothingBehind(t *testing.T) {
	frameWith := func(text string) frame {
		return frame{width: 20, height: 6, header: "header", cursorX: -1,
			log:   []line{{}, {}, {text: text, width: 20, id: 1}},
			input: line{text: "> ", width: 2}, hint: line{text: "hint", width: 4}}
	}
	term := newTerminal(20, 6)
	term.r.draw(frameWith(strings.Repeat("A", 20)), false)
	term.r.draw(frameWith("👋🏽"+strings.Repeat("B", 16)), false) // wcwidth 20; x/vt draws 18
	_, _ = term.emu.Write(term.out.Bytes())
	if row := term.emu.String(); strings.Contains(row, "A") {
		t.Errorf("the old row shows through:\n%s", row)
	}
}

// screenOn is a screen drawing m through r, as Run makes one, without a
// program: frames that wait are drawn by sending it flushMsg by hand.
func screenOn(m *Model, r *lineRenderer) screen {
	return screen{Model: m, out: &screenOutput{lineRenderer: r}, started: make(chan struct{}), guard: func(c tea.Cmd) tea.Cmd { return c }}
}

// TestFilterDrawsDeliveriesOutsideTheRound: the program's filter applies
// and drops a delivery, drawing it at once or, within frameEvery of the
// last draw, with the next frame; other messages pass untouched.
func TestFilterDrawsDeliveriesOutsideTheRound(t *testing.T) {
	f := newFixture(t, 80, 24, conversation(3))
	term := newTerminal(80, 24)
	s := screenOn(&f.model, term.r)
	flushed := make(chan tea.Msg, 1)
	s.out.send = func(msg tea.Msg) { flushed <- msg }
	s.draw()
	term.out.Reset()
	deliver := func(id int64, body string) tea.Msg {
		return s.filter(s, receivedMsg{[]chat.Message{{ID: id, Time: base, Author: "bob", Kind: chat.KindText, Body: body}}})
	}

	// Within frameEvery of the last draw: applied, drawn with the next frame.
	if passed := deliver(1000, "too soon to draw"); passed != nil {
		t.Fatalf("a delivery waiting for its frame was passed on: %#v", passed)
	}
	if !strings.Contains(f.model.View().Content, "too soon to draw") {
		t.Error("the delivery was not applied")
	}
	if strings.Contains(term.out.String(), "too soon to draw") {
		t.Error("the delivery was drawn before its frame")
	}
	select {
	case msg := <-flushed:
		s.Update(msg)
	case <-time.After(time.Second):
		t.Fatal("the next frame was never asked for")
	}
	if !strings.Contains(term.out.String(), "too soon to draw") {
		t.Errorf("the delivery was not drawn with the next frame: %q", term.out.String())
	}

	// The frame is due: applied, drawn, dropped.
	term.out.Reset()
	s.out.lastDraw = time.Time{}
	if passed := deliver(1001, "drawn at once"); passed != nil {
		t.Errorf("a drawn delivery was passed on: %#v", passed)
	}
	if !strings.Contains(term.out.String(), "drawn at once") {
		t.Errorf("the delivery was not drawn: %q", term.out.String())
	}

	key := tea.KeyPressMsg{Code: 'x', Text: "x"}
	if passed := s.filter(s, key); passed != key {
		t.Errorf("a key came out of the filter as %#v", passed)
	}
	if f.model.prompt.input.Value() != "" {
		t.Error("the filter applied a key")
	}
}

// TestAFrameKeepsItsRows: a frame's log rows are the model's own lines,
// not a copy; the renderer compares the next frame with them, so nothing
// the model does later may change them.
func TestAFrameKeepsItsRows(t *testing.T) {
	f := newFixture(t, 80, 24, conversation(40))
	shown := f.model.frame()
	want := slices.Clone(shown.log)
	f.model.log.reflow()
	f.send(receivedMsg{[]chat.Message{{ID: 1000, Time: base, Author: "bob", Kind: chat.KindText, Body: "after the reflow"}}})
	f.model.frame()
	if !slices.Equal(shown.log, want) {
		t.Error("a frame's rows changed after it was made")
	}
}

// TestJoinedSequencesLeaveNoStrayCells: the sequences chat.Sanitize keeps
// (emoji joined by ZWJ, a flag with its variation selector, Persian with a
// non-joiner, a Devanagari conjunct) reach the terminal, which may draw
// them narrower than wcwidth counts them (x/vt draws 👨‍👩‍👧 in 2 cells,
// wcwidth 6). A row holding one must show its text, then blanks up to the
// member column, which stands where it goes, after the conversation list
// as View draws it; every other row is as View draws it.
func TestJoinedSequencesLeaveNoStrayCells(t *testing.T) {
	joined := []string{"👨\u200d👩\u200d👧", "🏳\ufe0f\u200d🌈", "👩🏽\u200d💻", "می\u200cخواهم", "क्\u200dष"}
	holds := func(s string) bool {
		return slices.ContainsFunc(joined, func(j string) bool { return strings.Contains(s, j) })
	}
	for _, size := range [][2]int{{100, 12}, {40, 10}} {
		w, h := size[0], size[1]
		f := newFixture(t, w, h, conversation(10))
		f.model.setOnline(crowd(20))
		term := newTerminal(w, h)
		ref := vt.NewEmulator(w, h)
		_, _ = ref.WriteString(enterScreen)
		seen := false
		check := func(what string) {
			t.Helper()
			term.draw(&f.model)
			reference(ref, f.model)
			fr := f.model.frame()
			for y := range h {
				if y < 1 || y > len(fr.log) || !holds(fr.log[y-1].text) {
					if got, want := cellsText(term.emu, y, 0, w), cellsText(ref, y, 0, w); got != want {
						t.Fatalf("%dx%d, %s: row %d is %q, want %q\n%s", w, h, what, y, got, want, term.emu.String())
					}
					continue
				}
				seen = true
				end := w
				if fr.side != nil {
					end = fr.sideAt
					got := strings.TrimRight(cellsText(term.emu, y, end, w), " ")
					if want := sideBorder + strings.TrimRight(" "+ansi.Strip(fr.side[y-1].text), " "); got != want {
						t.Fatalf("%dx%d, %s: row %d's member column is %q, want %q\n%s", w, h, what, y, got, want, term.emu.String())
					}
				}
				if at := fr.logAt(); at > 0 {
					if got, want := cellsText(term.emu, y, 0, at), cellsText(ref, y, 0, at); got != want {
						t.Fatalf("%dx%d, %s: row %d's conversation list is %q, want %q\n%s", w, h, what, y, got, want, term.emu.String())
					}
				}
				got := strings.TrimRight(cellsText(term.emu, y, fr.logAt(), end), " ")
				if want := ansi.Strip(fr.log[y-1].text); got != want {
					t.Fatalf("%dx%d, %s: row %d is %q, want %q\n%s", w, h, what, y, got, want, term.emu.String())
				}
			}
		}
		check("start")
		f.send(receivedMsg{[]chat.Message{
			{ID: 1000, Time: base, Author: "bob", Kind: chat.KindText, Body: "family " + joined[0] + ", flag " + joined[1] + ", dev " + joined[2]},
			{ID: 1001, Time: base, Author: "carol", Kind: chat.KindText, Body: joined[3] + " " + joined[4] + " ok"},
			{ID: 1002, Time: base, Author: "bob", Kind: chat.KindText, Body: strings.Repeat(joined[0]+" ", 20)},
		}})
		check("joined sequences")
		if !seen {
			t.Fatalf("%dx%d: no row holds a joined sequence: the joiners were dropped", w, h)
		}
		f.press(tea.KeyPgUp)
		check("PgUp")
		f.press(tea.KeyEnd)
		check("End")
		f.typeText(joined[0] + " " + joined[1])
		check("typing them")
		f.press(tea.KeyEscape)
		for i := range h {
			f.send(receivedMsg{[]chat.Message{{ID: int64(1100 + i), Time: base, Author: "dave", Kind: chat.KindText, Body: fmt.Sprint("plain ", i)}}})
			check(fmt.Sprint("scrolled by ", i+1))
		}
	}
}

// cellsText is what columns from to to of row y show, wide characters
// once.
func cellsText(emu *vt.Emulator, y, from, to int) string {
	var b strings.Builder
	for x := from; x < to; x++ {
		if c := emu.CellAt(x, y); c.Width > 0 {
			b.WriteString(cellText(c.Content))
		}
	}
	return b.String()
}
