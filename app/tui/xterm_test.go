package tui

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
)

// The side-column sessions of TestSideColumnsAreDrawnAsViewShowsThem, played
// in xterm, a real terminal with left and right margins, instead of x/vt:
// the renderer's bytes in one xterm, View's picture in another, and the two
// windows' pixels compared after every step. It needs xterm, Xvfb and xwd
// (Debian: xterm xvfb x11-apps) and skips without them.

// xtermHelperEnv names the socket the helper process connects xterm's
// terminal to.
const xtermHelperEnv = "TUI_XTERM_HELPER"

// xterm is one xterm on an X server of its own, 6x13 pixels a cell, no
// borders: cell x, y is the pixels from 6x, 13y.
type xterm struct {
	t       *testing.T
	display string
	conn    net.Conn      // xterm's terminal: what is written shows, its answers are read
	answers *bufio.Reader // from conn
}

const cellW, cellH = 6, 13

func needXterm(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("short: no xterm")
	}
	for _, tool := range []string{"xterm", "Xvfb", "xwd", "stty"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: install xterm, xvfb and x11-apps to run this test", tool)
		}
	}
}

// startXterm starts an X server and an xterm width x height on it, whose
// terminal is the helper process's: the helper joins it to a socket.
func startXterm(t *testing.T, width, height int) *xterm {
	t.Helper()
	displayR, displayW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	x := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1300x700x24", "-nolisten", "tcp", "-br")
	x.ExtraFiles = []*os.File{displayW}
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	displayW.Close()
	t.Cleanup(func() { _ = x.Process.Kill(); _ = x.Wait() })
	line, err := readLineWithin(displayR, waitLimit)
	displayR.Close()
	if err != nil {
		t.Fatalf("Xvfb gave no display: %v", err)
	}
	display := ":" + strings.TrimSpace(line)

	sock := filepath.Join(t.TempDir(), "x")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command("xterm", "-display", display, "-geometry", fmt.Sprintf("%dx%d+0+0", width, height),
		"-fn", "-misc-fixed-medium-r-semicondensed--13-120-75-75-c-60-iso10646-1", "-u8", "-b", "0", "-bw", "0",
		"-xrm", "XTerm*allowWindowOps: true", "-xrm", "XTerm*cursorBlink: false",
		"-e", os.Args[0], "-test.run=^TestXtermHelper$")
	cmd.Env = append(os.Environ(), xtermHelperEnv+"="+sock, "LC_ALL=C.UTF-8")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	_ = ln.(*net.UnixListener).SetDeadline(time.Now().Add(waitLimit))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("xterm's helper never connected: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &xterm{t: t, display: display, conn: conn, answers: bufio.NewReader(conn)}
}

func readLineWithin(r *os.File, limit time.Duration) (string, error) {
	_ = r.SetReadDeadline(time.Now().Add(limit))
	return bufio.NewReader(r).ReadString('\n')
}

// TestXtermHelper is the process xterm runs: it joins xterm's terminal,
// in raw mode, to the test's socket. It does nothing in a test run.
func TestXtermHelper(t *testing.T) {
	sock := os.Getenv(xtermHelperEnv)
	if sock == "" {
		t.Skip("the process xterm runs for TestXtermDrawsWhatViewShows")
	}
	stty := exec.Command("stty", "raw", "-echo")
	stty.Stdin = os.Stdin
	if err := stty.Run(); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(conn, os.Stdin) }()
	_, _ = io.Copy(os.Stdout, conn)
}

func (x *xterm) write(s string) {
	x.t.Helper()
	_ = x.conn.SetWriteDeadline(time.Now().Add(waitLimit))
	if _, err := io.WriteString(x.conn, s); err != nil {
		x.t.Fatal(err)
	}
}

// ask writes a query and returns the answer, which ends with final.
func (x *xterm) ask(query string, final byte) string {
	x.t.Helper()
	x.write(query)
	_ = x.conn.SetReadDeadline(time.Now().Add(waitLimit))
	answer, err := x.answers.ReadString(final)
	if err != nil {
		x.t.Fatalf("no answer to %q: %v (%q)", query, err, answer)
	}
	return answer
}

// settle waits until xterm has read everything written so far: it
// answers a cursor position report only after.
func (x *xterm) settle() string { return x.ask("\x1b[6n", 'R') }

// resize sets the text area to width x height (a window operation, which
// allowWindowOps lets through) and waits until xterm reports it.
func (x *xterm) resize(width, height int) {
	x.t.Helper()
	want := fmt.Sprintf("\x1b[8;%d;%dt", height, width)
	x.write(want)
	for deadline := time.Now().Add(waitLimit); x.ask("\x1b[18t", 't') != want; {
		if time.Now().After(deadline) {
			x.t.Fatalf("xterm never took the size %dx%d", width, height)
		}
	}
}

// screenshot is the X screen's pixels as xwd dumps them: 24-bit colour,
// 32 bits a pixel.
type screenshot struct {
	pixels        []byte
	bytesPerLine  int
	width, height int
	bigEndian     bool
}

// shot takes a screenshot of the xterm's X screen.
func (x *xterm) shot() screenshot {
	x.t.Helper()
	out, err := exec.Command("xwd", "-root", "-silent", "-display", x.display).Output()
	if err != nil {
		x.t.Fatalf("xwd: %v", err)
	}
	shot, err := decodeXWD(out)
	if err != nil {
		x.t.Fatal(err)
	}
	return shot
}

// decodeXWD reads a TrueColor ZPixmap dump with 32 bits a pixel, as xwd
// makes of Xvfb's screen.
func decodeXWD(b []byte) (screenshot, error) {
	if len(b) < 100 {
		return screenshot{}, fmt.Errorf("xwd: %d bytes", len(b))
	}
	field := func(i int) int { return int(binary.BigEndian.Uint32(b[4*i:])) }
	headerSize, format, width, height := field(0), field(2), field(4), field(5)
	byteOrder, bitsPerPixel, bytesPerLine, ncolors := field(7), field(11), field(12), field(19)
	if format != 2 || bitsPerPixel != 32 {
		return screenshot{}, fmt.Errorf("xwd: format %d, %d bits a pixel", format, bitsPerPixel)
	}
	pixels := b[min(headerSize+12*ncolors, len(b)):]
	if len(pixels) < bytesPerLine*height {
		return screenshot{}, fmt.Errorf("xwd: %d bytes of pixels for %d lines", len(pixels), height)
	}
	return screenshot{pixels: pixels, bytesPerLine: bytesPerLine, width: width, height: height, bigEndian: byteOrder == 1}, nil
}

// differingCell is the first cell of a width x height screen whose pixels
// differ between a and b, or ok false.
func differingCell(a, b screenshot, width, height int) (x, y int, ok bool) {
	for y := range height {
		for x := range width {
			for py := y * cellH; py < (y+1)*cellH; py++ {
				i, j := py*a.bytesPerLine+4*x*cellW, py*b.bytesPerLine+4*x*cellW
				if !bytes.Equal(a.pixels[i:i+4*cellW], b.pixels[j:j+4*cellW]) {
					return x, y, true
				}
			}
		}
	}
	return 0, 0, false
}

// image is the top left width x height pixels of the shot.
func (s screenshot) image(width, height int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := range min(height, s.height) {
		for x := range min(width, s.width) {
			p := s.pixels[y*s.bytesPerLine+4*x:]
			v := binary.LittleEndian.Uint32(p)
			if s.bigEndian {
				v = binary.BigEndian.Uint32(p)
			}
			img.SetRGBA(x, y, color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255})
		}
	}
	return img
}

// sameXtermScreen waits until the two xterms show the same width x height
// screen (xterm draws what it read a moment after it answered), and fails
// with pictures of both if they never do: in the test's temporary folder,
// or TUI_XTERM_SHOTS.
func sameXtermScreen(t *testing.T, got, want *xterm, width, height int, what string) {
	t.Helper()
	got.settle()
	want.settle()
	deadline := time.Now().Add(2 * time.Second)
	for {
		g, w := got.shot(), want.shot()
		x, y, differ := differingCell(g, w, width, height)
		if !differ {
			return
		}
		if time.Now().After(deadline) {
			dir := os.Getenv("TUI_XTERM_SHOTS")
			if dir == "" {
				dir = t.TempDir()
			}
			for name, shot := range map[string]screenshot{"renderer.png": g, "view.png": w} {
				var buf bytes.Buffer
				_ = png.Encode(&buf, shot.image(width*cellW, height*cellH))
				_ = os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
			}
			t.Fatalf("%s: xterm shows cell %d,%d differently from View (pictures in %s)", what, x, y, dir)
		}
	}
}

// showView draws what View composes from f on a cleared screen, cursor and
// all.
func (x *xterm) showView(f frame) {
	v := f.view()
	s := "\x1b[m\x1b[H\x1b[J" + strings.ReplaceAll(v.Content, "\n", "\r\n")
	if v.Cursor != nil {
		s += fmt.Sprintf("\x1b[%d;%dH\x1b[?25h", v.Cursor.Y+1, v.Cursor.X+1)
	} else {
		s += "\x1b[?25l"
	}
	x.write(s)
}

// TestXtermAnswersTheMarginsQuestionAsExpected: xterm says mode 69 is
// reset (2) until a program sets it, then set (1); the renderer sets it
// before it asks, and trusts only "set".
func TestXtermAnswersTheMarginsQuestionAsExpected(t *testing.T) {
	needXterm(t)
	x := startXterm(t, 80, 24)
	if got := x.ask(askMargins, 'y'); got != "\x1b[?69;2$y" {
		t.Errorf("before the mode is set, xterm answers %q", got)
	}
	x.write(enterScreen)
	got := x.ask(askMargins, 'y')
	if report, ok := decodeOne(t, got).(uv.ModeReportEvent); !ok || report.Mode != ansi.ModeLeftRightMargin || report.Value != ansi.ModeSet {
		t.Errorf("after enterScreen, xterm answers %q (%#v)", got, report)
	}
	x.write(leaveScreen)
	if got := x.ask(askMargins, 'y'); got != "\x1b[?69;2$y" {
		t.Errorf("after leaveScreen, xterm answers %q", got)
	}
}

// TestXtermDrawsWhatViewShows plays side-column sessions in xterm, scrolled
// within margins (xterm's answer taken) and across the whole width (not
// taken), and compares the pixels with View's picture after every step.
func TestXtermDrawsWhatViewShows(t *testing.T) {
	needXterm(t)
	if raceEnabled {
		t.Skip("the race detector slows xterm's helper and finds nothing here: the renderer is one goroutine's")
	}
	steps := 15 // about 20 seconds; TUI_XTERM_STEPS sets more
	if s, err := strconv.Atoi(os.Getenv("TUI_XTERM_STEPS")); err == nil {
		steps = s
	}
	for _, margins := range []bool{true, false} {
		for i, layout := range sideLayouts {
			t.Run(fmt.Sprintf("%s/%s", scrollName(margins), layout.name), func(t *testing.T) {
				s := newSides(uint64(i), 120, 40, layout.leftWidth, layout.right)
				term, ref := startXterm(t, s.width, s.height), startXterm(t, s.width, s.height)
				var out bytes.Buffer
				r := newLineRenderer(&out)
				r.start()
				term.write(out.String())
				answer := term.ask("", 'y') // to askMargins
				if margins {
					report, _ := decodeOne(t, answer).(uv.ModeReportEvent)
					r.modeReport(report.Mode, report.Value)
					if !r.margins {
						t.Fatalf("xterm answered %q", answer)
					}
				}
				ref.write(enterScreen)
				what := "start"
				for step := range steps {
					f := s.frame()
					if term.settle(); f.width != r.shown.width || f.height != r.shown.height {
						term.resize(f.width, f.height)
						ref.resize(f.width, f.height)
					}
					out.Reset()
					r.draw(f, false)
					term.write(out.String())
					ref.showView(f)
					sameXtermScreen(t, term, ref, f.width, f.height, fmt.Sprintf("step %d (%s)", step, what))
					what = s.step() // at most 180x44: within the X screen
				}
			})
		}
	}
}

// TestXtermCutsAWideRowAtTheMargin: a row the terminal draws wider than
// counted, new at the bottom of a log scrolled within margins, is cut at
// the log's right margin, and the member column beside it stays whole.
func TestXtermCutsAWideRowAtTheMargin(t *testing.T) {
	needXterm(t)
	s := newSides(9, 100, 20, 18, true)
	term, ref := startXterm(t, 100, 20), startXterm(t, 100, 20)
	var out bytes.Buffer
	r := newLineRenderer(&out)
	r.start()
	term.write(out.String())
	report, _ := decodeOne(t, term.ask("", 'y')).(uv.ModeReportEvent)
	r.modeReport(report.Mode, report.Value)
	ref.write(enterScreen)
	f := s.frame()
	draw := func(f frame) {
		out.Reset()
		r.draw(f, false)
		term.write(out.String())
	}
	draw(f)
	// One more row, counted 10 cells wide but 90 as drawn: past the
	// member column.
	wide := line{text: strings.Repeat("W", 90), width: 10, id: 999}
	f.log = append(f.log[1:len(f.log):len(f.log)], wide)
	draw(f)
	if !strings.Contains(out.String(), "\x1b[19;80s") {
		t.Fatalf("the log was not scrolled within margins: %q", out.String())
	}
	// What View shows for the same row cut at the log's edge.
	cut := f
	cut.log = append(f.log[:len(f.log)-1:len(f.log)-1], line{text: strings.Repeat("W", 62), width: 62, id: 999})
	ref.showView(cut)
	sameXtermScreen(t, term, ref, f.width, f.height, "a wide row")

	// The margins are gone once the log scrolled: a row across the whole
	// width is not cut at them.
	f.input = line{text: strings.Repeat("I", 99), width: 99}
	f.cursorX = 99
	cut.input, cut.cursorX = f.input, f.cursorX
	draw(f)
	ref.showView(cut)
	sameXtermScreen(t, term, ref, f.width, f.height, "the input across the width")
}
