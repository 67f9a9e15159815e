package tui

import "io"

var (
	pasteStart = []byte("\x1b[200~")
	pasteEnd   = []byte("\x1b[201~")
)

// pasteLimiter bounds bracketed pastes on their way into a session's
// program: the input parser keeps a whole paste in memory until it ends, so
// a paste that never ends would grow without bound. Past limit bytes the
// rest of a paste is dropped (the end marker still goes through); the
// screen then refuses the paste as too long.
type pasteLimiter struct {
	r       io.Reader
	limit   int
	inPaste bool
	size    int // content bytes of the current paste seen so far
	matched int // bytes of the awaited marker seen so far
	buf     []byte
	pending []byte
	err     error
}

func newPasteLimiter(r io.Reader, limit int) *pasteLimiter {
	return &pasteLimiter{r: r, limit: limit, buf: make([]byte, 4096)}
}

func (p *pasteLimiter) Read(b []byte) (int, error) {
	for len(p.pending) == 0 && p.err == nil {
		n, err := p.r.Read(p.buf)
		p.pending = p.filter(p.pending[:0], p.buf[:n])
		p.err = err
	}
	if len(p.pending) == 0 {
		return 0, p.err
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

// filter appends to out what of in may pass. Inside a paste, bytes that
// may begin the end marker are held back until it is clear whether they do.
func (p *pasteLimiter) filter(out, in []byte) []byte {
	for _, c := range in {
		if !p.inPaste {
			out = append(out, c)
			if p.matched = advance(pasteStart, p.matched, c); p.matched == len(pasteStart) {
				p.inPaste, p.size, p.matched = true, 0, 0
			}
			continue
		}
		held := p.matched
		p.matched = advance(pasteEnd, p.matched, c)
		switch {
		case p.matched == len(pasteEnd):
			out = append(out, pasteEnd...)
			p.inPaste, p.matched = false, 0
		case p.matched <= held:
			// What was held was content after all, and so is c unless it
			// starts the marker afresh.
			content := pasteEnd[:held]
			if p.matched == 0 {
				content = append(content[:held:held], c)
			}
			for _, b := range content {
				if p.size < p.limit {
					out = append(out, b)
				}
				p.size++
			}
		}
	}
	return out
}

// advance is how much of marker has been seen once c follows matched bytes
// of it.
func advance(marker []byte, matched int, c byte) int {
	switch {
	case c == marker[matched]:
		return matched + 1
	case c == marker[0]:
		return 1
	}
	return 0
}
