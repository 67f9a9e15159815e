package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"messaging/store"
	"messaging/store/postgres"
	"messaging/store/sqlite"
)

// isPostgres reports whether DATABASE names a PostgreSQL server (a
// postgres:// or postgresql:// URL) rather than a SQLite file.
func isPostgres(database string) bool {
	scheme, _, ok := strings.Cut(database, "://")
	return ok && (scheme == "postgres" || scheme == "postgresql")
}

// checkPostgresURL finds the wrong forms of a PostgreSQL URL that need no
// server to tell: what remains (a server that refuses, a wrong password)
// is found as the store opens.
func checkPostgresURL(database string) error {
	u, err := url.Parse(database)
	if err != nil {
		return fmt.Errorf("DATABASE is not a PostgreSQL URL: %v", redactedError(err, database))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("DATABASE=%q names no server: use postgres://user@host:5432/database", redactedURL(database))
	}
	return nil
}

// redactedURL is database as logs may show it: a URL's password replaced
// by "xxxxx"; a SQLite path as it is.
func redactedURL(database string) string {
	if !isPostgres(database) {
		return database
	}
	u, err := url.Parse(database)
	if err != nil {
		return "(a PostgreSQL URL that does not parse)"
	}
	if _, has := u.User.Password(); !has {
		return database
	}
	return u.Redacted()
}

// redactedError is err with any password of database taken out: url's
// errors quote the whole URL.
func redactedError(err error, database string) string {
	msg := err.Error()
	if !isPostgres(database) {
		return msg
	}
	return strings.ReplaceAll(msg, database, redactedURL(database))
}

// openStore opens DATABASE: the PostgreSQL server its URL names, or else
// the SQLite file at its path (created if need be).
func openStore(ctx context.Context, database string, log *slog.Logger) (store.Store, error) {
	if isPostgres(database) {
		st, err := postgres.Open(ctx, database)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	warnIfShared(log, database)
	st, err := sqlite.Open(ctx, database)
	if err != nil {
		return nil, err
	}
	return st, nil
}
