package chat

import (
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkDeliver measures the worker's hot path: one committed batch
// handed to each of n members (deliver: the has-it-left check, the outbox
// sends), then every outbox drained, as each member's session would.
func BenchmarkDeliver(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		for _, size := range []int{1} {
			b.Run(fmt.Sprintf("members=%d/batch=%d", n, size), func(b *testing.B) {
				r := &Room{cfg: RoomConfig{}.withDefaults(), log: slog.New(slog.DiscardHandler)}
				w := &worker{room: r, kick: make(chan struct{}, 1), members: make(map[uint64]*slot), stalled: make(map[uint64]*slot)}
				slots := make([]*slot, n)
				for i := range slots {
					m := newMember(r, w, uint64(i+1), fmt.Sprint("user", i))
					slots[i] = &slot{m: m}
					w.members[m.id] = slots[i]
				}
				batch := make([]*Message, size)
				for i := range batch {
					batch[i] = &Message{ID: int64(i + 1), Kind: KindText, Author: "alice", Body: "hello"}
				}
				now := time.Now()
				for b.Loop() {
					for _, s := range slots {
						w.deliver(s, batch, now)
					}
					for _, s := range slots {
						for range size {
							<-s.m.outbox
						}
					}
				}
				if len(w.members) != n {
					b.Fatalf("%d of %d members left after the run", len(w.members), n)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/member")
			})
		}
	}
}

// BenchmarkDeliverConversations measures the same path when the room has
// 50 channels of 20 members each (1000 members, each in #lobby and one
// channel): visible filters each committed batch for each member, then
// deliver sends what it sees. batch=1 is one post in one channel (20
// members see it); batch=50 one post in each channel (each member sees
// one of the 50).
func BenchmarkDeliverConversations(b *testing.B) {
	const channels, perChannel = 50, 20
	for _, size := range []int{1, channels} {
		b.Run(fmt.Sprintf("channels=%d/members=%d/batch=%d", channels, channels*perChannel, size), func(b *testing.B) {
			r := &Room{cfg: RoomConfig{}.withDefaults(), log: slog.New(slog.DiscardHandler)}
			w := &worker{room: r, kick: make(chan struct{}, 1), members: make(map[uint64]*slot), stalled: make(map[uint64]*slot)}
			now := time.Now()
			slots := make([]*slot, channels*perChannel)
			for i := range slots {
				name := fmt.Sprint("user", i)
				m := newMember(r, w, uint64(i+1), name)
				m.acct = newAccount(name, now, loaded{memberships: []Membership{
					{Conv: Conversation{ID: 1, Kind: Channel}},
					{Conv: Conversation{ID: int64(2 + i%channels), Kind: Channel}},
				}})
				slots[i] = &slot{m: m}
				w.members[m.id] = slots[i]
			}
			batch := make([]*Message, size)
			for i := range batch {
				batch[i] = &Message{ID: int64(i + 1), Conv: int64(2 + i), Kind: KindText, Author: "alice", Body: "hello"}
			}
			for b.Loop() {
				for _, s := range slots {
					if mine := w.visible(s.m, batch); len(mine) > 0 {
						w.deliver(s, mine, now)
					}
				}
				for _, s := range slots {
					for range len(s.m.outbox) {
						<-s.m.outbox
					}
				}
			}
			if len(w.members) != len(slots) {
				b.Fatalf("%d of %d members left after the run", len(w.members), len(slots))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(slots)), "ns/member")
		})
	}
}
