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
	db := pgtest.FreshURL(t)
	subject := "test." + strings.ToLower(rand.Text())
	cfg1 := clusterConfig(t, db, subject)
	nats, _ := strings.CutPrefix(cfg1.NatsURL, "nats://")
	proxy := newCutProxy(t, nats)
	cfg1.NatsURL = proxy.url()
	n1, n2 := startServer(t, cfg1), startServer(t, clusterConfig(t, db, subject))
	chatThroughAnOutage(t, n1, n2, proxy.cutOff, proxy.heal)
}
