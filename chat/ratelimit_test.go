package chat

import (
	"testing"
	"time"
)

func TestFloodLimitsForgetTheLeastRecentPosterWhenFull(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := newFloodLimits(1, 0.001, 2) // one message, then almost never
	for _, name := range []string{"ann", "bob"} {
		if err := f.allow(name, now); err != nil {
			t.Fatalf("%s's first message: %v", name, err)
		}
	}
	if f.allow("ANN", now) == nil {
		t.Fatal("ann's second message passed: the limit is per person, any case")
	}
	// ann posted last, so carol pushes out bob, who starts afresh.
	if err := f.allow("carol", now); err != nil {
		t.Fatal(err)
	}
	if f.allow("ann", now) == nil {
		t.Error("ann was forgotten, though bob posted less recently")
	}
	if err := f.allow("bob", now); err != nil {
		t.Errorf("bob, forgotten, was refused: %v", err)
	}
	if len(f.buckets) != 2 || f.order.Len() != 2 {
		t.Errorf("%d people remembered, want the bound, 2", len(f.buckets))
	}
}
