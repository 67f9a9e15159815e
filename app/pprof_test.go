package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestProfilerServesOnLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := serveProfiler(ctx, "0.0.0.0:0", log); err == nil {
		t.Fatal("the profiler listened on every interface")
	}
	addr, err := serveProfiler(ctx, "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Errorf("profiler index: %s\n%s", resp.Status, body)
	}
	// A page that rebound its own name to 127.0.0.1 sends its own Host.
	req, _ := http.NewRequest("GET", "http://"+addr.String()+"/debug/pprof/", nil)
	req.Host = "attacker.example:80"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a request for another host: %v %v, want 403", resp, err)
	} else {
		_ = resp.Body.Close()
	}
	cancel()
	waitUntil(t, "the profiler to stop", func() bool {
		resp, err := http.Get("http://" + addr.String() + "/debug/pprof/")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err != nil
	})
}
