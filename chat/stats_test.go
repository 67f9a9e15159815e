package chat

import (
	"testing"
	"time"
)

func TestSparkline(t *testing.T) {
	for _, tt := range []struct {
		name   string
		values []float64
		want   string
	}{
		{"no values", nil, ""},
		{"all zeros", []float64{0, 0, 0, 0, 0}, "▁▁▁▁▁"},
		{"one value", []float64{7}, "█"},
		{"one zero", []float64{0}, "▁"},
		{"scaled from zero to the top", []float64{0, 1, 2, 3, 4, 5, 6, 7}, "▁▂▃▄▅▆▇█"},
		{"a small value shows above zero", []float64{0, 1, 1000}, "▁▂█"},
		{"equal values are all at the top", []float64{5, 5, 5}, "███"},
		{"negative counts as zero", []float64{-3, 0, 2}, "▁▁█"},
		{"sessions", []float64{180, 230, 280, 290, 312}, "▅▆▇██"},
	} {
		if got := Sparkline(tt.values); got != tt.want {
			t.Errorf("%s: Sparkline(%v) = %q, want %q", tt.name, tt.values, got, tt.want)
		}
	}
}

func TestStatsRowsOfAQuietServer(t *testing.T) {
	got := StatsRows(Stats{
		Sessions:    []int{0, 0, 0, 0, 1},
		Posted:      make([]int, 5),
		DeliveryP50: make([]time.Duration, 5),
		DeliveryP99: make([]time.Duration, 5),
	})
	want := []string{
		"sessions     ▁▁▁▁█ 1",
		"messages/min ▁▁▁▁▁ 0",
		"delivery p50 ▁▁▁▁▁ -",
		"delivery p99 ▁▁▁▁▁ -",
	}
	if len(got) != len(want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %q, want %q", i, got[i], want[i])
		}
	}
	if rows := StatsRows(Stats{}); rows[0] != "sessions      0" {
		t.Errorf("no minutes at all: %q", rows)
	}
}

func TestLatency(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "-",
		850 * time.Microsecond:  "850 µs",
		3100 * time.Microsecond: "3.1 ms",
		18 * time.Millisecond:   "18 ms",
		999 * time.Millisecond:  "999 ms",
		1200 * time.Millisecond: "1.2 s",
		-time.Millisecond:       "-",
		9999 * time.Microsecond: "10 ms",
	} {
		if got := Latency(d); got != want {
			t.Errorf("Latency(%v) = %q, want %q", d, got, want)
		}
	}
}
