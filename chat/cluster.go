package chat

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Several nodes share one History and Directory (PostgreSQL), each with a
// room of its own for the sessions connected to it. The order of a
// conversation is the order of its commits in the store: its message IDs,
// each message knowing the one before it (Message.Prev). Each room tells
// the others what it committed (Cluster.Committed, carried by NATS), and
// takes theirs (Room.Deliver); its sequencer hands every message, its own
// and the others', to its workers in each conversation's order, and fills
// any gap (a message lost or late on the way, a node cut off a while) from
// the store before going on: nothing is skipped, nothing is shown twice.
// See docs/CLUSTER.md.

// Cluster is what a room of several nodes tells the others. Its methods
// are called on the room's own goroutines and MUST NOT block for long
// (publish, do not wait for an answer).
type Cluster interface {
	// Committed is told every batch the room stored, in commit order,
	// with IDs and Prev set. msgs is shared read-only: do not keep it.
	Committed(msgs []Message)
	// Changed is told an account whose conversations or ignores this room
	// changed in the Directory: the rooms where it is online reload it
	// (Room.Reload).
	Changed(account string)
	// Disconnected is told an account whose members Room.Disconnect ended
	// (a kick, a ban, a deleted account): the other rooms end theirs with
	// the same reason (Room.DisconnectHere).
	Disconnected(account, reason string)
	// PresenceChanged is told that who is online on this node, or how
	// they show, may have changed: LocalPresence has the new list. It is
	// called with the room's lock held: signal, and read the list later.
	PresenceChanged()
}

// Heads is what a room of several nodes needs of its History beyond
// History: every conversation's newest message ID, where the store's order
// stands now.
type Heads interface {
	Heads(ctx context.Context) (map[int64]int64, error)
}

const (
	// remoteQueue bounds the batches from other nodes waiting for the
	// sequencer; past it a batch is dropped and the store fills it in.
	remoteQueue = 1024
	// gapPage is how many messages a gap fill reads at a time, and
	// maxGap the most it delivers of one gap: a node cut off for a long
	// time gives its sessions the newest maxGap (their history has the
	// rest).
	gapPage = 256
	maxGap  = 1000
	// resyncEvery: how often a room of several nodes compares what it
	// delivered with the store's heads, besides when told to (Resync):
	// the last net under anything lost unnoticed.
	resyncEvery = 15 * time.Second
)

// clusterState is the sequencer's own: what it delivered of each
// conversation.
type clusterState struct {
	heads     Heads
	delivered map[int64]int64 // conversation → the newest message handed to the workers
	lastSync  time.Time
}

// newClusterState starts from the store's heads: what was committed before
// the room started is history, not live.
func newClusterState(ctx context.Context, h History) (*clusterState, error) {
	heads, ok := h.(Heads)
	if !ok {
		return nil, errors.New("a room of several nodes needs a History that tells its heads (PostgreSQL)")
	}
	delivered, err := heads.Heads(ctx)
	if err != nil {
		return nil, err
	}
	if delivered == nil {
		delivered = make(map[int64]int64)
	}
	return &clusterState{heads: heads, delivered: delivered, lastSync: time.Now()}, nil
}

// Deliver takes a batch another node committed (IDs and Prev set), to be
// handed to the members here in order. It never blocks: if the queue is
// full the batch is dropped and the next resync fills it in from the store.
func (r *Room) Deliver(msgs []Message) {
	if r.cluster == nil || len(msgs) == 0 {
		return
	}
	select {
	case r.remote <- msgs:
	default:
		r.log.Warn("chat: messages from other nodes dropped, to be read from the store", "count", len(msgs))
		r.Resync()
	}
}

// Resync has the sequencer compare what it delivered with the store's
// heads, and deliver what it missed: after the link to the other nodes was
// cut, or anything from them was dropped. It never blocks.
func (r *Room) Resync() {
	if r.cluster == nil {
		return
	}
	r.resync.Store(true)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// chargeFloods charges the authors of posts another node committed to
// their flood limits here: one limit per person across the nodes.
func (r *Room) chargeFloods(msgs []Message) {
	now := r.cfg.Now()
	for _, m := range msgs {
		if (m.Kind == KindText || m.Kind == KindAction) && m.Author != "" {
			r.floods.spent(m.Author, now)
		}
	}
}

// inOrder returns msgs (committed, here or on another node) as the workers
// may take them: each conversation's messages after the last one delivered,
// in order, with what was missed before each read from the store. Messages
// delivered already are left out. The sequencer's goroutine only.
func (r *Room) inOrder(msgs []Message) []Message {
	cs := r.cluster
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		last := cs.delivered[m.Conv]
		if m.ID <= last {
			continue // delivered already
		}
		if m.Prev > last {
			missed, err := r.fill(m.Conv, last, m.Prev)
			if err != nil {
				// Not m either: it must not come before what is
				// missing. The resync delivers both.
				r.log.Error("chat: messages missed from other nodes not read", "conv", m.Conv, "after", last, "err", err)
				r.resync.Store(true)
				continue
			}
			out = append(out, missed...)
		}
		out = append(out, m)
		cs.delivered[m.Conv] = m.ID
	}
	return out
}

// fill reads conv's messages after after, up to and including upto, oldest
// first: at most maxGap, the newest.
func (r *Room) fill(conv, after, upto int64) ([]Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	var pages [][]Message
	n, before := 0, upto+1
	for n < maxGap {
		page, err := r.history.Before(ctx, conv, before, gapPage)
		if err != nil {
			return nil, fmt.Errorf("conversation %d before %d: %w", conv, before, err)
		}
		read := len(page)
		page = slices.DeleteFunc(page, func(m Message) bool { return m.ID <= after })
		if len(page) > 0 {
			pages = append(pages, page)
			n += len(page)
			before = page[0].ID
		}
		if len(page) < read || read < gapPage {
			break // reached after, or the conversation's start
		}
	}
	missed := make([]Message, 0, n)
	for _, page := range slices.Backward(pages) {
		missed = append(missed, page...)
	}
	if len(missed) > maxGap {
		missed = missed[len(missed)-maxGap:]
	}
	return missed, nil
}

// resyncNow delivers what the store holds past what was delivered, in every
// conversation. The sequencer's goroutine only.
func (r *Room) resyncNow() []Message {
	cs := r.cluster
	r.resync.Store(false)
	cs.lastSync = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	heads, err := cs.heads.Heads(ctx)
	if err != nil {
		r.log.Error("chat: the store's heads not read; trying again", "err", err)
		r.resync.Store(true)
		return nil
	}
	var out []Message
	for _, conv := range slices.Sorted(maps.Keys(heads)) {
		last, head := cs.delivered[conv], heads[conv]
		if head <= last {
			continue
		}
		missed, err := r.fill(conv, last, head)
		if err != nil {
			r.log.Error("chat: messages missed from other nodes not read; trying again", "conv", conv, "err", err)
			r.resync.Store(true)
			continue
		}
		out = append(out, missed...)
		cs.delivered[conv] = head
	}
	return out
}

// Reload reads account's conversations and ignores from the Directory
// again, if it is online here: another node changed them (Cluster.Changed).
func (r *Room) Reload(ctx context.Context, account string) error {
	unlock, err := r.lockChanges(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	key := foldName(account)
	r.mu.Lock()
	a := r.accounts[key]
	r.mu.Unlock()
	if a == nil {
		return nil
	}
	ms, err := r.dir.Memberships(ctx, a.name)
	if err != nil {
		return fmt.Errorf("reload %s: memberships: %w", a.name, err)
	}
	ignored, err := r.dir.Ignored(ctx, a.name)
	if err != nil {
		return fmt.Errorf("reload %s: ignored: %w", a.name, err)
	}
	want := make(map[int64]ConvKind, len(ms))
	for _, m := range ms {
		want[m.Conv.ID] = m.Conv.Kind
	}
	ignores := make(map[string]bool, len(ignored))
	for _, name := range ignored {
		ignores[foldName(name)] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.accounts[key] != a {
		return nil // gone meanwhile
	}
	for conv, kind := range want {
		if !a.in(conv) {
			r.enterLocked(a, conv, kind)
		}
	}
	for conv := range a.conversations() {
		if _, ok := want[conv]; !ok {
			r.exitLocked(a, conv)
		}
	}
	a.ignores.Store(&ignores)
	return nil
}

// ReloadAll reloads every account online here (Reload): after the link to
// the other nodes was cut, when their changes may have been missed.
func (r *Room) ReloadAll(ctx context.Context) error {
	r.mu.Lock()
	names := make([]string, 0, len(r.accounts))
	for _, a := range r.accounts {
		names = append(names, a.name)
	}
	r.mu.Unlock()
	var errs []error
	for _, name := range names {
		errs = append(errs, r.Reload(ctx, name))
	}
	return errors.Join(errs...)
}

// changedAccount tells the other nodes that account's conversations or
// ignores changed.
func (r *Room) changedAccount(account string) {
	if r.cfg.Cluster != nil {
		r.cfg.Cluster.Changed(account)
	}
}
