package chat

import "time"

// Observer is told what the room does, for metrics (RoomConfig.Observe).
// Every field is optional, and a nil *Observer costs one comparison at each
// point. The functions are called from the room's own goroutines (the
// sequencer, the workers, posting sessions), possibly at once: they MUST be
// safe for concurrent use, and MUST NOT block or call back into the room.
type Observer struct {
	// Committed: msgs were stored in one History.Append that took d (a
	// group commit: posts and notices; called only when it succeeded).
	// msgs is shared with the workers: it MUST NOT be modified or kept.
	Committed func(msgs []Message, d time.Duration)
	// Delivered: a worker handed n messages to one member's outbox;
	// latency is from the first one's Message.Time, which the sequencer
	// stamps just before the group commit (so the store's commit time is
	// included), to that hand-over, by RoomConfig.Now (a wall clock: a
	// clock step can skew it). The session takes the messages from its
	// outbox later; that wait is not included.
	Delivered func(n int, latency time.Duration)
	// Evicted: a worker evicted a member for reason (EvictedError.Reason).
	Evicted func(reason string)
	// FloodRefused: a post or a command was refused by the flood limit
	// (a SlowDownError).
	FloodRefused func()
}

func (o *Observer) committed(msgs []Message, d time.Duration) {
	if o != nil && o.Committed != nil {
		o.Committed(msgs, d)
	}
}

func (o *Observer) evicted(reason string) {
	if o != nil && o.Evicted != nil {
		o.Evicted(reason)
	}
}

func (o *Observer) floodRefused() {
	if o != nil && o.FloodRefused != nil {
		o.FloodRefused()
	}
}

// delivered reports n messages, the first of them first, handed to an
// outbox; it reads the clock only when someone listens.
func (o *Observer) delivered(n int, first *Message, now func() time.Time) {
	if o != nil && o.Delivered != nil && first.Kind != KindPresence { // an event, not a message
		o.Delivered(n, now().Sub(first.Time))
	}
}
