package app

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/nats-io/nats.go"

	"messaging/chat"
)

// A roster tells what changed since it was last told: who came or changed
// how they show, and who left; a name spelled anew both leaves and comes.
func TestRosterTellsWhatChanged(t *testing.T) {
	on := func(name string, channels ...int64) chat.NodePresence {
		return chat.NodePresence{Presence: chat.Presence{Name: name}, Channels: channels}
	}
	sent := newRoster([]chat.NodePresence{on("alice", 1), on("bob", 1)})
	changed, left := sent.update([]chat.NodePresence{on("alice", 1, 2), on("Bob", 1), on("carol", 1)})
	names := func(list []chat.NodePresence) []string {
		var out []string
		for _, p := range list {
			out = append(out, p.Name)
		}
		slices.Sort(out)
		return out
	}
	if got := names(changed); !slices.Equal(got, []string{"Bob", "alice", "carol"}) {
		t.Errorf("changed %q, want Bob, alice and carol", got)
	}
	if !slices.Equal(left, []string{"bob"}) {
		t.Errorf("left %q, want bob", left)
	}
	if changed, left := sent.update([]chat.NodePresence{on("alice", 1, 2), on("Bob", 1), on("carol", 1)}); changed != nil || left != nil {
		t.Errorf("told again the same: changed %v, left %v, want nothing", changed, left)
	}
}

// A node applies another's presence changes in their order; one that
// misses a change, or never had the whole list, asks for the list and
// applies nothing until it comes.
func TestHeardAsksForWhatWasLost(t *testing.T) {
	r := &relay{node: "me", peers: make(map[string]peer), wake: make(chan struct{}, 1)}
	for i, step := range []struct {
		e             relayEnvelope
		apply, asking bool
	}{
		{relayEnvelope{Node: "b", Seq: 3, Delta: true}, false, true}, // no list yet
		{relayEnvelope{Node: "b", Seq: 3, Alive: true}, false, true},
		{relayEnvelope{Node: "b", Seq: 4, Full: true}, true, false},
		{relayEnvelope{Node: "b", Seq: 5, Delta: true}, true, false},
		{relayEnvelope{Node: "b", Seq: 5, Alive: true}, false, false},
		{relayEnvelope{Node: "b", Seq: 7, Delta: true}, false, true}, // 6 was lost
		{relayEnvelope{Node: "b", Seq: 8, Delta: true}, false, true},
		{relayEnvelope{Node: "b", Seq: 9, Full: true}, true, false},
		{relayEnvelope{Node: "b", Seq: 10, Alive: true}, false, true}, // 10 was lost
	} {
		r.askSoon = false
		if apply := r.heard(step.e); apply != step.apply || r.askSoon != step.asking {
			t.Errorf("step %d (%+v): apply %v, asking %v; want %v, %v", i, step.e, apply, r.askSoon, step.apply, step.asking)
		}
	}
	if !r.fullSoon {
		t.Error("a node heard from the first time is not sent this one's list")
	}
}

// Another node's people stay online here through its heartbeats, come
// and go with its changes in order, and a change out of order is not
// applied: the room waits for the whole list.
func TestReceivedPresenceFollowsTheNode(t *testing.T) {
	ts := startServer(t, testConfig(t))
	room := ts.srv.room
	r := &relay{node: "me", peers: make(map[string]peer), wake: make(chan struct{}, 1), log: ts.srv.log}
	r.room.Store(room)
	lobby := room.Lobby().ID
	on := func(name string) chat.NodePresence {
		return chat.NodePresence{Presence: chat.Presence{Name: name}, Channels: []int64{lobby}}
	}
	for i, step := range []struct {
		e    relayEnvelope
		want []string
	}{
		{relayEnvelope{Seq: 1, Full: true, Online: []chat.NodePresence{on("bob"), on("carol")}}, []string{"bob", "carol"}},
		{relayEnvelope{Seq: 1, Alive: true}, []string{"bob", "carol"}},
		{relayEnvelope{Seq: 2, Delta: true, Online: []chat.NodePresence{on("dave")}, Offline: []string{"carol"}}, []string{"bob", "dave"}},
		{relayEnvelope{Seq: 2, Alive: true}, []string{"bob", "dave"}},
		{relayEnvelope{Seq: 4, Delta: true, Offline: []string{"bob"}}, []string{"bob", "dave"}}, // 3 was lost
		{relayEnvelope{Seq: 4, Alive: true}, []string{"bob", "dave"}},
		{relayEnvelope{Seq: 5, Full: true, Online: []chat.NodePresence{on("erin")}}, []string{"erin"}},
	} {
		step.e.Node = "b"
		data, err := json.Marshal(step.e)
		if err != nil {
			t.Fatal(err)
		}
		r.receive(&nats.Msg{Data: data})
		var got []string
		for _, p := range room.Online(lobby) {
			got = append(got, p.Name)
		}
		if !slices.Equal(got, step.want) {
			t.Errorf("step %d (%+v): online %q, want %q", i, step.e, got, step.want)
		}
	}
}
