package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// With LOG_FORMAT=json every line is a JSON object with a level and a
// message, and neither a password nor a message body is in any of them.
func TestLogFormatJSONWritesOneObjectPerLineAndNoSecrets(t *testing.T) {
	const password, wrong, body = "Corr3ctHorse", "Wr0ngHorse!", "a very private message"
	dir := t.TempDir()
	log := &childLog{changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	exited := make(chan int, 1)
	go func() {
		exited <- Run(ctx, env(map[string]string{
			"ADDR": "127.0.0.1", "PORT": "0", "PUBLIC_HOST": "chat.example.org",
			"DATABASE": filepath.Join(dir, "messaging.db"), "HOST_KEY": filepath.Join(dir, "host_ed25519"),
			"LOG_FORMAT": "json", "LOG_LEVEL": "debug",
		}), log)
	}()
	// waitLine waits for a line whose msg is msg and returns it.
	waitLine := func(msg string) map[string]any {
		t.Helper()
		deadline := time.NewTimer(waitLimit)
		defer deadline.Stop()
		for {
			text, changed := log.read()
			for _, line := range strings.Split(text, "\n") {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
					return rec
				}
			}
			select {
			case <-changed:
			case code := <-exited:
				t.Fatalf("Run returned %d:\n%s", code, text)
			case <-deadline.C:
				t.Fatalf("no %q line in the log:\n%s", msg, text)
			}
		}
	}
	addr, _ := waitLine("listening")["addr"].(string)
	ts := &testServer{addr: addr}
	ts.signup(t, "alice", password).Close()
	waitLine("signup")
	c := ts.loginPassword(t, "alice", password)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := s.CombinedOutput("say " + body); err != nil {
		t.Fatalf("say: %v %s", err, out)
	}
	if c, err := ts.dial("alice", gossh.Password(wrong)); err == nil {
		c.Close()
		t.Fatal("a wrong password logged in")
	}
	if rec := waitLine("auth failed"); rec["level"] != "INFO" || rec["user"] != "alice" {
		t.Errorf("the failed login's line: %v", rec)
	}
	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("exit status %d after a stop, want 0", code)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after its context ended")
	}
	text := log.String()
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("line %d is not JSON (%v): %s", i+1, err, line)
			continue
		}
		switch rec["level"] {
		case "DEBUG", "INFO", "WARN", "ERROR":
		default:
			t.Errorf("line %d has no level: %s", i+1, line)
		}
		if m, _ := rec["msg"].(string); m == "" {
			t.Errorf("line %d has no msg: %s", i+1, line)
		}
	}
	for _, secret := range []string{password, wrong, body} {
		if strings.Contains(text, secret) {
			t.Errorf("the log holds %q:\n%s", secret, text)
		}
	}
}

func TestLogLevelDropsWhatIsBelowIt(t *testing.T) {
	var out strings.Builder
	log := newLogger(Config{LogFormat: logText, LogLevel: mustLevel(t, "warn")}, &out)
	log.Info("quiet")
	log.Warn("loud")
	if text := out.String(); strings.Contains(text, "quiet") || !strings.Contains(text, "loud") {
		t.Errorf("LOG_LEVEL=warn wrote:\n%s", text)
	}
}

func mustLevel(t *testing.T, raw string) slog.Level {
	t.Helper()
	l, ok := parseLogLevel(raw)
	if !ok {
		t.Fatalf("LOG_LEVEL=%s refused", raw)
	}
	return l
}
