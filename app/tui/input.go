package tui

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"time"
	"unicode/utf8"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
)

const (
	// inputReadSize is the most one read of a session's input returns, as
	// in uv's own reader: a read that fills it may have been cut short
	// (loneEscReader).
	inputReadSize = 4096
	// maxPending bounds the bytes an incomplete sequence may hold back: a
	// client may start an escape sequence and never end it. Past it, what
	// is pending is decoded as it stands, as if the escape timeout had
	// passed.
	maxPending = 4096
)

// inputScanner decodes a session's input into events as uv's own terminal
// reader does (uv.TerminalReader's scanEvents, without Windows' input
// mode), with uv.EventDecoder alone: that reader also builds a table of key
// sequences for every session, about 125 KB each, which only maps some
// sequences that arrive alone in a read to keys Decode reads as well. See
// TestTheScannerDecodesAsUvsReader for where the two differ.
//
// A sequence cut at the end of what has arrived (the decoder says it is
// unknown so far, or an ESC with at most one byte after it, which may yet
// begin a longer sequence) waits for more bytes; escTimeout after the last
// read with no more bytes, or once maxPending bytes wait, it is decoded as
// it stands. Bracketed pastes become one uv.PasteEvent, between the paste
// start and end events, without invalid UTF-8, bounded by pasteMax.
//
// An inputScanner is used by one goroutine.
type inputScanner struct {
	decoder    uv.EventDecoder // its zero value: no legacy flags, no terminfo, as uv's reader
	escTimeout time.Duration
	pasteMax   int    // bytes of one paste kept; the rest is dropped
	pending    []byte // read, not decoded yet: the start of a sequence
	paste      []byte // the text of the paste being read; nil outside one
}

func newInputScanner(pasteMax int) *inputScanner {
	return &inputScanner{escTimeout: uv.DefaultEscTimeout, pasteMax: pasteMax}
}

// readChunks sends what each read of in returns on reads, a copy the
// receiver owns, until in ends or ctx ends; then it closes reads.
func readChunks(ctx context.Context, in io.Reader, reads chan<- []byte) {
	defer close(reads)
	buf := make([]byte, inputReadSize)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			select {
			case reads <- bytes.Clone(buf[:n]):
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			return // a read error ends the input as its end does
		}
	}
}

// decode hands emit the events in what arrives on reads (from
// readChunks), in order, on the calling goroutine, until reads closes
// (what is pending is then decoded as it stands) or ctx ends. It is
// readInput's loop: emit sends to the program.
func (s *inputScanner) decode(ctx context.Context, reads <-chan []byte, emit func(uv.Event)) {
	timeout := time.NewTimer(s.escTimeout)
	timeout.Stop() // runs only while a sequence waits
	defer timeout.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-reads:
			if !ok {
				s.expire(emit)
				return
			}
			s.feed(b, emit)
			if len(s.pending) > 0 {
				timeout.Reset(s.escTimeout)
			} else {
				timeout.Stop()
			}
		case <-timeout.C:
			s.expire(emit)
		}
	}
}

// feed decodes b after what is pending. What may be the start of a
// sequence stays pending, unless maxPending bytes would.
func (s *inputScanner) feed(b []byte, emit func(uv.Event)) {
	buf := b
	if len(s.pending) > 0 {
		s.pending = append(s.pending, b...)
		buf = s.pending
	}
	n := s.scan(buf, len(buf) > maxPending, emit)
	s.keep(buf[n:])
}

// expire decodes all that is pending, as it stands.
func (s *inputScanner) expire(emit func(uv.Event)) {
	n := s.scan(s.pending, true, emit)
	s.keep(s.pending[n:]) // n is all of it
}

// keep makes rest what is pending. Nothing pending holds no buffer: most
// sessions are idle most of the time.
func (s *inputScanner) keep(rest []byte) {
	if len(rest) == 0 {
		s.pending = nil
		return
	}
	s.pending = append(s.pending[:0], rest...)
}

// ignoredEvent is the type of the event Decode returns for a sequence
// cancelled midway (by CAN or SUB, or an ESC that starts no terminator),
// which uv's reader drops. uv does not export it: it is taken from such a
// sequence.
var ignoredEvent = func() reflect.Type {
	var d uv.EventDecoder
	_, ev := d.Decode([]byte("\x1b]0;\x18"))
	return reflect.TypeOf(ev)
}()

// scan decodes buf, handing emit each event, and returns how many bytes it
// decoded: all of them if expired; else it stops before what may be the
// start of a sequence not complete yet. It follows uv's eventScanner.
func (s *inputScanner) scan(buf []byte, expired bool, emit func(uv.Event)) (total int) {
	// Decode reads an X10 mouse report introduced by the 8-bit CSI ("\x9bM"
	// and three bytes) as if the introducer were "\x1b[M", a byte past the
	// report, and panics when that byte is past buf's capacity: a report
	// that ends buf is given that byte.
	if l := len(buf); l >= 5 && cap(buf) == l && buf[l-5] == ansi.CSI && buf[l-4] == 'M' {
		buf = append(buf, 0)[:l]
	}
	for len(buf) > 0 {
		esc := buf[0] == ansi.ESC
		n, ev := s.decoder.Decode(buf)
		// Decode takes at least one byte of what it is given; should it
		// not, the input must still move on.
		n = min(max(n, 1), len(buf))
		// What the decoder does not know may be a sequence cut short; an
		// ESC and at most one byte, a key (Esc, or Alt and that byte), may
		// begin a longer one.
		if _, unknown := ev.(uv.UnknownEvent); !expired && (unknown || esc && n <= 2) {
			return total
		}
		if s.paste != nil {
			if _, end := ev.(uv.PasteEndEvent); !end {
				s.collect(buf[:n], ev)
				buf, total = buf[n:], total+n
				continue
			}
		}
		switch ev := ev.(type) {
		case uv.PasteStartEvent:
			s.paste = []byte{}
			emit(ev)
		case uv.PasteEndEvent:
			emit(uv.PasteEvent{Content: validText(s.paste)})
			s.paste = nil
			emit(ev)
		case uv.MultiEvent:
			for _, ev := range ev {
				emit(ev)
			}
		default:
			if ev != nil && reflect.TypeOf(ev) != ignoredEvent {
				emit(ev)
			}
		}
		buf, total = buf[n:], total+n
	}
	return total
}

// collect adds to the paste being read the sequence seq, which decoded as
// ev: the text of a key; the bytes of a key without text; nothing else.
// Past pasteMax bytes the paste is cut.
func (s *inputScanner) collect(seq []byte, ev uv.Event) {
	k, ok := ev.(uv.KeyPressEvent)
	if !ok {
		return
	}
	room := max(s.pasteMax-len(s.paste), 0)
	if k.Text != "" {
		s.paste = append(s.paste, k.Text[:min(len(k.Text), room)]...)
	} else {
		s.paste = append(s.paste, seq[:min(len(seq), room)]...)
	}
}

// validText is b without its invalid UTF-8, as uv's reader makes a paste.
func validText(b []byte) string {
	text := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, w := utf8.DecodeRune(b)
		if r != utf8.RuneError {
			text = append(text, b[:w]...)
		}
		b = b[w:]
	}
	return string(text)
}
