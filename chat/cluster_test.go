package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// link is one node's Cluster in these tests: it hands what its room
// commits and changes straight to the other room, as NATS would, and
// drops the batches drop says to (a lost message).
type link struct {
	to      atomic.Pointer[Room]
	drop    func(n int) bool // nil: drop none
	batches atomic.Int64
}

func (l *link) Committed(msgs []Message) {
	n := int(l.batches.Add(1))
	if to := l.to.Load(); to != nil && (l.drop == nil || !l.drop(n)) {
		to.Deliver(slices.Clone(msgs))
	}
}

func (l *link) Disconnected(account, reason string) {
	if to := l.to.Load(); to != nil {
		to.DisconnectHere(account, reason)
	}
}

// PresenceChanged does nothing: the tests tell presence themselves (tell).
func (l *link) PresenceChanged() {}

func (l *link) Changed(account string) {
	if to := l.to.Load(); to != nil {
		if err := to.Reload(context.Background(), account); err != nil {
			panic(err)
		}
	}
}

// twoNodes starts two rooms sharing h and one Directory, linked as two
// nodes; drop applies to what each tells the other.
func twoNodes(t *testing.T, h *memHistory, drop func(n int) bool) (a, b *Room) {
	t.Helper()
	dir := newMemDirectory(h)
	la, lb := &link{drop: drop}, &link{drop: drop}
	open := func(l *link) *Room {
		r, err := NewRoom(context.Background(), h, dir, RoomConfig{Workers: 2, PresenceWindow: -1, Cluster: l}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}
	a, b = open(la), open(lb)
	la.to.Store(b)
	lb.to.Store(a)
	return a, b
}

// texts receives on m until it has n text messages, and returns them.
func texts(t *testing.T, m *Member, n int) []Message {
	t.Helper()
	var got []Message
	receiveUntil(t, m, func(msg Message) bool {
		if msg.Kind == KindText {
			got = append(got, msg)
		}
		return len(got) >= n
	})
	return got
}

// Members on two nodes see every message of the conversation, their own
// and the other node's, once each and in one order: the store's. With
// half the batches lost on the way, the store fills them in.
func TestTwoNodesShowOneOrder(t *testing.T) {
	for _, tt := range []struct {
		name string
		drop func(n int) bool
	}{
		{"every batch arrives", nil},
		{"every other batch lost", func(n int) bool { return n%2 == 0 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &memHistory{}
			a, b := twoNodes(t, h, tt.drop)
			dir(a).addAccount("alice")
			dir(a).addAccount("bob")
			alice, bob := join(t, a, "alice"), join(t, b, "bob")

			const each = 100
			var wg sync.WaitGroup
			for _, poster := range []*Member{alice, bob} {
				wg.Go(func() {
					for i := range each {
						if err := poster.Post(testCtx(t), KindText, fmt.Sprint(poster.Name(), i)); err != nil {
							t.Errorf("Post: %v", err)
						}
					}
				})
			}
			wg.Wait()
			// The last batch of each may be lost with nothing after it to
			// show the gap: the resync (after a reconnect, or every
			// resyncEvery) finds it.
			a.Resync()
			b.Resync()
			seenByAlice, seenByBob := texts(t, alice, 2*each), texts(t, bob, 2*each)
			if !slices.EqualFunc(seenByAlice, seenByBob, func(x, y Message) bool { return x.ID == y.ID }) {
				t.Errorf("alice and bob saw different orders:\n%v\n%v", ids(seenByAlice), ids(seenByBob))
			}
			if !slices.IsSorted(ids(seenByAlice)) || len(slices.Compact(ids(seenByAlice))) != 2*each {
				t.Errorf("not once each in the store's order: %v", ids(seenByAlice))
			}
		})
	}
}

// A direct conversation opened on one node reaches its peer on the other:
// the peer's node reloads the peer's conversations (Cluster.Changed)
// before the first message arrives. The peer shows online in it at once
// (before their node says they are in it).
func TestADirectConversationReachesThePeerOnAnotherNode(t *testing.T) {
	h := &memHistory{}
	a, b := twoNodes(t, h, nil)
	dir(a).addAccount("alice")
	dir(a).addAccount("bob")
	alice, bob := join(t, a, "alice"), join(t, b, "bob")
	b.SetNodePresence("a", a.LocalPresence())
	c, err := bob.Direct(testCtx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := onlineNames(b, c.ID); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("online in the new conversation on bob's node: %q, want alice and bob", got)
	}
	if err := bob.PostTo(testCtx(t), c.ID, KindText, "just you and me"); err != nil {
		t.Fatal(err)
	}
	got := receiveUntil(t, alice, body("just you and me"))
	if i := slices.IndexFunc(got, body("just you and me")); got[i].Conv != c.ID || got[i].Author != "bob" {
		t.Errorf("alice got %+v", got[i])
	}
}

// countNotices counts the login or logout notices naming name in h.
func countNotices(h *memHistory, kind Kind, name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if m.Kind == kind && m.To == "" && slices.Contains(func() []string { names, _ := m.Names(); return names }(), name) {
			n++
		}
	}
	return n
}

// Who is online covers the other node's people; someone online on both
// nodes is announced once, and leaves once; a node that stops telling has
// its people leave, announced by the node asked to.
func TestPresenceCoversOtherNodes(t *testing.T) {
	h := &memHistory{}
	a, b := twoNodes(t, h, nil)
	for _, name := range []string{"alice", "bob", "carol"} {
		dir(a).addAccount(name)
	}
	tell := func(from *Room, name string, to *Room) {
		to.SetNodePresence(name, from.LocalPresence())
	}
	join(t, a, "alice")
	bob := join(t, b, "bob")
	tell(b, "b", a)
	tell(a, "a", b)
	for _, r := range []*Room{a, b} {
		if got := onlineNames(r, lobby(r)); !slices.Equal(got, []string{"alice", "bob"}) {
			t.Errorf("online %q, want alice and bob on both nodes", got)
		}
	}
	if _, ok := a.Presence("bob"); !ok {
		t.Error("a does not see bob online")
	}

	// carol on b, then on a too: announced once; off a again: no logout.
	carolB := join(t, b, "carol")
	tell(b, "b", a)
	carolA := join(t, a, "carol")
	carolA.Leave()
	waitFor(t, "the notices stored", func() bool { return countNotices(h, KindJoin, "carol") >= 1 })
	if n := countNotices(h, KindJoin, "carol"); n != 1 {
		t.Errorf("carol's login announced %d times, want once", n)
	}
	if n := countNotices(h, KindLeave, "carol"); n != 0 {
		t.Errorf("carol's logout from a announced %d times while she is on b", n)
	}

	// carol comes back to a, leaves b, then a: her logout is announced
	// once, by a, though a did not announce her login.
	carolA = join(t, a, "carol")
	tell(a, "a", b)
	carolB.Leave() // b knows she is on a: no logout
	tell(b, "b", a)
	carolA.Leave()
	waitFor(t, "carol's logout", func() bool { return countNotices(h, KindLeave, "carol") == 1 })
	if n := countNotices(h, KindJoin, "carol"); n != 1 {
		t.Errorf("carol's logins announced %d times, want once", n)
	}

	// b falls silent: a forgets its people and announces each once.
	carolB = join(t, b, "carol")
	tell(b, "b", a)
	_ = bob
	a.NodeGone("b", true)
	if got := onlineNames(a, lobby(a)); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("online after b went: %q, want alice", got)
	}
	waitFor(t, "the logout notices", func() bool {
		return countNotices(h, KindLeave, "bob") == 1 && countNotices(h, KindLeave, "carol") == 2
	})
}

// One flood limit per person across the nodes: posts allowed on one node
// count on the other.
func TestOneFloodLimitAcrossNodes(t *testing.T) {
	h := &memHistory{}
	dirs := newMemDirectory(h, "alice")
	la, lb := &link{}, &link{}
	open := func(l *link) *Room {
		r, err := NewRoom(context.Background(), h, dirs, RoomConfig{PresenceWindow: -1, MsgBurst: 4, MsgPerSec: 0.001, Cluster: l}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}
	a, b := open(la), open(lb)
	la.to.Store(b)
	lb.to.Store(a)
	// A login costs a message of the limit on its node (its notice): 3 left.
	onA, onB := join(t, a, "alice"), join(t, b, "alice")
	for i := range 3 {
		if err := onA.Post(testCtx(t), KindText, fmt.Sprint("m", i)); err != nil {
			t.Fatalf("post %d on a: %v", i, err)
		}
	}
	receiveUntil(t, onB, body("m2")) // b has taken a's posts in
	var slow *SlowDownError
	if err := onB.Post(testCtx(t), KindText, "one more"); !errors.As(err, &slow) {
		t.Errorf("a fourth post on the other node: %v, want a *SlowDownError", err)
	}
}

// What a node says changed replaces what the room knew of its people: a
// name spelled anew counts once, and those gone leave.
func TestNodePresenceChangesApply(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{PresenceWindow: -1})
	on := func(name string) NodePresence {
		return NodePresence{Presence: Presence{Name: name}, Channels: []int64{lobby(r)}}
	}
	r.SetNodePresence("b", []NodePresence{on("bob"), on("carol")})
	r.UpdateNodePresence("b", []NodePresence{on("Bob"), on("dave")}, []string{"bob"})
	if got := onlineNames(r, lobby(r)); !slices.Equal(got, []string{"Bob", "carol", "dave"}) {
		t.Errorf("online %q, want Bob, carol and dave", got)
	}
	r.UpdateNodePresence("b", nil, []string{"BOB", "carol"})
	if got := onlineNames(r, lobby(r)); !slices.Equal(got, []string{"dave"}) {
		t.Errorf("online %q, want dave", got)
	}
	r.UpdateNodePresence("c", []NodePresence{on("erin")}, nil) // a node not listed before
	if got := onlineNames(r, lobby(r)); !slices.Equal(got, []string{"dave", "erin"}) {
		t.Errorf("online %q, want dave and erin", got)
	}
}
