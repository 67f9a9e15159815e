package chat

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// A consumer woken by OnDelivery takes every message with Take, in order,
// with no goroutine waiting in Receive; it learns of the end the same way.
func TestOnDeliveryWakesATaker(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{Workers: 2, OutboxSize: 8})
	ctx := testCtx(t)
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	woken := make(chan struct{}, 1)
	var wakes atomic.Int64
	stop := bob.OnDelivery(func() {
		wakes.Add(1)
		select { // never blocks: the worker calls it
		case woken <- struct{}{}:
		default:
		}
	})

	const posts = 100 // past the outbox: the worker holds the rest
	go func() {
		for i := range posts {
			if err := alice.Post(ctx, KindText, fmt.Sprint("m", i)); err != nil {
				t.Errorf("Post: %v", err)
			}
		}
	}()
	var got []Message
	for len(got) == 0 || got[len(got)-1].Body != fmt.Sprint("m", posts-1) {
		select {
		case <-woken:
		case <-time.After(testTimeout):
			t.Fatalf("not woken; %d messages taken", len(got))
		}
		for bob.Pending() {
			msgs, err := bob.Take()
			if err != nil {
				t.Fatalf("Take: %v", err)
			}
			got = append(got, withoutEvents(msgs)...)
		}
	}
	checkConsecutive(t, "bob", got)
	if msgs, err := bob.Take(); len(msgs) != 0 || err != nil {
		t.Errorf("Take of an empty outbox = %d messages, %v; want none, nil", len(msgs), err)
	}
	t.Logf("%d messages in %d wakes", len(got), wakes.Load())

	bob.Leave()
	select {
	case <-woken:
	case <-time.After(testTimeout):
		t.Fatal("not woken at the end")
	}
	if !bob.Pending() {
		t.Error("nothing pending after the end")
	}
	if _, err := bob.Take(); !errors.Is(err, ErrLeft) {
		t.Errorf("Take after Leave = %v, want ErrLeft", err)
	}
	stop()
}

// After stop, the worker no longer calls the wake.
func TestOnDeliveryStops(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{Workers: 1})
	ctx := testCtx(t)
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	var wakes atomic.Int64
	stop := bob.OnDelivery(func() { wakes.Add(1) })
	stop()
	if err := alice.Post(ctx, KindText, "hello"); err != nil {
		t.Fatal(err)
	}
	receiveUntil(t, bob, body("hello"))
	bob.Leave()
	if n := wakes.Load(); n != 0 {
		t.Errorf("woken %d times after stop", n)
	}
}
