package app

import (
	"context"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// keepalives probes the client of every session every interval with an SSH
// request that wants a reply ("keepalive@openssh.com", which OpenSSH and
// every client answer, if only to refuse it), and closes the connection
// of a client that leaves keepaliveMisses probes in a row unanswered: it
// vanished, or something between holds the TCP connection and forwards
// nothing.
//
// One goroutine probes for the whole server. The connections are spread
// over slots, and each tick probes one slot's, so that thousands of idle
// sessions are probed in a few batches a second. A watch goroutine and a
// timer per session, each waking on its own, cost 5.7% of a core at 2,000
// idle sessions, mostly the runtime waking threads for each one.
type keepalives struct {
	every time.Duration
	close func(conn gossh.Conn, name, why string)

	mu    sync.Mutex
	slots []map[*keptAlive]struct{}
	next  int // the slot the next connection goes to
}

// keptAlive is one probed connection. Its fields are guarded by
// keepalives.mu.
type keptAlive struct {
	conn    gossh.Conn
	name    string
	probing bool // a probe is in flight: SendRequest waits for the reply
	misses  int  // ticks of its slot with the probe still in flight
}

const (
	// keepaliveSlots is how many batches an interval's probes are spread
	// over, as long as that leaves keepaliveMinTick between them.
	keepaliveSlots   = 30
	keepaliveMinTick = 10 * time.Millisecond
)

// newKeepalives probes every interval (0: never), and closes a connection
// with close.
func newKeepalives(every time.Duration, close func(conn gossh.Conn, name, why string)) *keepalives {
	k := &keepalives{every: every, close: close}
	if every > 0 {
		n := int(min(max(every/keepaliveMinTick, 1), keepaliveSlots))
		k.slots = make([]map[*keptAlive]struct{}, n)
		for i := range k.slots {
			k.slots[i] = make(map[*keptAlive]struct{})
		}
	}
	return k
}

// add probes conn (name's) from now on, until remove is called.
func (k *keepalives) add(conn gossh.Conn, name string) (remove func()) {
	if k.every <= 0 || conn == nil {
		return func() {}
	}
	ka := &keptAlive{conn: conn, name: name}
	k.mu.Lock()
	slot := k.slots[k.next]
	k.next = (k.next + 1) % len(k.slots)
	slot[ka] = struct{}{}
	k.mu.Unlock()
	return func() {
		k.mu.Lock()
		delete(slot, ka)
		k.mu.Unlock()
	}
}

// run probes until ctx ends.
func (k *keepalives) run(ctx context.Context) {
	if k.every <= 0 {
		return
	}
	tick := time.NewTicker(k.every / time.Duration(len(k.slots)))
	defer tick.Stop()
	for i := 0; ; i = (i + 1) % len(k.slots) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			k.probe(k.slots[i])
		}
	}
}

// probe sends each connection of slot a probe, unless its last one is
// still unanswered: that counts a miss, and the last miss closes it.
func (k *keepalives) probe(slot map[*keptAlive]struct{}) {
	var gone []*keptAlive
	k.mu.Lock()
	for ka := range slot {
		if ka.probing {
			if ka.misses++; ka.misses >= keepaliveMisses {
				delete(slot, ka)
				gone = append(gone, ka)
			}
			continue
		}
		ka.probing = true
		go k.send(ka)
	}
	k.mu.Unlock()
	for _, ka := range gone {
		k.close(ka.conn, ka.name, "keepalives unanswered")
	}
}

// send is one probe: SendRequest returns with the client's reply, or an
// error once the connection has closed.
func (k *keepalives) send(ka *keptAlive) {
	if _, _, err := ka.conn.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		return
	}
	k.mu.Lock()
	ka.probing, ka.misses = false, 0
	k.mu.Unlock()
}
