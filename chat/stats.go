package chat

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Stats is what /stats shows: the server's last minutes, one value a
// minute, oldest first; the last is the current minute so far. The series
// have the same length (StatsMinutes, unless the server keeps fewer).
type Stats struct {
	Sessions []int // the most sessions open at once in the minute
	Posted   []int // messages people posted in the minute
	// DeliveryP50 and DeliveryP99 are percentiles of the delivery latency
	// of the minute (Observer.Delivered); 0 for a minute without any.
	DeliveryP50, DeliveryP99 []time.Duration
}

// StatsMinutes is how many minutes /stats shows.
const StatsMinutes = 5

// sparks are the levels of a sparkline, lowest first.
var sparks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values as one block a value, scaled from 0 (▁) to the
// largest value (█), to the nearest level; any value above 0 is at least ▂, so that a quiet
// minute shows apart from an empty one. Negative values count as 0. All
// zeros draw a flat ▁ line.
func Sparkline(values []float64) string {
	top := 0.0
	for _, v := range values {
		top = max(top, v)
	}
	var b strings.Builder
	for _, v := range values {
		level := 0
		if v > 0 && top > 0 {
			level = int(math.Round(v / top * float64(len(sparks)-1)))
			level = min(max(level, 1), len(sparks)-1)
		}
		b.WriteRune(sparks[level])
	}
	return b.String()
}

// StatsRows are the lines /stats shows for st: a label, the sparkline of
// the series and its last value.
//
//	sessions     ▃▄▅▅█ 312
//	messages/min ▁▁▃█▂ 41
//	delivery p50 ▂▂▃▃▂ 3.1 ms
//	delivery p99 ▂▂▅█▃ 18 ms
func StatsRows(st Stats) []string {
	row := func(label string, values []float64, last string) string {
		return fmt.Sprintf("%-12s %s %s", label, Sparkline(values), last)
	}
	return []string{
		row("sessions", floats(st.Sessions), strconv.Itoa(lastOf(st.Sessions))),
		row("messages/min", floats(st.Posted), strconv.Itoa(lastOf(st.Posted))),
		row("delivery p50", durations(st.DeliveryP50), Latency(lastOf(st.DeliveryP50))),
		row("delivery p99", durations(st.DeliveryP99), Latency(lastOf(st.DeliveryP99))),
	}
}

// Latency writes a delivery latency as /stats shows it, to two or three
// significant digits: "850 µs", "3.1 ms", "18 ms", "1.2 s"; "-" for 0 (no
// delivery).
func Latency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case ms < 9.95: // what rounds to 10.0 is written 10
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 999.5:
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func lastOf[T any](s []T) T {
	var zero T
	if len(s) == 0 {
		return zero
	}
	return s[len(s)-1]
}

func floats(s []int) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

func durations(s []time.Duration) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
