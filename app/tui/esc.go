package tui

import (
	"io"

	"github.com/charmbracelet/x/ansi"
)

// escKey is the Esc key as the kitty keyboard protocol writes it (CSI 27 u),
// which uv.EventDecoder decodes as Esc: unlike ESC alone, it is a complete
// sequence, so nothing that follows can change what it means.
const escKey = "\x1b[27u"

// loneEscRead is the longest read whose last ESC is taken for the Esc key:
// keys typed, even many at once on a slow link, are a few bytes.
const loneEscRead = 64

// loneEscReader delivers an ESC that ends what one read returned, outside a
// bracketed paste, as the Esc key written out whole (escKey).
//
// The input scanner (inputScanner) cannot tell the Esc key from the first
// byte of an escape sequence, so after an ESC it waits up to its escape
// timeout (50 ms) for more bytes, and takes whatever comes meanwhile as
// part of the sequence: Esc then a key typed 20 ms later became Alt+key.
// Over SSH the bytes of one key arrive together, in one read: an ESC that
// ends a read is the Esc key, and what follows in a later read is another
// key. Alt+B ("\x1bb"), arrows ("\x1b[A") and every other sequence arrive
// whole, end in something other than ESC, and pass unchanged. A read that
// fills the buffer may have been cut short, and so may a long one (a
// client sending sequences faster than they are read: a flood, or the
// mouse wheel spun hard, split wherever the SSH channel's buffer was cut):
// its last ESC still waits for what follows, and so does that of the read
// after a full one (what a reader below kept of the same write). Keys typed
// by a person come a few at a time.
type loneEscReader struct {
	r       io.Reader
	inPaste bool // between the paste markers
	matched int  // bytes of the awaited paste marker seen so far
	full    bool // the last read filled its buffer: this one may go on with it
}

func (e *loneEscReader) Read(p []byte) (int, error) {
	room := len(p) - (len(escKey) - 1) // what a read may fill and still grow by escKey
	if room < 1 {
		n, err := e.r.Read(p)
		e.scan(p[:n])
		return n, err
	}
	n, err := e.r.Read(p[:room])
	continued := e.full
	e.full = n == room
	if n == 0 || n == room || n > loneEscRead || continued || p[n-1] != ansi.ESC {
		e.scan(p[:n])
		return n, err
	}
	e.scan(p[:n-1])
	if e.inPaste { // pasted text is not keys: the paste's ESC stays
		e.scan(p[n-1 : n])
		return n, err
	}
	n += copy(p[n-1:], escKey) - 1
	e.scan([]byte(escKey))
	return n, err
}

// scan follows the paste markers in b, which the reader passes on.
func (e *loneEscReader) scan(b []byte) {
	for _, c := range b {
		marker := pasteStart
		if e.inPaste {
			marker = pasteEnd
		}
		if e.matched = advance(marker, e.matched, c); e.matched == len(marker) {
			e.inPaste, e.matched = !e.inPaste, 0
		}
	}
}
