package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"messaging/chat"
)

// readyTimeout bounds the store's answer to /readyz.
const readyTimeout = time.Second

// metrics are the server's Prometheus metrics (METRICS_ADDR), on a registry
// of their own. A nil *metrics (METRICS_ADDR unset) records nothing: every
// method is safe to call on it.
type metrics struct {
	registry *prometheus.Registry

	sessions         *prometheus.GaugeVec   // by kind: chat, line, script
	logins           *prometheus.CounterVec // by method and result
	signups          prometheus.Counter
	posted           prometheus.Counter
	committed        prometheus.Counter
	deliveries       prometheus.Counter
	deliveryLatency  prometheus.Histogram   // to the outbox
	writtenLatency   prometheus.Histogram   // to the SSH channel
	evictions        *prometheus.CounterVec // by reason
	floodRefusals    prometheus.Counter
	addressPenalties prometheus.Counter
	loginBackoffs    prometheus.Counter
	commitLatency    prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "messaging_sessions_open",
			Help: "SSH sessions being served, by kind: chat (the chat screen), line (no terminal, or TERM=dumb), script (a command).",
		}, []string{"kind"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messaging_logins_total",
			Help: "Login attempts by SSH method (password, keyboard-interactive, key, signup) and result (ok, failed). Keys are counted once verified, never as failures: clients offer every key they hold.",
		}, []string{"method", "result"}),
		signups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messaging_signups_total",
			Help: "Accounts created through the signup dialogue.",
		}),
		posted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messaging_messages_posted_total",
			Help: "Messages people wrote (text and /me, in channels and direct conversations), counted once stored.",
		}),
		committed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messaging_messages_committed_total",
			Help: "Messages stored in the room's order: posts and notices (joins, leaves, topics and the like).",
		}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messaging_deliveries_total",
			Help: "Messages handed to a member's outbox, one per message and member.",
		}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "messaging_handover_latency_seconds",
			Help:    "From the stamping of a message, just before its group commit (the store's commit time included), to its hand-over to a member's outbox; one observation per hand-over (a batch to one member, timed by its first message). The session's wait to take it from the outbox is not included.",
			Buckets: prometheus.ExponentialBucketsRange(0.0001, 10, 16),
		}),
		writtenLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "messaging_delivery_latency_seconds",
			Help:    "From the stamping of a message, just before its group commit, to the end of the write of the full-screen chat's frame that drew it into the session's SSH channel; one observation per frame, timed by the oldest message it drew. Line mode and scripts are not counted.",
			Buckets: prometheus.ExponentialBucketsRange(0.0001, 10, 16),
		}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "messaging_evictions_total",
			Help: "Members evicted for not keeping up, by reason.",
		}, []string{"reason"}),
		floodRefusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messaging_flood_refusals_total",
			Help: "Posts and commands refused by the flood limit (MSG_BURST, MSG_PER_SEC).",
		}),
		addressPenalties: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messaging_address_penalties_total",
			Help: "Times an address was made to wait after too many failed logins (PENALTY_FAILURES).",
		}),
		loginBackoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "messaging_login_backoffs_total",
			Help: "Times an address was made to back off from one account after failed logins (ACCOUNT_FAILURES).",
		}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "messaging_store_commit_seconds",
			Help:    "Duration of each group commit of messages to the store (one History.Append).",
			Buckets: prometheus.ExponentialBucketsRange(0.0001, 30, 16),
		}),
	}
	m.registry.MustRegister(
		m.sessions, m.logins, m.signups, m.posted, m.committed, m.deliveries, m.deliveryLatency, m.writtenLatency,
		m.evictions, m.floodRefusals, m.addressPenalties, m.loginBackoffs, m.commitLatency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// The series a dashboard looks for exist from the start, at 0.
	for _, reason := range []string{"too far behind", "outbox full too long", "delivery failed"} { // chat/worker.go
		m.evictions.WithLabelValues(reason)
	}
	for _, method := range []string{"password", "keyboard-interactive", "key", "signup"} {
		for _, result := range []string{"ok", "failed"} {
			m.logins.WithLabelValues(method, result)
		}
	}
	for _, kind := range []string{"chat", "line", "script"} {
		m.sessions.WithLabelValues(kind)
	}
	return m
}

// observer is the room's hook into the metrics; nil without metrics.
func (m *metrics) observer() *chat.Observer {
	if m == nil {
		return nil
	}
	return &chat.Observer{
		Committed: func(msgs []chat.Message, d time.Duration) {
			m.commitLatency.Observe(d.Seconds())
			m.committed.Add(float64(len(msgs)))
			posts := 0
			for i := range msgs {
				if k := msgs[i].Kind; k == chat.KindText || k == chat.KindAction {
					posts++
				}
			}
			m.posted.Add(float64(posts))
		},
		Delivered: func(n int, latency time.Duration) {
			m.deliveries.Add(float64(n))
			m.deliveryLatency.Observe(max(latency, 0).Seconds())
		},
		Evicted:      func(reason string) { m.evictions.WithLabelValues(reason).Inc() },
		FloodRefused: m.floodRefusals.Inc,
	}
}

// login counts a login attempt by method.
func (m *metrics) login(method string, ok bool) {
	if m == nil {
		return
	}
	result := "failed"
	if ok {
		result = "ok"
	}
	m.logins.WithLabelValues(method, result).Inc()
}

func (m *metrics) signup() {
	if m != nil {
		m.signups.Inc()
	}
}

func (m *metrics) addressPenalty() {
	if m != nil {
		m.addressPenalties.Inc()
	}
}

func (m *metrics) loginBackoff() {
	if m != nil {
		m.loginBackoffs.Inc()
	}
}

// countSessions is the outermost middleware when metrics are on: it counts
// the sessions being served by kind, telling them apart as runScripts and
// lineMode do.
func (m *metrics) countSessions(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		kind := "chat"
		if sess.RawCommand() != "" {
			kind = "script"
		} else if pty, _, ok := sess.Pty(); !ok || dumbTerminal(pty.Term) {
			kind = "line"
		}
		g := m.sessions.WithLabelValues(kind)
		g.Inc()
		defer g.Dec()
		next(sess)
	}
}

// withMetrics adds countSessions, outermost, to the middleware list mw
// (whose last entry is the outermost) when metrics are on.
func (m *metrics) withMetrics(mw []wish.Middleware) []wish.Middleware {
	if m == nil {
		return mw
	}
	return append(mw, m.countSessions)
}

// metricsListenAddr checks METRICS_ADDR, host:port, and reports whether its
// host is on the loopback interface. An empty host (":9090") means every
// interface, as net.Listen has it.
func metricsListenAddr(addr string) (loopback bool, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, errors.New("is not host:port, like 127.0.0.1:9090")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return false, errors.New("has no port from 0 to 65535")
	}
	if host != "" && !validHost(host) {
		return false, errors.New("has no valid host: use an IP address or a host name, like 127.0.0.1:9090")
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback(), nil
}

// serveMetrics serves, on s.cfg.MetricsAddr until ctx ends, /metrics
// (Prometheus text format), /healthz (200: the process is alive) and
// /readyz (200 when the store answers and the server is not stopping, else
// 503 and why). It returns once listening. On an address that is not
// loopback it warns: what it shows is counts, never names or messages,
// but it is for the operator's monitoring, not for the world. On loopback
// it refuses requests for other hosts (DNS rebinding), as the profiler
// does.
func (s *Server) serveMetrics(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if why := s.notReady(r.Context()); why != "" {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	var handler http.Handler = mux
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		handler = loopbackHostOnly(mux)
	} else {
		s.log.Warn("the metrics endpoint is not on the loopback interface: anyone who reaches it sees the server's counts (no names, no messages); keep it behind a firewall",
			"addr", ln.Addr().String())
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	s.metricsAddr = ln.Addr()
	s.log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}

// MetricsAddr is the address serving /metrics, nil if METRICS_ADDR is not
// set.
func (s *Server) MetricsAddr() net.Addr { return s.metricsAddr }

// notReady says why the server cannot serve users now, "" if it can: it
// is stopping (its listener closed, its sessions ending), or the store
// does not answer a trivial query within readyTimeout.
func (s *Server) notReady(ctx context.Context) string {
	if s.sessions.stopping() {
		return "stopping"
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if _, err := s.store.Channel(ctx, chat.Lobby); err != nil {
		return "store: " + err.Error()
	}
	return ""
}

// stopping reports whether shutdown has begun (endAll).
func (ss *sessionSet) stopping() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.closed
}

// writtenObserver is what a chat screen calls after each frame that drew
// room messages (tui.Options.Written); nil without metrics.
func (m *metrics) writtenObserver() func(time.Duration) {
	if m == nil {
		return nil
	}
	return func(d time.Duration) { m.writtenLatency.Observe(d.Seconds()) }
}
