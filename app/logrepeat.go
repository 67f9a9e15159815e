package app

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Repeated log lines: an address that fails to log in thousands of times
// must not write thousands of identical lines.
const (
	repeatWindow = 10 * time.Second
	repeatFirst  = 5 // lines of a kind per address and window written in full
)

// repeatLog writes the first few lines of one kind from one address in a
// window, and at the window's end one line that counts the rest. Its table
// is bounded; past the bound, lines are written as they come.
type repeatLog struct {
	log    *slog.Logger
	window time.Duration
	first  int

	mu   sync.Mutex
	seen map[repeatKey]int // lines in the current window
}

type repeatKey struct{ addr, kind string }

func newRepeatLog(log *slog.Logger, window time.Duration, first int) *repeatLog {
	return &repeatLog{log: log, window: window, first: first, seen: map[repeatKey]int{}}
}

// Info writes msg with args, unless addr has written more than first lines
// of this kind (named by plural, as in "auth failures") in the window.
func (r *repeatLog) Info(addr, plural, msg string, args ...any) {
	key := repeatKey{addr, plural}
	r.mu.Lock()
	n, tracked := r.seen[key]
	if !tracked && len(r.seen) < maxTracked {
		tracked = true
		time.AfterFunc(r.window, func() { r.summarise(key) })
	}
	if tracked {
		n++
		r.seen[key] = n
	}
	r.mu.Unlock()
	if n <= r.first {
		r.log.Info(msg, args...)
	}
}

// summarise ends key's window, counting the lines it did not write.
func (r *repeatLog) summarise(key repeatKey) {
	r.mu.Lock()
	n := r.seen[key]
	delete(r.seen, key)
	r.mu.Unlock()
	if more := n - r.first; more > 0 {
		r.log.Info(fmt.Sprintf("… %d more %s from %s in the last %s", more, key.kind, key.addr, r.window),
			"remote", key.addr, "repeated", more)
	}
}
