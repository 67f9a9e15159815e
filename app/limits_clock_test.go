package app

import "time"

// setClock replaces the clock of the limits: the limits take their clock at
// construction (newLimits), and a test that starts a real server swaps it.
func (l *limits) setClock(now func() time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.now = now
}
