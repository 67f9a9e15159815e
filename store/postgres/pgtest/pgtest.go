// Package pgtest gives tests a PostgreSQL database of their own: an empty
// schema on the server named by MESSAGING_TEST_POSTGRES, dropped when the
// test ends. Without the variable, the test is skipped, saying why.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable that holds the URL of a PostgreSQL server the
// tests may create and drop schemas in.
const Env = "MESSAGING_TEST_POSTGRES"

// ServerURL is the test server's URL; the test is skipped without one.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(Env)
	if u == "" {
		tb.Skip(Env + " not set: this test needs a PostgreSQL server")
	}
	return u
}

// FreshURL creates an empty schema with a random name on the test server,
// drops it when the test ends, and returns the server's URL with that
// schema as its search_path: tests, and test runs, never see each other's
// tables.
func FreshURL(tb testing.TB) string {
	tb.Helper()
	base := ServerURL(tb)
	schema := "messaging_test_" + strings.ToLower(rand.Text())
	admin := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		// The test's context is done by now.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := admin(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
