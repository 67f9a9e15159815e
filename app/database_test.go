package app

import (
	"testing"

	"messaging/store/postgres/pgtest"
)

// With DATABASE a PostgreSQL URL the whole server runs on it: signup,
// channels, direct messages, and the history after a restart.
func TestTheServerRunsOnPostgreSQL(t *testing.T) {
	cfg := testConfig(t)
	cfg.Database = pgtest.FreshURL(t)
	first := startServer(t, cfg)
	alice := first.chatter(t, "alice", 100, 30)
	bob := first.chatter(t, "bob", 100, 30)
	alice.say("/join #go")
	alice.waitHeader("#go")
	bob.say("/join #go")
	bob.waitHeader("#go")
	alice.say("gophers here?")
	bob.waitText("alice: gophers here?")
	bob.say("/msg alice just you and me")
	alice.waitText("@bob") // in alice's sidebar, unread
	alice.say("/reply and the database")
	alice.waitText("bob: just you and me")
	bob.waitText("alice: and the database")
	first.stop(t)
	alice.waitEnd()
	bob.waitEnd()

	second := startServer(t, cfg)
	again := second.relogin(t, "alice", 100, 30)
	again.say("/join #go")
	again.waitText("alice: gophers here?")
}
