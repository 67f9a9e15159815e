package app

import (
	"io"
	"log/slog"
	"strings"
)

// Log formats (LOG_FORMAT).
const (
	logText = "text" // slog's key=value lines
	logJSON = "json" // one JSON object per line
)

// newLogger is the server's logger: LOG_FORMAT's handler, writing to w the
// records at LOG_LEVEL and above. Nothing the server logs holds a password
// or a message body.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == logJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// parseLogFormat reads LOG_FORMAT ("" is text).
func parseLogFormat(raw string) (string, bool) {
	switch f := strings.ToLower(raw); f {
	case "":
		return logText, true
	case logText, logJSON:
		return f, true
	}
	return "", false
}

// parseLogLevel reads LOG_LEVEL ("" is info).
func parseLogLevel(raw string) (slog.Level, bool) {
	switch strings.ToLower(raw) {
	case "debug":
		return slog.LevelDebug, true
	case "", "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return 0, false
}
