package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
)

// Terminal is a session's terminal as Run uses it. The caller bounds what
// the client controls: the rate of In, the sizes and how often they change.
type Terminal struct {
	In     io.Reader // what the user types; Run decodes it
	Out    io.Writer // where the screen draws; Run writes nothing elsewhere
	Term   string    // the client's TERM, for decoding its keys
	Width  int       // the window's size when Run starts
	Height int
	// Resizes, if not nil, is called once as Run starts, with size, which
	// takes the window's sizes: the caller calls size from any goroutine,
	// one call at a time (each returns once the program has the size, or
	// has ended), until Run calls the stop it returned, as it ends.
	Resizes func(size func(width, height int)) (stop func())
}

// Run shows the chat on t until the user quits, the room ends the member
// (eviction, the room closing), or ctx ends; then it gives the terminal
// back as the user had it and prints why the chat ended, if the user
// should know. It owns the session's whole terminal loop: the program, the
// decoding of t.In, the window changes, the line renderer and its frames.
// o.Width and o.Height are ignored: t's size is used.
//
// The caller ends a session with a reason by cancelling ctx with a cause
// (context.WithCancelCause) that has a method Reason() string: the user
// reads that reason. Any other end of ctx (the connection closed) ends it
// silently.
//
// A panic in any of Run's goroutines, the program's included, ends only
// this session: Run restores the terminal and returns an error holding the
// panic and its stack, for the caller to log. Other errors are the
// program's; a chat that ended for one of the reasons above returns nil.
func Run(ctx context.Context, t Terminal, o Options) error {
	parent := ctx
	ctx, stop := context.WithCancel(ctx) // Run's goroutines end with it
	defer stop()
	r := &runner{stop: stop}

	o.Width, o.Height = t.Width, t.Height
	s := newScreen(newModel(ctx, o), t.Out, r.guard)
	s.out.written = o.Written
	program := tea.NewProgram(s,
		tea.WithContext(ctx),
		tea.WithInput(nil), // Run reads the input (readInput; see stopFrameTicker)
		tea.WithOutput(t.Out),
		tea.WithoutSignalHandler(), // the process's signals are not the session's
		tea.WithoutCatchPanics(),   // the runner recovers and reports them, once
		tea.WithWindowSize(t.Width, t.Height),
		tea.WithColorProfile(o.Profile), // not detected from the server's environment
		// The screen draws itself: Bubble Tea's renderer would re-read
		// the whole screen for every change.
		tea.WithoutRenderer(),
		tea.WithFPS(1), // until stopFrameTicker
		// Deliveries are drawn outside Bubble Tea's round, and the
		// program's initial size does not undo the window's (screen.filter).
		// The only filter: Wish's suspend/resume one is for a model that
		// suspends, which this one never does.
		tea.WithFilter(s.filter),
	)
	s.out.send = program.Send

	s.open() // the user sees the chat now; keys wait for the program
	d := &deliverer{member: o.Member, send: program.Send, guarded: r.guarded}
	defer o.Member.OnDelivery(d.wake)()
	d.wake() // what came before
	go r.guarded("input", func() { r.readInput(ctx, program, t, pasteLimit(o.MaxMessage)) })
	if t.Resizes != nil {
		// The screen tells these from the program's own initial size
		// (screen.filter). No goroutine waits for them: the caller's
		// timer sends.
		defer t.Resizes(func(width, height int) {
			program.Send(terminalSizeMsg{Width: width, Height: height})
		})()
	}
	go r.guarded("frame ticker", func() { stopFrameTicker(ctx, program, s.started) })
	err := r.runProgram(program)
	program.Kill()    // ends what Run left behind if it ended abnormally
	s.out.stopFlush() // no frame is drawn after this
	s.restore()       // after every way out: quit, eviction, shutdown, panic
	reason := s.Model.ExitReason()
	var announced interface{ Reason() string }
	if errors.As(context.Cause(parent), &announced) {
		reason = announced.Reason()
	}
	if reason != "" {
		// \r\n: a terminal in raw mode does not translate newlines.
		_, _ = io.WriteString(t.Out, reason+"\r\n")
	}
	if failure := r.failure(); failure != nil {
		return failure
	}
	if errors.Is(err, tea.ErrProgramKilled) {
		return nil // ctx ended, or the runner stopped it after a panic
	}
	return err
}

// runner is what Run's goroutines share: the first panic any of them
// recovered, and the stop that ends the others.
type runner struct {
	stop     context.CancelFunc
	mu       sync.Mutex
	panicked error
}

// recovered records a panic recovered in the goroutine named where, with
// the stack of the panic, and stops the session. Only the first is kept:
// the others follow from it.
func (r *runner) recovered(where string, v any) {
	err := fmt.Errorf("panic in %s: %v\n%s", where, v, debug.Stack())
	r.mu.Lock()
	if r.panicked == nil {
		r.panicked = err
	}
	r.mu.Unlock()
	r.stop()
}

func (r *runner) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.panicked
}

// guarded runs f, the whole of one of Run's goroutines, as that
// goroutine's one recovery layer.
func (r *runner) guarded(where string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			r.recovered(where, v)
		}
	}()
	f()
}

// runProgram runs the program on Run's goroutine, which is the program's
// event loop: a panic in the model's Init, Update or the filter ends here.
func (r *runner) runProgram(p *tea.Program) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.recovered("the program", v)
			err = tea.ErrProgramKilled
		}
	}()
	_, err = p.Run()
	return err
}

// guard wraps a command the model returns: Bubble Tea runs each command on
// a goroutine of its own, which a panic would otherwise take down with the
// server (the program's own recovery is off: it prints to the server's
// stderr). The commands of a batch are wrapped as the batch runs.
func (r *runner) guard(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if v := recover(); v != nil {
				r.recovered("a command", v)
				msg = nil
			}
		}()
		msg = cmd()
		if batch, ok := msg.(tea.BatchMsg); ok {
			guarded := make(tea.BatchMsg, len(batch))
			for i, c := range batch {
				guarded[i] = r.guard(c)
			}
			msg = guarded
		}
		return msg
	}
}

// readInput is the program's input: it decodes what the user types as
// Bubble Tea's own terminal reader would (inputScanner), and hands the
// events to the program, which translates them as it would its own
// reader's. It ends when the input ends or ctx ends.
//
// It takes one goroutine, its own, which reads, decodes and sends; an
// escape sequence cut short times out while a read waits on a timer of
// its own (inputScanner.decode). A panic in a Read, in the paste limiter,
// the lone-Esc reader, the caller's reader or the decoding, is recovered
// by the goroutine's guard or the timer's, which ends the session
// (runner.guarded).
//
// Bracketed pastes are cut at pasteMax bytes (pasteLimiter, and the
// scanner for paste markers the limiter does not know). An ESC that ends
// what the client sent is the Esc key at once, not the start of a sequence
// that the next key, typed a moment later, would complete as Alt+key (see
// loneEscReader).
//
// The terminal's answers arrive here as keys do: its mode report for
// askMargins goes to the program, which hands it to the screen (see
// screen.Update). A size report in the input (what a terminal answers to
// a size query, which the chat never sends) is dropped: typed by a
// client, it would size the screen past the caller's bounds and as often
// as it likes. Only t.Resizes sizes the screen.
func (r *runner) readInput(ctx context.Context, program *tea.Program, t Terminal, pasteMax int) {
	input := &loneEscReader{r: newPasteLimiter(t.In, pasteMax)}
	emit := func(event uv.Event) {
		if _, ok := event.(uv.WindowSizeEvent); ok {
			return
		}
		program.Send(event) // returns at once once the program ended
	}
	newInputScanner(pasteMax).decode(ctx, input, emit, func(timeUp func()) { r.guarded("input", timeUp) })
}

// stopFrameTicker ends the frame ticker Bubble Tea runs for every program,
// with a renderer or without: once a second it wakes to flush a buffer that
// stays empty here, as the screen writes to the session itself. Hundreds of
// idle sessions' ticks were most of an idle server's CPU, and a share of
// every delivery's. ReleaseTerminal is the one public way to stop the
// ticker; with the program's own input reader disabled (readInput reads)
// and no renderer, the ticker is all it releases. (Bubble Tea's clipboard
// and raw-output commands queue output for the ticker, and with its input
// off it drops terminal queries: the chat uses none of them.) It is called
// once the program runs (its model's Init closed started): it returns after
// half a second, the time it waits for the input reader the program does
// not have.
func stopFrameTicker(ctx context.Context, program *tea.Program, started <-chan struct{}) {
	select {
	case <-started:
		_ = program.ReleaseTerminal()
	case <-ctx.Done():
	}
}
