package app

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

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

// BenchmarkCommitEnvelope is what one chat message costs on NATS: the
// bytes of the envelope its node publishes (every other node receives
// them), and the CPU to make it and to take it apart and check it where
// it arrives. The room's ordering is not included.
func BenchmarkCommitEnvelope(b *testing.B) {
	msg := chat.Message{ID: 1_234_567, Conv: 42, Prev: 1_234_560, Time: time.Now(), Author: "someone",
		Kind: chat.KindText, Body: "a line of chat of about sixty characters, as people write them"}
	envelope := relayEnvelope{Node: "abcdefghij", Commit: []chat.Message{msg}}
	data, err := json.Marshal(envelope)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		data, _ := json.Marshal(envelope)
		var e relayEnvelope
		if err := json.Unmarshal(data, &e); err != nil || len(validCommit(e.Commit)) != 1 {
			b.Fatal("the envelope does not come back", err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes/msg")
}

// A long presence list goes in parts, each under the bound as JSON, that
// together are the list in its order.
func TestPresencePartsStayUnderTheBound(t *testing.T) {
	var list []chat.NodePresence
	for i := range 10_000 {
		p := chat.NodePresence{Presence: chat.Presence{Name: fmt.Sprintf("person%014d", i), Since: time.Now(), Role: chat.RoleModerator}}
		if i%3 == 0 { // the longest away reason, many conversations
			p.Away = strings.Repeat("ü", 100)
			for c := range 50 {
				p.Channels = append(p.Channels, int64(1e15+c))
			}
			for c := range 500 {
				p.Directs = append(p.Directs, int64(1e18+c))
			}
		}
		list = append(list, p)
	}
	parts := presenceParts(list, presencePartBytes)
	var joined []chat.NodePresence
	for _, part := range parts {
		data, err := json.Marshal(relayEnvelope{Node: "abcdefghij", Seq: 1 << 62, Delta: true, Online: part})
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > presencePartBytes {
			t.Errorf("a part of %d people is %d bytes, over %d", len(part), len(data), presencePartBytes)
		}
		joined = append(joined, part...)
	}
	if !slices.EqualFunc(joined, list, chat.NodePresence.Same) {
		t.Errorf("the parts (%d) are not the list", len(parts))
	}
	if got := presenceParts(nil, presencePartBytes); got != nil {
		t.Errorf("an empty list in %d parts, want none", len(got))
	}
}
