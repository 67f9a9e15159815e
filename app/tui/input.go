package tui

import (
	"context"
	"io"
	"reflect"
	"sync"
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
	// maxWaits bounds the reads an incomplete sequence may wait through:
	// each read decodes what waits again from its start, so a client
	// sending a sequence a byte at a time would otherwise cost a decode
	// of up to maxPending bytes for every byte it sends. A sequence split
	// by a read's end is whole after the next one or two.
	maxWaits = 32
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
// An inputScanner is used by decode's goroutine and, while a sequence
// waits, its escape timer: both under mu.
type inputScanner struct {
	decoder    uv.EventDecoder // its zero value: no legacy flags, no terminfo, as uv's reader
	escTimeout time.Duration
	pasteMax   int // bytes of one paste kept; the rest is dropped

	mu       sync.Mutex
	pending  []byte      // read, not decoded yet: the start of a sequence
	waits    int         // reads pending has waited through
	paste    []byte      // the text of the paste being read; nil outside one
	expiry   *time.Timer // decodes what is pending at expireAt; nil until first needed
	expireAt time.Time   // escTimeout after the read that left pending
	ended    bool        // decode returned: the timer decodes nothing more
}

func newInputScanner(pasteMax int) *inputScanner {
	return &inputScanner{escTimeout: uv.DefaultEscTimeout, pasteMax: pasteMax}
}

// decode reads in and hands emit the events in what it reads, in order,
// until in ends (what is pending is then decoded as it stands) or ctx
// ends. It is readInput's loop and its one goroutine: it reads, decodes
// and emits (emit sends to the program). While a sequence cut short waits
// for the next read, which may never come, a timer (expiry) decodes it as
// it stands escTimeout after the read that left it; run runs the timer's
// function, on the timer's goroutine (readInput recovers its panics). emit
// is called under mu, by one of the two at a time: events keep their
// order.
//
// One buffer serves every read: Decode copies what its events keep (a
// key's text, an unknown sequence), but for a kitty graphics reply's
// payload, which the chat ignores.
func (s *inputScanner) decode(ctx context.Context, in io.Reader, emit func(uv.Event), run func(func())) {
	defer s.end()
	buf := make([]byte, inputReadSize)
	for {
		n, err := in.Read(buf)
		if ctx.Err() != nil {
			return
		}
		s.take(ctx, buf[:n], err != nil, emit, run)
		if err != nil {
			return // a read error ends the input as its end does
		}
	}
}

// take decodes what one read returned, b, and arms the escape timer while
// a sequence waits; at the end of the input it decodes all that waits.
func (s *inputScanner) take(ctx context.Context, b []byte, last bool, emit func(uv.Event), run func(func())) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b) > 0 {
		s.feed(b, emit)
	}
	switch {
	case last:
		s.expire(emit)
	case len(s.pending) == 0:
		if s.expiry != nil {
			s.expiry.Stop()
		}
	case s.expiry == nil:
		s.expireAt = time.Now().Add(s.escTimeout)
		s.expiry = time.AfterFunc(s.escTimeout, func() { run(func() { s.timeUp(ctx, emit) }) })
	default:
		s.expireAt = time.Now().Add(s.escTimeout)
		s.expiry.Reset(s.escTimeout)
	}
}

// timeUp is the escape timer's: what waits escTimeout after the read that
// left it is decoded as it stands.
func (s *inputScanner) timeUp(ctx context.Context, emit func(uv.Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || ctx.Err() != nil || len(s.pending) == 0 {
		return
	}
	if wait := time.Until(s.expireAt); wait > 0 {
		// A read came after the timer fired, before it took mu: what
		// waits now is that read's.
		s.expiry.Reset(wait)
		return
	}
	s.expire(emit)
}

// end stops the escape timer: decode has returned.
func (s *inputScanner) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	if s.expiry != nil {
		s.expiry.Stop()
	}
}

// feed decodes b after what is pending. What may be the start of a
// sequence stays pending, unless it is more than maxPending bytes or has
// waited through maxWaits reads.
func (s *inputScanner) feed(b []byte, emit func(uv.Event)) {
	buf := b
	if len(s.pending) > 0 {
		s.pending = append(s.pending, b...)
		buf = s.pending
	}
	n := s.scan(buf, false, emit)
	if n > 0 {
		s.waits = 0 // what waits now is new
	}
	if len(buf)-n > 0 {
		s.waits++
	}
	if len(buf)-n > maxPending || s.waits > maxWaits {
		n += s.scan(buf[n:], true, emit)
		s.waits = 0
	}
	s.keep(buf[n:])
}

// expire decodes all that is pending, as it stands.
func (s *inputScanner) expire(emit func(uv.Event)) {
	n := s.scan(s.pending, true, emit)
	s.keep(s.pending[n:]) // n is all of it
	s.waits = 0
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
	// that ends buf is given that byte, a zero (not what an earlier read
	// left in decode's buffer).
	if l := len(buf); l >= 5 && buf[l-5] == ansi.CSI && buf[l-4] == 'M' {
		buf = append(buf[:l:l], 0)[:l]
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
