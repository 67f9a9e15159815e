package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
	"messaging/store"
	"messaging/store/sqlite"
)

// startMetricsServer starts a server serving its metrics on loopback, with
// st as its store (nil: a new SQLite database), until the test ends.
func startMetricsServer(t *testing.T, cfg Config, wrap func(store.Store) store.Store) *testServer {
	t.Helper()
	cfg.MetricsAddr = "127.0.0.1:0"
	ctx, stopMetrics := context.WithCancel(context.Background())
	t.Cleanup(stopMetrics) // after the server's own stop (cleanups run last first)
	st, err := sqlite.Open(ctx, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	var s store.Store = st
	if wrap != nil {
		s = wrap(st)
	}
	logs := &syncBuffer{}
	srv, err := newServer(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), s)
	if err != nil {
		_ = st.Close()
		t.Fatalf("start server: %v", err)
	}
	if srv.MetricsAddr() == nil {
		t.Fatal("METRICS_ADDR is set, but the server does not say where it serves them")
	}
	serveCtx, cancel := context.WithCancelCause(context.Background())
	ts := &testServer{srv: srv, cfg: cfg, addr: srv.Addr().String(), logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(serveCtx) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// get fetches path from the server's metrics address.
func (ts *testServer) get(t *testing.T, path string) (status int, body string) {
	t.Helper()
	resp, err := http.Get("http://" + ts.srv.MetricsAddr().String() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads /metrics as Prometheus does.
func (ts *testServer) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	status, body := ts.get(t, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return families
}

// sample is the value of the series of name whose labels include labels
// (name=value pairs): a counter's or gauge's value, a histogram's count.
func sample(t *testing.T, families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := families[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
series:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestMetricsCountLoginsMessagesAndDeliveries(t *testing.T) {
	ts := startMetricsServer(t, testConfig(t), nil)
	if status, body := ts.get(t, "/healthz"); status != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q, want 200 ok", status, body)
	}
	if status, body := ts.get(t, "/readyz"); status != http.StatusOK {
		t.Errorf("/readyz: %d %q, want 200", status, body)
	}

	bob := ts.chatter(t, "bob", 80, 24) // a signup
	ts.accounts(t, "alice")
	ts.mustRun(t, "alice", "say", "hello from alice\n") // a password login and a post
	bob.waitText("hello from alice")                    // delivered
	if c, err := ts.dial("alice", gossh.Password("not her password")); err == nil {
		c.Close()
		t.Fatal("a wrong password logged in")
	}

	got := ts.scrape(t)
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"messaging_logins_total", []string{"method", "signup", "result", "ok"}, 2},
		{"messaging_logins_total", []string{"method", "password", "result", "ok"}, 1},
		{"messaging_logins_total", []string{"method", "password", "result", "failed"}, 1},
		{"messaging_signups_total", nil, 2},
		{"messaging_messages_posted_total", nil, 1},
		{"messaging_messages_committed_total", nil, 1},
		{"messaging_deliveries_total", nil, 1},
		{"messaging_delivery_latency_seconds", nil, 1},
		{"messaging_handover_latency_seconds", nil, 1},
		{"messaging_store_commit_seconds", nil, 1},
		{"messaging_sessions_open", []string{"kind", "chat"}, 1},
		{"go_goroutines", nil, 1},
	} {
		if v := sample(t, got, c.name, c.labels...); v < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, v, c.min)
		}
	}
	// Every counter a dashboard looks for is there from the start, at 0.
	if v := sample(t, got, "messaging_evictions_total", "reason", "too far behind"); v != 0 {
		t.Errorf("evictions %v, want 0", v)
	}
	for _, name := range []string{"messaging_flood_refusals_total", "messaging_address_penalties_total", "messaging_login_backoffs_total"} {
		if got[name] == nil {
			t.Errorf("no metric %s", name)
		}
	}
	if sample(t, got, "messaging_sessions_open", "kind", "script") != 0 {
		t.Error("the script's session still counts as open after it ended")
	}

	ts.stop(t)
	if status, body := ts.get(t, "/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz after the server stopped: %d %q, want 503", status, body)
	}
}

// Failed logins past the limits count as penalties and back-offs, posts
// past the flood limit as refusals.
func TestMetricsCountPenaltiesBackoffsAndFloodRefusals(t *testing.T) {
	cfg := testConfig(t)
	cfg.PenaltyFailures, cfg.AccountFailures = 2, 1
	cfg.MsgBurst, cfg.MsgPerSec = 1, 0.001
	ts := startMetricsServer(t, cfg, nil)
	ts.accounts(t, "alice")
	// say paces its lines to the flood limit: its second one is refused
	// (and retried later, long after this test).
	say, err := ts.loginPassword(t, "alice", scriptPassword).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	say.Stdin = strings.NewReader("one\ntwo\n")
	if err := say.Start("say"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a flood refusal to be counted", func() bool {
		return sample(t, ts.scrape(t), "messaging_flood_refusals_total") >= 1
	})
	_ = say.Close()
	for range 2 {
		if c, err := ts.dial("alice", gossh.Password("wrong password")); err == nil {
			c.Close()
			t.Fatal("a wrong password logged in")
		}
	}
	got := ts.scrape(t)
	if v := sample(t, got, "messaging_login_backoffs_total"); v < 1 {
		t.Errorf("back-offs %v, want at least 1", v)
	}
	if v := sample(t, got, "messaging_address_penalties_total"); v < 1 {
		t.Errorf("address penalties %v, want at least 1", v)
	}
}

// slowStore stops answering, as a wedged database would.
type slowStore struct {
	store.Store
	down atomic.Bool
}

func (s *slowStore) Channel(ctx context.Context, name string) (chat.Conversation, error) {
	if s.down.Load() {
		<-ctx.Done()
		return chat.Conversation{}, ctx.Err()
	}
	return s.Store.Channel(ctx, name)
}

func TestReadyzFailsWhenTheStoreDoesNotAnswer(t *testing.T) {
	var slow *slowStore
	ts := startMetricsServer(t, testConfig(t), func(st store.Store) store.Store {
		slow = &slowStore{Store: st}
		return slow
	})
	if status, body := ts.get(t, "/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz: %d %q, want 200", status, body)
	}
	slow.down.Store(true)
	start := time.Now()
	status, body := ts.get(t, "/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("/readyz with the store not answering: %d %q, want 503 naming the store", status, body)
	}
	if d := time.Since(start); d > readyTimeout+5*time.Second {
		t.Errorf("/readyz took %s", d)
	}
	if status, _ := ts.get(t, "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz with the store not answering: %d, want 200: the process is alive", status)
	}
	slow.down.Store(false)
}

func TestMetricsAddrOffByLoopbackWarnedOtherwise(t *testing.T) {
	for addr, wantLoopback := range map[string]bool{
		"127.0.0.1:9090": true, "[::1]:0": true, "localhost:9090": true,
		"0.0.0.0:9090": false, ":9090": false, "10.0.0.5:9090": false, "metrics.internal:9090": false,
	} {
		loopback, err := metricsListenAddr(addr)
		if err != nil || loopback != wantLoopback {
			t.Errorf("%s: loopback %v, %v; want %v", addr, loopback, err, wantLoopback)
		}
	}
	cfg := testConfig(t)
	ts := startServer(t, cfg) // no METRICS_ADDR
	if ts.srv.MetricsAddr() != nil || ts.srv.metrics != nil {
		t.Error("metrics are served without METRICS_ADDR")
	}
}
