package tui

import (
	"io"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// frameEvery is the shortest time between two draws: what arrives within
// it (a burst of messages, a fast typist) is drawn as one frame.
const frameEvery = 10 * time.Millisecond

// screen runs a Model on a terminal through the line renderer: the program
// runs without Bubble Tea's renderer (tea.WithoutRenderer), and screen
// draws after each update, on the program's goroutine, at most once per
// frameEvery. Model.View stays the reference picture for tests.
type screen struct {
	*Model // shared by the copies Bubble Tea makes: the model is large
	out    *screenOutput
	// started is closed by Init: the program runs.
	started chan struct{}
	// guard wraps the model's commands (runner.guard).
	guard func(tea.Cmd) tea.Cmd
}

// screenOutput is the drawing state the copies of a screen share.
type screenOutput struct {
	*lineRenderer
	lastDraw time.Time
	pending  bool          // a flushMsg is on its way
	flush    *time.Timer   // sends the flushMsg; nil until first needed
	send     func(tea.Msg) // the program's Send
	// written (Options.Written) hears, after a frame is written, the age
	// of the oldest room message it drew (unwritten: its time; zero: none).
	written   func(time.Duration)
	unwritten time.Time
	// sized: a size of the window reached the screen (terminalSizeMsg);
	// the program's own is stale.
	sized bool
}

// flushMsg draws what changed since the last frame.
type flushMsg struct{}

// newScreen returns a screen drawing m on out; guard wraps the model's
// commands (nil: as they are).
func newScreen(m Model, out io.Writer, guard func(tea.Cmd) tea.Cmd) screen {
	if guard == nil {
		guard = func(cmd tea.Cmd) tea.Cmd { return cmd }
	}
	return screen{Model: &m, out: &screenOutput{lineRenderer: newLineRenderer(out)}, started: make(chan struct{}), guard: guard}
}

// open switches the terminal to the chat screen and draws it whole, once:
// before the program starts, so the screen shows at once; otherwise Init
// does it.
func (s screen) open() {
	if !s.out.started {
		s.out.start()
		s.draw()
	}
}

func (s screen) Init() tea.Cmd {
	close(s.started)
	s.open()
	return s.guard(s.Model.Init())
}

// terminalSizeMsg is a size of the session's window (Terminal.Resizes), as
// Run sends it: not a tea.WindowSizeMsg, which Bubble Tea sends
// once as the program starts, from a goroutine of its own, so that it may
// reach the screen after the window's first change and undo it.
type terminalSizeMsg tea.WindowSizeMsg

// filter is the program's message filter (tea.WithFilter), which Bubble
// Tea calls on the program's goroutine before its round for a message.
//
// It takes the room's deliveries, most of what a busy session receives,
// out of that round: it applies and draws them as the round would, and
// drops them. The round would hand a nil command to the program's command
// goroutine (a wake-up per message per session) and ask for a View that
// nobody draws.
//
// It passes the window's sizes on as the program's own tea.WindowSizeMsg,
// and drops that one, the size Run started with, once the window has
// changed: it is stale. (Bubble Tea's check that a size is plausible,
// before the filter, does not see the window's: the caller bounds them.)
func (s screen) filter(_ tea.Model, msg tea.Msg) tea.Msg {
	switch msg := msg.(type) {
	case terminalSizeMsg:
		s.out.sized = true
		return tea.WindowSizeMsg(msg)
	case tea.WindowSizeMsg:
		if s.out.sized {
			return nil
		}
		return msg
	case receivedMsg:
		return s.delivered(msg)
	}
	return msg
}

// delivered applies a delivery and draws it. A delivery usually brings no
// command; one that does (look up a conversation the screen does not know
// yet) goes on to Update as a commandMsg, which runs it guarded.
func (s screen) delivered(msg receivedMsg) tea.Msg {
	if s.out.written != nil && s.out.unwritten.IsZero() {
		for _, m := range msg.msgs {
			if !m.Time.IsZero() && (s.out.unwritten.IsZero() || m.Time.Before(s.out.unwritten)) {
				s.out.unwritten = m.Time
			}
		}
	}
	cmd := s.Model.apply(msg)
	s.drawSoon()
	if cmd != nil {
		return commandMsg{cmd}
	}
	return nil
}

func (s screen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case flushMsg:
		s.out.pending = false
		s.draw()
		return s, nil
	case tea.WindowSizeMsg:
		// Repaint even at the same size: terminals reset the scroll
		// region when their window changes, and a size over the clamp
		// reaches the model unchanged.
		s.out.drawn = false
	case tea.ModeReportMsg:
		if msg.Mode == ansi.ModeLeftRightMargin { // the answer to askMargins: the renderer's
			s.out.modeReport(msg.Mode, msg.Value)
			s.drawSoon()
			return s, nil
		}
	}
	cmd := s.Model.apply(msg)
	s.drawSoon()
	return s, s.guard(cmd)
}

// drawSoon draws now if the next frame is due, else has it drawn when it
// is (a flushMsg, sent by a timer: no command, no goroutine per frame).
func (s screen) drawSoon() {
	if s.out.pending {
		return
	}
	wait := frameEvery - time.Since(s.out.lastDraw)
	if wait <= 0 {
		s.draw()
		return
	}
	s.out.pending = true
	if s.out.flush == nil {
		out := s.out
		out.flush = time.AfterFunc(wait, func() {
			if out.send != nil { // nil in tests that draw by hand
				out.send(flushMsg{})
			}
		})
	} else {
		s.out.flush.Reset(wait)
	}
}

// stopFlush stops the frame timer: once the program has ended, nothing
// draws.
func (o *screenOutput) stopFlush() {
	if o.flush != nil {
		o.flush.Stop()
	}
}

func (s screen) draw() {
	s.out.draw(s.Model.frame(), s.Model.bell)
	s.Model.bell = false
	s.out.lastDraw = time.Now()
	if !s.out.unwritten.IsZero() {
		s.out.written(max(s.out.lastDraw.Sub(s.out.unwritten), 0))
		s.out.unwritten = time.Time{}
	}
}

// View is empty: screen draws by itself.
func (s screen) View() tea.View { return tea.View{} }

// restore gives the terminal back as the user had it. Call it once the
// program has ended, however it ended (quit, error, panic).
func (s screen) restore() { s.out.restore() }
