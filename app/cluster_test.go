package app

import (
	"crypto/rand"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

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
