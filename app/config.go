package app

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Config is everything the server reads from its environment. LoadConfig is
// the only place that reads it.
type Config struct {
	Addr        string // ADDR: interface to listen on
	Port        int    // PORT: 0 picks a free port (tests)
	Workers     int    // NUM_TH: the room's delivery workers
	Database    string // DATABASE: SQLite file
	HostKey     string // HOST_KEY: ed25519 host key, created on first start
	PasswordMin int    // PASSWORD_MIN: shortest password accepted at signup
	PasswordMax int    // PASSWORD_MAX: longest password accepted at signup
	History     int    // HISTORY: messages a new session sees
	MaxMessage  int    // MAX_MESSAGE: longest message, in characters
}

// Bounds of the settings. Passwords are bounded above so that nobody can make
// the server hash megabytes; 1024 leaves room for any passphrase.
const (
	maxWorkers          = 256
	longestPasswordRule = 1024
	maxHistory          = 1000
	longestMessageRule  = 10000
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

	c := Config{
		Addr:        get("ADDR", "0.0.0.0"),
		Port:        number("PORT", "4848", 0, 65535),
		Workers:     number("NUM_TH", "2", 1, maxWorkers),
		Database:    get("DATABASE", "messaging.db"),
		HostKey:     get("HOST_KEY", ".ssh/messaging_ed25519"),
		PasswordMin: number("PASSWORD_MIN", "8", 1, longestPasswordRule),
		PasswordMax: number("PASSWORD_MAX", "15", 1, longestPasswordRule),
		History:     number("HISTORY", "100", 1, maxHistory),
		MaxMessage:  number("MAX_MESSAGE", "1000", 1, longestMessageRule),
	}
	if !validHost(c.Addr) {
		errs = append(errs, fmt.Errorf("ADDR=%q is not an IP address or host name", c.Addr))
	}
	if c.PasswordMin > c.PasswordMax {
		errs = append(errs, fmt.Errorf("PASSWORD_MIN=%d is greater than PASSWORD_MAX=%d", c.PasswordMin, c.PasswordMax))
	}
	if strings.ContainsRune(c.Database, 0) || strings.ContainsRune(c.HostKey, 0) {
		errs = append(errs, errors.New("DATABASE and HOST_KEY must not contain NUL bytes"))
	}
	return c, errors.Join(errs...)
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
