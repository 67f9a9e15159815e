package chat

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Moderation is what the moderation commands (/op, /deop, /kick, /mute,
// /unmute, /ban, /unban, /bans, /purge, /motd, /audit, /stats) ask of the
// server: roles, sanctions, the message of the day and the audit log,
// stored, and the server's statistics. The server implements it over its
// store and hands it to the room (RoomConfig.Moderation).
//
// The division of work: the commands check who may do what (roles are
// read through Role, the stored truth) and apply what the room holds (the
// disconnection of a kicked or banned account, the set of muted accounts,
// the role an online account shows, the notices). Moderation stores the
// change and appends its AuditEntry. Its methods that change something
// MUST refuse an actor without the role the change needs (the commands
// checked, but a role can change meanwhile), and MUST record every change
// in the audit log.
//
// Errors meant for the user are a Refusal (shown as written); any other
// error is the server's trouble, and the command says so without its
// details.
type Moderation interface {
	// Role is account's role: RoleMember for an account never given one.
	Role(ctx context.Context, account string) (Role, error)
	// SetRole gives account role (actor: an admin).
	SetRole(ctx context.Context, actor, account string, role Role) error
	// Kick records that actor removed account's sessions (the command
	// ended them).
	Kick(ctx context.Context, actor, account, reason string) error
	// Mute and Ban set a sanction on account for d (0: until lifted) and
	// return it as stored: Ban with the address it also refuses signups
	// from. Unmute and Unban lift it (a Refusal if there is none).
	Mute(ctx context.Context, actor, account string, d time.Duration, reason string) (Sanction, error)
	Unmute(ctx context.Context, actor, account string) error
	Ban(ctx context.Context, actor, account string, d time.Duration, reason string) (Sanction, error)
	Unban(ctx context.Context, actor, account string) error
	// Sanctions lists the bans and mutes in force, oldest first.
	Sanctions(ctx context.Context) ([]Sanction, error)
	// Purge hides account's messages of since and later from history and
	// returns how many it hid.
	Purge(ctx context.Context, actor, account string, since time.Time) (int, error)
	// MOTD is the message of the day ("": none); SetMOTD sets it ("":
	// clears it; actor: an admin).
	MOTD(ctx context.Context) (string, error)
	SetMOTD(ctx context.Context, actor, text string) error
	// Audit returns the last n entries of the audit log, newest first.
	Audit(ctx context.Context, n int) ([]AuditEntry, error)
	// Stats is the server's last StatsMinutes minutes (actor: an admin:
	// they are the whole server's).
	Stats(ctx context.Context, actor string) (Stats, error)
}

// Sanction kinds.
const (
	SanctionBan  = "ban"
	SanctionMute = "mute"
)

// Sanction is a ban or a mute in force, as /bans lists it.
type Sanction struct {
	Kind    string // SanctionBan or SanctionMute
	Account string
	By      string // who set it ("" for the command line)
	Reason  string
	At      time.Time
	Until   time.Time // zero: until lifted
}

// AuditEntry is one moderation action or role change, as /audit shows it.
type AuditEntry struct {
	At     time.Time
	Actor  string // "" for the command line
	Action string // "kick", "mute", "ban", "role", ...
	Target string
	Reason string // why, or the detail ("moderator", "2h: spam")
}

// Moderation is the room's moderation service (RoomConfig.Moderation),
// nil if none.
func (r *Room) Moderation() Moderation { return r.cfg.Moderation }

// Mute is a mute the room enforces on an account's posts.
type Mute struct {
	Until  time.Time // zero: until lifted
	Reason string
}

// MutedError is Member.Send's refusal of a post by a muted account. Its
// Error is written for the user: "you are muted until 14:05: spam".
type MutedError struct {
	Until  time.Time // zero: until lifted
	Reason string
	now    time.Time
}

func (e *MutedError) Error() string {
	return "you are muted " + Until(e.now, e.Until) + suffix(": ", strings.TrimRight(e.Reason, "."))
}

// Sentence is Error as the start of a sentence: "You are muted until
// 14:05: spam".
func (e *MutedError) Sentence() string { return "Y" + strings.TrimPrefix(e.Error(), "y") }

// SetMutes replaces the muted accounts with mutes (by account name, any
// case): what the store holds, read at start and whenever it changed.
func (r *Room) SetMutes(mutes map[string]Mute) {
	next := make(map[string]Mute, len(mutes))
	for name, m := range mutes {
		next[foldName(name)] = m
	}
	r.mu.Lock()
	r.mutes.Store(&next)
	r.mu.Unlock()
}

// Mute refuses account's posts from now on (Member.Send: a *MutedError)
// until m.Until, or until Unmute.
func (r *Room) Mute(account string, m Mute) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := maps.Clone(r.muteSet())
	if next == nil {
		next = make(map[string]Mute)
	}
	next[foldName(account)] = m
	r.mutes.Store(&next)
}

// Unmute lets account post again.
func (r *Room) Unmute(account string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := maps.Clone(r.muteSet())
	delete(next, foldName(account))
	r.mutes.Store(&next)
}

// muteSet is the muted accounts, by foldName: read-only.
func (r *Room) muteSet() map[string]Mute {
	if p := r.mutes.Load(); p != nil {
		return *p
	}
	return nil
}

// muted returns a *MutedError if account is muted now, else nil. One
// atomic load: posts never wait on a lock for it.
func (r *Room) muted(account string) error {
	m, ok := r.muteSet()[foldName(account)]
	if !ok {
		return nil
	}
	now := r.cfg.Now()
	if !m.Until.IsZero() && !now.Before(m.Until) {
		return nil // expired
	}
	return &MutedError{Until: m.Until, Reason: m.Reason, now: now}
}

// SetRole shows account, if online, with role from now on (Presence.Role):
// after /op or /deop, or a change from the command line.
func (r *Room) SetRole(ctx context.Context, account string, role Role, why string) (online bool, err error) {
	// The changes lock: a Join in progress has loaded the role it shows
	// and registered the account once SetRole has it.
	unlock, err := r.lockChanges(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.accounts[foldName(account)]
	if a == nil {
		return false, nil
	}
	if a.role != role {
		a.role = role
		r.restyledLocked(a)
		// Each screen showing the account redraws its member column.
		r.noticeChannelsLocked(a, Message{Author: a.name, Kind: KindRole, Body: why})
	}
	return a.sessions > 0, nil
}

// live reports whether account has a live member, visible or hidden,
// here, or a visible one on another node.
func (r *Room) live(account string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, elsewhere := r.onlineElsewhereLocked(foldName(account)); elsewhere {
		return true
	}
	return r.accounts[foldName(account)] != nil
}

// Announce posts text in #lobby as a notice from the server (KindSystem):
// "bob was kicked by alice: spam".
func (r *Room) Announce(text string) {
	r.notice(Message{Conv: r.lobby.ID, Kind: KindSystem, Body: Sanitize(text, 400)})
}

// Purged tells the screens that author's messages of since and later were
// removed by by (the store hid them already): a KindPurge notice in each
// conversation author is in, so that the screens mark what they show.
func (r *Room) Purged(ctx context.Context, author, by string, since time.Time) error {
	ms, err := r.dir.Memberships(ctx, author)
	if err != nil {
		return fmt.Errorf("purge notices: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range ms {
		r.noticeLocked(Message{Conv: m.Conv.ID, Author: author, Kind: KindPurge, Body: by, Since: since})
	}
	return nil
}

// Until says until when a sanction lasts, as its user reads it: "until
// 14:05" today, "until 3 Dec 18:00" this year, "until 3 Dec 2027 18:00",
// or "until lifted" for none.
func Until(now, until time.Time) string {
	if until.IsZero() {
		return "until lifted"
	}
	// Rounded up to the minute: "until 00:54" for a mute ending at
	// 00:53:40, never a minute already past.
	u, n := until.Add(time.Minute-time.Nanosecond).Truncate(time.Minute).Local(), now.Local()
	switch {
	case u.Year() == n.Year() && u.YearDay() == n.YearDay():
		return "until " + u.Format("15:04")
	case u.Year() == n.Year():
		return "until " + u.Format("2 Jan 15:04")
	}
	return "until " + u.Format("2 Jan 2006 15:04")
}

// BanNotice is what a banned account is told, at login and as its
// sessions end: "You are banned until 3 Dec 18:00: spam."
func BanNotice(now, until time.Time, reason string) string {
	return "You are banned " + Until(now, until) + suffix(": ", strings.TrimRight(reason, ".")) + "."
}

// BanAnnouncement is what #lobby reads of a ban, from the chat or the
// command line: "bob was banned by alice until 14:05: spam".
func BanAnnouncement(name, by string, now, until time.Time, reason string) string {
	return name + " was banned by " + by + " " + Until(now, until) + suffix(": ", reason)
}

// KickNotice is what a kicked account's sessions are told as they end.
func KickNotice(reason string) string {
	if reason == "" {
		return "You were removed by a moderator."
	}
	return "You were removed by a moderator: " + strings.TrimRight(reason, ".") + "."
}
