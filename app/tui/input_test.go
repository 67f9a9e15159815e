package tui

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
)

// newKeyReader is uv's own terminal reader over a loneEscReader, as
// sessions decoded their input before inputScanner: the reference the
// scanner is compared with (TestTheScannerDecodesAsUvsReader).
func newKeyReader(input io.Reader, term string) *uv.TerminalReader {
	return uv.NewTerminalReader(&loneEscReader{r: input}, term)
}

// testPasteMax bounds pastes in these tests, well above what they paste
// unless they test the bound.
const testPasteMax = 1 << 16

// feedAll feeds s the reads in order and returns the events each read
// gave.
func feedAll(s *inputScanner, reads ...string) (perRead [][]uv.Event) {
	for _, read := range reads {
		var events []uv.Event
		s.feed([]byte(read), func(ev uv.Event) { events = append(events, ev) })
		perRead = append(perRead, events)
	}
	return perRead
}

// scanOnce decodes in as one read followed by the end of the input.
func scanOnce(in string) []uv.Event {
	var events []uv.Event
	emit := func(ev uv.Event) { events = append(events, ev) }
	s := newInputScanner(testPasteMax)
	s.feed([]byte(in), emit)
	s.expire(emit)
	return events
}

func names(events []uv.Event) []string {
	var got []string
	for _, ev := range events {
		got = append(got, eventName(ev))
	}
	return got
}

// scanning decodes what in returns, on one goroutine as readInput does,
// and returns the events as they come; the channel closes when the input
// ends.
func scanning(t *testing.T, in io.Reader, escTimeout time.Duration) <-chan uv.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := make(chan uv.Event, 100)
	s := newInputScanner(testPasteMax)
	s.escTimeout = escTimeout
	go func() {
		defer close(out)
		s.decode(ctx, in, func(ev uv.Event) { out <- ev }, func(timeUp func()) { timeUp() })
	}()
	return out
}

// Keys arrive whole in one read and decode at once, but for the ones that
// may be the start of a longer sequence (an ESC and at most one byte),
// which wait for the escape timeout or the end of the input.
func TestTheScannerDecodesKeys(t *testing.T) {
	for _, tt := range []struct {
		in    string
		want  []string
		waits bool
	}{
		{"\r", []string{"enter"}, false},
		{"\x7f", []string{"backspace"}, false},
		{"\t", []string{"tab"}, false},
		{"\x1b[Z", []string{"shift+tab"}, false},
		{"\x01", []string{"ctrl+a"}, false},
		{"\x03", []string{"ctrl+c"}, false},
		{"\x10", []string{"ctrl+p"}, false},
		{"\x00", []string{"ctrl+space"}, false},
		{"\x1b[A", []string{"up"}, false},
		{"\x1bOA", []string{"up"}, false},
		{"\x1b[1;5C", []string{"ctrl+right"}, false},
		{"\x1b[1;2D", []string{"shift+left"}, false},
		{"\x1b[1;3A", []string{"alt+up"}, false},
		{"\x1b[H", []string{"home"}, false},
		{"\x1b[F", []string{"end"}, false},
		{"\x1bOH", []string{"home"}, false},
		{"\x1bOF", []string{"end"}, false},
		{"\x1b[1~", []string{"home"}, false},
		{"\x1b[4~", []string{"end"}, false},
		{"\x1b[1;5H", []string{"ctrl+home"}, false},
		{"\x1b[5~", []string{"pgup"}, false},
		{"\x1b[6~", []string{"pgdown"}, false},
		{"\x1b[3~", []string{"delete"}, false},
		{escKey, []string{"esc"}, false},
		{"hé", []string{"h", "é"}, false},
		{"\x1bb", []string{"alt+b"}, true},
		{"\x1b", []string{"esc"}, true},
		{"\x1b\x1b", []string{"alt+esc"}, true},
		// Invalid UTF-8 may be the start of a character cut short: it
		// waits too, and then is what it is.
		{"a\xffb", []string{"a", `uv.UnknownEvent "ÿ"`, "b"}, true},
	} {
		var now []uv.Event
		emit := func(ev uv.Event) { now = append(now, ev) }
		s := newInputScanner(testPasteMax)
		s.feed([]byte(tt.in), emit)
		if waited := len(s.pending) > 0; waited != tt.waits {
			t.Errorf("%q: waits %v, want %v (decoded at once: %q)", tt.in, waited, tt.waits, names(now))
		}
		if got := names(scanOnce(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q decodes to %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A key cut across reads waits for its end, and a paste for its end
// marker, however the reads cut them.
func TestWhatIsCutAcrossReadsWaitsForItsEnd(t *testing.T) {
	for _, tt := range []struct {
		reads []string
		want  [][]string // the events of each read
	}{
		{[]string{"\x1b[", "A"}, [][]string{nil, {"up"}}},
		{[]string{"\x1b", "[A"}, [][]string{nil, {"up"}}},
		{[]string{"\x1b[1;", "5C"}, [][]string{nil, {"ctrl+right"}}},
		{[]string{"\x1bO", "H"}, [][]string{nil, {"home"}}},
		{[]string{"x\x1b[5", "~y"}, [][]string{{"x"}, {"pgup", "y"}}},
		{[]string{"\xc3", "\xa9"}, [][]string{nil, {"é"}}},
		{
			[]string{"\x1b[20", "0~hel", "lo \x1b", "[201", "~"},
			[][]string{nil, {"paste start"}, nil, nil, {`paste "hello "`, "paste end"}},
		},
		{
			[]string{"\x1b[200~caf\xc3", "\xa9\x1b[201~"},
			[][]string{{"paste start"}, {`paste "café"`, "paste end"}},
		},
	} {
		var got [][]string
		for _, events := range feedAll(newInputScanner(testPasteMax), tt.reads...) {
			got = append(got, names(events))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("reads %q decode to %q, want %q", tt.reads, got, tt.want)
		}
	}
}

func TestAPasteDropsInvalidUTF8AndKeepsItsSequences(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b[200~a\xffb\xc3\x1b[201~": "ab",
		"\x1b[200~a\x1b[Ab\x1b[201~":   "a\x1b[Ab",
		"\x1b[200~a\r\tb\x1b[201~":     "a\r\tb",
		"\x1b[200~a\x1bb\x1b[201~":     "a\x1bb",
	} {
		got := names(scanOnce(in))
		if wantNames := []string{"paste start", fmt.Sprintf("paste %q", want), "paste end"}; !reflect.DeepEqual(got, wantNames) {
			t.Errorf("%q decodes to %q, want %q", in, got, wantNames)
		}
	}
}

// The paste limiter only knows the paste markers as "\x1b[200~" and
// "\x1b[201~"; the decoder also starts a paste at other spellings of the
// same sequence. The scanner bounds those pastes itself.
func TestAPasteIsCutAtPasteMax(t *testing.T) {
	for _, start := range []string{"\x1b[200~", "\x9b200~", "\x1b[200;1~", "\x1b[0200~"} {
		s := newInputScanner(10)
		var events []uv.Event
		emit := func(ev uv.Event) { events = append(events, ev) }
		s.feed([]byte(start), emit)
		for range 100 {
			s.feed([]byte(strings.Repeat("x", 1000)), emit)
			if len(s.paste) > 10 {
				t.Fatalf("%q: the paste holds %d bytes, past its limit of 10", start, len(s.paste))
			}
		}
		s.feed([]byte("\x1b[201~"), emit)
		if got, want := names(events), []string{"paste start", `paste "xxxxxxxxxx"`, "paste end"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q, want %q", start, got, want)
		}
	}
}

// A client may start an escape sequence and never end it: what waits is
// bounded, and decoded as it stands once past the bound.
func TestAnUnterminatedSequenceIsBounded(t *testing.T) {
	for name, tt := range map[string]struct{ start, body string }{
		"osc": {"\x1b]", "x"},
		"dcs": {"\x1bP", "1"},
		"csi": {"\x1b[", "1;"},
		"apc": {"\x1b_", "y"},
	} {
		t.Run(name, func(t *testing.T) {
			s := newInputScanner(testPasteMax)
			events := 0
			emit := func(uv.Event) { events++ }
			s.feed([]byte(tt.start), emit)
			for range 64 {
				s.feed([]byte(strings.Repeat(tt.body, inputReadSize/len(tt.body))), emit)
				if len(s.pending) > maxPending {
					t.Fatalf("%d bytes wait, past the bound of %d", len(s.pending), maxPending)
				}
			}
			if events == 0 {
				t.Error("nothing was decoded")
			}
			s.expire(emit)
			if len(s.pending) != 0 {
				t.Errorf("%d bytes still wait after the timeout", len(s.pending))
			}
		})
	}
}

// Nor does an endless sequence hang the scanner on its goroutines: the
// input ends, and so do the events.
func TestAnEndlessSequenceEndsWithTheInput(t *testing.T) {
	in := "\x1b]" + strings.Repeat("x", 64<<10) + "\x1b[" + strings.Repeat("1;", 32<<10)
	events := scanning(t, strings.NewReader(in), time.Hour)
	deadline := time.After(waitLimit)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the events did not end with the input")
		}
	}
}

// An ESC that ends a read is the Esc key at once, as loneEscReader writes
// it: it does not wait for the escape timeout (an hour here, so that
// waiting would show), and the key typed after it is that key.
func TestTheScannerTakesALoneEscAtTheEndOfAReadAsTheEscKeyAtOnce(t *testing.T) {
	reads := make(chunkReader)
	events := scanning(t, &loneEscReader{r: reads}, time.Hour)
	for _, step := range []struct {
		read string
		want []string
	}{
		{"draft", []string{"d", "r", "a", "f", "t"}},
		{"\x1b", []string{"esc"}},
		{"hello", []string{"h", "e", "l", "l", "o"}},
		{"x\x1b", []string{"x", "esc"}},
	} {
		reads <- step.read
		for _, want := range step.want {
			if got := nextKey(t, events); got != want {
				t.Fatalf("after the read %q: key %q, want %q", step.read, got, want)
			}
		}
	}
}

// fullRead fills a read of decode through loneEscReader (which keeps
// room to write escKey) and ends in ESC: it may have been cut short, so its
// ESC waits.
var fullRead = strings.Repeat("a", inputReadSize-len(escKey)) + "\x1b"

// The ESC at the end of a full read waits for what follows: a later read
// may complete it, as here.
func TestAnEscEndingAFullReadWaitsForWhatFollows(t *testing.T) {
	reads := make(chunkReader)
	events := scanning(t, &loneEscReader{r: reads}, time.Hour)
	reads <- fullRead
	go func() { reads <- "[A" }() // read once fullRead's keys are taken
	for range len(fullRead) - 1 {
		if got := nextKey(t, events); got != "a" {
			t.Fatalf("key %q, want a", got)
		}
	}
	if got := nextKey(t, events); got != "up" {
		t.Errorf("the full read's ESC and the next read's [A decode as %q, want up", got)
	}
}

// If nothing follows, the escape timeout makes it the Esc key.
func TestAnEscEndingAFullReadIsTheEscKeyAfterTheTimeout(t *testing.T) {
	reads := make(chunkReader)
	events := scanning(t, &loneEscReader{r: reads}, uv.DefaultEscTimeout)
	reads <- fullRead // and no more: the input stays open
	for range len(fullRead) - 1 {
		if got := nextKey(t, events); got != "a" {
			t.Fatalf("key %q, want a", got)
		}
	}
	if got := nextKey(t, events); got != "esc" {
		t.Errorf("the full read's ESC decodes as %q after the timeout, want esc", got)
	}
}

// The escape timer may fire as a read comes, and take the scanner's lock
// after it: what waits then is that read's, which waits its own timeout.
func TestTheEscapeTimerWaitsForTheLastReadsTimeout(t *testing.T) {
	ctx := context.Background()
	var got []uv.Event
	emit := func(ev uv.Event) { got = append(got, ev) }
	s := newInputScanner(testPasteMax)
	s.escTimeout = time.Hour
	defer s.end()
	s.take(ctx, []byte("\x1b"), false, emit, func(timeUp func()) { timeUp() })
	s.timeUp(ctx, emit) // an earlier read's timeout, come late
	if len(got) != 0 || len(s.pending) == 0 {
		t.Fatalf("the ESC was decoded as %q before its timeout", names(got))
	}
	s.expireAt = time.Now() // its own timeout
	s.timeUp(ctx, emit)
	if !reflect.DeepEqual(names(got), []string{"esc"}) {
		t.Errorf("at its timeout the ESC decodes as %q, want esc", names(got))
	}
}

// The scanner decodes as uv's own terminal reader does: the same events
// for each input, cut into the same reads, through loneEscReader. The
// escape timeouts are an hour: a sequence cut short is decoded as it
// stands at the end of the input, on both sides.
//
// Where they differ (the uv field), and why that is acceptable:
//
//   - CSI 1 ; <modifier> R is the modified F3 key or, at row 1, a cursor
//     position report: Decode gives both events (uv.MultiEvent), uv's table
//     of key sequences, which it looks up first when the sequence is alone
//     in a read, only the key. The chat never asks for the cursor
//     position: the model ignores the report and reads the key.
//   - Windows' input mode (win32-input-mode, CSI ... _): uv's reader first
//     rebuilds its key records into text (deserializeWin32Input), and a
//     record whose key code is 0, "\x9b_" and the like, becomes a key
//     release. The chat never turns that mode on, so only a client making
//     it up sends it; the scanner leaves those sequences to Decode, which
//     gives them as unknown or as the keys they name. Inside a paste uv's
//     reader turns such records into their text, or drops them; the
//     scanner keeps them as their bytes, as any key without text.
//
// Not in the table: an X10 mouse report after the 8-bit CSI ("\x9bM" and
// three bytes) at the end of a read, on which uv's reader panics
// (TestAnX10MouseReportAfterThe8BitCSIEndingAReadDecodes).
//
// Of the 1,320 sequences in uv's table (buildKeysTable, all checked when
// the scanner was written), the 1,305 other than CSI 1 ; <modifier> R
// decode the same: the arrows, Home, End, Page Up and Down, Insert, Delete
// and F1-F20 with every modifier, in the CSI, SS3 and URxvt forms, the
// control keys, and Alt with each of them.
func TestTheScannerDecodesAsUvsReader(t *testing.T) {
	type read = []string
	type sequences struct {
		reads read
		uv    []string // what uv's reader gives, if not the same
	}
	tests := []sequences{
		{reads: read{"\r"}}, {reads: read{"\x7f"}}, {reads: read{"\t"}}, {reads: read{"\x08"}},
		{reads: read{"\x00"}}, {reads: read{"\x01"}}, {reads: read{"\x1c"}}, {reads: read{"\x1f"}},
		{reads: read{"\x1b"}}, {reads: read{"\x1b\x1b"}}, {reads: read{"\x1b\x01"}}, {reads: read{"\x1b\x7f"}},
		{reads: read{"\x1bb"}}, {reads: read{"\x1bB"}}, {reads: read{"\x1b1"}}, {reads: read{"\x1b9"}},
		{reads: read{"\x1b[A"}}, {reads: read{"\x1b[B"}}, {reads: read{"\x1b[C"}}, {reads: read{"\x1b[D"}},
		{reads: read{"\x1bOA"}}, {reads: read{"\x1bOD"}}, {reads: read{"\x1b[1;5C"}}, {reads: read{"\x1b[1;3A"}},
		{reads: read{"\x1b[1;3B"}}, {reads: read{"\x1b[1;2A"}}, {reads: read{"\x1b[1;9A"}}, {reads: read{"\x1b[1;16D"}},
		{reads: read{"\x1b\x1b[A"}}, {reads: read{"\x1b[H"}}, {reads: read{"\x1b[F"}}, {reads: read{"\x1bOH"}},
		{reads: read{"\x1bOF"}}, {reads: read{"\x1b[1~"}}, {reads: read{"\x1b[4~"}}, {reads: read{"\x1b[7~"}},
		{reads: read{"\x1b[8~"}}, {reads: read{"\x1b[2~"}}, {reads: read{"\x1b[3~"}}, {reads: read{"\x1b[5~"}},
		{reads: read{"\x1b[6~"}}, {reads: read{"\x1b[3;5~"}}, {reads: read{"\x1b[5;3~"}}, {reads: read{"\x1b[1;5H"}},
		{reads: read{"\x1b[Z"}}, {reads: read{"\x1bOP"}}, {reads: read{"\x1b[15~"}}, {reads: read{"\x1b[24;2~"}},
		{reads: read{"\x1b[a"}}, {reads: read{"\x1bOa"}}, {reads: read{"\x1b[2$"}}, {reads: read{"\x1b[3^"}},
		{reads: read{"\x1b[5@"}}, {reads: read{"\x1b[23$"}}, {reads: read{"\x1bO5M"}}, {reads: read{"\x1bOp"}},
		{reads: read{"\x1b[27;5;13~"}}, {reads: read{"\x1b[27;2;9~"}}, {reads: read{"\x1b[97;5u"}}, {reads: read{escKey}},
		{reads: read{"\x1b[13;2u"}}, {reads: read{"\x1b[<64;10;5M"}}, {reads: read{"\x1b[<0;3;4m"}}, {reads: read{"\x1b[M !!"}},
		{reads: read{"\x1b[I"}}, {reads: read{"\x1b[O"}}, {reads: read{"\x1b[?2026;2$y"}}, {reads: read{"\x1b[?62;22c"}},
		{reads: read{"\x1b[?69;1$y"}}, {reads: read{"\x1b[?69;2$y"}}, {reads: read{"\x1b[?69;0$y"}}, // askMargins' answers
		{reads: read{"\x10"}}, {reads: read{"\x0e"}}, {reads: read{"\x0b"}}, // as tmux sends the conversation keys
		{reads: read{"\x1b[8;24;80t"}}, {reads: read{"\x1b]11;rgb:0000/0000/0000\x07"}}, {reads: read{"\x1b]0;x\x18"}},
		{reads: read{"\x1bP>|xterm\x1b\\"}}, {reads: read{"\x1b_Gi=1;OK\x1b\\"}}, {reads: read{"\x1b[?1u"}},
		{reads: read{"hello, world"}}, {reads: read{"héllo 😀"}}, {reads: read{"e\u0301"}}, {reads: read{"a\xffb"}},
		{reads: read{"\x85"}}, {reads: read{"\x9b"}}, {reads: read{"\x1b["}}, {reads: read{"\x1b[1;"}},
		{reads: read{"\x1bO"}}, {reads: read{"\x1b]"}}, {reads: read{"\x1b]11;rgb"}}, {reads: read{"\x1bP1"}},
		{reads: read{"\x1b[200~hi there\x1b[201~"}}, {reads: read{"\x1b[200~a\xffb\x1b[201~"}},
		{reads: read{"\x1b[200~a\x1b[Ab\x1b[201~"}}, {reads: read{"\x1b[200~a\x1bb\r\x1b[201~"}},
		{reads: read{"\x1b[201~"}}, {reads: read{"\x1b[200~unended"}}, {reads: read{"\x9b200~x\x9b201~"}},
		// Cut across reads.
		{reads: read{"\x1b[", "A"}}, {reads: read{"\x1b[1;", "5C"}}, {reads: read{"\xc3", "\xa9"}},
		{reads: read{"\x1b[20", "0~a\x1b", "\x1b[2", "01~", "\x1b"}},
		{reads: read{"\x1b[200~a\x1b", "[201~"}}, {reads: read{"x\x1b", "b"}}, {reads: read{"\x1bb", "\x1b"}},
		{reads: read{fullRead, "[A"}}, {reads: read{fullRead}},
		// Where they differ.
		{reads: read{"\x1b[1;5R"}, uv: []string{"ctrl+f3"}},
		{reads: read{"\x1b[1;2R"}, uv: []string{"shift+f3"}},
		{reads: read{"\x9b_"}, uv: []string{"uv.KeyReleaseEvent ctrl+space"}},
		{reads: read{"\x1b[200~\x1b[0;0;97;1;0;1_\x1b[201~"}, uv: []string{"paste start", `paste "a"`, "paste end"}},
	}
	// And uv's table, as buildKeysTable builds it: plain keys, Alt and
	// each, and xterm's modifiers on the function keys.
	tilde := []int{1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 23, 24, 25, 26, 28, 29, 31, 32, 33, 34}
	var plain []string
	for c := range 0x20 {
		plain = append(plain, string(rune(c)))
	}
	plain = append(plain, " ", "\x7f")
	for _, c := range "ABCDEFHPQRSabcd" {
		plain = append(plain, "\x1b["+string(c), "\x1bO"+string(c))
	}
	for _, c := range "MXjklmnopqrstuvwxy" {
		plain = append(plain, "\x1bO"+string(c))
	}
	for _, n := range tilde {
		for _, end := range "~$^@" {
			plain = append(plain, fmt.Sprintf("\x1b[%d%c", n, end))
		}
	}
	for _, seq := range plain {
		tests = append(tests, sequences{reads: read{seq}}, sequences{reads: read{"\x1b" + seq}})
	}
	for mod := 2; mod <= 16; mod++ {
		for _, c := range "ABCDEFHPQS" {
			tests = append(tests, sequences{reads: read{fmt.Sprintf("\x1b[1;%d%c", mod, c)}})
		}
		for _, c := range "MXjklmnopqrstuvwxy" {
			tests = append(tests, sequences{reads: read{fmt.Sprintf("\x1bO%d%c", mod, c)}})
		}
		for _, n := range tilde {
			tests = append(tests, sequences{reads: read{fmt.Sprintf("\x1b[%d;%d~", n, mod)}})
		}
		for _, code := range []int{8, 9, 13, 27, 127} {
			tests = append(tests, sequences{reads: read{fmt.Sprintf("\x1b[27;%d;%d~", mod, code)}})
		}
	}
	decode := func(events <-chan uv.Event) []uv.Event {
		var got []uv.Event
		for ev := range events {
			got = append(got, ev)
		}
		return got
	}
	for _, tt := range tests {
		send := func(reads chunkReader) {
			for _, r := range tt.reads {
				reads <- r
			}
			close(reads)
		}
		uvReads, reads := make(chunkReader), make(chunkReader)
		reference := newKeyReader(uvReads, "xterm-256color")
		reference.EscTimeout = time.Hour
		uvEvents := decoding(t, reference)
		send(uvReads)
		want := decode(uvEvents)
		events := scanning(t, &loneEscReader{r: reads}, time.Hour)
		go send(reads) // the scanner reads once what it read before is taken
		got := decode(events)
		switch {
		case tt.uv == nil && !reflect.DeepEqual(got, want):
			t.Errorf("%q: scanner %q, uv's reader %q", tt.reads, names(got), names(want))
		case tt.uv != nil && !reflect.DeepEqual(names(want), tt.uv):
			t.Errorf("%q: uv's reader now gives %q, not %q: is the difference gone?", tt.reads, names(want), tt.uv)
		case tt.uv != nil && reflect.DeepEqual(got, want):
			t.Errorf("%q: the scanner and uv's reader no longer differ: both %q", tt.reads, names(got))
		}
	}
}

// Decode reads an X10 mouse report after the 8-bit CSI a byte too far,
// and panics where the buffer's capacity ends there: the scanner decodes
// it as Decode does where there is room. (uv's reader panics when such a
// report ends a read: that is a panic in the session's input, which ended
// the session.)
func TestAnX10MouseReportAfterThe8BitCSIEndingAReadDecodes(t *testing.T) {
	for _, in := range []string{"\x9bM !!", "\x1b\x9bM !!", "\x1b\x1b\x9bMab", "a\x9bM"} {
		decode := func(read []byte) []uv.Event {
			var got []uv.Event
			emit := func(ev uv.Event) { got = append(got, ev) }
			s := newInputScanner(testPasteMax)
			s.feed(read, emit)
			s.expire(emit)
			return got
		}
		tight, roomy := []byte(in), append(make([]byte, 0, len(in)+8), in...)
		if got, want := decode(tight[:len(in):len(in)]), decode(roomy); !reflect.DeepEqual(got, want) {
			t.Errorf("%q at the end of a read decodes to %#v, with room after it %#v", in, got, want)
		}
	}
}

// ignoredEvent is uv's, whatever Decode's other events.
func TestIgnoredEventIsUvsOwn(t *testing.T) {
	if ignoredEvent == nil || ignoredEvent.Name() != "ignoredEvent" || ignoredEvent.PkgPath() != "github.com/charmbracelet/ultraviolet" {
		t.Fatalf("ignoredEvent is %v", ignoredEvent)
	}
	if got := scanOnce("a\x1b]0;title\x18b\x1b]2;t\x1ac\x1b_xy\x1bd"); !reflect.DeepEqual(names(got), []string{"a", "b", "c", "d"}) {
		t.Errorf("cancelled sequences decode to %q", names(got))
	}
}

// A session's input takes one goroutine, which reads and decodes (uv's
// reader took three; the scanner took two, one reading, one decoding).
func TestASessionsInputTakesOneGoroutine(t *testing.T) {
	// The session's goroutines inherit the label: other tests' sessions,
	// which may still be ending, do not count.
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("session", t.Name())))
	in, typing := io.Pipe()
	defer typing.Close()
	r := startRun(t, in, nil)
	pprof.SetGoroutineLabels(context.Background())
	r.waitOutput(t, enterScreen)
	if n, dump := sessionGoroutines(t.Name(), "tui.(*runner).readInput", "tui.(*inputScanner)", "ultraviolet."); n != 1 {
		t.Errorf("the session's input takes %d goroutines, want 1:\n%s", n, dump)
	}
	r.cancel(nil)
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
}

// decoderSink keeps what the benchmarks and allocation tests build on the
// heap, as a session keeps its decoder.
var decoderSink any

// A scanner costs one small allocation; uv's reader built a table of some
// 1,300 key sequences for each session, about 125 KB
// (BenchmarkNewInputDecoder).
func TestAScannerCostsOneSmallAllocation(t *testing.T) {
	if allocs := testing.AllocsPerRun(100, func() { decoderSink = newInputScanner(testPasteMax) }); allocs > 1 {
		t.Errorf("a scanner takes %v allocations", allocs)
	}
}

// BenchmarkNewInputDecoder: what one session's input decoder allocates,
// uv's reader (with its table) and the scanner.
func BenchmarkNewInputDecoder(b *testing.B) {
	b.Run("uv.NewTerminalReader", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decoderSink = uv.NewTerminalReader(strings.NewReader(""), "xterm-256color")
		}
	})
	b.Run("inputScanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decoderSink = newInputScanner(testPasteMax)
		}
	})
}

// FuzzInputScanner: whatever the input and however it is cut into reads,
// the scanner does not panic, keeps what waits and what it pastes bounded,
// hands on only events the program reads, and decodes every byte once the
// escape timeout passes.
func FuzzInputScanner(f *testing.F) {
	f.Add("draft\x1b", []byte{1})
	f.Add("\x1b[200~a\x1b\x1b[201~\x1b", []byte{3, 1})
	f.Add("\x1bb\x1b[A\x1b[1;5C\x1bOH\x1b[3~\r\x7f\t", []byte{2})
	f.Add("\x9b200~"+strings.Repeat("x", 100), []byte{7})
	f.Add("\x1b]"+strings.Repeat("x", 5000), []byte{255})
	f.Add("\x9bM !!\x1b\x9bMab", []byte{5})
	f.Add("\x9bM \x9bM!!\x1b\x1b\x9bMab\x9bMab", []byte{13})
	f.Add("a\xffb\xc3", []byte{1, 2})
	const pasteMax = 64
	f.Fuzz(func(t *testing.T, in string, cuts []byte) {
		if len(in) > 3*maxPending {
			// Only repeats what shorter inputs do (at most maxPending
			// bytes wait), at a cost that a sequence rescanned read after
			// read makes grow with the pending bytes: the fuzzer's
			// minimization, thousands of runs of one input, stalled on
			// such inputs for minutes.
			return
		}
		s := newInputScanner(pasteMax)
		emit := func(ev uv.Event) {
			switch ev.(type) {
			case nil, uv.MultiEvent:
				t.Fatalf("%q: the scanner handed on %#v", in, ev)
			}
			if reflect.TypeOf(ev) == ignoredEvent {
				t.Fatalf("%q: the scanner handed on an ignored sequence", in)
			}
		}
		rest := []byte(in)
		for i := 0; len(rest) > 0; i++ {
			size := len(rest)
			if len(cuts) > 0 {
				size = min(int(cuts[i%len(cuts)])+1, len(rest))
			}
			read := rest[:size:size] // a read ending where its buffer does
			rest = rest[size:]
			s.feed(read, emit)
			if len(s.pending) > maxPending || len(s.paste) > pasteMax {
				t.Fatalf("%q: %d bytes wait and the paste holds %d", in, len(s.pending), len(s.paste))
			}
		}
		s.expire(emit)
		if len(s.pending) != 0 {
			t.Fatalf("%q: %q still waits after the timeout", in, s.pending)
		}
	})
}

// chunkyReader returns b in reads of the sizes size gives.
type chunkyReader struct {
	b    []byte
	size func() int
}

func (c *chunkyReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(c.size(), len(p))], c.b)
	c.b = c.b[n:]
	return n, nil
}

// A flood of escape sequences (the mouse wheel spun hard, or a client
// sending keys faster than they are read) decodes into its keys and mouse
// events whatever the sizes of the reads it arrives in: none is cut into
// an Esc and text typed into the input line. (The hand trial found the
// tail of a full read decoded early, and a long read's last ESC taken for
// the Esc key.)
func TestAFloodOfSequencesLeaksNoText(t *testing.T) {
	flood := strings.Repeat("\x1b[5~\x1b[6~\x1b[<65;20;20M\x1b[<64;20;20M\x1b[1;3B\x1b[1;3A", 500)
	random := rand.New(rand.NewPCG(1, 2))
	for name, size := range map[string]func() int{
		"4096":   func() int { return 4096 },
		"4095":   func() int { return 4095 },
		"1000":   func() int { return 1000 },
		"random": func() int { return 1 + random.IntN(5000) },
	} {
		t.Run(name, func(t *testing.T) {
			var leaked []string
			events := 0
			emit := func(ev uv.Event) {
				events++
				switch ev := ev.(type) {
				case uv.KeyPressEvent:
					if ev.Text != "" || ev.Code == uv.KeyEscape {
						leaked = append(leaked, ev.String())
					}
				case uv.UnknownEvent:
					leaked = append(leaked, fmt.Sprintf("unknown %q", string(ev)))
				}
			}
			in := &loneEscReader{r: newPasteLimiter(&chunkyReader{b: []byte(flood), size: size}, testPasteMax)}
			newInputScanner(testPasteMax).decode(context.Background(), in, emit, func(f func()) { f() })
			if len(leaked) > 0 || events != 6*500 {
				t.Errorf("%d events, want %d; leaked %q", events, 6*500, leaked)
			}
		})
	}
}

// A sequence sent a byte at a time waits through at most maxWaits reads:
// each read decodes what waits again, so a client dripping an endless
// sequence would otherwise cost a decode of up to maxPending bytes a byte.
func TestADrippedSequenceWaitsBoundedReads(t *testing.T) {
	s := newInputScanner(testPasteMax)
	drip := []byte("\x1b]0;" + strings.Repeat("x", 1000))
	most := 0
	for i := range drip {
		s.feed(drip[i:i+1:i+1], func(uv.Event) {})
		most = max(most, len(s.pending))
	}
	if most > maxWaits+1 {
		t.Errorf("%d bytes waited at once, want at most %d", most, maxWaits+1)
	}
	// A key split by a read's end still waits for its second half.
	var keys []string
	emit := func(ev uv.Event) {
		if k, ok := ev.(uv.KeyPressEvent); ok {
			keys = append(keys, k.String())
		}
	}
	s = newInputScanner(testPasteMax)
	s.feed([]byte("\x1b[1;"), emit)
	s.feed([]byte("5C"), emit)
	if !slices.Equal(keys, []string{"ctrl+right"}) {
		t.Errorf("a split Ctrl+Right decoded as %q", keys)
	}
}
