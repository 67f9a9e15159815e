package chat

import (
	"cmp"
	"maps"
	"slices"
)

// Presence across nodes. Each node tells the others, through its Cluster,
// who is online on it and in which conversations (NodePresence), and the
// room merges them with its own: Room.Online, Room.Presence and /who cover
// every node. Login and logout notices are posted by the node where the
// account's first session arrives or its last one leaves, unless it is
// online on another node; when a node stops telling (it died), one of the
// others posts a logout notice for each of its people who are online
// nowhere else (NodeGone).

// NodePresence is an account online on a node: how it shows, and the
// conversations it is in.
type NodePresence struct {
	Presence
	Channels []int64
	Directs  []int64
}

// LocalPresence lists the accounts online on this node (a visible
// session), with their conversations, sorted by name: what this node tells
// the others (Cluster.PresenceChanged says when it changed).
func (r *Room) LocalPresence() []NodePresence {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := make([]NodePresence, 0, len(r.accounts))
	for _, a := range r.accounts {
		if a.sessions == 0 {
			continue
		}
		p := NodePresence{Presence: a.presence()}
		for conv, kind := range a.conversations() {
			if kind == Channel {
				p.Channels = append(p.Channels, conv)
			} else {
				p.Directs = append(p.Directs, conv)
			}
		}
		slices.Sort(p.Channels)
		slices.Sort(p.Directs)
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b NodePresence) int { return cmp.Compare(foldName(a.Name), foldName(b.Name)) })
	return list
}

// SetNodePresence replaces what the room knows of node's people with list.
func (r *Room) SetNodePresence(node string, list []NodePresence) {
	next := make(map[string]NodePresence, len(list))
	for _, p := range list {
		next[foldName(p.Name)] = p
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if maps.EqualFunc(r.nodes[node], next, NodePresence.Same) {
		return // the usual heartbeat: nothing changed
	}
	r.nodes[node] = next
	r.indexNodesLocked()
}

// UpdateNodePresence changes what the room knows of node's people: the
// accounts in changed are online there as they say, those named in gone
// are not. It is how a node tells what changed since its last list
// (SetNodePresence).
func (r *Room) UpdateNodePresence(node string, changed []NodePresence, gone []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	people := r.nodes[node]
	if people == nil {
		people = make(map[string]NodePresence, len(changed))
		r.nodes[node] = people
	}
	for _, name := range gone { // first: a name spelled anew is in both
		delete(people, foldName(name))
	}
	for _, p := range changed {
		people[foldName(p.Name)] = p
	}
	r.indexNodesLocked()
}

// NodeGone forgets node's people: it stopped telling (it died, or was cut
// off). If announce, the room posts a logout notice in their channels for
// each who is online nowhere else (the caller picks one node to do it).
func (r *Room) NodeGone(node string, announce bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	gone, ok := r.nodes[node]
	if !ok {
		return
	}
	delete(r.nodes, node)
	r.indexNodesLocked()
	if !announce {
		return
	}
	for key, p := range gone {
		if r.onlineAnywhereLocked(key) {
			continue
		}
		for _, conv := range p.Channels {
			r.announceNameLocked(key, p.Name, conv, false)
		}
	}
}

// enterElsewhereLocked shows the account key, if it is online on other
// nodes, in the direct conversation conv: those nodes were told to reload
// it (Cluster.Changed) and will say so once they have, but the
// conversation's screens here show it online from the start. r.mu held.
func (r *Room) enterElsewhereLocked(key string, conv int64) {
	entered := false
	for _, people := range r.nodes {
		if p, ok := people[key]; ok && !slices.Contains(p.Directs, conv) {
			p.Directs = append(slices.Clone(p.Directs), conv)
			slices.Sort(p.Directs)
			people[key] = p
			entered = true
		}
	}
	if entered {
		r.indexNodesLocked()
	}
}

// Same reports whether p and q say the same.
func (p NodePresence) Same(q NodePresence) bool {
	return p.Presence == q.Presence && slices.Equal(p.Channels, q.Channels) && slices.Equal(p.Directs, q.Directs)
}

// indexNodesLocked rebuilds elsewhere, who is online on other nodes by
// conversation, and marks the conversations whose lists changed. r.mu held.
func (r *Room) indexNodesLocked() {
	next := make(map[int64]map[string]Presence)
	for _, accounts := range r.nodes {
		for key, p := range accounts {
			for _, conv := range slices.Concat(p.Channels, p.Directs) {
				in := next[conv]
				if in == nil {
					in = make(map[string]Presence)
					next[conv] = in
				}
				in[key] = p.Presence
			}
		}
	}
	for conv, in := range next {
		if !maps.Equal(r.elsewhere[conv], in) {
			r.relistLocked(conv)
		}
	}
	for conv := range r.elsewhere {
		if _, ok := next[conv]; !ok {
			r.relistLocked(conv)
		}
	}
	r.elsewhere = next
}

// onlineElsewhereLocked reports whether the account key is online on
// another node. r.mu held.
func (r *Room) onlineElsewhereLocked(key string) (Presence, bool) {
	for _, accounts := range r.nodes {
		if p, ok := accounts[key]; ok {
			return p.Presence, true
		}
	}
	return Presence{}, false
}

// onlineAnywhereLocked reports whether the account key is online here or
// on another node. r.mu held.
func (r *Room) onlineAnywhereLocked(key string) bool {
	if a := r.accounts[key]; a != nil && a.sessions > 0 {
		return true
	}
	_, ok := r.onlineElsewhereLocked(key)
	return ok
}
