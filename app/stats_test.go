package app

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"messaging/chat"
)

func postStats(r *statsRecorder, n int) {
	msgs := make([]chat.Message, n+1)
	for i := range n {
		msgs[i].Kind = chat.KindText
	}
	msgs[n].Kind = chat.KindSystem // a notice is no post
	r.observer().Committed(msgs, time.Millisecond)
}

// Each minute has its bucket; the ring rolls over as the clock moves, a
// minute without events shows no posts and the sessions then open, and
// buckets of minutes gone are never shown.
func TestStatsRecorderRollsOverByTheMinute(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 3, 14, 0, 10, 0, time.UTC)}
	r := newStatsRecorder(clock.now)
	want := func(sessions, posted []int) {
		t.Helper()
		st := r.stats()
		if !slices.Equal(st.Sessions, sessions) || !slices.Equal(st.Posted, posted) {
			t.Errorf("at %s: sessions %v, posted %v; want %v, %v", clock.now().Format("15:04:05"), st.Sessions, st.Posted, sessions, posted)
		}
	}
	want([]int{0, 0, 0, 0, 0}, []int{0, 0, 0, 0, 0})

	// 14:00: two sessions, 3 posts.
	r.sessions(1)
	r.sessions(1)
	postStats(r, 3)
	want([]int{0, 0, 0, 0, 2}, []int{0, 0, 0, 0, 3})

	// 14:01: one more session for a moment, 1 post.
	clock.advance(time.Minute)
	r.sessions(1)
	r.sessions(-1)
	postStats(r, 1)
	want([]int{0, 0, 0, 2, 3}, []int{0, 0, 0, 3, 1})

	// 14:03: nothing happened at 14:02.
	clock.advance(2 * time.Minute)
	want([]int{0, 2, 3, 2, 2}, []int{0, 3, 1, 0, 0})
	postStats(r, 5)
	want([]int{0, 2, 3, 2, 2}, []int{0, 3, 1, 0, 5})

	// 14:05: 14:00's bucket is reused for 14:05.
	clock.advance(2*time.Minute + 49*time.Second)
	r.sessions(-1)
	want([]int{3, 2, 2, 2, 2}, []int{1, 0, 5, 0, 0})

	// 14:30: all gone but the sessions still open.
	clock.advance(25 * time.Minute)
	want([]int{1, 1, 1, 1, 1}, []int{0, 0, 0, 0, 0})
}

// p50 and p99 on known latencies are the true ones, to the histogram's
// resolution, and never above the largest latency observed.
func TestStatsRecorderPercentiles(t *testing.T) {
	within := func(got, want time.Duration) bool {
		return got >= want && float64(got) <= float64(want)*latencyGrowth
	}
	for _, tt := range []struct {
		name     string
		latency  []time.Duration
		p50, p99 time.Duration
		exact    bool
	}{
		{name: "none", exact: true},
		{name: "one", latency: []time.Duration{3100 * time.Microsecond}, p50: 3100 * time.Microsecond, p99: 3100 * time.Microsecond, exact: true},
		{name: "1..100 ms", latency: ms(1, 100), p50: 50 * time.Millisecond, p99: 99 * time.Millisecond},
		{name: "a slow tail", latency: append(slices.Repeat([]time.Duration{2 * time.Millisecond}, 980), slices.Repeat([]time.Duration{400 * time.Millisecond}, 20)...),
			p50: 2 * time.Millisecond, p99: 400 * time.Millisecond},
		{name: "under the first bucket", latency: []time.Duration{time.Microsecond, 2 * time.Microsecond}, p50: 2 * time.Microsecond, p99: 2 * time.Microsecond, exact: true},
		{name: "above the last bucket", latency: []time.Duration{time.Minute}, p50: time.Minute, p99: time.Minute, exact: true},
		{name: "negative (a clock step) counts as 0", latency: []time.Duration{-time.Second}, exact: true},
	} {
		var h latencyHistogram
		for _, d := range tt.latency {
			h.observe(d)
		}
		p50, p99 := h.quantile(0.5), h.quantile(0.99)
		if tt.exact && (p50 != tt.p50 || p99 != tt.p99) || !tt.exact && (!within(p50, tt.p50) || !within(p99, tt.p99)) {
			t.Errorf("%s: p50 %v, p99 %v; want %v, %v", tt.name, p50, p99, tt.p50, tt.p99)
		}
	}
	// Through the Observer, in the minute's bucket.
	clock := &fakeClock{t: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)}
	r := newStatsRecorder(clock.now)
	for _, d := range ms(1, 100) {
		r.observer().Delivered(1, d)
	}
	st := r.stats()
	if p50, p99 := st.DeliveryP50[4], st.DeliveryP99[4]; !within(p50, 50*time.Millisecond) || !within(p99, 99*time.Millisecond) {
		t.Errorf("stats p50 %v, p99 %v", p50, p99)
	}
	if st.DeliveryP50[3] != 0 {
		t.Errorf("a minute without deliveries has p50 %v", st.DeliveryP50[3])
	}
}

func ms(from, to int) []time.Duration {
	var out []time.Duration
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*time.Millisecond)
	}
	return out
}

// Observing allocates nothing, however many observations and minutes:
// the recorder's memory is what it was made with.
func TestStatsRecorderMemoryIsBounded(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)}
	r := newStatsRecorder(clock.now)
	o := r.observer()
	msgs := []chat.Message{{Kind: chat.KindText}}
	i := 0
	allocs := testing.AllocsPerRun(100_000, func() {
		i++
		if i%1000 == 0 {
			clock.advance(17 * time.Second)
		}
		o.Delivered(1, time.Duration(i)*time.Microsecond)
		o.Committed(msgs, 0)
		r.sessions(1)
		r.sessions(-1)
	})
	if allocs != 0 {
		t.Errorf("%v allocations an observation, want 0", allocs)
	}
}

func TestChainObserversTellsBoth(t *testing.T) {
	var got []string
	a := &chat.Observer{Delivered: func(int, time.Duration) { got = append(got, "a delivered") }, Evicted: func(string) { got = append(got, "a evicted") }}
	b := &chat.Observer{Delivered: func(int, time.Duration) { got = append(got, "b delivered") }, Committed: func([]chat.Message, time.Duration) { got = append(got, "b committed") }}
	o := chainObservers(a, b)
	o.Delivered(1, 0)
	o.Evicted("slow")
	o.Committed(nil, 0)
	if o.FloodRefused != nil {
		t.Error("FloodRefused is set though neither has it")
	}
	if want := []string{"a delivered", "b delivered", "a evicted", "b committed"}; !slices.Equal(got, want) {
		t.Errorf("told %q, want %q", got, want)
	}
	if chainObservers(nil, b) != b || chainObservers(a, nil) != a || chainObservers(nil, nil) != nil {
		t.Error("chaining with nil is not the other one")
	}
}

// Over SSH: an admin sees the messages they posted in /stats, with or
// without METRICS_ADDR; a member is refused.
func TestStatsForAnAdminNotAMember(t *testing.T) {
	ts := modServer(t)
	if ts.srv.cfg.MetricsAddr != "" {
		t.Fatal("the test server has METRICS_ADDR: /stats must work without it")
	}
	alice, carol := ts.chatAs(t, "alice"), ts.chatAs(t, "carol")
	for _, text := range []string{"one", "two", "three"} {
		alice.say(text)
		alice.waitText("alice: " + text)
	}
	alice.say("/stats")
	alice.waitText("The server, the last 5 minutes")
	row := regexp.MustCompile(`messages/min [▁▂▃▄▅▆▇█]{5} [1-9]`)
	alice.waitFor("the messages row, not zero", row.MatchString)
	sessions := regexp.MustCompile(`sessions +[▁▂▃▄▅▆▇█]{5} [2-9]`)
	alice.waitFor("the sessions row with alice and carol", sessions.MatchString)
	alice.waitText("delivery p50 ")
	alice.waitText("delivery p99 ")

	carol.say("/stats")
	carol.waitText("Only admins can see the server's statistics.")
	if s := carol.screen(); row.MatchString(s) {
		t.Errorf("carol sees the statistics:\n%s", s)
	}
}
