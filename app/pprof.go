package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// serveProfiler serves Go's profiler on addr (PPROF_ADDR, loopback only)
// until ctx ends: go tool pprof http://ADDR/debug/pprof/profile. It
// returns once listening, with the address it listens on.
func serveProfiler(ctx context.Context, addr string, log *slog.Logger) (net.Addr, error) {
	if err := loopbackAddr(addr); err != nil {
		return nil, errors.New("PPROF_ADDR " + err.Error())
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	// "localhost" is whatever the resolver says: check what was bound.
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		_ = ln.Close()
		return nil, fmt.Errorf("PPROF_ADDR %s is not on the loopback interface", ln.Addr())
	}
	// Its own mux: importing net/http/pprof also fills the default one,
	// which nothing here serves.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: loopbackHostOnly(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("profiler", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("profiler listening", "addr", ln.Addr().String())
	return ln.Addr(), nil
}

// loopbackHostOnly refuses requests whose Host is not a loopback name: a
// web page in a browser on this machine could otherwise reach the
// profiler through DNS rebinding.
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
