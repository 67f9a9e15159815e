package app

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	hostname, err := os.Hostname()
	if err != nil || !validHost(hostname) {
		t.Skipf("this machine's name (%q, %v) cannot be PUBLIC_HOST's default", hostname, err)
	}
	got, err := LoadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: "0.0.0.0", Port: 4848, PublicHost: hostname, Workers: 2, Database: "messaging.db", NatsSubject: "messaging",
		HostKey: ".ssh/messaging_ed25519", PasswordMin: 8, PasswordMax: 15, History: 100, MaxMessage: 1000,
		MaxSessions: 1000, MaxSessionsPerIP: 10, MaxUnauth: 64, MaxUnauthPerIP: 8, SignupsPerIPHour: 3,
		PenaltyFailures: 5, AccountFailures: 3, MsgBurst: 5, MsgPerSec: 1, InputRate: 4096, SignupNamesPerMin: 30,
		MaxChannels: 1000, ChannelsPerUser: 50, KeysPerAccount: 10, IdleTimeout: 0, Keepalive: 30 * time.Second, AccountFailuresHour: 100,
		PresenceWindow: 2 * time.Second, PresenceQuiet: 200,
		LogFormat: "text", LogLevel: slog.LevelInfo}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	if got.ListenAddr() != "0.0.0.0:4848" {
		t.Errorf("listen address %q", got.ListenAddr())
	}
}

func TestLoadConfigReadsEveryVariable(t *testing.T) {
	got, err := LoadConfig(env(map[string]string{
		"ADDR": "::1", "PORT": "2222", "NUM_TH": "8", "DATABASE": "/data/chat.db",
		"HOST_KEY": "/keys/host", "PASSWORD_MIN": "15", "PASSWORD_MAX": "64",
		"HISTORY": "20", "MAX_MESSAGE": "280",
		"MAX_SESSIONS": "0", "MAX_SESSIONS_PER_IP": "3", "MAX_UNAUTH": "100", "MAX_UNAUTH_PER_IP": "0",
		"SIGNUPS_PER_IP_HOUR": "10", "PENALTY_FAILURES": "0", "ACCOUNT_FAILURES": "10",
		"MSG_BURST": "0", "MSG_PER_SEC": "0.5", "IDLE_TIMEOUT": "30m", "KEEPALIVE": "0",
		"INPUT_RATE": "0", "SIGNUP_NAMES_PER_MIN": "5", "MAX_CHANNELS": "0", "CHANNELS_PER_USER": "7",
		"PPROF_ADDR": "[::1]:6060", "PUBLIC_HOST": "chat.example.org", "RESTART_NOTICE": "1",
		"ACCOUNT_FAILURES_HOUR": "250", "KEYS_PER_ACCOUNT": "3",
		"METRICS_ADDR": "0.0.0.0:9090", "LOG_FORMAT": "JSON", "LOG_LEVEL": "debug",
		"ADMINS": " alice, Bob ,,ALICE", "PRESENCE_WINDOW": "5s", "PRESENCE_QUIET": "0",
		"NATS_SUBJECT": "chat.eu-1", "PROXY_PROTOCOL": "10.1.2.3/16, 192.0.2.7,::1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: "::1", Port: 2222, Workers: 8, Database: "/data/chat.db", NatsSubject: "chat.eu-1",
		HostKey: "/keys/host", PasswordMin: 15, PasswordMax: 64, History: 20, MaxMessage: 280,
		MaxSessions: 0, MaxSessionsPerIP: 3, MaxUnauth: 100, MaxUnauthPerIP: 0, SignupsPerIPHour: 10,
		PenaltyFailures: 0, AccountFailures: 10, MsgBurst: 0, MsgPerSec: 0.5, InputRate: 0, SignupNamesPerMin: 5,
		MaxChannels: 0, ChannelsPerUser: 7, AccountFailuresHour: 250, KeysPerAccount: 3,
		PresenceWindow: 5 * time.Second, PresenceQuiet: 0,
		IdleTimeout: 30 * time.Minute,
		PprofAddr:   "[::1]:6060", PublicHost: "chat.example.org", RestartNotice: true,
		Admins: []string{"alice", "Bob"}, MetricsAddr: "0.0.0.0:9090", LogFormat: "json", LogLevel: slog.LevelDebug,
		ProxyFrom: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("::1/128")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.ListenAddr() != "[::1]:2222" {
		t.Errorf("listen address %q", got.ListenAddr())
	}
}

func TestLoadConfigRejectsBadValues(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORT": "http"}, `PORT="http" is not a whole number`},
		{map[string]string{"ADMINS": "alice,b!ob"}, `ADMINS names "b!ob", which cannot be an account`},
		{map[string]string{"ADMINS": "x"}, `ADMINS names "x"`},
		{map[string]string{"PORT": "-1"}, "PORT=-1 is out of range"},
		{map[string]string{"PORT": "65536"}, "PORT=65536 is out of range"},
		{map[string]string{"PORT": " 4848"}, "PORT"},
		{map[string]string{"PORT": "48.5"}, "PORT"},
		{map[string]string{"NUM_TH": "0"}, "NUM_TH=0 is out of range: it must be 1 to 256"},
		{map[string]string{"NUM_TH": "257"}, "NUM_TH=257 is out of range"},
		{map[string]string{"NUM_TH": "two"}, "NUM_TH"},
		{map[string]string{"NUM_TH": "99999999999999999999999"}, "NUM_TH"},
		{map[string]string{"ADDR": "not an address"}, "ADDR"},
		{map[string]string{"ADDR": "host:4848"}, "ADDR"},
		{map[string]string{"ADDR": "-bad.example"}, "ADDR"},
		{map[string]string{"PASSWORD_MIN": "0"}, "PASSWORD_MIN=0 is out of range"},
		{map[string]string{"PASSWORD_MAX": "5000"}, "PASSWORD_MAX=5000 is out of range"},
		{map[string]string{"PASSWORD_MIN": "20"}, "PASSWORD_MIN=20 is greater than PASSWORD_MAX=15"},
		{map[string]string{"DATABASE": "a\x00b"}, "NUL"},
		{map[string]string{"DATABASE": "postgres://"}, `DATABASE="postgres://" names no server: use postgres://user@host:5432/database`},
		{map[string]string{"DATABASE": "postgresql:///test"}, "names no server"},
		{map[string]string{"DATABASE": "postgres://u:p@[::1/test"}, "DATABASE is not a PostgreSQL URL"},
		{map[string]string{"DATABASE": "postgres://h:port/test"}, "DATABASE is not a PostgreSQL URL"},
		{map[string]string{"NATS_URL": "nats://127.0.0.1:4222"}, "NATS_URL is set but DATABASE is not a PostgreSQL URL"},
		{map[string]string{"NATS_URL": "nats://127.0.0.1:4222", "DATABASE": "/data/chat.db"}, "DATABASE is not a PostgreSQL URL"},
		{map[string]string{"NATS_URL": "127.0.0.1:4222", "DATABASE": "postgres://db/x"}, "NATS_URL=(a URL that does not parse) is not a list of NATS URLs"},
		{map[string]string{"NATS_URL": "http://n:4222", "DATABASE": "postgres://db/x"}, "is not a list of NATS URLs"},
		{map[string]string{"NATS_URL": "nats://a:4222,", "DATABASE": "postgres://db/x"}, "is not a list of NATS URLs"},
		{map[string]string{"NATS_URL": "nats://:4222", "DATABASE": "postgres://db/x"}, "is not a list of NATS URLs"},
		{map[string]string{"NATS_SUBJECT": "chat.*"}, `NATS_SUBJECT="chat.*" is not a NATS subject`},
		{map[string]string{"PROXY_PROTOCOL": "10.0.0.0/33"}, `PROXY_PROTOCOL names "10.0.0.0/33", which is not an IP address or a CIDR range like 10.0.0.0/8`},
		{map[string]string{"PROXY_PROTOCOL": "haproxy"}, `PROXY_PROTOCOL names "haproxy"`},
		{map[string]string{"PROXY_PROTOCOL": "10.0.0.1,10.0.0.300"}, `PROXY_PROTOCOL names "10.0.0.300"`},
		{map[string]string{"PROXY_PROTOCOL": "10.0.0.1:4848"}, `PROXY_PROTOCOL names "10.0.0.1:4848"`},
		{map[string]string{"NATS_SUBJECT": "chat..x"}, "NATS_SUBJECT"},
		{map[string]string{"NATS_SUBJECT": "a b"}, "NATS_SUBJECT"},
		{map[string]string{"NATS_SUBJECT": strings.Repeat("a", 65)}, "NATS_SUBJECT"},
		{map[string]string{"HISTORY": "0"}, "HISTORY=0 is out of range: it must be 1 to 1000"},
		{map[string]string{"HISTORY": "1001"}, "HISTORY=1001 is out of range"},
		{map[string]string{"HISTORY": "lots"}, "HISTORY"},
		{map[string]string{"MAX_MESSAGE": "0"}, "MAX_MESSAGE=0 is out of range: it must be 1 to 10000"},
		{map[string]string{"MAX_MESSAGE": "10001"}, "MAX_MESSAGE=10001 is out of range"},
		{map[string]string{"MAX_SESSIONS": "-1"}, "MAX_SESSIONS=-1 is out of range"},
		{map[string]string{"MAX_SESSIONS_PER_IP": "ten"}, "MAX_SESSIONS_PER_IP"},
		{map[string]string{"MAX_UNAUTH": "1e3"}, "MAX_UNAUTH"},
		{map[string]string{"MAX_UNAUTH_PER_IP": "-8"}, "MAX_UNAUTH_PER_IP"},
		{map[string]string{"SIGNUPS_PER_IP_HOUR": "3/h"}, "SIGNUPS_PER_IP_HOUR"},
		{map[string]string{"PENALTY_FAILURES": "-1"}, "PENALTY_FAILURES"},
		{map[string]string{"ACCOUNT_FAILURES": "x"}, "ACCOUNT_FAILURES"},
		{map[string]string{"ACCOUNT_FAILURES_HOUR": "-1"}, "ACCOUNT_FAILURES_HOUR=-1 is out of range: it must be 0 to 1000000"},
		{map[string]string{"ACCOUNT_FAILURES_HOUR": "1000001"}, "ACCOUNT_FAILURES_HOUR=1000001 is out of range"},
		{map[string]string{"ACCOUNT_FAILURES_HOUR": "100/h"}, `ACCOUNT_FAILURES_HOUR="100/h" is not a whole number`},
		{map[string]string{"ACCOUNT_FAILURES_HOUR": "1e2"}, `ACCOUNT_FAILURES_HOUR="1e2" is not a whole number`},
		{map[string]string{"MSG_BURST": "-5"}, "MSG_BURST"},
		{map[string]string{"MSG_PER_SEC": "fast"}, `MSG_PER_SEC="fast" is not a rate`},
		{map[string]string{"INPUT_RATE": "-1"}, "INPUT_RATE=-1 is out of range"},
		{map[string]string{"INPUT_RATE": "8k"}, `INPUT_RATE="8k" is not a whole number`},
		{map[string]string{"SIGNUP_NAMES_PER_MIN": "-3"}, "SIGNUP_NAMES_PER_MIN=-3 is out of range"},
		{map[string]string{"MAX_CHANNELS": "-1"}, "MAX_CHANNELS=-1 is out of range"},
		{map[string]string{"PRESENCE_QUIET": "-5"}, "PRESENCE_QUIET=-5 is out of range"},
		{map[string]string{"PRESENCE_QUIET": "lots"}, `PRESENCE_QUIET="lots" is not a whole number`},
		{map[string]string{"PRESENCE_WINDOW": "2"}, `PRESENCE_WINDOW="2" is not a duration`},
		{map[string]string{"PRESENCE_WINDOW": "500ms"}, "PRESENCE_WINDOW=500ms is too short"},
		{map[string]string{"PRESENCE_WINDOW": "-2s"}, `PRESENCE_WINDOW="-2s" is not a duration`},
		{map[string]string{"MAX_CHANNELS": "many"}, `MAX_CHANNELS="many" is not a whole number`},
		{map[string]string{"KEYS_PER_ACCOUNT": "-1"}, "KEYS_PER_ACCOUNT=-1 is out of range: it must be 0 to 1000"},
		{map[string]string{"KEYS_PER_ACCOUNT": "1001"}, "KEYS_PER_ACCOUNT=1001 is out of range"},
		{map[string]string{"KEYS_PER_ACCOUNT": "ten"}, `KEYS_PER_ACCOUNT="ten" is not a whole number`},
		{map[string]string{"CHANNELS_PER_USER": "1e9"}, `CHANNELS_PER_USER="1e9" is not a whole number`},
		{map[string]string{"CHANNELS_PER_USER": "2000000"}, "CHANNELS_PER_USER=2000000 is out of range"},
		{map[string]string{"SIGNUP_NAMES_PER_MIN": "lots"}, `SIGNUP_NAMES_PER_MIN="lots" is not a whole number`},
		{map[string]string{"MSG_PER_SEC": "-1"}, "MSG_PER_SEC"},
		{map[string]string{"MSG_PER_SEC": "NaN"}, "MSG_PER_SEC"},
		{map[string]string{"MSG_PER_SEC": "Inf"}, "MSG_PER_SEC"},
		{map[string]string{"IDLE_TIMEOUT": "30"}, `IDLE_TIMEOUT="30" is not a duration`},
		{map[string]string{"IDLE_TIMEOUT": "-5m"}, "IDLE_TIMEOUT"},
		{map[string]string{"IDLE_TIMEOUT": "10ms"}, "IDLE_TIMEOUT=10ms is too short"},
		{map[string]string{"KEEPALIVE": "forever"}, "KEEPALIVE"},
		{map[string]string{"KEEPALIVE": "9999h"}, "KEEPALIVE"},
		{map[string]string{"PPROF_ADDR": "0.0.0.0:6060"}, `PPROF_ADDR="0.0.0.0:6060" is not on the loopback interface`},
		{map[string]string{"PPROF_ADDR": ":6060"}, "PPROF_ADDR"},
		{map[string]string{"PPROF_ADDR": "10.1.2.3:6060"}, "PPROF_ADDR"},
		{map[string]string{"PPROF_ADDR": "example.com:6060"}, "PPROF_ADDR"},
		{map[string]string{"PPROF_ADDR": "127.0.0.1"}, `PPROF_ADDR="127.0.0.1" is not host:port`},
		{map[string]string{"PPROF_ADDR": "127.0.0.1:99999"}, "has no port"},
		{map[string]string{"PPROF_ADDR": "127.0.0.1:http"}, "has no port"},
		{map[string]string{"PUBLIC_HOST": "chat.example.org:4848"}, `PUBLIC_HOST="chat.example.org:4848" is not an IP address or host name`},
		{map[string]string{"PUBLIC_HOST": "bob@chat.example.org"}, "PUBLIC_HOST"},
		{map[string]string{"PUBLIC_HOST": "chat example"}, "PUBLIC_HOST"},
		{map[string]string{"PUBLIC_HOST": "-chat.example.org"}, "PUBLIC_HOST"},
		{map[string]string{"PUBLIC_HOST": "chat..example.org"}, "PUBLIC_HOST"},
		{map[string]string{"PUBLIC_HOST": "[::1]"}, "PUBLIC_HOST"},
		{map[string]string{"PUBLIC_HOST": "chat.example.org\n"}, "PUBLIC_HOST"},
		{map[string]string{"PUBLIC_HOST": "ex\x1b[2J"}, "PUBLIC_HOST"},
		{map[string]string{"RESTART_NOTICE": "yes"}, `RESTART_NOTICE="yes" is not a switch`},
		{map[string]string{"RESTART_NOTICE": "2"}, "RESTART_NOTICE"},
		{map[string]string{"LOG_FORMAT": "xml"}, `LOG_FORMAT="xml" is not a log format: use text or json`},
		{map[string]string{"LOG_FORMAT": "logfmt"}, "LOG_FORMAT"},
		{map[string]string{"LOG_LEVEL": "verbose"}, `LOG_LEVEL="verbose" is not a log level: use debug, info, warn or error`},
		{map[string]string{"LOG_LEVEL": "warning"}, "LOG_LEVEL"},
		{map[string]string{"LOG_LEVEL": "-4"}, "LOG_LEVEL"},
		{map[string]string{"METRICS_ADDR": "9090"}, `METRICS_ADDR="9090" is not host:port`},
		{map[string]string{"METRICS_ADDR": "127.0.0.1:99999"}, `METRICS_ADDR="127.0.0.1:99999" has no port`},
		{map[string]string{"METRICS_ADDR": "127.0.0.1:metrics"}, "has no port"},
		{map[string]string{"METRICS_ADDR": "bad host:9090"}, `METRICS_ADDR="bad host:9090" has no valid host`},
	}
	for _, tt := range tests {
		_, err := LoadConfig(env(tt.env))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want it to mention %q", tt.env, err, tt.want)
		}
	}
}

// A PostgreSQL URL's password never reaches an error or the log.
func TestDatabasePasswordsAreRedacted(t *testing.T) {
	for _, database := range []string{"postgres://alice:hunter22@[::1/test", "postgres://alice:hunter22@:5432/test", "postgres://alice:hunter22@db:x/test"} {
		_, err := LoadConfig(env(map[string]string{"DATABASE": database}))
		if err == nil || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%s: err %v, want one without the password", database, err)
		}
	}
	for _, nats := range []string{"nats://alice:hunter22@[::1:4222", "nats://hunter22@n1:4222,nats://alice:hunter22@n2:4222"} {
		_, err := LoadConfig(env(map[string]string{"NATS_URL": nats, "DATABASE": "postgres://db/x"}))
		if err != nil && strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%s: err %v shows the secret", nats, err)
		}
		if got := redactedNatsURL(nats); strings.Contains(got, "hunter22") {
			t.Errorf("redactedNatsURL = %q", got)
		}
	}
	if got := redactedURL("postgres://alice:hunter22@db:5432/test"); got != "postgres://alice:xxxxx@db:5432/test" {
		t.Errorf("redactedURL = %q", got)
	}
	if got := redactedURL("/data/alice:hunter22.db"); got != "/data/alice:hunter22.db" {
		t.Errorf("redactedURL of a path = %q", got)
	}
}

func TestLoadConfigReportsEveryProblemTogether(t *testing.T) {
	_, err := LoadConfig(env(map[string]string{"PORT": "x", "NUM_TH": "0", "ADDR": "?", "PUBLIC_HOST": "a b", "RESTART_NOTICE": "y",
		"LOG_FORMAT": "xml", "LOG_LEVEL": "loud", "METRICS_ADDR": "nowhere"}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"PORT", "NUM_TH", "ADDR", "PUBLIC_HOST", "RESTART_NOTICE", "LOG_FORMAT", "LOG_LEVEL", "METRICS_ADDR"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not mention %s", err, name)
		}
	}
}

func TestRunExitsWithStatus2OnBadConfig(t *testing.T) {
	var stderr strings.Builder
	code := Run(t.Context(), env(map[string]string{"NUM_TH": "0", "PUBLIC_HOST": "chat.example.org:22", "LOG_LEVEL": "loud"}), &stderr)
	if code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	for _, name := range []string{"NUM_TH", "PUBLIC_HOST", "LOG_LEVEL"} {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("stderr %q does not explain the problem with %s", stderr.String(), name)
		}
	}
}

func TestRestartNoticeAcceptsOnAndOff(t *testing.T) {
	for raw, want := range map[string]bool{"": false, "0": false, "false": false, "FALSE": false, "1": true, "true": true, "True": true} {
		c, err := LoadConfig(env(map[string]string{"RESTART_NOTICE": raw, "PUBLIC_HOST": "localhost"}))
		if err != nil || c.RestartNotice != want {
			t.Errorf("RESTART_NOTICE=%q: %v, %v; want %v", raw, c.RestartNotice, err, want)
		}
	}
}

// The start log says where the server listens, the fingerprint of the host
// key that clients will be shown, and the commands to sign up and log in.
func TestRunLogsHowToConnect(t *testing.T) {
	dir := t.TempDir()
	log := &childLog{changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	exited := make(chan int, 1)
	go func() {
		exited <- Run(ctx, env(map[string]string{
			"ADDR": "127.0.0.1", "PORT": "0", "PUBLIC_HOST": "chat.example.org",
			"DATABASE": filepath.Join(dir, "messaging.db"), "HOST_KEY": filepath.Join(dir, "host_ed25519"),
		}), log)
	}()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	var addr string
	for addr == "" {
		text, changed := log.read()
		if m := listeningLine.FindStringSubmatch(text); m != nil {
			addr = m[1]
			break
		}
		select {
		case <-changed:
		case code := <-exited:
			t.Fatalf("Run returned %d before listening:\n%s", code, text)
		case <-deadline.C:
			t.Fatalf("the server did not say where it listens:\n%s", text)
		}
	}
	seen := hostKeySeenAt(t, addr) // after the start log: the server serves once it is written
	_, port, _ := net.SplitHostPort(addr)
	text := log.String()
	for _, want := range []string{
		"host_key=" + seen,
		`msg="to sign up" run="ssh -p ` + port + ` signup@chat.example.org"`,
		`msg="to log in" run="ssh -p ` + port + ` NAME@chat.example.org"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the start log does not say %s:\n%s", want, text)
		}
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
}
