package chat

import (
	"container/list"
	"fmt"
	"math"
	"sync"
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
	b.refill(now, burst, perSecond)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / perSecond * float64(time.Second))
}

// refill adds the tokens earned since the last take or spend.
func (b *tokenBucket) refill(now time.Time, burst int, perSecond float64) {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+elapsed*perSecond)
	}
	b.last = now
}

// spend takes a token that was spent elsewhere (a post another node
// allowed), going into debt if none is left: at most a burst.
func (b *tokenBucket) spend(now time.Time, burst int, perSecond float64) {
	b.refill(now, burst, perSecond)
	b.tokens = math.Max(b.tokens-1, -float64(burst))
}

// floodLimits holds the flood limit of every person who posted recently,
// by foldName(name): limits outlive sessions. It has its own lock (a leaf:
// nothing is taken while it is held), so posts do not wait on the room's.
// At most max people are remembered; the one who posted least recently
// makes room, in constant time (forgetting a refilled bucket changes
// nothing, and one that has not refilled is the oldest only when max
// people posted since).
type floodLimits struct {
	burst     int
	perSecond float64
	max       int
	observe   *Observer // told of each refusal; may be nil

	mu      sync.Mutex
	buckets map[string]*list.Element // of *floodBucket, most recent at the front
	order   list.List
}

type floodBucket struct {
	key string
	tokenBucket
}

func newFloodLimits(burst int, perSecond float64, max int) *floodLimits {
	return &floodLimits{burst: burst, perSecond: perSecond, max: max, buckets: map[string]*list.Element{}}
}

// allow spends one of name's messages at now, or says how long to wait.
func (f *floodLimits) allow(name string, now time.Time) error {
	if f.burst <= 0 || f.perSecond <= 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ok, wait := f.bucketLocked(name).take(now, f.burst, f.perSecond); !ok {
		f.observe.floodRefused()
		return &SlowDownError{Wait: wait}
	}
	return nil
}

// spent charges name's limit for a post another node allowed: with several
// nodes, posts on all of them count against one limit. It never refuses.
func (f *floodLimits) spent(name string, now time.Time) {
	if f.burst <= 0 || f.perSecond <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bucketLocked(name).spend(now, f.burst, f.perSecond)
}

// bucketLocked is name's bucket, made (forgetting the least recent if
// full) if need be. f.mu held.
func (f *floodLimits) bucketLocked(name string) *floodBucket {
	key := foldName(name)
	e := f.buckets[key]
	if e != nil {
		f.order.MoveToFront(e)
	} else {
		if f.order.Len() >= f.max {
			oldest := f.order.Back()
			delete(f.buckets, f.order.Remove(oldest).(*floodBucket).key)
		}
		e = f.order.PushFront(&floodBucket{key: key})
		f.buckets[key] = e
	}
	return e.Value.(*floodBucket)
}
