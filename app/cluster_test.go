package app

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
	"messaging/store/postgres/pgtest"
)

// natsEnv names the variable that holds the URL of a NATS server the tests
// may publish on (each test on subjects of its own).
const natsEnv = "MESSAGING_TEST_NATS"

// clusterConfig is testConfig for one node of a cluster: the PostgreSQL
// database and the NATS subjects of db and subject, which the test's nodes
// share. The test is skipped without a PostgreSQL and a NATS server.
func clusterConfig(t *testing.T, db, subject string) Config {
	t.Helper()
	nats := os.Getenv(natsEnv)
	if nats == "" {
		t.Skip(natsEnv + " not set: this test needs a NATS server")
	}
	cfg := testConfig(t)
	cfg.Database, cfg.NatsURL, cfg.NatsSubject = db, nats, subject
	return cfg
}

// newCluster returns a function that starts one more node of a new
// cluster: its own database schema and NATS subjects.
func newCluster(t *testing.T) func() *testServer {
	t.Helper()
	db := pgtest.FreshURL(t)
	subject := "test." + strings.ToLower(rand.Text())
	return func() *testServer { return startServer(t, clusterConfig(t, db, subject)) }
}

// burstLine finds the burst's messages on a screen, in the order shown.
var burstLine = regexp.MustCompile(`(alice|bob): ([ab]\d+)\b`)

// People on two nodes chat as on one: in #lobby, in a channel and in a
// direct conversation, each screen in the same order; someone who comes
// later to a third node finds the history.
func TestTwoNodesChatAsOne(t *testing.T) {
	node := newCluster(t)
	n1 := node()
	n2 := node()
	alice := n1.chatter(t, "alice", 100, 40)
	bob := n2.chatter(t, "bob", 100, 40)

	alice.say("hello from node 1")
	bob.waitText("alice: hello from node 1")
	bob.say("hello from node 2")
	alice.waitText("bob: hello from node 2")

	alice.say("/join #go")
	alice.waitHeader("#go")
	bob.say("/join #go")
	bob.waitHeader("#go")
	alice.waitText("bob joined")
	const burst = 10
	for i := range burst {
		alice.say(fmt.Sprint("a", i))
		bob.say(fmt.Sprint("b", i))
	}
	var orders [2][]string
	for i, tm := range []*terminal{alice, bob} {
		tm.waitText(fmt.Sprint("alice: a", burst-1))
		screen := tm.waitText(fmt.Sprint("bob: b", burst-1))
		for _, m := range burstLine.FindAllStringSubmatch(screen, -1) {
			orders[i] = append(orders[i], m[2])
		}
	}
	if len(orders[0]) != 2*burst || !slices.Equal(orders[0], orders[1]) {
		t.Errorf("the screens differ, or miss or repeat a message:\nalice %q\nbob   %q", orders[0], orders[1])
	}

	bob.say("/msg alice just you and me")
	alice.waitText("@bob") // in alice's sidebar, unread
	alice.say("/reply across the nodes")
	alice.waitText("bob: just you and me")
	bob.waitText("alice: across the nodes")

	carol := node().chatter(t, "carol", 100, 40)
	carol.waitText("bob: hello from node 2")
	carol.say("/join #go")
	carol.waitText(fmt.Sprint("bob: b", burst-1))
}

// natsServer is a nats-server process of a test's own, for its faults.
type natsServer struct {
	t    *testing.T
	bin  string
	port int
	cmd  *exec.Cmd
}

// startNatsServer starts nats-server on a free loopback port; the test is
// skipped without the binary (MESSAGING_TEST_NATS_SERVER).
func startNatsServer(t *testing.T) *natsServer {
	t.Helper()
	bin := os.Getenv("MESSAGING_TEST_NATS_SERVER")
	if bin == "" {
		t.Skip("MESSAGING_TEST_NATS_SERVER not set: this test starts nats-server processes of its own")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ns := &natsServer{t: t, bin: bin, port: port}
	ns.start()
	t.Cleanup(ns.stop)
	return ns
}

func (ns *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", ns.port) }

// start runs the server and waits until it accepts connections.
func (ns *natsServer) start() {
	ns.t.Helper()
	ns.cmd = exec.Command(ns.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(ns.port))
	if err := ns.cmd.Start(); err != nil {
		ns.t.Fatalf("start nats-server: %v", err)
	}
	for deadline := time.Now().Add(waitLimit); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", fmt.Sprint("127.0.0.1:", ns.port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			ns.t.Fatalf("nats-server does not accept connections: %v", err)
		}
	}
}

// stop kills the server (SIGKILL: no goodbye to its clients) and waits
// for it.
func (ns *natsServer) stop() {
	if ns.cmd != nil {
		_ = ns.cmd.Process.Kill()
		_ = ns.cmd.Wait()
		ns.cmd = nil
	}
}

// screenOrder is the burst's messages on tm's screen, in the order shown,
// once both last ones are there.
func screenOrder(tm *terminal, lastA, lastB string) []string {
	tm.waitText("alice: " + lastA)
	screen := tm.waitText("bob: " + lastB)
	var order []string
	for _, m := range burstLine.FindAllStringSubmatch(screen, -1) {
		order = append(order, m[2])
	}
	return order
}

// With NATS killed mid-conversation and started again, every message
// written meanwhile reaches the other node once it is back, and both
// screens show one order.
func TestNatsRestartedMidConversationLosesNothing(t *testing.T) {
	ns := startNatsServer(t)
	db := pgtest.FreshURL(t)
	node := func() *testServer {
		cfg := testConfig(t)
		cfg.Database, cfg.NatsURL, cfg.NatsSubject = db, ns.url(), "messaging"
		return startServer(t, cfg)
	}
	n1, n2 := node(), node()
	chatThroughAnOutage(t, n1, n2, ns.stop, ns.start)
}

// chatThroughAnOutage has alice on n1 and carol, and bob on n2, chat while
// cut (or NATS itself) separates n1 from the others, until healed: n1's
// own users chat on, and once n1 is back every screen shows every message
// once, in one order. (During the outage n1 may learn of n2's messages
// from the database: its own commits show what it missed.)
func chatThroughAnOutage(t *testing.T, n1, n2 *testServer, cut, heal func()) {
	t.Helper()
	alice := n1.chatter(t, "alice", 100, 40)
	carol := n1.chatter(t, "carol", 100, 40)
	bob := n2.chatter(t, "bob", 100, 40)
	alice.say("a0")
	bob.waitText("alice: a0")

	cut()
	waitUntil(t, "node 1 to be cut off", func() bool { return strings.Contains(n1.logs.String(), "cut off from NATS") })
	for i := 1; i <= 3; i++ {
		alice.say(fmt.Sprint("a", i))
		bob.say(fmt.Sprint("b", i))
	}
	carol.waitText("alice: a3") // node 1's own users chat on
	bob.waitText("bob: b3")
	heal()
	waitUntil(t, "node 1 to reconnect", func() bool { return strings.Contains(n1.logs.String(), "reconnected to NATS") })
	bob.say("b4") // nothing more from node 1: what it missed comes through NATS or the resync
	orders := [][]string{screenOrder(alice, "a3", "b4"), screenOrder(bob, "a3", "b4")}
	if len(orders[0]) != 8 || !slices.Equal(orders[0], orders[1]) {
		t.Errorf("the screens differ, or miss or repeat a message:\nalice %q\nbob   %q", orders[0], orders[1])
	}
}

// cutProxy forwards TCP to target until cut: then it closes every
// connection and refuses new ones until healed (a network partition).
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cutOff() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			cut := p.cut
			p.mu.Unlock()
			server, err := net.Dial("tcp", target)
			if cut || err != nil {
				client.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, client, server)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(server, client); server.Close() }()
			go func() { _, _ = io.Copy(client, server); client.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *cutProxy) cutOff() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// A node cut off from NATS keeps its own users chatting with each other,
// and once the partition heals everyone sees everything, in one order.
func TestAPartitionedNodeCatchesUp(t *testing.T) {
	n1, link, n2 := nodesWithACutLink(t)
	chatThroughAnOutage(t, n1, n2, link.cutOff, link.heal)
}

// nodesWithACutLink starts two nodes of a new cluster: the first reaches
// NATS through a proxy that can cut it off.
func nodesWithACutLink(t *testing.T) (cut *testServer, link *cutProxy, other *testServer) {
	t.Helper()
	db := pgtest.FreshURL(t)
	subject := "test." + strings.ToLower(rand.Text())
	cfg := clusterConfig(t, db, subject)
	nats, _ := strings.CutPrefix(cfg.NatsURL, "nats://")
	link = newCutProxy(t, nats)
	cfg.NatsURL = link.url()
	return startServer(t, cfg), link, startServer(t, clusterConfig(t, db, subject))
}

// A kick, a mute and a ban given on one node act on the person's sessions
// on every node.
func TestModerationReachesEveryNode(t *testing.T) {
	node := newCluster(t)
	n1, n2 := node(), node()
	n1.accounts(t, "alice", "bob", "dave")
	if err := n1.srv.store.SetRole(t.Context(), "alice", chat.RoleModerator); err != nil {
		t.Fatal(err)
	}
	alice := n1.chatAs(t, "alice")
	dave, bob := n2.chatAs(t, "dave"), n2.chatAs(t, "bob")
	alice.waitText("Online (3)") // node 1 knows they are online on node 2

	alice.say("/kick dave flooding the room")
	if err := dave.waitEnd(); err != nil {
		t.Errorf("dave's session end: %v", err)
	}
	if !strings.Contains(dave.screen(), "You were removed by a moderator: flooding the room.") {
		t.Errorf("the kick's reason is not on dave's screen:\n%s", dave.screen())
	}

	alice.say("/mute bob 10m spam")
	alice.waitText("bob was muted by alice")
	// Node 2 reads the mute from the store within its poll (a second):
	// bob tries every 200 ms until a post is refused.
	waitUntil(t, "bob's post refused", func() bool {
		if strings.Contains(bob.screen(), "You are muted until") {
			return true
		}
		bob.say("still here?")
		time.Sleep(200 * time.Millisecond) // polling, with waitUntil's deadline
		return false
	})

	alice.say("/ban bob 2h spam")
	if err := bob.waitEnd(); err != nil {
		t.Errorf("bob's session end: %v", err)
	}
	if !strings.Contains(bob.screen(), "You are banned until ") {
		t.Errorf("the ban's reason is not on bob's screen:\n%s", bob.screen())
	}
}

// Who is online covers every node: the header, the member column and
// /who; someone on a node that falls silent (cut off, or dead) is marked
// gone within a few seconds, with one logout notice, and is back once the
// node is.
func TestPresenceCoversEveryNode(t *testing.T) {
	n2, proxy, n1 := nodesWithACutLink(t)
	alice := n1.chatter(t, "alice", 100, 40)
	bob := n2.chatter(t, "bob", 100, 40)
	alice.waitText("Online (2)")
	bob.waitText("Online (2)")
	bob.say("/who")
	bob.waitFor("alice in /who", func(s string) bool { return strings.Contains(s, "online in #lobby") && strings.Contains(s, "alice") })

	proxy.cutOff() // node 2 falls silent
	alice.waitText("bob left")
	alice.waitText("Online (1)")
	if n := strings.Count(alice.screen(), "bob left"); n != 1 {
		t.Errorf("bob's logout shown %d times, want once:\n%s", n, alice.screen())
	}
	proxy.heal() // node 2 is back: bob is online again
	alice.waitText("Online (2)")
}

// kill -9 of a node in mid-conversation, ten times: each time its user
// reconnects to the node that stays and finds every message anyone saw,
// once each; the others see one logout.
func TestKilledNodesLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and kills it ten times")
	}
	db := pgtest.FreshURL(t)
	subject := "test." + strings.ToLower(rand.Text())
	cfg := clusterConfig(t, db, subject)
	n1 := startServer(t, cfg)
	bin := buildServer(t)
	alice := n1.chatter(t, "alice", 100, 60)
	n1.signup(t, "bob", "password1").Close()
	var slowest time.Duration
	for cycle := range 10 {
		dying := startServerProcess(t, bin, t.TempDir(), "DATABASE="+db, "NATS_URL="+cfg.NatsURL, "NATS_SUBJECT="+subject)
		c, err := gossh.Dial("tcp", dying.addr, clientConfig("bob", gossh.Password("password1")))
		if err != nil {
			t.Fatal(err)
		}
		bob := openTerminal(t, c, 100, 60)
		bob.waitText("signed in as bob")
		for i := range 3 {
			alice.say(fmt.Sprintf("a%d.%d", cycle, i))
			bob.say(fmt.Sprintf("b%d.%d", cycle, i))
		}
		last := fmt.Sprintf("b%d.2", cycle)
		alice.waitText("bob: " + last) // seen: it must survive the kill
		alice.waitText("Online (2)")
		dying.kill(t)
		// The others go on as if nothing happened: alice's post shows
		// within a second.
		posted := time.Now()
		alice.say(fmt.Sprint("still here ", cycle))
		alice.waitText(fmt.Sprint("alice: still here ", cycle))
		took := time.Since(posted)
		slowest = max(slowest, took)
		if took > time.Second {
			t.Errorf("cycle %d: alice's post took %v to show after the kill", cycle, took)
		}
		bob.waitEnd()
		alice.waitText("Online (1)") // within nodeTTL and a heartbeat

		again := n1.relogin(t, "bob", 100, 60)
		want := alice.waitText("alice: " + fmt.Sprintf("a%d.2", cycle))
		got := again.waitText("bob: " + last)
		if w, g := cycleLines(want, cycle), cycleLines(got, cycle); !slices.Equal(w, g) || len(g) != 6 {
			t.Fatalf("cycle %d: after reconnecting bob sees %q, alice saw %q", cycle, g, w)
		}
		again.send("\x03") // Ctrl+C: quit
		again.waitEnd()
	}
	// Each cycle bob came twice (the dying node, then this one) and left
	// twice (killed, announced by this node; then quitting): one notice
	// each, none twice.
	waitUntil(t, "the last logout stored", func() bool { return n1.lobbyNotices(t, "bob")[chat.KindLeave] >= 20 })
	if c := n1.lobbyNotices(t, "bob"); c[chat.KindJoin] != 20 || c[chat.KindLeave] != 20 {
		t.Errorf("bob's logins and logouts were announced %d and %d times, want 20 each", c[chat.KindJoin], c[chat.KindLeave])
	}
	t.Logf("the longest a post of alice's took to show on her screen just after a kill: %v", slowest)
}

// lobbyNotices counts the login and logout notices of name in #lobby's
// history, by kind.
func (ts *testServer) lobbyNotices(t *testing.T, name string) map[chat.Kind]int {
	t.Helper()
	msgs, err := ts.srv.store.Before(t.Context(), ts.srv.room.Lobby().ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	count := map[chat.Kind]int{}
	for _, m := range msgs {
		if names, _ := m.Names(); m.To == "" && slices.Contains(names, name) {
			count[m.Kind]++
		}
	}
	return count
}

// One account logging in on two nodes one right after the other is
// announced once, and leaving both one right after the other, once: each
// node tells the others of a change as it happens, not at its next
// heartbeat (a second later).
func TestQuickPresenceChangesAcrossNodes(t *testing.T) {
	node := newCluster(t)
	n1, n2 := node(), node()
	n1.accounts(t, "bob")
	alice := n1.chatter(t, "alice", 100, 40)
	for round := range 3 {
		bob1 := n1.chatAs(t, "bob")
		bob2 := n2.chatAs(t, "bob") // a few milliseconds later
		bob1.send("\x03")           // Ctrl+C: quit node 1
		bob1.waitEnd()
		waitUntil(t, "bob gone from node 1", func() bool {
			return !slices.ContainsFunc(n1.srv.room.LocalPresence(), func(p chat.NodePresence) bool { return p.Name == "bob" })
		})
		// Node 1 told node 2 at once, before this post, which node 2
		// takes from NATS after it.
		marker := fmt.Sprint("marker ", round)
		alice.say(marker)
		bob2.waitText("alice: " + marker)
		bob2.send("\x03")
		bob2.waitEnd()
		waitUntil(t, "bob's logout stored", func() bool { return n1.lobbyNotices(t, "bob")[chat.KindLeave] > round })
	}
	if c := n1.lobbyNotices(t, "bob"); c[chat.KindJoin] != 3 || c[chat.KindLeave] != 3 {
		t.Errorf("bob's logins and logouts were announced %d and %d times, want 3 each", c[chat.KindJoin], c[chat.KindLeave])
		msgs, _ := n1.srv.store.Before(t.Context(), n1.srv.room.Lobby().ID, 0, 1000)
		for _, m := range msgs {
			t.Logf("lobby: %s #%d kind %v %q", m.Time.Format("15:04:05.000"), m.ID, m.Kind, m.Body)
		}
	}
}

// cycleLine finds one cycle's messages on a screen.
var cycleLine = regexp.MustCompile(`(alice|bob): ([ab]\d+\.\d)\b`)

// cycleLines is the messages of cycle on screen, in the order shown.
func cycleLines(screen string, cycle int) []string {
	var out []string
	for _, m := range cycleLine.FindAllStringSubmatch(screen, -1) {
		if strings.HasPrefix(m[2][1:], fmt.Sprint(cycle, ".")) {
			out = append(out, m[2])
		}
	}
	return out
}
