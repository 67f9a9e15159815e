package app

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"messaging/store"
)

// Config is everything the server reads from its environment. LoadConfig is
// the only place that reads it.
type Config struct {
	Addr       string // ADDR: interface to listen on
	Port       int    // PORT: 0 picks a free port (tests)
	PublicHost string // PUBLIC_HOST: the host name users type in ssh, for the hints that show it
	Workers    int    // NUM_TH: the room's delivery workers
	Database   string // DATABASE: SQLite file, or postgres:// URL
	// NATS_URL: the NATS server(s) that connect the nodes sharing a
	// PostgreSQL DATABASE ("": this node runs alone); NATS_SUBJECT: the
	// subjects' prefix, so that several clusters may share one NATS.
	NatsURL     string
	NatsSubject string
	HostKey     string // HOST_KEY: ed25519 host key, created on first start
	PasswordMin int    // PASSWORD_MIN: shortest password accepted at signup
	PasswordMax int    // PASSWORD_MAX: longest password accepted at signup
	History     int    // HISTORY: messages a new session sees
	MaxMessage  int    // MAX_MESSAGE: longest message, in characters

	// Abuse limits; 0 switches each off (load tests, trusted networks).
	MaxSessions       int     // MAX_SESSIONS: chat sessions in all
	MaxSessionsPerIP  int     // MAX_SESSIONS_PER_IP: chat sessions from one address
	MaxUnauth         int     // MAX_UNAUTH: connections not yet logged in, in all
	MaxUnauthPerIP    int     // MAX_UNAUTH_PER_IP: ... from one address
	SignupsPerIPHour  int     // SIGNUPS_PER_IP_HOUR: new accounts from one address per hour
	PenaltyFailures   int     // PENALTY_FAILURES: failed logins before an address must wait
	AccountFailures   int     // ACCOUNT_FAILURES: failed logins for an account from one address before that address backs off from it
	MsgBurst          int     // MSG_BURST: messages a person may send at once
	MsgPerSec         float64 // MSG_PER_SEC: messages per second after the burst
	InputRate         int     // INPUT_RATE: bytes a second a session's input is read at, after a 64 KiB burst
	SignupNamesPerMin int     // SIGNUP_NAMES_PER_MIN: names an address may try at signup per minute
	MaxChannels       int     // MAX_CHANNELS: channels in all
	ChannelsPerUser   int     // CHANNELS_PER_USER: channels one account may be in
	KeysPerAccount    int     // KEYS_PER_ACCOUNT: public keys one account may register (0: no limit)
	// PRESENCE_WINDOW: logins and logouts in a channel less than this apart
	// are told in one notice (0: each at once). PRESENCE_QUIET: a channel
	// with more people online than this tells none (0: no limit).
	PresenceWindow time.Duration
	PresenceQuiet  int

	IdleTimeout time.Duration // IDLE_TIMEOUT: close a session idle this long
	Keepalive   time.Duration // KEEPALIVE: probe the client this often; 3 missed = gone

	// ACCOUNT_FAILURES_HOUR: failed logins an account may have in a rolling
	// hour, from all addresses together; past it, the account's password
	// checks are refused from every address (public-key logins are neither
	// counted nor refused).
	AccountFailuresHour int

	// PPROF_ADDR: a loopback host:port serving Go's profiler; "" (the
	// default) serves nothing.
	PprofAddr string

	// METRICS_ADDR: the host:port serving /metrics (Prometheus), /healthz
	// and /readyz; "" (the default) serves nothing. Any address is
	// accepted; one not on the loopback interface is warned about at
	// start.
	MetricsAddr string

	LogFormat string     // LOG_FORMAT: "text" (the default) or "json"
	LogLevel  slog.Level // LOG_LEVEL: debug, info (the default), warn or error

	// ADMINS: accounts made admins at start, if they exist (comma
	// separated). Taking a name out demotes nobody: the command line does.
	Admins []string

	// PROXY_PROTOCOL: the load balancers (addresses or CIDR ranges, comma
	// separated) whose connections open with a PROXY protocol header
	// naming the client, so that per-address limits and logs see the
	// client; "" (the default): none.
	ProxyFrom []netip.Prefix

	// RESTART_NOTICE: every stop tells users the server is restarting, as
	// a stop caused by ErrRestart does (for a service that is always
	// started again).
	RestartNotice bool
}

// Bounds of the settings. Passwords are bounded above so that nobody can make
// the server hash megabytes; 1024 leaves room for any passphrase.
const (
	maxWorkers          = 256
	longestPasswordRule = 1024
	maxHistory          = 1000
	longestMessageRule  = 10000
	maxLimit            = 1_000_000
)

// ListenAddr is the host:port the server binds.
func (c Config) ListenAddr() string {
	return net.JoinHostPort(c.Addr, strconv.Itoa(c.Port))
}

// LoadConfig reads the configuration through getenv (os.Getenv in main, a map
// in tests), applies the defaults, and reports every invalid value at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	get := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	number := func(name, def string, min, max int) int {
		raw := get(name, def)
		n, err := strconv.Atoi(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a whole number", name, raw))
			return 0
		}
		if n < min || n > max {
			errs = append(errs, fmt.Errorf("%s=%d is out of range: it must be %d to %d", name, n, min, max))
		}
		return n
	}

	rate := func(name, def string) float64 {
		raw := get(name, def)
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || f < 0 || f > maxLimit || math.IsNaN(f) {
			errs = append(errs, fmt.Errorf("%s=%q is not a rate: use a number from 0 to %d, like 0.5 or 2", name, raw, maxLimit))
			return 0
		}
		return f
	}
	duration := func(name, def string) time.Duration {
		raw := get(name, def)
		if raw == "0" {
			return 0
		}
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 || d > 365*24*time.Hour {
			errs = append(errs, fmt.Errorf("%s=%q is not a duration: use 0 (off) or a value like 90s, 30m or 2h", name, raw))
			return 0
		}
		if d > 0 && d < time.Second {
			errs = append(errs, fmt.Errorf("%s=%s is too short: use at least 1s, or 0 for off", name, raw))
		}
		return d
	}

	flag := func(name string) bool {
		switch raw := getenv(name); strings.ToLower(raw) {
		case "", "0", "false":
			return false
		case "1", "true":
			return true
		default:
			errs = append(errs, fmt.Errorf("%s=%q is not a switch: use 1 or true (on), 0 or false (off)", name, raw))
			return false
		}
	}

	c := Config{
		Addr:        get("ADDR", "0.0.0.0"),
		Port:        number("PORT", "4848", 0, 65535),
		PublicHost:  getenv("PUBLIC_HOST"),
		Workers:     number("NUM_TH", "2", 1, maxWorkers),
		Database:    get("DATABASE", "messaging.db"),
		NatsURL:     getenv("NATS_URL"),
		NatsSubject: get("NATS_SUBJECT", "messaging"),
		HostKey:     get("HOST_KEY", ".ssh/messaging_ed25519"),
		PasswordMin: number("PASSWORD_MIN", "8", 1, longestPasswordRule),
		PasswordMax: number("PASSWORD_MAX", "15", 1, longestPasswordRule),
		History:     number("HISTORY", "100", 1, maxHistory),
		MaxMessage:  number("MAX_MESSAGE", "1000", 1, longestMessageRule),

		MaxSessions:       number("MAX_SESSIONS", "1000", 0, maxLimit),
		MaxSessionsPerIP:  number("MAX_SESSIONS_PER_IP", "10", 0, maxLimit),
		MaxUnauth:         number("MAX_UNAUTH", "64", 0, maxLimit),
		MaxUnauthPerIP:    number("MAX_UNAUTH_PER_IP", "8", 0, maxLimit),
		SignupsPerIPHour:  number("SIGNUPS_PER_IP_HOUR", "3", 0, maxLimit),
		PenaltyFailures:   number("PENALTY_FAILURES", "5", 0, maxLimit),
		AccountFailures:   number("ACCOUNT_FAILURES", "3", 0, maxLimit),
		MsgBurst:          number("MSG_BURST", "5", 0, maxLimit),
		MsgPerSec:         rate("MSG_PER_SEC", "1"),
		InputRate:         number("INPUT_RATE", "4096", 0, maxLimit),
		SignupNamesPerMin: number("SIGNUP_NAMES_PER_MIN", "30", 0, maxLimit),
		MaxChannels:       number("MAX_CHANNELS", "1000", 0, maxLimit),
		ChannelsPerUser:   number("CHANNELS_PER_USER", "50", 0, maxLimit),
		KeysPerAccount:    number("KEYS_PER_ACCOUNT", "10", 0, 1000),
		PresenceWindow:    duration("PRESENCE_WINDOW", "2s"),
		PresenceQuiet:     number("PRESENCE_QUIET", "200", 0, maxLimit),
		IdleTimeout:       duration("IDLE_TIMEOUT", "0"),
		Keepalive:         duration("KEEPALIVE", "30s"),
		PprofAddr:         getenv("PPROF_ADDR"),
		MetricsAddr:       getenv("METRICS_ADDR"),
		RestartNotice:     flag("RESTART_NOTICE"),

		// One account's failures from every address, per hour (limits.mayTry).
		AccountFailuresHour: number("ACCOUNT_FAILURES_HOUR", "100", 0, maxLimit),
	}
	if !validHost(c.Addr) {
		errs = append(errs, fmt.Errorf("ADDR=%q is not an IP address or host name", c.Addr))
	}
	switch {
	case c.PublicHost != "":
		if !validHost(c.PublicHost) {
			errs = append(errs, fmt.Errorf("PUBLIC_HOST=%q is not an IP address or host name", c.PublicHost))
		}
	default:
		// The machine's own name; one that ssh could not reach is refused
		// rather than shown to users.
		name, err := os.Hostname()
		if err == nil && !validHost(name) {
			err = fmt.Errorf("%q is not a valid host name", name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("PUBLIC_HOST is not set and this machine's name cannot stand in for it (%v): set PUBLIC_HOST to the name users reach the server by", err))
		}
		c.PublicHost = name
	}
	if c.PasswordMin > c.PasswordMax {
		errs = append(errs, fmt.Errorf("PASSWORD_MIN=%d is greater than PASSWORD_MAX=%d", c.PasswordMin, c.PasswordMax))
	}
	if c.PprofAddr != "" {
		if err := loopbackAddr(c.PprofAddr); err != nil {
			errs = append(errs, fmt.Errorf("PPROF_ADDR=%q %v", c.PprofAddr, err))
		}
	}
	if c.MetricsAddr != "" {
		if _, err := metricsListenAddr(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("METRICS_ADDR=%q %v", c.MetricsAddr, err))
		}
	}
	var ok bool
	if c.LogFormat, ok = parseLogFormat(getenv("LOG_FORMAT")); !ok {
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q is not a log format: use text or json", getenv("LOG_FORMAT")))
	}
	if c.LogLevel, ok = parseLogLevel(getenv("LOG_LEVEL")); !ok {
		errs = append(errs, fmt.Errorf("LOG_LEVEL=%q is not a log level: use debug, info, warn or error", getenv("LOG_LEVEL")))
	}
	c.Admins, errs = parseAdmins(getenv("ADMINS"), errs)
	if from, err := parseProxyFrom(getenv("PROXY_PROTOCOL")); err != nil {
		errs = append(errs, err)
	} else {
		c.ProxyFrom = from
	}
	if strings.ContainsRune(c.Database, 0) || strings.ContainsRune(c.HostKey, 0) {
		errs = append(errs, errors.New("DATABASE and HOST_KEY must not contain NUL bytes"))
	} else if isPostgres(c.Database) {
		if err := checkPostgresURL(c.Database); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, checkNats(c))
	return c, errors.Join(errs...)
}

// parseAdmins reads ADMINS: account names separated by commas (blanks
// around them ignored), each a valid username, each once.
func parseAdmins(raw string, errs []error) ([]string, []error) {
	var names []string
	seen := map[string]bool{}
	for _, name := range strings.Split(raw, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case store.ValidateUsername(name) != nil:
			errs = append(errs, fmt.Errorf("ADMINS names %q, which cannot be an account: %v", name, store.ValidateUsername(name)))
		case !seen[strings.ToLower(name)]:
			seen[strings.ToLower(name)] = true
			names = append(names, name)
		}
	}
	return names, errs
}

// loopbackAddr accepts host:port on the loopback interface only: the
// profiler shows the server's memory and must never face the network.
func loopbackAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("is not host:port, like 127.0.0.1:6060")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("has no port from 0 to 65535")
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("is not on the loopback interface: use 127.0.0.1, [::1] or localhost")
	}
	return nil
}

// validHost accepts an IP literal or a DNS name made of letters, digits,
// hyphens and dots.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}
