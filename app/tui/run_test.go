package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/vt"
)

// syncBuffer is a terminal's output as a test reads it while Run writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a chat for "alice" run by Run on an 80x24 terminal.
type running struct {
	out    *syncBuffer
	cancel context.CancelCauseFunc
	done   chan error
}

func startRun(t *testing.T, in io.Reader, resizes func(func(int, int)) func()) *running {
	t.Helper()
	return startRunOn(t, in, nil, resizes)
}

// startRunOn is startRun with the output also written to screen, if not
// nil.
func startRunOn(t *testing.T, in io.Reader, screen io.Writer, resizes func(func(int, int)) func()) *running {
	t.Helper()
	room, _ := newRoom(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	t.Cleanup(func() { cancel(nil) })
	member, err := room.Join(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	r := &running{out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	var out io.Writer = r.out
	if screen != nil {
		out = io.MultiWriter(r.out, screen)
	}
	term := Terminal{In: in, Out: out, Term: "xterm-256color", Width: 80, Height: 24, Resizes: resizes}
	go func() {
		r.done <- Run(ctx, term, Options{Room: room, Member: member, HistoryLen: 100, MaxMessage: 1000})
	}()
	return r
}

func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
		return nil
	}
}

func (r *running) waitOutput(t *testing.T, what string) {
	t.Helper()
	for deadline := time.Now().Add(waitLimit); !strings.Contains(r.out.String(), what); {
		if time.Now().After(deadline) {
			t.Fatalf("%q never written; output %q", what, r.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sessionGoroutines counts the goroutines with the pprof label session =
// label whose stack holds one of frames, in the goroutine dump it returns.
func sessionGoroutines(label string, frames ...string) (n int, dump string) {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	for _, group := range strings.Split(b.String(), "\n\n") {
		if !strings.Contains(group, `"session":"`+label+`"`) {
			continue
		}
		if strings.HasPrefix(group, "goroutine profile:") { // the header, before the first group
			_, group, _ = strings.Cut(group, "\n")
		}
		for _, frame := range frames {
			if strings.Contains(group, frame) {
				var count int // goroutines with this stack
				_, _ = fmt.Sscanf(group, "%d @", &count)
				n += count
				break
			}
		}
	}
	return n, b.String()
}

// reason is a cause with a reason for the user.
type reason string

func (r reason) Error() string  { return "stopped" }
func (r reason) Reason() string { return string(r) }

func TestRunEndsWithItsContextsReasonAfterRestoring(t *testing.T) {
	in, typing := io.Pipe()
	defer typing.Close()
	r := startRun(t, in, nil)
	r.waitOutput(t, enterScreen)
	r.cancel(reason("The server is shutting down."))
	if err := r.wait(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	if out := r.out.String(); !strings.HasSuffix(out, leaveScreen+"The server is shutting down.\r\n") {
		t.Errorf("output ends %q, want the terminal restored, then the reason", out[max(len(out)-80, 0):])
	}
}

func TestRunEndsSilentlyWhenItsContextEndsWithoutAReason(t *testing.T) {
	in, typing := io.Pipe()
	defer typing.Close()
	r := startRun(t, in, nil)
	r.waitOutput(t, enterScreen)
	r.cancel(nil)
	if err := r.wait(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	if out := r.out.String(); !strings.HasSuffix(out, leaveScreen) {
		t.Errorf("output ends %q, want the terminal restored and nothing after", out[max(len(out)-80, 0):])
	}
}

// A size report typed into the session is not a window change: only
// Terminal.Resizes sizes the screen.
func TestATypedSizeReportDoesNotResize(t *testing.T) {
	in, typing := io.Pipe()
	defer typing.Close()
	r := startRun(t, in, nil)
	r.waitOutput(t, enterScreen)
	go func() { _, _ = io.WriteString(typing, "\x1b[8;200;4096t"+"hello") }()
	r.waitOutput(t, "hello") // typed after the report: handled after it
	r.cancel(nil)
	r.wait(t)
	// At 200 rows the log's scroll region would end on row 198.
	if out := r.out.String(); strings.Contains(out, "\x1b[2;198r") || !strings.Contains(out, "\x1b[2;22r") {
		t.Errorf("the typed report sized the screen: %q", out)
	}
}

// sizesFrom is a Terminal.Resizes that passes on the sizes sent to sizes,
// from a goroutine of its own until Run stops it.
func sizesFrom(sizes <-chan [2]int) func(func(int, int)) func() {
	return func(size func(int, int)) func() {
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case s := <-sizes:
					size(s[0], s[1])
				case <-stop:
					return
				}
			}
		}()
		return func() { close(stop) }
	}
}

func TestAWindowChangeRepaintsTheScreen(t *testing.T) {
	in, typing := io.Pipe()
	defer typing.Close()
	sizes := make(chan [2]int, 1)
	r := startRun(t, in, sizesFrom(sizes))
	r.waitOutput(t, enterScreen)
	sizes <- [2]int{100, 30}
	r.waitOutput(t, "\x1b[2;28r") // the log's scroll region at 30 rows
	r.cancel(nil)
	r.wait(t)
}

// panicky is an input that panics on its first read.
type panicky struct{}

func (panicky) Read([]byte) (int, error) { panic("a bug in the input") }

func TestAPanicInTheInputEndsTheChatWithItsStack(t *testing.T) {
	r := startRun(t, panicky{}, nil)
	err := r.wait(t)
	if err == nil || !strings.Contains(err.Error(), "a bug in the input") || !strings.Contains(err.Error(), "panicky.Read") {
		t.Errorf("Run returned %v, want the panic with its stack", err)
	}
	if out := r.out.String(); !strings.HasSuffix(out, leaveScreen) {
		t.Errorf("the terminal was not restored: output ends %q", out[max(len(out)-80, 0):])
	}
}

// Run takes the window's sizes only while it runs: it stops them as it
// ends, however it ends.
func TestRunStopsTheResizesAsItEnds(t *testing.T) {
	for _, end := range []string{"cancel", "panic"} {
		t.Run(end, func(t *testing.T) {
			var subscribed, stopped atomic.Int32
			resizes := func(func(int, int)) func() {
				subscribed.Add(1)
				return func() { stopped.Add(1) }
			}
			var r *running
			if end == "panic" {
				r = startRun(t, panicky{}, resizes)
			} else {
				in, typing := io.Pipe()
				defer typing.Close()
				r = startRun(t, in, resizes)
				r.waitOutput(t, enterScreen)
				r.cancel(nil)
			}
			r.wait(t)
			if subscribed.Load() != 1 || stopped.Load() != 1 {
				t.Errorf("subscribed %d times, stopped %d, want once each", subscribed.Load(), stopped.Load())
			}
		})
	}
}

// Bubble Tea runs each command on a goroutine of its own, the commands of
// a batch each on another: guard recovers a panic in any of them.
func TestGuardedCommandsReportTheirPanics(t *testing.T) {
	stopped := false
	r := &runner{stop: func() { stopped = true }}
	fine := func() tea.Msg { return "fine" }
	bad := func() tea.Msg { panic("a bug in a command") }
	batch := r.guard(tea.Batch(fine, bad))()
	cmds, ok := batch.(tea.BatchMsg)
	if !ok || len(cmds) != 2 {
		t.Fatalf("the batch came out as %#v", batch)
	}
	if msg := cmds[0](); msg != "fine" {
		t.Errorf("a guarded command gave %v", msg)
	}
	if msg := cmds[1](); msg != nil {
		t.Errorf("a command that panicked gave %v", msg)
	}
	err := r.failure()
	if err == nil || !strings.Contains(err.Error(), "a bug in a command") || !stopped {
		t.Errorf("failure %v, stopped %v: want the panic reported and the chat stopped", err, stopped)
	}
	if errors.Is(err, tea.ErrProgramKilled) {
		t.Error("the panic was reported as a kill")
	}
}

// TestRunScrollsOnlyTheLogOnATerminalWithMargins runs the chat on x/vt,
// whose answers reach Run's input as a terminal's would: its answer to
// askMargins goes through Run's input decoding to the renderer, and a new
// line then scrolls the log within margins, the member column untouched.
func TestRunScrollsOnlyTheLogOnATerminalWithMargins(t *testing.T) {
	emu := vt.NewSafeEmulator(80, 24)
	in, typing := io.Pipe()
	defer typing.Close()
	// Its answers, until their pipe closes (x/vt's Close races with a
	// Read).
	go func() { _, _ = io.Copy(typing, emu) }()
	defer emu.InputPipe().(io.Closer).Close()
	r := startRunOn(t, in, emu, nil)
	r.waitOutput(t, askMargins)
	r.waitOutput(t, "\x1b[H\x1b[J\x1b[s") // the repaint the answer brings
	_, _ = io.WriteString(typing, "hello margins\r")
	r.waitOutput(t, "hello margins")
	// Scrolled within margins that end where the member column starts.
	if !regexp.MustCompile(`\x1b\[\d+;60s\x1b\[1S.*?alice\x1b\[m: hello margins\x1b\[s`).MatchString(r.out.String()) {
		t.Errorf("the new line was not drawn within margins: %q", r.out.String())
	}
	for y := 1; y < 22; y++ {
		if got := emu.CellAt(60, y).Content; got != sideBorder {
			t.Errorf("row %d has %q where the member column's border goes", y, got)
		}
	}
	if got := screenRow(emu, 1, 60, 80); !strings.Contains(got, "Online (1)") {
		t.Errorf("the member column starts %q", got)
	}
	if got := screenRow(emu, 21, 0, 60); !strings.Contains(got, "alice: hello margins") {
		t.Errorf("the log's last row is %q", got)
	}
	r.cancel(nil)
	if err := r.wait(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	if out := r.out.String(); !strings.HasSuffix(out, leaveScreen) || !strings.HasPrefix(leaveScreen, "\x1b[?69l") {
		t.Errorf("output ends %q, want the margins mode reset with the rest", out[max(len(out)-80, 0):])
	}
}

// screenRow is what columns from to to of row y show.
func screenRow(emu *vt.SafeEmulator, y, from, to int) string {
	var b strings.Builder
	for x := from; x < to; x++ {
		if c := emu.CellAt(x, y); c != nil && c.Width > 0 {
			b.WriteString(cellText(c.Content))
		}
	}
	return b.String()
}

// A window change in the chat's first moments stays: Bubble Tea sends the
// program its initial size from a goroutine of its own, which may reach the
// screen after the terminal's new size. Here the new size is ready before
// the program runs, as a client's resize right after it connects.
func TestAWindowChangeAtTheStartIsNotUndoneByTheInitialSize(t *testing.T) {
	in, typing := io.Pipe()
	defer typing.Close()
	sizes := make(chan [2]int, 1)
	sizes <- [2]int{100, 30}
	r := startRun(t, in, sizesFrom(sizes))
	r.waitOutput(t, "\x1b[2;28r") // the log's scroll region at 30 rows
	// Typed once the new size is drawn: the program's initial size, sent
	// as it started, has come by then in all but the rarest schedules
	// (TestTheProgramsInitialSizeDoesNotUndoTheWindows tries every order).
	go func() { _, _ = io.WriteString(typing, "hello") }()
	r.waitOutput(t, "hello")
	r.cancel(nil)
	r.wait(t)
	regions := regexp.MustCompile(`\x1b\[2;\d+r`).FindAllString(r.out.String(), -1)
	if last := regions[len(regions)-1]; last != "\x1b[2;28r" {
		t.Errorf("the screen was drawn last with the scroll region %q, want the one at 30 rows: %q", last, r.out.String())
	}
}

// The program's own initial size, wherever it comes among the window's
// sizes, does not undo them: the screen takes the window's last size.
func TestTheProgramsInitialSizeDoesNotUndoTheWindows(t *testing.T) {
	initial := tea.WindowSizeMsg{Width: 80, Height: 24}
	window := []tea.Msg{terminalSizeMsg{Width: 100, Height: 30}, terminalSizeMsg{Width: 120, Height: 40}}
	for at := range len(window) + 1 { // where the program's size comes
		msgs := append(append(append([]tea.Msg{}, window[:at]...), initial), window[at:]...)
		s := newScreen(newFixture(t, initial.Width, initial.Height, nil).model, io.Discard, nil)
		for _, msg := range msgs {
			if msg = s.filter(s, msg); msg != nil { // as the program's event loop does
				s.Update(msg)
			}
		}
		if s.width != 120 || s.height != 40 {
			t.Errorf("after %v the screen is %dx%d, want 120x40", msgs, s.width, s.height)
		}
	}
}

// An idle chat takes three goroutines: the program's event loop (Run's
// own) and its command goroutine, and the input. (It took six: the input
// took two, the window's sizes one, and the delivery one.) Those that
// start the chat end: the program's own sends of its first messages, the
// first delivery, and the frame ticker's stop, which waits half a second
// (stopFrameTicker).
func TestAnIdleChatTakesThreeGoroutines(t *testing.T) {
	const want = 3
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("session", t.Name())))
	in, typing := io.Pipe()
	defer typing.Close()
	r := startRun(t, in, func(func(int, int)) func() { return func() {} })
	pprof.SetGoroutineLabels(context.Background())
	r.waitOutput(t, enterScreen)
	for deadline := time.Now().Add(waitLimit); ; time.Sleep(10 * time.Millisecond) {
		// The room's goroutines, started under the label too, run
		// only the chat's code.
		n, dump := sessionGoroutines(t.Name(), "messaging/app/tui.", "charm.land/bubbletea/")
		if n == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the idle chat takes %d goroutines, want %d:\n%s", n, want, dump)
		}
	}
	r.cancel(nil)
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
}
