package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
	"messaging/store/postgres/pgtest"
)

// The load benchmark's parameters (see BenchmarkLoad); the defaults suit a
// 2-core machine.
var (
	loadSessions = flag.Int("load.sessions", 300, "load benchmark: chat sessions open at once")
	loadSenders  = flag.Int("load.senders", 20, "load benchmark: sessions that post messages")
	loadRate     = flag.Float64("load.rate", 10, "load benchmark: messages per second, all senders together")
	loadDuration = flag.Duration("load.duration", 60*time.Second, "load benchmark: how long the senders post")
	loadProbes   = flag.Int("load.probes", 3, "load benchmark: sessions that watch their screen for each message")
	loadIdle     = flag.Duration("load.idle", 10*time.Second, "load benchmark: how long the idle server is measured")
	// Each account costs an argon2id hash at signup (25-50 ms of CPU,
	// at most one per core at a time), and with -load.auth password every
	// session costs another one at login whatever its account, so
	// sessions share accounts: the server allows several sessions per
	// account. Join and leave notices then appear once per account, not
	// once per session.
	loadAccounts = flag.Int("load.accounts", 60, "load benchmark: accounts the sessions share (at most -load.sessions)")
	// A key login verifies one ed25519 signature (about 2.6 ms of the
	// server's CPU, see BenchmarkLogin), a password login hashes with
	// argon2id (about 27 ms): with passwords, thousands of logins are
	// mostly hashing.
	loadAuth     = flag.String("load.auth", "key", "load benchmark: how the sessions log in: key (one ed25519 key per account, added with /key add) or password")
	loadParallel = flag.Int("load.parallel", 20, "load benchmark: logins in flight at once")
	// With a directory, the server profiles itself (PPROF_ADDR) and the
	// benchmark saves idle.pprof and send.pprof there.
	loadProfile = flag.String("load.profile", "", "load benchmark: directory for the server's CPU profiles of the idle and sending windows")
	// Conversations: more in every sidebar, or the sessions split into
	// channels (see BenchmarkLoad).
	loadChannels = flag.Int("load.channels", 0, "load benchmark: channels (#l00...) every session joins before it goes back to #lobby, where the messages are posted")
	loadSpread   = flag.Int("load.spread", 0, "load benchmark: channels (#s00...) the sessions are split into, each sender posting in its own and each probe watching one (0: all in #lobby)")
	// Several nodes share a PostgreSQL database and a NATS (see
	// BenchmarkLoad); one node can run on PostgreSQL too, to compare the
	// stores.
	loadNodes    = flag.Int("load.nodes", 1, "load benchmark: server nodes the sessions are spread over; more than 1 needs PostgreSQL ("+pgtest.Env+") and NATS ("+natsEnv+")")
	loadPostgres = flag.Bool("load.postgres", false, "load benchmark: the nodes' store is PostgreSQL ("+pgtest.Env+"), not SQLite (implied by -load.nodes above 1)")
)

const (
	// loadWidth and loadHeight are every session's terminal size.
	loadWidth, loadHeight = 100, 30
	// loadSignupParallel bounds the signups in flight (-load.parallel
	// bounds the logins).
	loadSignupParallel = 8
	// loadWait bounds each wait of the benchmark (a login on a busy
	// server, the senders' last writes, the clients' ends).
	loadWait = 60 * time.Second
	// loadGrace is how long after the last message the probes may take
	// to see every message; a message not seen by then is lost.
	loadGrace = 10 * time.Second
	// loadQuiet is how long the sessions' output must pause before the
	// idle measurement starts (the join notices of the last logins are
	// still being drawn when they are all connected).
	loadQuiet = time.Second
	// After the connect phase the server is idle again at the start of
	// the first settleWindow in which it used less than settleShare of
	// one core; its CPU is read every settlePoll, for at most
	// settleLimit.
	settleWindow = 500 * time.Millisecond
	settleShare  = 0.05
	settlePoll   = 100 * time.Millisecond
	settleLimit  = 120 * time.Second
	// saturated is the share of all the machine's cores that the server
	// and the load tool together must use in a phase for the table to say
	// that the phase waited for the CPU.
	saturated = 0.9
	// loadMaxChannels bounds -load.channels and -load.spread: their
	// channels are named with two digits.
	loadMaxChannels = 100
	// loadPassword is every account's password.
	loadPassword = "password1"
	// userHZ is the unit of utime and stime in /proc/<pid>/stat: always
	// 100 per second on Linux as seen from user space.
	userHZ = 100
)

// loadToken is the unique token each message starts with.
var loadToken = regexp.MustCompile(`\bt(\d{6})\b`)

// loadParams are the benchmark's flags, checked.
type loadParams struct {
	sessions, senders, probes, accounts int
	channels, spread                    int
	parallel                            int
	auth                                string // "key" or "password"
	rate                                float64
	duration, idle                      time.Duration
	nodes                               int
	postgres                            bool // the store is PostgreSQL: always with several nodes
}

func loadParamsFromFlags() (loadParams, error) {
	p := loadParams{
		sessions: *loadSessions, senders: *loadSenders, probes: *loadProbes,
		accounts: min(*loadAccounts, *loadSessions), rate: *loadRate,
		duration: *loadDuration, idle: *loadIdle,
		channels: *loadChannels, spread: *loadSpread,
		parallel: *loadParallel, auth: *loadAuth,
		nodes: *loadNodes, postgres: *loadPostgres || *loadNodes > 1,
	}
	var problems []string
	if p.auth != "key" && p.auth != "password" {
		problems = append(problems, fmt.Sprintf("-load.auth must be key or password, not %q", p.auth))
	}
	if p.parallel < 1 {
		problems = append(problems, "-load.parallel must be at least 1")
	}
	if p.channels < 0 || p.channels > loadMaxChannels || p.spread < 0 || p.spread > loadMaxChannels {
		problems = append(problems, fmt.Sprintf("-load.channels and -load.spread must be between 0 and %d", loadMaxChannels))
	}
	if p.spread > 0 {
		// Memberships are per account: an account's sessions all share
		// its channel, so the accounts are a multiple of the channels
		// (rounded up, or down when there are not enough sessions) and
		// account a is in channel a mod spread. Every channel has a
		// sender, and each probe is in a channel of its own.
		p.accounts = (p.accounts + p.spread - 1) / p.spread * p.spread
		if p.accounts > p.sessions {
			p.accounts = p.sessions / p.spread * p.spread
		}
		p.senders = max(p.senders, p.spread)
		if p.probes < 3 || p.probes > p.spread {
			problems = append(problems, "with -load.spread, -load.probes must be at least 3 and at most -load.spread (one probe per channel)")
		}
	}
	if p.senders < 1 || p.probes < 1 || p.senders+p.probes > p.sessions {
		problems = append(problems, "need at least one sender and one probe, and -load.sessions >= -load.senders + -load.probes")
	}
	if p.accounts < 1 {
		problems = append(problems, "-load.accounts must be at least 1")
	}
	if p.nodes < 1 {
		problems = append(problems, "-load.nodes must be at least 1")
	}
	if p.rate <= 0 || p.duration <= 0 || p.idle <= 0 {
		problems = append(problems, "-load.rate, -load.duration and -load.idle must be positive")
	}
	if len(problems) > 0 {
		return p, errors.New(strings.Join(problems, "; "))
	}
	return p, nil
}

// account is the account session i logs in as. Senders (the first
// sessions) get accounts of their own while there are enough.
func (p loadParams) account(i int) string {
	return loadAccountName(i % p.accounts)
}

// channel is the channel of -load.spread session i is in, by its
// account; 0 without -load.spread (everyone posts and reads in #lobby).
func (p loadParams) channel(i int) int {
	if p.spread == 0 {
		return 0
	}
	return i % p.accounts % p.spread
}

// node is the node session i connects to, 0 to p.nodes-1: round-robin
// within its channel, the channel's first member on node channel mod
// nodes, the next on the next node, and so on; without -load.spread, i mod
// nodes. (Plain i mod nodes would put every member of a channel on one
// node whenever -load.spread is a multiple of -load.nodes, since session i
// is in channel i mod spread: nothing would cross between the nodes.) The
// senders, the first sessions, and the probes, the last, are spread too.
func (p loadParams) node(i int) int {
	return (p.channel(i) + i/max(p.spread, 1)) % p.nodes
}

// joins are the channels session i joins once its screen is up, in order;
// it stays in the last one.
func (p loadParams) joins(i int) []string {
	var names []string
	for c := range p.channels {
		names = append(names, fmt.Sprintf("#l%02d", c))
	}
	switch {
	case p.spread > 0:
		names = append(names, fmt.Sprintf("#s%02d", p.channel(i)))
	case p.channels > 0:
		names = append(names, chat.Lobby)
	}
	return names
}

// members counts the sessions in each channel of p.channel.
func (p loadParams) members() []int {
	n := make([]int, max(p.spread, 1))
	for i := range p.sessions {
		n[p.channel(i)]++
	}
	return n
}

func loadAccountName(i int) string {
	return fmt.Sprintf("load%03d", i)
}

// BenchmarkLoad drives the real server binary with real SSH clients, as
// issue 4 describes. It runs only when asked for, once:
//
//	go test -run '^$' -bench Load -benchtime 1x ./app/
//	go test -run '^$' -bench Load -benchtime 1x ./app/ -load.sessions 30 -load.duration 10s
//	go test -run '^$' -bench Load -benchtime 1x ./app/ -load.channels 10
//	go test -run '^$' -bench Load -benchtime 1x ./app/ -load.sessions 1000 -load.spread 50 -load.probes 50
//	go test -run '^$' -bench Load -benchtime 1x ./app/ -load.sessions 5000 -load.rate 1 -load.senders 10
//	go test -run '^$' -bench Load -benchtime 1x ./app/ -load.nodes 3   # with MESSAGING_TEST_POSTGRES and MESSAGING_TEST_NATS
//
// It builds the server, starts it on 127.0.0.1 with a fresh database and
// every abuse limit and channel limit off, creates -load.accounts
// accounts, opens -load.sessions chat screens (xterm-256color, 100x30,
// -load.parallel logins at a time) and has each type its /join commands
// (below), waits for the server to settle, measures the idle server for
// -load.idle, then has -load.senders of the sessions type messages at
// -load.rate in all for -load.duration. The last -load.probes sessions
// read their output through a terminal emulator and note when each
// message's token first shows on screen; the others only count the bytes
// they read. With -load.profile DIR the server profiles itself
// (PPROF_ADDR) and the benchmark saves its CPU profiles of the idle and
// sending windows, its heap and its goroutines in DIR.
//
// Logins, -load.auth:
//   - key (the default): the benchmark makes an ed25519 key for each
//     account (a key logs in to one account at most), and the signup
//     connection, already logged in, opens a chat screen and adds it with
//     /key add, as a user pastes it; the sessions then log in with their
//     account's key: one signature check each;
//   - password: the sessions log in with the password: one argon2id hash
//     each, which makes thousands of logins mostly hashing.
//
// Conversations:
//   - -load.channels N: once its screen is up, every session joins the
//     same N channels, #l00 to #l(N-1), one /join at a time (each waits
//     for the header to show the channel), then goes back to #lobby with
//     /join #lobby (or, with -load.spread, on to its channel): every
//     sidebar lists N+1 conversations, and the messages are still posted
//     and read in #lobby, so that the figures compare with the one-room
//     runs of the commits before channels.
//   - -load.spread N: the sessions are split into N channels, #s00 to
//     #s(N-1), and stay in theirs. Memberships are per account, so the
//     accounts are made a multiple of N (rounded up, or down if there are
//     fewer sessions) and account a, with all its sessions, is in channel
//     a mod N (session i, then, in channel i mod N). The senders are at
//     least N, so that each channel has one; each posts in its own
//     channel, the -load.rate shared by all of them. The probes (3 to N)
//     are in different channels: each must see every message of its own
//     channel and never one of another.
//
// Nodes:
//   - -load.nodes N, above 1: N server processes share a fresh PostgreSQL
//     schema (pgtest.FreshURL: MESSAGING_TEST_POSTGRES) and a NATS
//     (MESSAGING_TEST_NATS, on subjects of their own); the benchmark is
//     skipped without either. Session i connects to node
//     loadParams.node(i): i mod N, or with -load.spread round-robin within
//     each channel, so that every channel has members on every node. The
//     senders and the probes are sessions like the others, spread alike:
//     a probe times messages from senders on its own node and on the
//     others. Signup i goes to node i mod N. With -load.profile each node
//     saves its own files, node1-send.pprof and so on;
//   - -load.postgres: the store is PostgreSQL, as above; with one node,
//     without NATS, to compare with SQLite.
//
// The server's figures below are summed over the nodes (CPU, RSS; % of
// one core); on PostgreSQL a line gives the nodes and the store, and with
// several nodes each node's sessions, CPU in each phase and RSS, and the
// delivery p99 from a sender on the probe's node and from one on another
// (other-node-p99-ms).
//
// It reports:
//
//   - connect-p50-ms, connect-p99-ms: dial, authentication and the first
//     screen that says who is signed in (the /join commands come after,
//     and are not counted); the table also gives the dial and the
//     authentication alone;
//   - connect-cpu-ms/session: the server's CPU over the connect phase,
//     from the first dial until every session is on screen and has joined
//     its channels, divided by the sessions: logins, first screens, joins,
//     and the redraws of the sessions already there (BenchmarkLogin gives
//     the logins' share);
//   - connect-KB/client: the bytes all sessions read from their start to
//     the end of the connect phase, divided by the sessions (the table
//     adds what they read after it, until the output pauses loadQuiet);
//   - settle-s: from the end of the connect phase (the last session
//     ready) until the server is idle again: the start of the first
//     settleWindow in which it used less than settleShare of one core, its
//     CPU read every settlePoll; NaN, and a note, if that does not come
//     within settleLimit. With thousands of sessions the idle upkeep
//     alone can come near settleShare (idle-cpu-% tells): the figure then
//     says little;
//   - connect-client-cpu-%: the load tool's own CPU (this process: the
//     SSH clients and the emulators) over the connect phase, in % of one
//     core;
//   - idle-cpu-%: the server's CPU (user and system, all threads, from
//     /proc/<pid>/stat) over the idle window, in % of one core;
//   - rss-KB/session: the server's VmRSS at the end of the idle window
//     minus before the first session, per session. The baseline is taken
//     once the server has given back the signups' argon2id memory (19 MiB
//     a hash; see hashQuiet);
//   - p50-ms ... max-ms: over every probe and every message of the
//     probe's conversation, from the sender's write to the token on the
//     probe's screen;
//   - lost: messages some probe of their conversation never received
//     within loadGrace of the end. A probe at 100x30 sees a message only
//     while it is on screen, so it looks at every read; a message drawn
//     and scrolled away within one frame is found in the bytes instead,
//     and counted as delivered;
//   - cross (with -load.spread only): messages a probe received, on
//     screen or in its bytes, from a channel it is not in; the benchmark
//     fails if there is one;
//   - cpu-us/msg/session: the server's CPU from the first message until
//     the probes have seen the last one, divided by the deliveries (each
//     message times the sessions in its conversation: messages × sessions
//     in #lobby): everything the server did meanwhile, storing, echoing
//     and the other sessions' sidebars included;
//   - marginal-cpu-us/msg/session: the same less the idle CPU rate over
//     the sending time: what the messages cost beyond the sessions'
//     upkeep (keepalives, and whatever else an idle server does);
//   - bytes/session/msg: bytes all sessions read over the same time,
//     divided by the same deliveries;
//   - send-client-cpu-%: the load tool's own CPU over the same time.
//
// The server and the clients share the machine: the figures are the
// server's own, but its latency also pays for the clients' CPU. When, in
// the connect phase or while sending, the server and the load tool
// together used at least saturated of all the cores, the table says so:
// the load tool was then the bottleneck as much as the server, and the
// latencies include waiting for a core.
//
// At thousands of sessions: every session but the probes drops its
// emulator once ready (the load tool keeps no screen per session), each
// session is an open file in the load tool and another in the server
// (ulimit -n bounds each process), and each wait is bounded per session
// (loadWait), not for the whole run.
func BenchmarkLoad(b *testing.B) {
	if raceEnabled {
		b.Skip("the load benchmark measures the server, not the race detector")
	}
	p, err := loadParamsFromFlags()
	if err != nil {
		b.Fatal(err)
	}
	env := []string{"MAX_CHANNELS=0", "CHANNELS_PER_USER=0"}
	if *loadProfile != "" {
		env = append(env, "PPROF_ADDR=127.0.0.1:0")
	}
	// Checked before the build: without them there is nothing to run.
	if p.postgres && os.Getenv(pgtest.Env) == "" {
		asked := "-load.postgres"
		if p.nodes > 1 {
			asked = fmt.Sprintf("-load.nodes %d", p.nodes)
		}
		b.Skipf("%s not set: %s needs a PostgreSQL server", pgtest.Env, asked)
	}
	nats := os.Getenv(natsEnv)
	if p.nodes > 1 && nats == "" {
		b.Skipf("%s not set: -load.nodes %d needs a NATS server", natsEnv, p.nodes)
	}
	bin := buildServer(b)
	if p.postgres {
		// The schema is dropped after the nodes are killed (cleanups run
		// last first).
		env = append(env, "DATABASE="+pgtest.FreshURL(b))
	}
	if p.nodes > 1 {
		env = append(env, "NATS_URL="+nats, "NATS_SUBJECT=load."+strings.ToLower(rand.Text()))
	}
	// One at a time: the first migrates the database.
	nodes := make([]*serverProcess, p.nodes)
	pids, addrs := make([]int, p.nodes), make([]string, p.nodes)
	for k := range nodes {
		nodes[k] = startServerProcess(b, bin, b.TempDir(), env...)
		pids[k], addrs[k] = nodes[k].cmd.Process.Pid, nodes[k].addr
	}
	// serverLogs is the end of each node's log, for a failure.
	serverLogs := func() string {
		if len(nodes) == 1 {
			return tail(nodes[0].log.String())
		}
		var s strings.Builder
		for k, srv := range nodes {
			fmt.Fprintf(&s, "node %d:\n%s\n", k+1, tail(srv.log.String()))
		}
		return s.String()
	}
	// nodeFile names a node's profile: name itself with one node,
	// node1-name, node2-name... with several.
	nodeFile := func(k int, name string) string {
		if len(nodes) > 1 {
			name = fmt.Sprintf("node%d-%s", k+1, name)
		}
		return filepath.Join(*loadProfile, name)
	}
	profile := func(name string, d time.Duration) func() {
		if *loadProfile == "" {
			return func() {}
		}
		var waits []func()
		for k, srv := range nodes {
			waits = append(waits, profileServer(b, srv, nodeFile(k, name), d))
		}
		return func() {
			for _, wait := range waits {
				wait()
			}
		}
	}
	var notes []string // what went unusually, for the table

	// saturation notes a phase in which the server and the load tool
	// together kept the machine's cores busy: its latencies include
	// waiting for a core.
	saturation := func(phase string, server, client, wall time.Duration) {
		s, c := 100*server.Seconds()/wall.Seconds(), 100*client.Seconds()/wall.Seconds()
		if s+c >= saturated*100*float64(runtime.NumCPU()) {
			notes = append(notes, fmt.Sprintf("the machine was saturated during %s (server %.0f%%, load tool %.0f%% of a core, %d cores in all): latency includes waiting for the CPU",
				phase, s, c, runtime.NumCPU()))
		}
	}

	// 1. Accounts, and their keys.
	began := time.Now()
	logins, err := signUpAll(b, addrs, p)
	if err != nil {
		b.Fatalf("sign up: %v; server log:\n%s", err, serverLogs())
	}
	signupTime := time.Since(began)
	nodesRSSBefore := settledRSS(b, pids)
	rssBefore := sum(nodesRSSBefore)

	// 2. Sessions, the probes last: the connect phase, from the first
	// dial until every session is on screen and has joined its channels.
	var (
		sessions     []*loadSession
		connectTimes []time.Duration
		lastReady    time.Time
	)
	connectClientBefore := mustCPU(b, "self")
	nodesConnectCPU, connectWall := cpusDuring(b, pids, func() {
		sessions, connectTimes, err = connectAll(addrs, p, logins)
		lastReady = time.Now()
	})
	connectCPU := sum(nodesConnectCPU)
	connectClientCPU := mustCPU(b, "self") - connectClientBefore
	// What the sessions read from their start, first screens included.
	connectBytes := totalBytes(sessions)
	b.Cleanup(func() { closeAll(b, sessions) }) // before the server is killed
	if err != nil {
		b.Fatalf("opened %d of %d sessions: %v; server log:\n%s", len(sessions), p.sessions, err, serverLogs())
	}
	saturation("the connect phase", connectCPU, connectClientCPU, connectWall)
	senders, probes := sessions[:p.senders], sessions[p.sessions-p.probes:]
	channels := make([]int, len(senders)) // where each sender posts
	for i := range senders {
		channels[i] = p.channel(i)
	}

	// 3. Idle: once the server's CPU has settled and the sessions' output
	// has paused.
	settleTime, settled := settle(b, pids, lastReady)
	if !settled {
		notes = append(notes, fmt.Sprintf("the server never used under %.0f%% of a core for %v within %v of the last login", 100*settleShare, settleWindow, settleLimit))
	}
	if !waitQuiet(sessions, loadQuiet, loadWait) {
		notes = append(notes, fmt.Sprintf("output never paused %v before idle", loadQuiet))
	}
	quietBytes := totalBytes(sessions) - connectBytes // after the connect phase, until the pause
	// Idle means settled: the logins' hash memory given back (hashQuiet).
	settledRSS(b, pids)
	idleProfiled := profile("idle.pprof", p.idle)
	nodesIdleCPU, idleWall := cpusDuring(b, pids, func() { time.Sleep(p.idle) }) // a measurement window, not a settle
	idleCPU := sum(nodesIdleCPU)
	idleProfiled()
	if *loadProfile != "" {
		for k, srv := range nodes {
			saveServerProfile(b, srv, "heap", nodeFile(k, "heap.pprof"))
			saveServerProfile(b, srv, "heap?debug=1", nodeFile(k, "heap.txt"))
			saveServerProfile(b, srv, "goroutine?debug=1", nodeFile(k, "goroutines.txt"))
		}
	}
	nodesRSSIdle := rssOf(b, pids)
	rssIdle := sum(nodesRSSIdle)

	// 4. Traffic.
	bytesBefore := totalBytes(sessions)
	clientBefore := mustCPU(b, "self")
	var sent *sendLog
	sendProfiled := profile("send.pprof", p.duration)
	defer sendProfiled()
	nodesSendCPU, sendWall := cpusDuring(b, pids, func() {
		sent = sendAll(senders, channels, p.rate, p.duration)
		if !pollUntil(loadGrace, func() bool { return allSeen(probes, sent) }) {
			notes = append(notes, fmt.Sprintf("not all seen %v after the end", loadGrace))
		}
	})
	sendCPU := sum(nodesSendCPU)
	clientCPU := mustCPU(b, "self") - clientBefore
	bytesDuring := totalBytes(sessions) - bytesBefore
	saturation("sending", sendCPU, clientCPU, sendWall)
	if sent.err != nil {
		b.Errorf("sending: %v", sent.err)
	}
	for k, srv := range nodes {
		select {
		case <-srv.exited:
			if len(nodes) == 1 {
				b.Fatalf("the server exited (%v); log:\n%s", srv.exitErr, tail(srv.log.String()))
			}
			b.Fatalf("node %d exited (%v); logs:\n%s", k+1, srv.exitErr, serverLogs())
		default:
		}
	}

	// 5. Figures.
	got := deliveries(probes, sent)
	if got.cross > 0 {
		b.Errorf("%d messages reached a probe outside their channel: %s", got.cross, strings.Join(got.crossed, "; "))
	}
	if p.nodes > 1 && len(got.remote) == 0 {
		notes = append(notes, "no probe timed a message from a sender on another node (see loadParams.node)")
	}
	messages := len(sent.at)
	members := p.members()
	reached := 0 // deliveries: each message times the sessions in its conversation
	for _, c := range sent.channel {
		reached += members[c]
	}
	connect := loadStats(connectTimes)
	var loginTimes []time.Duration
	for _, ls := range sessions {
		loginTimes = append(loginTimes, ls.login)
	}
	loginStats := loadStats(loginTimes)
	delivery := loadStats(got.latencies)
	perMsg, marginalPerMsg, bytesPerMsg := math.NaN(), math.NaN(), math.NaN()
	if reached > 0 {
		perMsg = sendCPU.Seconds() * 1e6 / float64(reached)
		// What the messages cost beyond the idle sessions' own upkeep
		// over the same time.
		idleShare := idleCPU.Seconds() / idleWall.Seconds() * sendWall.Seconds()
		marginalPerMsg = (sendCPU.Seconds() - idleShare) * 1e6 / float64(reached)
		bytesPerMsg = float64(bytesDuring) / float64(reached)
	}
	idlePercent := 100 * idleCPU.Seconds() / idleWall.Seconds()
	sendPercent := 100 * sendCPU.Seconds() / sendWall.Seconds()
	sendClientPercent := 100 * clientCPU.Seconds() / sendWall.Seconds()
	rssPerSession := float64(rssIdle-rssBefore) / float64(p.sessions)
	connectPerSession := connectCPU.Seconds() * 1000 / float64(p.sessions)
	connectPercent := 100 * connectCPU.Seconds() / connectWall.Seconds()
	connectClientPercent := 100 * connectClientCPU.Seconds() / connectWall.Seconds()
	connectKB := float64(connectBytes) / 1024 / float64(p.sessions)
	quietKB := float64(quietBytes) / 1024 / float64(p.sessions)
	settleSeconds := math.NaN()
	if settled {
		settleSeconds = settleTime.Seconds()
	}

	b.ReportMetric(connect.p50, "connect-p50-ms")
	b.ReportMetric(connect.p99, "connect-p99-ms")
	b.ReportMetric(connectPerSession, "connect-cpu-ms/session")
	b.ReportMetric(connectKB, "connect-KB/client")
	b.ReportMetric(settleSeconds, "settle-s")
	b.ReportMetric(connectClientPercent, "connect-client-cpu-%")
	b.ReportMetric(delivery.p50, "p50-ms")
	b.ReportMetric(delivery.p95, "p95-ms")
	b.ReportMetric(delivery.p99, "p99-ms")
	b.ReportMetric(delivery.max, "max-ms")
	b.ReportMetric(float64(got.lost), "lost")
	if p.spread > 0 {
		b.ReportMetric(float64(got.cross), "cross")
	}
	b.ReportMetric(perMsg, "cpu-us/msg/session")
	b.ReportMetric(marginalPerMsg, "marginal-cpu-us/msg/session")
	b.ReportMetric(bytesPerMsg, "bytes/session/msg")
	b.ReportMetric(idlePercent, "idle-cpu-%")
	b.ReportMetric(rssPerSession, "rss-KB/session")
	b.ReportMetric(sendClientPercent, "send-client-cpu-%")
	if p.nodes > 1 {
		b.ReportMetric(loadStats(got.remote).p99, "other-node-p99-ms")
	}

	// One Log of at most 8 lines: the testing package cuts a benchmark's
	// output at its tenth line, and buildServer's line comes first. (On
	// PostgreSQL the nodes' line is the eighth, and the notes go on it.)
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	var t strings.Builder
	where := "all in #lobby"
	if p.channels > 0 {
		where = fmt.Sprintf("all in #lobby and %d other channels", p.channels)
	}
	if p.spread > 0 {
		where = fmt.Sprintf("in %d channels of %d-%d sessions", p.spread, slices.Min(members), slices.Max(members))
	}
	auth, accounts := "password logins", "accounts"
	if p.auth == "key" {
		auth, accounts = "key logins (an ed25519 key per account)", "accounts and keys"
	}
	fmt.Fprintf(&t, "%d sessions (%d accounts) at %dx%d, %s; %s; %d senders, %.3g msg/s for %v, %d probes; %d CPUs; %s in %s, sessions and joins in %s",
		p.sessions, p.accounts, loadWidth, loadHeight, where, auth, p.senders, p.rate, p.duration, p.probes, runtime.NumCPU(), accounts, ms(signupTime), ms(connectWall))
	fmt.Fprintf(&t, "\n  connect p50 / p99 / max       %.0f / %.0f / %.0f ms (dial, %s auth, first screen; %d at a time); dial and auth alone %.0f / %.0f / %.0f ms",
		connect.p50, connect.p99, connect.max, p.auth, p.parallel, loginStats.p50, loginStats.p99, loginStats.max)
	fmt.Fprintf(&t, "\n  connect phase                 server %.2f ms CPU/session (%.0f%% of a core); %.1f KB/client, then %.1f until the output paused; server idle %.2f s after the last login; load tool %.0f%% of a core",
		connectPerSession, connectPercent, connectKB, quietKB, settleSeconds, connectClientPercent)
	fmt.Fprintf(&t, "\n  idle                          %.1f%% of a core over %s; RSS %.1f -> %.1f MB, %.0f KB/session",
		idlePercent, ms(idleWall), float64(rssBefore)/1024, float64(rssIdle)/1024, rssPerSession)
	fmt.Fprintf(&t, "\n  delivery p50 / p95 / p99 / max %.1f / %.1f / %.1f / %.1f ms (%d messages, %d deliveries, %d samples)",
		delivery.p50, delivery.p95, delivery.p99, delivery.max, messages, reached, len(got.latencies))
	fmt.Fprintf(&t, "\n  lost                          %d (samples timed from the bytes, the token scrolled past between frames: %d)", got.lost, got.scrolled)
	if p.spread > 0 {
		fmt.Fprintf(&t, "; from another channel: %d", got.cross)
	}
	fmt.Fprintf(&t, "\n  sending                       server %.1f µs CPU/msg/session, %.1f beyond the idle upkeep (%.0f%% of a core over %s); %.0f bytes/session/msg; load tool %.0f%% of a core",
		perMsg, marginalPerMsg, sendPercent, ms(sendWall), bytesPerMsg, sendClientPercent)
	notesLabel := "\n  notes                         "
	if p.postgres {
		t.WriteString(nodesLine(p, sessions, got, shares(nodesConnectCPU, connectWall), shares(nodesIdleCPU, idleWall), shares(nodesSendCPU, sendWall), nodesRSSIdle))
		notesLabel = "; notes: "
	}
	if len(notes) > 0 {
		fmt.Fprintf(&t, "%s%s", notesLabel, strings.Join(notes, "; "))
	}
	b.Log(t.String())
}

// nodesLine is the table's line on the nodes: how many, on which store,
// and with several, each one's sessions, its CPU in the connect, idle and
// sending phases (% of a core), its RSS at the end of the idle window, and
// the delivery p99 from a sender on the probe's own node and from one on
// another node.
func nodesLine(p loadParams, sessions []*loadSession, got delivered, connect, idle, sending []float64, rss []int64) string {
	if p.nodes == 1 {
		return "\n  nodes                         1 on PostgreSQL (no NATS)"
	}
	on, senders, probes := make([]int, p.nodes), make([]int, p.nodes), make([]int, p.nodes)
	for i, ls := range sessions {
		on[ls.node]++
		if i < p.senders {
			senders[ls.node]++
		}
		if ls.probe {
			probes[ls.node]++
		}
	}
	mb := make([]float64, p.nodes)
	for k := range mb {
		mb[k] = float64(rss[k]) / 1024
	}
	local, remote := loadStats(got.local), loadStats(got.remote)
	return fmt.Sprintf("\n  nodes                         %d on PostgreSQL and NATS; sessions %s, senders %s, probes %s; server CPU connect %s, idle %s, sending %s%% of a core; RSS %s MB; delivery p99 on the sender's node %.1f ms (%d samples), on another %.1f ms (%d)",
		p.nodes, slashed("%d", on), slashed("%d", senders), slashed("%d", probes),
		slashed("%.0f", connect), slashed("%.1f", idle), slashed("%.1f", sending), slashed("%.1f", mb),
		local.p99, len(got.local), remote.p99, len(got.remote))
}

// slashed writes one figure per node, separated by slashes.
func slashed[T int | float64](format string, figures []T) string {
	s := make([]string, len(figures))
	for k, f := range figures {
		s[k] = fmt.Sprintf(format, f)
	}
	return strings.Join(s, " / ")
}

// shares are each node's CPU over wall, in % of one core.
func shares(cpu []time.Duration, wall time.Duration) []float64 {
	s := make([]float64, len(cpu))
	for k, c := range cpu {
		s[k] = 100 * c.Seconds() / wall.Seconds()
	}
	return s
}

// settle reads the servers' CPU every settlePoll, for at most settleLimit,
// until a window of at least settleWindow in which they used less than
// settleShare of one core in all, and returns how long after since that
// window began; false if there was none in time.
func settle(tb testing.TB, pids []int, since time.Time) (time.Duration, bool) {
	type sample struct {
		at  time.Time
		cpu time.Duration
	}
	samples := []sample{{time.Now(), sum(cpuOf(tb, pids))}}
	tick := time.NewTicker(settlePoll)
	defer tick.Stop()
	deadline := time.After(settleLimit)
	for {
		select {
		case <-tick.C:
		case <-deadline:
			return 0, false
		}
		last := sample{time.Now(), sum(cpuOf(tb, pids))}
		samples = append(samples, last)
		// Keep the latest sample at least settleWindow old as the first.
		for len(samples) > 2 && last.at.Sub(samples[1].at) >= settleWindow {
			samples = samples[1:]
		}
		first := samples[0]
		if wall := last.at.Sub(first.at); wall >= settleWindow && float64(last.cpu-first.cpu) < settleShare*float64(wall) {
			return first.at.Sub(since), true
		}
	}
}

// settledRSS is each server's RSS once none is falling: a server gives
// the password hashes' scratch memory back hashQuiet after the last hash,
// at most once per hashFreeEvery.
func settledRSS(tb testing.TB, pids []int) []int64 {
	low, since := rssOf(tb, pids), time.Now()
	pollUntil(3*hashFreeEvery, func() bool {
		for k, rss := range rssOf(tb, pids) {
			if rss < low[k]*99/100 {
				low[k], since = rss, time.Now()
			}
		}
		return time.Since(since) > hashFreeEvery+hashQuiet
	})
	return low
}

// profilerLine is the server's log line once its profiler listens.
var profilerLine = regexp.MustCompile(`msg="profiler listening" addr=(127\.0\.0\.1:\d+)`)

// profileServer starts fetching a CPU profile of the server for d into
// file; the function it returns waits for it.
func profileServer(tb testing.TB, srv *serverProcess, file string, d time.Duration) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		saveServerProfile(tb, srv, fmt.Sprintf("profile?seconds=%d", max(int(d.Seconds()), 1)), file)
	}()
	return func() { <-done }
}

// saveServerProfile saves one of the server's /debug/pprof/ pages.
func saveServerProfile(tb testing.TB, srv *serverProcess, page, file string) {
	m := profilerLine.FindStringSubmatch(srv.log.String())
	if m == nil {
		tb.Errorf("the server's profiler is not listening; log:\n%s", tail(srv.log.String()))
		return
	}
	resp, err := http.Get("http://" + m[1] + "/debug/pprof/" + page)
	if err == nil {
		var data []byte
		data, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err == nil {
			err = os.WriteFile(file, data, 0o644)
		}
	}
	if err != nil {
		tb.Errorf("profile %s: %v", page, err)
	}
}

// signUpAll creates p.accounts accounts, load000, load001, ...,
// through the signup dialogue, loadSignupParallel at a time, account i on
// the node at addrs[i mod len(addrs)], and returns how each logs in, by
// account name. With p.auth "key", each account gets a key of its own (a
// key logs in to one account at most): the signup connection, already
// logged in as the new account, opens a chat screen and adds the key with
// /key add, as a user pastes it. Each connection is hung up once done.
func signUpAll(tb testing.TB, addrs []string, p loadParams) (map[string]gossh.AuthMethod, error) {
	logins := make(map[string]gossh.AuthMethod, p.accounts)
	keys := make([]string, p.accounts) // each account's authorized_keys line; none for passwords
	for i := range p.accounts {
		logins[loadAccountName(i)] = gossh.Password(loadPassword)
		if p.auth == "key" {
			var signer gossh.Signer
			signer, keys[i] = newKey(tb, "ed25519", 0, "")
			logins[loadAccountName(i)] = gossh.PublicKeys(signer)
		}
	}
	err := inParallel(p.accounts, loadSignupParallel, func(i int) error {
		name := loadAccountName(i)
		k := &scriptedKeyboard{answers: [][]string{{name, loadPassword, loadPassword}}}
		c, err := dialLoad(addrs[i%len(addrs)], "signup", gossh.KeyboardInteractive(k.challenge))
		if err != nil {
			return fmt.Errorf("signup %s: %w", name, err)
		}
		if keys[i] == "" {
			return c.Close()
		}
		ls, err := newLoadSession(c, name, false, 0)
		if err != nil {
			return err
		}
		defer ls.close()
		added := func(screen string) bool { return strings.Contains(screen, "Key added: ") }
		if err := ls.await("Key added", added, "\x1b[200~/key add "+keys[i]+"\x1b[201~\r"); err != nil {
			return fmt.Errorf("/key add for %s: %w", name, err)
		}
		return nil
	})
	return logins, err
}

// inParallel calls f(0) ... f(n-1), at most parallel at a time, and
// returns the first error; after one, the calls not yet started are
// skipped.
func inParallel(n, parallel int, f func(i int) error) error {
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		once   sync.Once
		first  error
	)
	next := make(chan int)
	for range min(parallel, n) {
		wg.Go(func() {
			for i := range next {
				if failed.Load() {
					continue
				}
				if err := f(i); err != nil {
					failed.Store(true)
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// dialLoad connects and authenticates, within loadWait.
func dialLoad(addr, user string, auth gossh.AuthMethod) (*gossh.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, loadWait)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(loadWait)) // bounds the handshake
	cfg := clientConfig(user, auth)
	cfg.Timeout = loadWait
	c, chans, reqs, err := gossh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return gossh.NewClient(c, chans, reqs), nil
}

// loadSession is one chat session of the benchmark. Until its screen shows
// who is signed in and it has joined its channels, its output goes through
// a terminal emulator; then a probe keeps the emulator and notes when each
// token first shows, and any other session only counts the bytes it reads.
type loadSession struct {
	client  *gossh.Client
	stdin   io.Writer
	probe   bool
	channel int           // the channel of -load.spread it is in (see loadParams.channel)
	node    int           // the node it is connected to (see loadParams.node)
	ended   chan struct{} // closed when the session's output ends
	bytes   atomic.Int64  // bytes read from the session
	login   time.Duration // the dial and the authentication (openLoadSession)

	mu      sync.Mutex
	emu     *vt.Emulator             // nil once only bytes are counted
	answers io.Closer                // the emulator's answers; closing it ends their copy to stdin
	want    func(screen string) bool // what the setup waits for on screen; nil when not waiting
	reached chan struct{}            // closed once the screen shows want
	isReady bool                     // the setup is done: a probe notes tokens
	carry   []byte                   // a probe's last bytes, for tokens split between reads
	seen    map[int]time.Time        // a probe's tokens: when each first showed on screen
	inBytes map[int]time.Time        // a probe's tokens: when each first came in the bytes
}

// openLoadSession logs in as user with auth and opens a chat screen,
// returning once the screen shows who is signed in. The caller then calls
// join.
func openLoadSession(addr, user string, auth gossh.AuthMethod, probe bool, channel int) (*loadSession, error) {
	start := time.Now()
	c, err := dialLoad(addr, user, auth)
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	dialed := time.Since(start)
	ls, err := newLoadSession(c, user, probe, channel)
	if err != nil {
		return nil, err
	}
	ls.login = dialed
	return ls, nil
}

// newLoadSession opens a chat screen on c, logged in as user, returning
// once the screen shows who is signed in; on an error it hangs up.
func newLoadSession(c *gossh.Client, user string, probe bool, channel int) (*loadSession, error) {
	ls := &loadSession{
		client: c, probe: probe, channel: channel, ended: make(chan struct{}),
		seen: map[int]time.Time{}, inBytes: map[int]time.Time{},
	}
	fail := func(what string, err error) (*loadSession, error) {
		_ = c.Close()
		return nil, fmt.Errorf("%s for %s: %w", what, user, err)
	}
	session, err := c.NewSession()
	if err != nil {
		return fail("new session", err)
	}
	modes := gossh.TerminalModes{gossh.ECHO: 0, gossh.TTY_OP_ISPEED: 38400, gossh.TTY_OP_OSPEED: 38400}
	if err := session.RequestPty("xterm-256color", loadHeight, loadWidth, modes); err != nil {
		return fail("request pty", err)
	}
	if ls.stdin, err = session.StdinPipe(); err != nil {
		return fail("stdin", err)
	}
	stdout, err := session.StdoutPipe()
	if err != nil {
		return fail("stdout", err)
	}
	emu := vt.NewEmulator(loadWidth, loadHeight)
	ls.emu, ls.answers = emu, emu.InputPipe().(io.Closer)
	// The emulator answers the program's queries, as a real terminal
	// would; the copy ends when answers is closed. (Not ls.emu: a session
	// that is not a probe drops it once ready.)
	go func() { _, _ = io.Copy(ls.stdin, emu) }()
	go func() {
		_, _ = io.Copy(ls, stdout)
		close(ls.ended)
	}()
	if err := session.Shell(); err != nil {
		ls.close()
		return nil, fmt.Errorf("shell for %s: %w", user, err)
	}
	signedIn := "signed in as " + user
	if err := ls.await(signedIn, func(screen string) bool { return strings.Contains(screen, signedIn) }, ""); err != nil {
		ls.close()
		return nil, fmt.Errorf("%s: %w", user, err)
	}
	return ls, nil
}

// join types /join for each channel of names in turn, each once the
// header shows the one before, and then, once the header shows the last,
// ends the setup: a probe starts noting tokens, any other session drops
// its emulator.
func (ls *loadSession) join(names []string) error {
	for _, name := range names {
		header := func(screen string) bool {
			first, _, _ := strings.Cut(screen, "\n")
			return strings.Contains(first, name)
		}
		if err := ls.await("the header showing "+name, header, "/join "+name+"\r"); err != nil {
			return err
		}
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.isReady = true
	if !ls.probe {
		ls.stopEmulator()
	}
	return nil
}

// await types keys (if any) and waits, within loadWait, until the screen
// shows want (described by what).
func (ls *loadSession) await(what string, want func(screen string) bool, keys string) error {
	ls.mu.Lock()
	ls.want, ls.reached = want, make(chan struct{})
	reached := ls.reached
	if want(ls.emu.String()) { // already drawn
		ls.want = nil
		close(reached)
	}
	ls.mu.Unlock()
	if keys != "" {
		if _, err := io.WriteString(ls.stdin, keys); err != nil {
			return fmt.Errorf("type %q: %w", keys, err)
		}
	}
	var err error
	select {
	case <-reached:
		return nil
	case <-ls.ended:
		err = errors.New("session ended")
	case <-time.After(loadWait):
		err = fmt.Errorf("no %s within %v", what, loadWait)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.want = nil
	screen := ""
	if ls.emu != nil {
		screen = ls.emu.String()
	}
	return fmt.Errorf("%w; screen:\n%s", err, screen)
}

// Write takes what the server sent.
func (ls *loadSession) Write(p []byte) (int, error) {
	now := time.Now()
	ls.bytes.Add(int64(len(p)))
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.emu == nil {
		return len(p), nil
	}
	_, _ = ls.emu.Write(p)
	if !ls.isReady {
		if ls.want != nil && ls.want(ls.emu.String()) {
			ls.want = nil
			close(ls.reached)
		}
		return len(p), nil
	}
	// A probe at 100x30 shows each message only while it is on screen, so
	// look at every read. A burst drawn as one frame can scroll a message
	// past unseen: the bytes tell those apart from messages never sent.
	note(ls.seen, loadToken.FindAllStringSubmatch(ls.emu.String(), -1), now)
	ls.carry = append(ls.carry, p...)
	note(ls.inBytes, loadToken.FindAllSubmatch(ls.carry, -1), now)
	ls.carry = slices.Clone(ls.carry[max(0, len(ls.carry)-len("t000000")):])
	return len(p), nil
}

// note records the first time each token in matches showed.
func note[S string | []byte](first map[int]time.Time, matches [][]S, now time.Time) {
	for _, m := range matches {
		id, err := strconv.Atoi(string(m[1]))
		if err != nil {
			continue
		}
		if _, ok := first[id]; !ok {
			first[id] = now
		}
	}
}

// stopEmulator drops the emulator; ls.mu must be held.
func (ls *loadSession) stopEmulator() {
	if ls.emu != nil {
		_ = ls.answers.Close()
		ls.emu = nil
	}
}

// close hangs up; the output copy then ends.
func (ls *loadSession) close() {
	_ = ls.client.Close()
	ls.mu.Lock()
	ls.stopEmulator()
	ls.mu.Unlock()
}

// connectAll opens p.sessions sessions, p.parallel at a time, session i on
// the node at addrs[p.node(i)], logging in as its account with
// logins[account], has each join its channels, and returns them in order
// (the senders first, the probes last) with each one's connect time: dial,
// authentication and the first screen, the joins not included.
func connectAll(addrs []string, p loadParams, logins map[string]gossh.AuthMethod) ([]*loadSession, []time.Duration, error) {
	sessions := make([]*loadSession, p.sessions)
	times := make([]time.Duration, p.sessions)
	err := inParallel(p.sessions, p.parallel, func(i int) error {
		start := time.Now()
		ls, err := openLoadSession(addrs[p.node(i)], p.account(i), logins[p.account(i)], i >= p.sessions-p.probes, p.channel(i))
		if err != nil {
			return err
		}
		ls.node = p.node(i)
		times[i] = time.Since(start)
		if err := ls.join(p.joins(i)); err != nil {
			ls.close()
			return fmt.Errorf("%s: %w", p.account(i), err)
		}
		sessions[i] = ls
		return nil
	})
	opened := slices.DeleteFunc(slices.Clone(sessions), func(ls *loadSession) bool { return ls == nil })
	if err != nil {
		return opened, nil, err
	}
	return sessions, times, nil
}

// closeAll hangs up every session and waits for their output to end.
func closeAll(tb testing.TB, sessions []*loadSession) {
	for _, ls := range sessions {
		ls.close()
	}
	deadline := time.After(waitLimit)
	for _, ls := range sessions {
		select {
		case <-ls.ended:
		case <-deadline:
			tb.Error("a session's output did not end after hanging up")
			return
		}
	}
}

func totalBytes(sessions []*loadSession) int64 {
	var n int64
	for _, ls := range sessions {
		n += ls.bytes.Load()
	}
	return n
}

// waitQuiet waits until the sessions have read nothing for quiet, or limit
// passes (false).
func waitQuiet(sessions []*loadSession, quiet, limit time.Duration) bool {
	last, since := totalBytes(sessions), time.Now()
	return pollUntil(limit, func() bool {
		if n := totalBytes(sessions); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) >= quiet
	})
}

// sendLog is what the senders sent: when each token was written.
type sendLog struct {
	at      []time.Time // by token number
	channel []int       // by token number: the channel it was posted in (see loadParams.channel)
	node    []int       // by token number: the node its sender is on (see loadParams.node)
	err     error       // the first write that failed
}

// sendAll has the senders post at rate messages per second in all for
// duration: each sender ticks every len(senders)/rate seconds, the
// senders' ticks staggered evenly. Each message is a unique token and a
// few words, typed and sent with Enter; sender i posts in channels[i].
func sendAll(senders []*loadSession, channels []int, rate float64, duration time.Duration) *sendLog {
	var (
		mu  sync.Mutex
		log sendLog
		wg  sync.WaitGroup
	)
	period := time.Duration(float64(len(senders)) / rate * float64(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	for i, ls := range senders {
		wg.Go(func() {
			first := time.NewTimer(time.Duration(float64(i) / rate * float64(time.Second)))
			defer first.Stop()
			select {
			case <-first.C:
			case <-ctx.Done():
				return
			}
			ticker := time.NewTicker(period)
			defer ticker.Stop()
			for ctx.Err() == nil {
				mu.Lock()
				id := len(log.at)
				log.at = append(log.at, time.Now())
				log.channel = append(log.channel, channels[i])
				log.node = append(log.node, ls.node)
				mu.Unlock()
				if _, err := fmt.Fprintf(ls.stdin, "t%06d hello from the load benchmark\r", id); err != nil {
					mu.Lock()
					if log.err == nil {
						log.err = fmt.Errorf("sender %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				select {
				case <-ticker.C:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(duration + loadWait): // a write blocked: the cleanup's hang-up ends it
		mu.Lock()
		log.err = errors.Join(log.err, errors.New("a sender's write still blocked after the duration"))
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	return &sendLog{at: slices.Clone(log.at), channel: slices.Clone(log.channel), node: slices.Clone(log.node), err: log.err}
}

// allSeen reports whether every probe has received every token sent in
// its channel, on its screen or in its bytes.
func allSeen(probes []*loadSession, sent *sendLog) bool {
	for _, ls := range probes {
		ls.mu.Lock()
		complete := true
		for id := range sent.at {
			_, onScreen := ls.seen[id]
			_, inBytes := ls.inBytes[id]
			if sent.channel[id] == ls.channel && !onScreen && !inBytes {
				complete = false
				break
			}
		}
		ls.mu.Unlock()
		if !complete {
			return false
		}
	}
	return true
}

// delivered is what the probes received.
type delivered struct {
	// latencies are, over every probe and token of its channel, the
	// times from the write to the token on the probe's screen, or in its
	// bytes for a token that scrolled past between two frames (scrolled
	// counts those).
	latencies []time.Duration
	scrolled  int
	// local and remote split the latencies: from a sender on the
	// probe's node, and from one on another node.
	local, remote []time.Duration
	// lost counts the tokens some probe of their channel received
	// neither way.
	lost int
	// cross counts the tokens a probe received, either way, from a
	// channel it is not in; crossed describes the first few.
	cross   int
	crossed []string
}

func deliveries(probes []*loadSession, sent *sendLog) delivered {
	var d delivered
	missed := map[int]bool{}
	for _, ls := range probes {
		ls.mu.Lock()
		for id, at := range sent.at {
			seen, onScreen := ls.seen[id]
			came, inBytes := ls.inBytes[id]
			switch {
			case sent.channel[id] != ls.channel:
				if onScreen || inBytes {
					d.cross++
					if len(d.crossed) < 5 {
						d.crossed = append(d.crossed, fmt.Sprintf("t%06d of #s%02d to a probe in #s%02d", id, sent.channel[id], ls.channel))
					}
				}
			case onScreen:
				d.add(seen.Sub(at), sent.node[id] == ls.node)
			case inBytes:
				d.add(came.Sub(at), sent.node[id] == ls.node)
				d.scrolled++
			default:
				missed[id] = true
			}
		}
		ls.mu.Unlock()
	}
	d.lost = len(missed)
	return d
}

// add counts one latency, from a sender on the probe's node (local) or not.
func (d *delivered) add(latency time.Duration, local bool) {
	d.latencies = append(d.latencies, latency)
	if local {
		d.local = append(d.local, latency)
	} else {
		d.remote = append(d.remote, latency)
	}
}

// stats are percentiles of durations, in milliseconds.
type stats struct{ p50, p95, p99, max float64 }

func loadStats(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	}
	sorted := slices.Sorted(slices.Values(ds))
	at := func(q float64) float64 { // nearest rank
		i := int(math.Ceil(q*float64(len(sorted)))) - 1
		return float64(sorted[max(0, min(i, len(sorted)-1))]) / float64(time.Millisecond)
	}
	return stats{at(0.50), at(0.95), at(0.99), at(1)}
}

// cpuDuring runs f and returns the CPU time process pid used meanwhile
// (user and system, all threads) and the wall time f took. (BenchmarkLogin
// measures one server; BenchmarkLoad uses cpusDuring.)
func cpuDuring(tb testing.TB, pid int, f func()) (cpu, wall time.Duration) {
	tb.Helper()
	each, wall := cpusDuring(tb, []int{pid}, f)
	return each[0], wall
}

// cpusDuring is cpuDuring for several processes: the CPU time each used.
func cpusDuring(tb testing.TB, pids []int, f func()) (each []time.Duration, wall time.Duration) {
	tb.Helper()
	before, start := cpuOf(tb, pids), time.Now()
	f()
	each = cpuOf(tb, pids)
	for k := range each {
		each[k] -= before[k]
	}
	return each, time.Since(start)
}

// cpuOf reads the user and system time of each process.
func cpuOf(tb testing.TB, pids []int) []time.Duration {
	tb.Helper()
	cpu := make([]time.Duration, len(pids))
	for k, pid := range pids {
		cpu[k] = mustCPU(tb, strconv.Itoa(pid))
	}
	return cpu
}

// sum adds up the nodes' figures.
func sum[T int64 | time.Duration](figures []T) T {
	var total T
	for _, f := range figures {
		total += f
	}
	return total
}

// mustCPU reads the user and system time of a process ("self" or a pid)
// from /proc/<proc>/stat.
func mustCPU(tb testing.TB, proc string) time.Duration {
	tb.Helper()
	data, err := os.ReadFile("/proc/" + proc + "/stat")
	if err != nil {
		tb.Fatalf("read CPU time: %v", err)
	}
	// The command name, in parentheses, may hold spaces: count the
	// fields after it. utime and stime are fields 14 and 15 of the line,
	// 12 and 13 after the name.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		tb.Fatalf("unexpected /proc/%s/stat: %q", proc, data)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			tb.Fatalf("unexpected /proc/%s/stat: %q", proc, data)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ
}

// rssOf reads the resident set size of each process, in KB.
func rssOf(tb testing.TB, pids []int) []int64 {
	tb.Helper()
	rss := make([]int64, len(pids))
	for k, pid := range pids {
		rss[k] = mustRSS(tb, pid)
	}
	return rss
}

// mustRSS reads the resident set size of process pid, in KB.
func mustRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatalf("read RSS: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("unexpected VmRSS line %q", line)
			}
			return kb
		}
	}
	tb.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// tail is the end of a long log.
func tail(log string) string {
	const keep = 4000
	if len(log) <= keep {
		return log
	}
	return "...\n" + log[len(log)-keep:]
}
