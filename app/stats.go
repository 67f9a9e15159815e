package app

import (
	"math"
	"sync"
	"time"

	"charm.land/ssh"

	"messaging/chat"
)

// statsRecorder keeps what /stats shows (chat.Stats), whether or not
// METRICS_ADDR is set: for each of the last chat.StatsMinutes minutes, the
// most sessions open at once, the messages posted, and a histogram of the
// delivery latencies from which p50 and p99 are read.
//
// Memory is fixed: one bucket a minute in a ring, reused when its minute
// comes round again (a bucket whose minute is not the one asked for is
// stale, so nothing needs clearing on a timer, and the ring needs no more
// buckets than minutes shown). Each observation is O(1) under one mutex,
// held for a few field updates: the room's goroutines share it, and it is
// never held while calling anything else.
type statsRecorder struct {
	now func() time.Time

	mu      sync.Mutex
	open    int // sessions open now
	minutes [chat.StatsMinutes]statsMinute
}

// statsMinute is one minute of the ring.
type statsMinute struct {
	minute  int64 // the minute it holds: Unix time / 60
	start   int   // sessions open when it began
	peak    int   // the most sessions open at once in it
	posted  int
	latency latencyHistogram
}

func newStatsRecorder(now func() time.Time) *statsRecorder {
	return &statsRecorder{now: now}
}

// current is the bucket of this minute, reset if it held an older one.
// r.mu is held.
func (r *statsRecorder) current() *statsMinute {
	m := r.now().Unix() / 60
	b := &r.minutes[m%int64(len(r.minutes))]
	if b.minute != m {
		*b = statsMinute{minute: m, start: r.open, peak: r.open}
	}
	return b
}

func (r *statsRecorder) sessions(delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.current() // before the change: it starts with those open before
	r.open += delta
	b.peak = max(b.peak, r.open)
}

func (r *statsRecorder) posted(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current().posted += n
}

func (r *statsRecorder) delivered(latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current().latency.observe(latency)
}

// countSessions is a middleware counting the sessions being served, of
// every kind, as the metrics' sessions_open does.
func (r *statsRecorder) countSessions(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		r.sessions(1)
		defer r.sessions(-1)
		next(sess)
	}
}

// observer is the room's hook into the recorder: the posts (text and
// /me) of each commit, and each delivery's latency.
func (r *statsRecorder) observer() *chat.Observer {
	return &chat.Observer{
		Committed: func(msgs []chat.Message, _ time.Duration) {
			posts := 0
			for i := range msgs {
				if k := msgs[i].Kind; k == chat.KindText || k == chat.KindAction {
					posts++
				}
			}
			if posts > 0 {
				r.posted(posts)
			}
		},
		Delivered: func(_ int, latency time.Duration) { r.delivered(latency) },
	}
}

// stats is the last chat.StatsMinutes minutes, oldest first, the current
// one last. A minute without a bucket saw no session open or close: its
// sessions are those open at the start of the next minute that has one
// (or now).
func (r *statsRecorder) stats() chat.Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.minutes)
	st := chat.Stats{
		Sessions:    make([]int, n),
		Posted:      make([]int, n),
		DeliveryP50: make([]time.Duration, n),
		DeliveryP99: make([]time.Duration, n),
	}
	now := r.now().Unix() / 60
	carry := r.open
	for k := range n {
		i, m := n-1-k, now-int64(k)
		b := &r.minutes[m%int64(n)]
		if b.minute != m {
			st.Sessions[i] = carry
			continue
		}
		st.Sessions[i], st.Posted[i] = b.peak, b.posted
		st.DeliveryP50[i], st.DeliveryP99[i] = b.latency.quantile(0.50), b.latency.quantile(0.99)
		carry = b.start
	}
	return st
}

// The latency histogram's buckets grow by latencyGrowth from latencyMin:
// bucket 0 holds latencies up to latencyMin, bucket i those up to
// latencyMin·latencyGrowth^i, the last everything above (about 16 s). A
// percentile read from it is within latencyGrowth (12%) of the true one.
const (
	latencyBuckets = 128
	latencyMin     = 10 * time.Microsecond
	latencyGrowth  = 1.12
)

// latencyBounds are the buckets' upper bounds; the last has none.
var latencyBounds = func() (b [latencyBuckets]time.Duration) {
	for i := range b {
		b[i] = time.Duration(float64(latencyMin) * math.Pow(latencyGrowth, float64(i)))
	}
	b[latencyBuckets-1] = math.MaxInt64
	return b
}()

// latencyHistogram counts latencies in fixed buckets: bounded memory,
// O(1) to observe.
type latencyHistogram struct {
	counts [latencyBuckets]uint32
	n      uint32
	max    time.Duration
}

func (h *latencyHistogram) observe(d time.Duration) {
	d = max(d, 0) // a wall clock step back
	i := 0
	if d > latencyMin {
		i = int(math.Ceil(math.Log(float64(d)/float64(latencyMin)) / math.Log(latencyGrowth)))
		i = min(i, latencyBuckets-1)
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

// quantile is the q-quantile (0 < q ≤ 1) of what was observed: the upper
// bound of the bucket holding it, or the largest latency observed if that
// is less; 0 if nothing was.
func (h *latencyHistogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint32(math.Ceil(q * float64(h.n)))
	var seen uint32
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(latencyBounds[i], h.max)
		}
	}
	return h.max
}

// chainObservers is one Observer telling a, then b, of each event; nil if
// both are.
func chainObservers(a, b *chat.Observer) *chat.Observer {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	o := *a
	if f, g := a.Committed, b.Committed; f == nil {
		o.Committed = g
	} else if g != nil {
		o.Committed = func(msgs []chat.Message, d time.Duration) { f(msgs, d); g(msgs, d) }
	}
	if f, g := a.Delivered, b.Delivered; f == nil {
		o.Delivered = g
	} else if g != nil {
		o.Delivered = func(n int, latency time.Duration) { f(n, latency); g(n, latency) }
	}
	if f, g := a.Evicted, b.Evicted; f == nil {
		o.Evicted = g
	} else if g != nil {
		o.Evicted = func(reason string) { f(reason); g(reason) }
	}
	if f, g := a.FloodRefused, b.FloodRefused; f == nil {
		o.FloodRefused = g
	} else if g != nil {
		o.FloodRefused = func() { f(); g() }
	}
	return &o
}
