package app

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

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
