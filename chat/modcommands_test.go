package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memModeration is Moderation for the command tests, in memory. It
// records what it was asked; an actor named "broken" makes it fail as a
// broken store would.
type memModeration struct {
	mu        sync.Mutex
	roles     map[string]Role // by foldName
	sanctions []Sanction
	motd      string
	audit     []AuditEntry
	purged    map[string]time.Time
}

func newMemModeration(admins ...string) *memModeration {
	m := &memModeration{roles: map[string]Role{}, purged: map[string]time.Time{}}
	for _, a := range admins {
		m.roles[foldName(a)] = RoleAdmin
	}
	return m
}

var errBroken = errors.New("the store is on fire")

func (m *memModeration) record(actor, action, target, reason string) error {
	if actor == "broken" {
		return errBroken
	}
	m.audit = append([]AuditEntry{{At: time.Now(), Actor: actor, Action: action, Target: target, Reason: reason}}, m.audit...)
	return nil
}

func (m *memModeration) Role(_ context.Context, account string) (Role, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.roles[foldName(account)], nil
}

func (m *memModeration) SetRole(_ context.Context, actor, account string, role Role) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.record(actor, "role", account, role.String()); err != nil {
		return err
	}
	m.roles[foldName(account)] = role
	return nil
}

func (m *memModeration) Kick(_ context.Context, actor, account, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.record(actor, "kick", account, reason)
}

func (m *memModeration) sanction(kind, actor, account string, d time.Duration, reason string) (Sanction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.record(actor, kind, account, reason); err != nil {
		return Sanction{}, err
	}
	s := Sanction{Kind: kind, Account: account, By: actor, Reason: reason, At: time.Now()}
	if d > 0 {
		s.Until = s.At.Add(d)
	}
	m.sanctions = slices.DeleteFunc(m.sanctions, func(o Sanction) bool { return o.Kind == kind && o.Account == account })
	m.sanctions = append(m.sanctions, s)
	return s, nil
}

func (m *memModeration) lift(kind, actor, account string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.sanctions)
	m.sanctions = slices.DeleteFunc(m.sanctions, func(o Sanction) bool { return o.Kind == kind && o.Account == account })
	if len(m.sanctions) == n {
		return Refusal(fmt.Sprintf("%s is not %s.", account, map[string]string{SanctionBan: "banned", SanctionMute: "muted"}[kind]))
	}
	return m.record(actor, "un"+kind, account, "")
}

func (m *memModeration) Mute(_ context.Context, actor, account string, d time.Duration, reason string) (Sanction, error) {
	return m.sanction(SanctionMute, actor, account, d, reason)
}
func (m *memModeration) Unmute(_ context.Context, actor, account string) error {
	return m.lift(SanctionMute, actor, account)
}
func (m *memModeration) Ban(_ context.Context, actor, account string, d time.Duration, reason string) (Sanction, error) {
	return m.sanction(SanctionBan, actor, account, d, reason)
}
func (m *memModeration) Unban(_ context.Context, actor, account string) error {
	return m.lift(SanctionBan, actor, account)
}

func (m *memModeration) Sanctions(context.Context) ([]Sanction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sanctions), nil
}

func (m *memModeration) Purge(_ context.Context, actor, account string, since time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.record(actor, "purge", account, ""); err != nil {
		return 0, err
	}
	m.purged[foldName(account)] = since
	return 3, nil
}

func (m *memModeration) MOTD(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.motd, nil
}

func (m *memModeration) SetMOTD(_ context.Context, actor, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.record(actor, "motd", "", text); err != nil {
		return err
	}
	m.motd = text
	return nil
}

func (m *memModeration) Audit(_ context.Context, n int) ([]AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.audit[:min(n, len(m.audit))]), nil
}

// Stats is a fixed picture: 5 minutes, the last with 41 posts.
func (m *memModeration) Stats(_ context.Context, actor string) (Stats, error) {
	if actor == "broken" {
		return Stats{}, errBroken
	}
	ms := time.Millisecond
	return Stats{
		Sessions:    []int{3, 4, 5, 5, 8},
		Posted:      []int{0, 0, 12, 41 * 4, 41},
		DeliveryP50: []time.Duration{1 * ms, 2 * ms, 2 * ms, 3 * ms, 3100 * time.Microsecond},
		DeliveryP99: []time.Duration{0, 10 * ms, 40 * ms, 80 * ms, 18 * ms},
	}, nil
}

// Every moderation command through Run: its usage, who may use it, its
// refusals, and what it does to the room. alice is an admin, bob becomes
// a moderator, carol and dave are members, erin is offline, broken is an
// admin whose actions the store fails.
func TestModerationCommands(t *testing.T) {
	h := &memHistory{}
	mod := newMemModeration("alice", "broken")
	r := newTestRoom(t, h, RoomConfig{Moderation: mod}, "erin")
	sessions := map[string]*session{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "broken"} {
		sessions[name] = newSession(t, r, name)
	}
	if p, _ := r.Presence("alice"); p.Role != RoleAdmin {
		t.Fatalf("alice shows as %v, want the admin she is at Join", p.Role)
	}
	type step struct {
		who, line string
		refused   bool     // Run returns false
		kept      bool     // the line is kept (every refusal but a usage)
		notices   []string // each a prefix of the notice given, in order, all of them
		check     func(t *testing.T)
	}
	role := func(name string, want Role) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			if p, ok := r.Presence(name); !ok || p.Role != want {
				t.Errorf("%s shows as %v (online %v), want %v", name, p.Role, ok, want)
			}
		}
	}
	announced := func(body string) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			waitFor(t, "the notice "+body, func() bool {
				h.mu.Lock()
				defer h.mu.Unlock()
				return slices.ContainsFunc(h.msgs, func(m Message) bool {
					// a role change of someone online is a KindRole notice
					return (m.Kind == KindSystem || m.Kind == KindRole) && m.Conv == lobby(r) && m.Body == body
				})
			})
		}
	}
	ended := func(name, reason string) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			var removed *RemovedError
			if err := sessions[name].member.Err(); !errors.As(err, &removed) || removed.Reason != reason {
				t.Errorf("%s's session ended with %v, want %q", name, err, reason)
			}
		}
	}
	steps := []step{
		// Roles: admins only.
		{who: "alice", line: "/op", refused: true, notices: []string{"Usage: /op NAME ((admins) make NAME a moderator)"}},
		{who: "carol", line: "/op dave", kept: true, notices: []string{"Only admins can change roles."}},
		{who: "alice", line: "/op nobody", kept: true, notices: []string{"Nobody is called nobody."}},
		{who: "alice", line: "/op alice", kept: true, notices: []string{"You cannot change your own role."}},
		{who: "alice", line: "/op broken", kept: true, notices: []string{"broken is an admin: an admin's role changes only from the command line"}},
		{who: "alice", line: "/deop bob", kept: true, notices: []string{"bob is not a moderator."}},
		{who: "alice", line: "/op @BOB", check: func(t *testing.T) { role("bob", RoleModerator)(t); announced("alice made bob a moderator")(t) }},
		{who: "alice", line: "/op bob", kept: true, notices: []string{"bob is a moderator already."}},
		{who: "bob", line: "/op carol", kept: true, notices: []string{"Only admins can change roles."}},
		{who: "alice", line: "/whois bob", notices: []string{"bob: signed up ", "  online since ", "  channels in common"}},
		{who: "carol", line: "/whois alice", notices: []string{"alice: signed up ", "  online since ", "  channels in common"},
			check: func(t *testing.T) {
				if n := sessions["carol"].notices[0]; !strings.HasSuffix(n, "; admin") {
					t.Errorf("/whois alice says %q, want her role", n)
				}
			}},
		{who: "alice", line: "/op erin", check: func(t *testing.T) {
			if _, online := r.Presence("erin"); online {
				t.Error("erin is online")
			}
		}},
		{who: "alice", line: "/deop erin"},

		// Kick.
		{who: "bob", line: "/kick", refused: true, notices: []string{"Usage: /kick NAME [REASON]"}},
		{who: "carol", line: "/kick dave", kept: true, notices: []string{"Only moderators can kick."}},
		{who: "bob", line: "/kick bob", kept: true, notices: []string{"You cannot kick yourself."}},
		{who: "bob", line: "/kick alice rude", kept: true, notices: []string{"alice is an admin: a moderator cannot kick an admin."}},
		{who: "bob", line: "/kick erin", kept: true, notices: []string{"erin is not online: nobody to kick. /ban erin keeps them out."}},
		{who: "bob", line: "/kick nobody", kept: true, notices: []string{"Nobody is called nobody."}},

		// Mute and unmute.
		{who: "bob", line: "/mute", refused: true, notices: []string{"Usage: /mute NAME [DURATION] [REASON]"}},
		{who: "dave", line: "/mute carol", kept: true, notices: []string{"Only moderators can mute."}},
		{who: "bob", line: "/mute carol 10x spam", kept: true, notices: []string{`"10x" is not a duration: write one like 10m, 2h or 7d, at most 365d. Usage: /mute NAME [DURATION] [REASON]`}},
		{who: "bob", line: "/mute carol 0m", kept: true, notices: []string{`"0m" is not a duration`}},
		{who: "bob", line: "/mute carol 366d", kept: true, notices: []string{"366d is too long: at most 365d. Usage: /mute"}},
		{who: "bob", line: "/mute carol 10m spam\x1b[2J links", check: func(t *testing.T) {
			_, err := sessions["carol"].member.Send(lobby(r), KindText, "more links")
			var muted *MutedError
			if !errors.As(err, &muted) || muted.Reason != "spam[2J links" || !strings.HasPrefix(err.Error(), "you are muted until ") {
				t.Errorf("a muted member's Send: %v, want a *MutedError with the reason", err)
			}
			if _, err := sessions["dave"].member.Send(lobby(r), KindText, "hi"); err != nil {
				t.Errorf("another member's Send: %v", err)
			}
			announced("carol was muted by bob " + Until(time.Now(), time.Now().Add(10*time.Minute)) + ": spam[2J links")(t)
		}},
		{who: "bob", line: "/unmute", refused: true, notices: []string{"Usage: /unmute NAME"}},
		{who: "carol", line: "/unmute carol", kept: true, notices: []string{"Only moderators can unmute."}},
		{who: "bob", line: "/unmute carol", check: func(t *testing.T) {
			if _, err := sessions["carol"].member.Send(lobby(r), KindText, "sorry"); err != nil {
				t.Errorf("an unmuted member's Send: %v", err)
			}
			announced("carol was unmuted by bob")(t)
		}},
		{who: "bob", line: "/unmute carol", kept: true, notices: []string{"carol is not muted."}},
		{who: "alice", line: "/mute bob", check: func(t *testing.T) {
			if _, err := sessions["bob"].member.Send(lobby(r), KindText, "x"); !strings.Contains(fmt.Sprint(err), "you are muted until lifted") {
				t.Errorf("muted until lifted: %v", err)
			}
		}},
		{who: "alice", line: "/unmute bob"},

		// Bans.
		{who: "bob", line: "/ban", refused: true, notices: []string{"Usage: /ban NAME [DURATION] [REASON]"}},
		{who: "carol", line: "/ban dave", kept: true, notices: []string{"Only moderators can ban."}},
		{who: "bob", line: "/ban alice", kept: true, notices: []string{"alice is an admin: a moderator cannot ban an admin."}},
		{who: "bob", line: "/ban dave 2x", kept: true, notices: []string{`"2x" is not a duration`}},
		{who: "bob", line: "/bans", notices: []string{"Nobody is banned or muted."}},
		{who: "carol", line: "/bans", kept: true, notices: []string{"Only moderators can list bans and mutes."}},
		{who: "bob", line: "/ban erin 7d spam", notices: nil},
		{who: "bob", line: "/bans", notices: []string{"Bans and mutes (1):", "  ban erin by bob on "}},
		{who: "bob", line: "/unban", refused: true, notices: []string{"Usage: /unban NAME"}},
		{who: "carol", line: "/unban erin", kept: true, notices: []string{"Only moderators can unban."}},
		{who: "bob", line: "/unban erin", notices: []string{"erin is no longer banned."}},
		{who: "bob", line: "/unban erin", kept: true, notices: []string{"erin is not banned."}},

		// Purge.
		{who: "bob", line: "/purge", refused: true, notices: []string{"Usage: /purge NAME [MINUTES]"}},
		{who: "carol", line: "/purge dave", kept: true, notices: []string{"Only moderators can purge."}},
		{who: "bob", line: "/purge dave soon", kept: true, notices: []string{"Minutes are a whole number from 1 to 10080. Usage: /purge NAME [MINUTES]"}},
		{who: "bob", line: "/purge dave 0", kept: true, notices: []string{"Minutes are a whole number"}},
		{who: "bob", line: "/purge alice", kept: true, notices: []string{"alice is an admin: a moderator cannot purge an admin."}},
		{who: "bob", line: "/purge dave 30", notices: []string{"Removed 3 messages by dave from the last 30 minutes."}, check: func(t *testing.T) {
			since := mod.purged["dave"]
			if d := time.Since(since); d < 30*time.Minute || d > 31*time.Minute {
				t.Errorf("purged since %v ago, want 30 minutes", d)
			}
			waitFor(t, "the purge notice", func() bool {
				h.mu.Lock()
				defer h.mu.Unlock()
				return slices.ContainsFunc(h.msgs, func(m Message) bool {
					return m.Kind == KindPurge && m.Conv == lobby(r) && m.Author == "dave" && m.Body == "bob" && m.Since.Equal(since)
				})
			})
		}},
		{who: "bob", line: "/purge erin", notices: []string{"Removed 3 messages by erin from the last 60 minutes."}},

		// The message of the day.
		{who: "carol", line: "/motd", notices: []string{"There is no message of the day."}},
		{who: "bob", line: "/motd Be kind", kept: true, notices: []string{"Only admins can set the message of the day."}},
		{who: "alice", line: "/motd Be kind\x1b[31m", notices: []string{"Message of the day set: Be kind[31m"}},
		{who: "carol", line: "/motd", notices: []string{"Message of the day: Be kind[31m"}},
		{who: "alice", line: "/motd CLEAR", notices: []string{"The message of the day is cleared."}},
		{who: "carol", line: "/motd", notices: []string{"There is no message of the day."}},
		{who: "broken", line: "/motd hello", kept: true, notices: []string{"Cannot set the message of the day now: the server had a problem."}},

		// The audit log.
		{who: "carol", line: "/audit", kept: true, notices: []string{"Only moderators can read the audit log."}},
		{who: "bob", line: "/audit many", kept: true, notices: []string{"N is a whole number from 1 to 200. Usage: /audit [N]"}},
		{who: "bob", line: "/audit 2", notices: []string{"Audit log, newest first (2):", "  ", "  "}, check: func(t *testing.T) {
			n := sessions["bob"].notices
			if !strings.HasSuffix(n[1], " alice motd") || !strings.HasSuffix(n[2], " alice motd: Be kind[31m") {
				t.Errorf("/audit 2 says %q, want the two motd changes, newest first", n)
			}
		}},

		// The server's statistics: admins only.
		{who: "carol", line: "/stats", kept: true, notices: []string{"Only admins can see the server's statistics."}},
		{who: "bob", line: "/stats", kept: true, notices: []string{"Only admins can see the server's statistics."}},
		{who: "broken", line: "/stats", kept: true, notices: []string{"Cannot see the server's statistics now: the server had a problem."}},
		{who: "alice", line: "/stats now", notices: []string{
			"The server, the last 5 minutes (oldest first; the last is this minute so far):",
			"  sessions     ▄▅▅▅█ 8",
			"  messages/min ▁▁▂█▃ 41",
			"  delivery p50 ▃▆▆██ 3.1 ms",
			"  delivery p99 ▁▂▅█▃ 18 ms",
		}},

		// Kicks and bans end the sessions, with the reason.
		{who: "bob", line: "/kick dave flooding", check: func(t *testing.T) {
			ended("dave", "You were removed by a moderator: flooding.")(t)
			announced("dave was kicked by bob: flooding")(t)
		}},
		{who: "alice", line: "/ban bob 2h abuse", check: func(t *testing.T) {
			ended("bob", BanNotice(time.Now(), time.Now().Add(2*time.Hour), "abuse"))(t)
		}},
		{who: "alice", line: "/deop bob", check: func(t *testing.T) {
			if role, _ := mod.Role(t.Context(), "bob"); role != RoleMember {
				t.Errorf("bob is %v after /deop", role)
			}
			announced("alice took the moderator role back from bob")(t)
		}},
	}
	for i, st := range steps {
		s := sessions[st.who]
		s.reset()
		ok := Run(s, st.line)
		where := fmt.Sprintf("step %d: %s types %q", i, st.who, st.line)
		if ok == st.refused {
			t.Errorf("%s: Run = %v, want %v", where, ok, !st.refused)
		}
		if len(s.notices) != len(st.notices) {
			t.Errorf("%s: notices %q, want %q", where, s.notices, st.notices)
		} else {
			for j, want := range st.notices {
				if !strings.HasPrefix(s.notices[j], want) {
					t.Errorf("%s: notice %q, want %q…", where, s.notices[j], want)
				}
			}
		}
		if s.kept != st.kept {
			t.Errorf("%s: kept %v, want %v", where, s.kept, st.kept)
		}
		if st.check != nil {
			st.check(t)
		}
	}
	for _, c := range moderationCommands {
		if !slices.ContainsFunc(steps, func(st step) bool { return ParseInput(st.line).Command == c }) {
			t.Errorf("/%s is not tested here", c)
		}
	}
}

// moderationCommands are the commands TestModerationCommands tests
// (TestEveryCommand tests the others).
var moderationCommands = []string{"op", "deop", "kick", "mute", "unmute", "ban", "unban", "bans", "purge", "motd", "audit", "stats"}

// Without a Moderation, the commands say they are not available, and
// everyone shows as a member.
func TestModerationCommandsNeedModeration(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{})
	s := newSession(t, r, "alice")
	for _, c := range moderationCommands {
		s.reset()
		Run(s, "/"+c+" bob")
		if !slices.Equal(s.notices, []string{"Moderation is not available on this server."}) || !s.kept {
			t.Errorf("/%s without Moderation: %q, kept %v", c, s.notices, s.kept)
		}
	}
	if p, _ := r.Presence("alice"); p.Role != RoleMember {
		t.Errorf("alice shows as %v", p.Role)
	}
}

func TestParseDuration(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"10m": 10 * time.Minute, "2h": 2 * time.Hour, "7d": 7 * 24 * time.Hour, "1w": 7 * 24 * time.Hour,
		"365d": 365 * 24 * time.Hour, "2H": 2 * time.Hour,
		"": 0, "m": 0, "0m": 0, "-5m": 0, "+5m": 0, "5": 0, "5s": 0, "1.5h": 0, "366d": 0, "53w": 0, "10 m": 0,
		"99999999999999999999d": 0,
	} {
		got, err := ParseDuration(text)
		if got != want || (err == nil) != (want != 0) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", text, got, err, want)
		}
	}
}

// A mute ends by itself at its Until, and SetMutes replaces the set.
func TestMutesExpireAndAreReplacedWhole(t *testing.T) {
	now := time.Date(2026, 12, 3, 14, 0, 0, 0, time.Local)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newTestRoom(t, &memHistory{}, RoomConfig{Now: clock})
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	r.SetMutes(map[string]Mute{"ALICE": {Until: now.Add(5 * time.Minute), Reason: "calm down."}})
	_, err := alice.Send(lobby(r), KindText, "hi")
	if want := "you are muted until 14:05: calm down"; fmt.Sprint(err) != want {
		t.Errorf("muted: %v, want %q", err, want)
	}
	mu.Lock()
	now = now.Add(5 * time.Minute)
	mu.Unlock()
	if _, err := alice.Send(lobby(r), KindText, "hi"); err != nil {
		t.Errorf("after the mute ended: %v", err)
	}
	r.SetMutes(map[string]Mute{"bob": {}})
	if _, err := alice.Send(lobby(r), KindText, "hi"); err != nil {
		t.Errorf("alice after SetMutes without her: %v", err)
	}
	if _, err := bob.Send(lobby(r), KindText, "hi"); fmt.Sprint(err) != "you are muted until lifted" {
		t.Errorf("bob muted until lifted: %v", err)
	}
}

func TestUntilAndBanNotice(t *testing.T) {
	now := time.Date(2026, 12, 3, 14, 0, 0, 0, time.Local)
	for _, tt := range []struct {
		until time.Time
		want  string
	}{
		{time.Time{}, "until lifted"},
		{now.Add(5 * time.Minute), "until 14:05"},
		{now.Add(28 * time.Hour), "until 4 Dec 18:00"},
		{now.Add(40 * 24 * time.Hour), "until 12 Jan 2027 14:00"},
	} {
		if got := Until(now, tt.until); got != tt.want {
			t.Errorf("Until(%v) = %q, want %q", tt.until, got, tt.want)
		}
	}
	if got, want := BanNotice(now, now.Add(28*time.Hour), "spam."), "You are banned until 4 Dec 18:00: spam."; got != want {
		t.Errorf("BanNotice = %q, want %q", got, want)
	}
	if got, want := BanNotice(now, time.Time{}, ""), "You are banned until lifted."; got != want {
		t.Errorf("BanNotice = %q, want %q", got, want)
	}
}
