package app

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

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

// inputBurst is how much a session may type or paste at once before
// INPUT_RATE applies: more than the largest paste the screen accepts.
const inputBurst = 64 << 10

// rateReader reads a session's input at a bounded rate: past the burst,
// Read waits before it returns more, so a client typing or pasting without
// end is held back through its SSH window (the client's writes block)
// instead of keeping a core busy decoding keys. Nothing is dropped.
type rateReader struct {
	ctx     context.Context
	r       io.Reader
	limiter *rate.Limiter
}

// newRateReader bounds r to perSecond bytes a second after burst bytes;
// perSecond 0 is no bound.
func newRateReader(ctx context.Context, r io.Reader, perSecond, burst int) io.Reader {
	if perSecond <= 0 {
		return r
	}
	return &rateReader{ctx: ctx, r: r, limiter: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

func (rr *rateReader) Read(p []byte) (int, error) {
	// Read no more than the bucket can ever hold, then pay for what was
	// read before the next Read: the wait is the backpressure.
	n, err := rr.r.Read(p[:min(len(p), rr.limiter.Burst())])
	if n > 0 {
		if werr := rr.limiter.WaitN(rr.ctx, n); werr != nil && err == nil {
			err = werr // the session is ending
		}
	}
	return n, err
}
