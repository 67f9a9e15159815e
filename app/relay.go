package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/time/rate"

	"messaging/chat"
)

// relay connects this node's room to the other nodes through NATS (NATS_URL):
// it publishes what the room commits and changes (chat.Cluster), and hands
// the room what the others publish. Core NATS, not JetStream: the order and
// the durability are the store's (every message knows the one before it in
// its conversation, and a node fills any gap from the store; see
// docs/CLUSTER.md), so NATS only has to be fast, and may lose a message or
// be down a while.
type relay struct {
	nc      *nats.Conn
	subject string
	node    string // this node's ID, random at each start: its own messages come back
	log     *slog.Logger
	room    atomic.Pointer[chat.Room] // set by start
	stop    chan struct{}             // closed by close: the heartbeats end
	beating chan struct{}             // closed once they have ended; nil before start
	wake    chan struct{}             // cap 1: tell the others now (presence changed, or asked)
	dirty   atomic.Bool               // this node's people changed since the heartbeats last looked

	mu       sync.Mutex
	peers    map[string]peer // the other nodes heard from
	fullSoon bool            // a node appeared, or asked: send the whole list next
	askSoon  bool            // a node's list is missing or behind: ask for it next
}

// peer is what a node knows of another: when it last heard from it, and
// the presence it has of it (seq; listed once a whole list came).
type peer struct {
	last   time.Time
	seq    uint64
	listed bool
}

// relayEnvelope is one NATS message between nodes: a batch committed, or
// an account changed.
type relayEnvelope struct {
	Node       string           `json:"node"`
	Commit     []chat.Message   `json:"commit,omitempty"`
	Changed    string           `json:"changed,omitempty"`
	Disconnect *relayDisconnect `json:"disconnect,omitempty"`
	// Presence, from the node's heartbeats, numbered by Seq: Full, its
	// people online (Online), as of Seq; Delta, what changed since Seq-1
	// (Online: who came or changed, Offline: who left); Alive, nothing
	// new since Seq. A node that misses a number asks for the whole list
	// again. Gone: the node stops (its people's logouts were announced as
	// they left).
	Seq     uint64              `json:"seq,omitempty"`
	Alive   bool                `json:"alive,omitempty"`
	Full    bool                `json:"full,omitempty"`
	Delta   bool                `json:"delta,omitempty"`
	Online  []chat.NodePresence `json:"online,omitempty"`
	Offline []string            `json:"offline,omitempty"`
	Gone    bool                `json:"gone,omitempty"`
	// Ask: send your Full list now (a node that had not heard from this
	// one, forgot it while it was cut off, or missed a change).
	Ask bool `json:"ask,omitempty"`
}

// relayDisconnect is a Room.Disconnect on another node.
type relayDisconnect struct {
	Account string `json:"account"`
	Reason  string `json:"reason"`
}

const (
	// reloadTimeout bounds one reload of an account another node changed.
	reloadTimeout = 10 * time.Second
	// A node tells the others what changed in its presence as it
	// changes: presenceBurst changes at once, then one every presenceGap
	// (a crowd logging in is told in batches); every heartbeatEvery that
	// it is alive, and fullEvery its whole list. A node not heard from
	// for nodeTTL is gone: its people are marked offline.
	presenceBurst = 10
	presenceGap   = 50 * time.Millisecond
	// presencePartBytes bounds one presence message, about (NATS's
	// default payload limit is 1 MiB).
	presencePartBytes = 256 << 10
	heartbeatEvery    = time.Second
	fullEvery         = 5 * time.Second
	nodeTTL           = 3 * time.Second
)

// connectRelay connects to NATS. A server that is down is not an error: the
// node starts alone, says so, and catches up once NATS is there.
func connectRelay(cfg Config, log *slog.Logger) (*relay, error) {
	r := &relay{subject: cfg.NatsSubject + ".events", node: strings.ToLower(rand.Text()[:10]), log: log,
		stop: make(chan struct{}), wake: make(chan struct{}, 1), peers: make(map[string]peer)}
	nc, err := nats.Connect(cfg.NatsURL,
		nats.Name("messaging node "+r.node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.Timeout(5*time.Second),
		nats.RetryOnFailedConnect(true),
		nats.ConnectHandler(func(nc *nats.Conn) { r.rejoined("connected to NATS", nc) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { r.rejoined("reconnected to NATS", nc) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("cut off from NATS: the other nodes' messages wait until it is back", "err", err)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS", "err", err)
			if errors.Is(err, nats.ErrSlowConsumer) {
				r.resync() // some were dropped: the store has them
			}
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("NATS_URL %s: %w", redactedNatsURL(cfg.NatsURL), err)
	}
	r.nc = nc
	if !nc.IsConnected() {
		log.Warn("NATS is not reachable yet: this node runs alone until it is", "nats", redactedNatsURL(cfg.NatsURL))
	}
	return r, nil
}

// start takes the other nodes' messages into room from now on; the room
// then compares with the store, for what came meanwhile.
func (r *relay) start(room *chat.Room) error {
	r.room.Store(room)
	if _, err := r.nc.Subscribe(r.subject, r.receive); err != nil {
		return fmt.Errorf("NATS subscribe %s: %w", r.subject, err)
	}
	room.Resync()
	r.beating = make(chan struct{})
	go func() {
		defer close(r.beating)
		r.heartbeats(room)
	}()
	return nil
}

// heartbeats tells the other nodes who is online on this node: what
// changed as it changes, the whole list every fullEvery or when asked, and
// that it is alive every heartbeatEvery, until close; and forgets the
// nodes that stopped telling.
func (r *relay) heartbeats(room *chat.Room) {
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	var (
		seq  uint64    // the number of the last list or change sent
		sent roster    // the list as the others know it; nil before the first
		full time.Time // when it was last sent whole
		beat = true    // the ticker woke this round, not a change
		pace = rate.NewLimiter(rate.Every(presenceGap), presenceBurst)
	)
	for {
		r.mu.Lock()
		soon, ask := r.fullSoon, r.askSoon
		r.fullSoon, r.askSoon = false, false
		r.mu.Unlock()
		e := relayEnvelope{Ask: ask}
		switch {
		case sent == nil || soon || time.Since(full) >= fullEvery:
			r.dirty.Store(false)
			online := room.LocalPresence()
			seq++
			e.Full, e.Online = true, online
			sent, full = newRoster(online), time.Now()
		case r.dirty.Swap(false):
			if e.Online, e.Offline = sent.update(room.LocalPresence()); len(e.Online)+len(e.Offline) > 0 {
				seq++
				e.Delta = true
			}
		}
		// A long list goes in parts, each well under NATS's payload
		// limit: the first with e, the rest as changes after it.
		parts := presenceParts(e.Online, presencePartBytes)
		if len(parts) > 0 {
			e.Online = parts[0]
		}
		e.Seq, e.Alive = seq, !e.Full && !e.Delta
		if !e.Alive || ask || beat {
			r.publish(e)
		}
		for _, part := range parts[min(1, len(parts)):] {
			seq++
			r.publish(relayEnvelope{Seq: seq, Delta: true, Online: part})
		}
		if beat {
			r.forgetSilent(room)
		}
		select {
		case <-r.stop:
			return
		case <-tick.C:
			beat = true
		case <-r.wake:
			beat = false
			// Past a burst, a change waits its turn, and goes with
			// whatever joins it meanwhile.
			select {
			case <-r.stop:
				return
			case <-time.After(pace.Reserve().Delay()):
			}
		}
	}
}

// roster is a node's people online as the other nodes know them, by name.
type roster map[string]chat.NodePresence

func newRoster(online []chat.NodePresence) roster {
	s := make(roster, len(online))
	for _, p := range online {
		s[p.Name] = p
	}
	return s
}

// update makes s online, and returns what changed: who came or changed,
// and who left.
func (s roster) update(online []chat.NodePresence) (changed []chat.NodePresence, left []string) {
	now := newRoster(online)
	for name, p := range now {
		if was, ok := s[name]; !ok || !was.Same(p) {
			changed = append(changed, p)
			s[name] = p
		}
	}
	for name := range s {
		if _, ok := now[name]; !ok {
			left = append(left, name)
			delete(s, name)
		}
	}
	return changed, left
}

// presenceParts splits list into parts of about limit bytes as JSON at
// most (a person's share estimated from their name, away reason and
// conversations).
func presenceParts(list []chat.NodePresence, limit int) [][]chat.NodePresence {
	var parts [][]chat.NodePresence
	start, size := 0, 0
	for i, p := range list {
		n := 160 + len(p.Name) + len(p.Away) + 21*(len(p.Channels)+len(p.Directs)) // 21: the longest int64, and a comma
		if i > start && size+n > limit {
			parts = append(parts, list[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(list) {
		parts = append(parts, list[start:])
	}
	return parts
}

// PresenceChanged has the heartbeats tell the others now (chat.Cluster).
func (r *relay) PresenceChanged() {
	r.dirty.Store(true)
	r.wakeHeartbeats()
}

func (r *relay) wakeHeartbeats() {
	select {
	case r.wake <- struct{}{}:
	default: // already woken
	}
}

// forgetSilent forgets the nodes not heard from for nodeTTL. Of the nodes
// alive, the one with the smallest ID posts the logout notices, so that
// each is posted once.
func (r *relay) forgetSilent(room *chat.Room) {
	r.mu.Lock()
	var gone []string
	first := r.node
	for node, p := range r.peers {
		if time.Since(p.last) > nodeTTL {
			gone = append(gone, node)
			delete(r.peers, node)
		} else {
			first = min(first, node)
		}
	}
	r.mu.Unlock()
	for _, node := range gone {
		r.log.Warn("a node stopped answering: its people are marked offline", "node", node)
		room.NodeGone(node, first == r.node)
	}
}

// close stops taking and publishing; what was published is flushed first.
func (r *relay) close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	if r.beating != nil {
		<-r.beating // no heartbeat after the goodbye
	}
	r.publish(relayEnvelope{Gone: true})
	if err := r.nc.Drain(); err != nil {
		r.nc.Close()
	}
}

// Committed publishes a batch the room stored (chat.Cluster).
func (r *relay) Committed(msgs []chat.Message) { r.publish(relayEnvelope{Commit: msgs}) }

// Changed publishes an account whose conversations or ignores changed
// (chat.Cluster).
func (r *relay) Changed(account string) { r.publish(relayEnvelope{Changed: account}) }

// Disconnected publishes an account whose sessions the room ended: a kick,
// a ban, a deleted account (chat.Cluster).
func (r *relay) Disconnected(account, reason string) {
	r.publish(relayEnvelope{Disconnect: &relayDisconnect{Account: account, Reason: reason}})
}

// publish never waits for NATS: while it is down, nats.go buffers (its
// reconnect buffer), and what does not fit is lost, which the other nodes'
// stores fill in.
func (r *relay) publish(e relayEnvelope) {
	e.Node = r.node
	data, err := json.Marshal(e)
	if err == nil {
		err = r.nc.Publish(r.subject, data)
	}
	if err != nil {
		r.log.Warn("not published to the other nodes", "err", err)
	}
}

// receive takes one NATS message from another node. It runs on the
// subscription's one goroutine, so an account's reload is done before the
// messages published after it are handed on.
func (r *relay) receive(msg *nats.Msg) {
	var e relayEnvelope
	if err := json.Unmarshal(msg.Data, &e); err != nil {
		r.log.Warn("a NATS message that is not from a node", "subject", msg.Subject, "bytes", len(msg.Data), "err", err)
		return
	}
	if e.Node == r.node {
		return
	}
	room := r.room.Load() // set before the subscription started
	if e.Gone {
		r.mu.Lock()
		delete(r.peers, e.Node)
		r.mu.Unlock()
		room.NodeGone(e.Node, false)
	}
	if e.Alive || e.Full || e.Delta {
		switch inOrder := r.heard(e); {
		case inOrder && e.Full:
			room.SetNodePresence(e.Node, validPresence(e.Online))
		case inOrder && e.Delta:
			room.UpdateNodePresence(e.Node, validPresence(e.Online), e.Offline)
		}
	}
	if e.Changed != "" {
		ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
		err := room.Reload(ctx, e.Changed)
		cancel()
		if err != nil {
			r.log.Warn("an account another node changed was not reloaded", "account", e.Changed, "err", err)
		}
	}
	if d := e.Disconnect; d != nil {
		room.DisconnectHere(d.Account, chat.Sanitize(d.Reason, 0))
	}
	if msgs := validCommit(e.Commit); len(msgs) > 0 {
		room.Deliver(msgs)
	}
}

// heard notes that e's node is alive, and reports whether e's presence
// follows what this node has of it, to be applied. A node not heard from
// before gets this one's whole list now; one whose list is missing or
// behind (a change lost on the way) is asked for it.
func (r *relay) heard(e relayEnvelope) (inOrder bool) {
	r.mu.Lock()
	p, known := r.peers[e.Node]
	p.last = time.Now()
	if e.Full || e.Delta && p.listed && e.Seq == p.seq+1 {
		p.seq, p.listed, inOrder = e.Seq, true, true
	}
	lost := !inOrder && (!p.listed || e.Seq != p.seq)
	r.peers[e.Node] = p
	r.fullSoon = r.fullSoon || !known || e.Ask
	r.askSoon = r.askSoon || lost
	tell := !known || e.Ask || lost
	r.mu.Unlock()
	if tell {
		r.wakeHeartbeats()
	}
	return inOrder
}

// validPresence returns list with names and away reasons cleaned, as
// anything shown on screens.
func validPresence(list []chat.NodePresence) []chat.NodePresence {
	for i := range list {
		p := &list[i].Presence
		p.Name, p.Away = chat.Sanitize(p.Name, 0), chat.Sanitize(p.Away, 0)
	}
	return list
}

// validCommit returns msgs if they are a batch as a node commits it (IDs
// and conversations set, each after the one before it), their text cleaned
// again; nil otherwise. NATS is trusted as the database is (see SECURITY.md),
// but what reaches screens is cleaned where it is shown.
func validCommit(msgs []chat.Message) []chat.Message {
	for i := range msgs {
		m := &msgs[i]
		if m.ID <= 0 || m.Conv <= 0 || m.Prev < 0 || m.Prev >= m.ID || m.Kind == chat.KindPresence {
			return nil
		}
		m.Author, m.Body, m.To = chat.Sanitize(m.Author, 0), chat.Sanitize(m.Body, 0), chat.Sanitize(m.To, 0)
	}
	return msgs
}

// rejoined runs when NATS (re)connects: what the other nodes changed and
// committed meanwhile is read from the store.
func (r *relay) rejoined(what string, nc *nats.Conn) {
	r.log.Info(what, "node", r.node, "server", nc.ConnectedUrlRedacted())
	r.mu.Lock()
	r.fullSoon, r.askSoon = true, true // the others may have forgotten this node meanwhile
	r.mu.Unlock()
	room := r.room.Load()
	if room == nil {
		return // before start, which resyncs
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := room.ReloadAll(ctx); err != nil {
			r.log.Warn("accounts not reloaded after reconnecting", "err", err)
		}
		room.Resync()
	}()
}

// resync has the room compare with the store, if it has started.
func (r *relay) resync() {
	if room := r.room.Load(); room != nil {
		room.Resync()
	}
}

// natsSubject is what NATS_SUBJECT may be: dot-separated tokens of
// letters, digits, - and _ (no wildcards, no spaces).
var natsSubject = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// checkNats finds the wrong forms of NATS_URL and NATS_SUBJECT, and a
// NATS_URL without the PostgreSQL DATABASE the nodes share: nil if none.
func checkNats(c Config) error {
	if len(c.NatsSubject) > 64 || !natsSubject.MatchString(c.NatsSubject) {
		return fmt.Errorf("NATS_SUBJECT=%q is not a NATS subject: use letters, digits, - and _, in tokens separated by dots (at most 64 characters)", c.NatsSubject)
	}
	if c.NatsURL == "" {
		return nil
	}
	for _, raw := range strings.Split(c.NatsURL, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Hostname() == "" || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) {
			return fmt.Errorf("NATS_URL=%s is not a list of NATS URLs: use nats://host:4222, separated by commas", redactedNatsURL(c.NatsURL))
		}
	}
	if !isPostgres(c.Database) {
		return errors.New("NATS_URL is set but DATABASE is not a PostgreSQL URL: the nodes must share one database (postgres://...); without NATS_URL this node runs alone")
	}
	return nil
}

// redactedNatsURL is NATS_URL with any passwords or tokens replaced by
// "xxxxx", for logs and errors.
func redactedNatsURL(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "(a URL that does not parse)"
			continue
		}
		if u.User != nil { // a user and password, or a token
			u.User = url.User("xxxxx")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
