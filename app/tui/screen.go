package tui

import (
	"io"
	"time"

	tea "charm.land/bubbletea/v2"
)

// frameEvery is the shortest time between two draws: what arrives within
// it (a burst of messages, a fast typist) is drawn as one frame.
const frameEvery = 10 * time.Millisecond

// Screen runs a Model on a terminal through the line renderer: the program
// runs without Bubble Tea's renderer (tea.WithoutRenderer), and Screen
// draws after each update, on the program's goroutine, at most once per
// frameEvery. Model.View stays the reference picture for tests.
type Screen struct {
	*Model // shared by the copies Bubble Tea makes: the model is large
	out    *screenOutput
	onRun  tea.Cmd // see OnRun
}

// screenOutput is the drawing state the copies of a Screen share.
type screenOutput struct {
	*lineRenderer
	lastDraw time.Time
	pending  bool // a flushMsg is on its way
}

// flushMsg draws what changed since the last frame.
type flushMsg struct{}

// commandMsg carries a command out of Filter, which cannot return one, to
// Update, which returns it.
type commandMsg struct{ cmd tea.Cmd }

// NewScreen returns a Screen drawing m on out.
func NewScreen(m Model, out io.Writer) Screen {
	return Screen{Model: &m, out: &screenOutput{lineRenderer: newLineRenderer(out)}}
}

// Open switches the terminal to the chat screen and draws it whole, once:
// before the program starts, so the screen shows at once; otherwise Init
// does it.
func (s Screen) Open() {
	if !s.out.started {
		s.out.start()
		s.draw()
	}
}

// OnRun returns s with cmd run once its program is running: Init returns
// it with the model's own commands.
func (s Screen) OnRun(cmd tea.Cmd) Screen {
	s.onRun = cmd
	return s
}

func (s Screen) Init() tea.Cmd {
	s.Open()
	return tea.Batch(s.Model.Init(), s.onRun)
}

// Filter is the program's message filter (tea.WithFilter), which Bubble
// Tea calls on the program's goroutine before its round for a message. It
// takes the room's deliveries, most of what a busy session receives, out
// of that round: it updates and draws as the round would, through Update,
// and drops the message when that leaves no command. The round would hand
// the nil command to the program's command goroutine (a wake-up per
// message per session) and ask for a View that nobody draws.
func (s Screen) Filter(_ tea.Model, msg tea.Msg) tea.Msg {
	if _, ok := msg.(receivedMsg); !ok {
		return msg
	}
	if _, cmd := s.Update(msg); cmd != nil {
		return commandMsg{cmd}
	}
	return nil
}

func (s Screen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case flushMsg:
		s.out.pending = false
		s.draw()
		return s, nil
	case commandMsg:
		return s, msg.cmd
	}
	if _, ok := msg.(tea.WindowSizeMsg); ok {
		// Repaint even at the same size: terminals reset the scroll
		// region when their window changes, and a size over the clamp
		// reaches the model unchanged.
		s.out.drawn = false
	}
	cmd := s.Model.apply(msg)
	if s.out.pending {
		return s, cmd
	}
	if wait := frameEvery - time.Since(s.out.lastDraw); wait > 0 {
		s.out.pending = true
		return s, tea.Batch(cmd, tea.Tick(wait, func(time.Time) tea.Msg { return flushMsg{} }))
	}
	s.draw()
	return s, cmd
}

func (s Screen) draw() {
	s.out.draw(s.Model.frame(), s.Model.bell)
	s.Model.bell = false
	s.out.lastDraw = time.Now()
}

// View is empty: Screen draws by itself.
func (s Screen) View() tea.View { return tea.View{} }

// Restore gives the terminal back as the user had it. Call it once the
// program has ended, however it ended (quit, error, panic).
func (s Screen) Restore() { s.out.restore() }
