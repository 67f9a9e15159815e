package chat

import (
	"fmt"
	"math"
	"time"
)

// SlowDownError is returned by Post when the member's person is over the
// flood limit. The message was not posted; nobody else saw anything. Its
// Error is written for the user.
type SlowDownError struct{ Wait time.Duration }

func (e *SlowDownError) Error() string {
	return fmt.Sprintf("slow down: you can send again in %s", e.Wait.Round(100*time.Millisecond))
}

// tokenBucket is a flood limit: burst messages at once, then perSecond.
// Refused messages cost nothing, so a pasted paragraph is never punished
// beyond being refused.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// take spends a token if one is left at now; otherwise it reports how long
// until the next one.
func (b *tokenBucket) take(now time.Time, burst int, perSecond float64) (ok bool, wait time.Duration) {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+elapsed*perSecond)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / perSecond * float64(time.Second))
}
