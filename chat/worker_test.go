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
				batch := make([]Message, size)
				for i := range batch {
					batch[i] = Message{ID: int64(i + 1), Kind: KindText, Author: "alice", Body: "hello"}
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
