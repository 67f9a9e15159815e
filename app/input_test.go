package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRateReaderHoldsBackPastTheBurstAndDropsNothing(t *testing.T) {
	const perSecond, burst = 64 << 10, 16 << 10
	in := bytes.Repeat([]byte("0123456789abcdef"), (burst+perSecond/2)/16) // the burst and half a second more
	start := time.Now()
	got, err := io.ReadAll(newRateReader(context.Background(), bytes.NewReader(in), perSecond, burst))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, in) {
		t.Fatalf("read %d bytes, not the %d written, in order", len(got), len(in))
	}
	// A lower bound only: a slow machine makes it longer, never shorter.
	if elapsed < 450*time.Millisecond {
		t.Errorf("%d bytes past the burst read in %s, want at least half a second at %d bytes/s", len(in)-burst, elapsed, perSecond)
	}
}

func TestRateReaderEndsWithTheSession(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := newRateReader(ctx, strings.NewReader(strings.Repeat("x", 1000)), 1, 10)
	buf := make([]byte, 100)
	if n, err := r.Read(buf); n != 10 || err != nil { // the burst; it leaves the bucket empty
		t.Fatalf("first read: %d, %v", n, err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Read(buf); _, err = r.Read(buf); done <- err }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a read after the session ended: %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("a read waiting for the rate did not end with the session")
	}
}

func TestNoInputRateMeansThePlainReader(t *testing.T) {
	r := strings.NewReader("x")
	if got := newRateReader(context.Background(), r, 0, inputBurst); got != io.Reader(r) {
		t.Errorf("INPUT_RATE=0 wrapped the reader in %T", got)
	}
}
