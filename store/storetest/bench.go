package storetest

import (
	"fmt"
	"testing"
	"time"

	"messaging/chat"
	"messaging/store"
)

// BenchmarkAppend commits messages to #lobby of the stores open makes (a
// new, empty one each call, closed by the caller's cleanup), as the room's
// sequencer does. batch=N: one Append (one commit) of N messages at a time,
// so ns/op is a commit's latency; batch=1 is a quiet room, larger batches
// its group commit under load. parallel: 4 writers per CPU (nodes) append
// one message each at once, so ns/op is the wall time per message. msgs/s
// is the throughput. Every store runs it, to compare them.
func BenchmarkAppend(b *testing.B, open func(b *testing.B) store.Store) {
	for _, size := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s, lobby := benchStore(b, open)
			msgs := make([]chat.Message, size)
			for b.Loop() {
				fill(msgs, lobby)
				if err := s.Append(b.Context(), msgs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
	b.Run("parallel", func(b *testing.B) {
		s, lobby := benchStore(b, open)
		b.SetParallelism(4) // 4 writers per CPU
		b.RunParallel(func(pb *testing.PB) {
			msgs := make([]chat.Message, 1)
			for pb.Next() {
				fill(msgs, lobby)
				if err := s.Append(b.Context(), msgs); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// benchStore opens a store and returns it with #lobby's ID.
func benchStore(b *testing.B, open func(b *testing.B) store.Store) (store.Store, int64) {
	s := open(b)
	lobby, err := s.Channel(b.Context(), chat.Lobby)
	if err != nil {
		b.Fatal(err)
	}
	return s, lobby.ID
}

// fill makes msgs new text messages of conversation conv, of a chat line's
// usual length.
func fill(msgs []chat.Message, conv int64) {
	for i := range msgs {
		msgs[i] = chat.Message{Conv: conv, Time: time.Now(), Author: "bench", Kind: chat.KindText,
			Body: "a line of chat of about the usual length, give or take"}
	}
}
