package app

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// answeringConn answers every keepalive and counts them.
type answeringConn struct {
	gossh.Conn
	probes atomic.Int64
}

func (c *answeringConn) SendRequest(string, bool, []byte) (bool, []byte, error) {
	c.probes.Add(1)
	return false, nil, nil // a refusal is an answer
}

func TestKeepalivesCloseOnlyTheClientThatStoppedAnswering(t *testing.T) {
	var (
		mu     sync.Mutex
		closed []string
	)
	k := newKeepalives(20*time.Millisecond, func(_ gossh.Conn, name, why string) {
		mu.Lock()
		defer mu.Unlock()
		closed = append(closed, name+": "+why)
	})
	ctx := t.Context()
	go k.run(ctx)
	answering, removed := &answeringConn{}, &answeringConn{}
	defer k.add(answering, "alice")()
	k.add(removed, "carol")() // gone at once: never probed
	silent := &fakeConn{closed: make(chan struct{})}
	defer silent.Close() // ends its probe in flight
	defer k.add(silent, "bob")()

	start := time.Now()
	if !pollUntil(waitLimit, func() bool { mu.Lock(); defer mu.Unlock(); return len(closed) > 0 }) {
		t.Fatal("the client that never answers was not closed")
	}
	if took := time.Since(start); took < keepaliveMisses*20*time.Millisecond {
		t.Errorf("closed after %s, before %d intervals", took, keepaliveMisses)
	}
	mu.Lock()
	if len(closed) != 1 || closed[0] != "bob: keepalives unanswered" {
		t.Errorf("closed %q, want bob's alone", closed)
	}
	mu.Unlock()
	if n := answering.probes.Load(); n < keepaliveMisses {
		t.Errorf("alice was probed %d times meanwhile, want at least %d", n, keepaliveMisses)
	}
	if n := removed.probes.Load(); n != 0 {
		t.Errorf("a removed connection was probed %d times", n)
	}
}

func TestKeepalivesOffProbeNothing(t *testing.T) {
	k := newKeepalives(0, func(gossh.Conn, string, string) { t.Error("closed a connection") })
	c := &answeringConn{}
	k.add(c, "alice")()
	k.run(t.Context()) // returns at once
	if c.probes.Load() != 0 {
		t.Error("probed with keepalives off")
	}
}
