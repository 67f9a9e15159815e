package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"messaging/chat"
	"messaging/store"
)

// A storm of logins (a restart, everyone reconnecting) seen from one
// chat screen over SSH, with the default presence settings: a few lines,
// not one per person, a member column that ends exactly right, and a
// bounded number of bytes.
func TestAStormOfLoginsKeepsTheScreenCalm(t *testing.T) {
	const storm = 500
	cfg := testConfig(t)
	cfg.PresenceWindow, cfg.PresenceQuiet = 2*time.Second, 200 // the defaults
	ts := startServer(t, cfg)
	alice := ts.chatter(t, "alice", 100, 30)

	ctx := context.Background()
	hash, err := store.HashPassword("password1")
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, storm)
	for i := range names {
		names[i] = fmt.Sprintf("user%03d", i)
		if err := ts.srv.store.CreateAccount(ctx, store.Account{Name: names[i], PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	before := len(alice.rawOutput())
	members := make([]*chat.Member, storm)
	for i, name := range names {
		if members[i], err = ts.srv.room.Join(ctx, name); err != nil {
			t.Fatal(err)
		}
		defer members[i].Leave()
	}
	screen := alice.waitFor("501 online, and the last coalesced notice", func(s string) bool {
		return strings.Contains(s, "501 online") && strings.Contains(s, "Online (501)") && strings.Contains(s, "others joined")
	})
	joinLines := strings.Count(screen, " joined")
	if joinLines > 4 {
		t.Errorf("%d logins gave %d join lines, want at most 4 (alice's, the first at once, the rest coalesced up to the quiet limit):\n%s", storm, joinLines, screen)
	}
	// The column: alice, then user000 on, sorted; its last row counts the rest.
	rows := columnRows(screen)
	if len(rows) < 5 || rows[0] != "Online (501)" || rows[1] != "alice" || rows[2] != "user000" || rows[3] != "user001" ||
		!strings.HasSuffix(rows[len(rows)-1], "more") {
		t.Errorf("member column %q, want Online (501), alice, user000, user001 ... +N more", rows)
	}
	if n := len(rows) - 2; !strings.HasPrefix(rows[len(rows)-1], fmt.Sprintf("+%d more", 501-n)) {
		t.Errorf("the column's last row is %q, want +%d more", rows[len(rows)-1], 501-n)
	}
	stormBytes := len(alice.rawOutput()) - before
	if stormBytes > 20_000 {
		t.Errorf("the storm cost alice's screen %d bytes, want at most 20 KB", stormBytes)
	}
	t.Logf("%d logins: %d join lines on alice's screen, %d bytes", storm, joinLines, stormBytes)

	for _, m := range members {
		m.Leave()
	}
	screen = alice.waitFor("1 online again", func(s string) bool {
		return strings.Contains(s, "Online (1)") && strings.Contains(s, "others left")
	})
	if n := strings.Count(screen, " left"); n > 3 {
		t.Errorf("%d logouts gave %d lines, want at most 3:\n%s", storm, n, screen)
	}
}

// columnRows is the member column of a 100-column chat screen: what
// follows the log's right border on each row, trimmed, up to the first
// empty one.
func columnRows(screen string) []string {
	var rows []string
	for _, line := range strings.Split(screen, "\n")[1:] {
		i := strings.LastIndex(line, "│")
		if i < 0 {
			break
		}
		cell := strings.TrimSpace(line[i+len("│"):])
		if cell == "" {
			break
		}
		rows = append(rows, cell)
	}
	return rows
}
