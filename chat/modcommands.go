package chat

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The moderation commands: roles (/op, /deop), sanctions (/kick, /mute,
// /unmute, /ban, /unban, /bans), /purge, /motd, /audit and /stats. They
// check who may do what, ask Moderation to store it, and apply what the
// room holds (see Moderation).
//
// Who may do what: moderators and admins moderate; only admins give and
// take the moderator role, set the message of the day and see /stats.
// Nobody acts on themselves, and a moderator never acts on an admin. The
// roles are read through Moderation.Role at each command, not from what
// the room shows.

// Bounds of the moderation commands.
const (
	maxReason      = 200 // runes of a sanction's reason
	maxSanction    = 365 * 24 * time.Hour
	defaultPurge   = 60          // minutes
	maxPurge       = 7 * 24 * 60 // minutes
	defaultAudit   = 20          // entries
	maxAudit       = 200         // entries
	maxMOTD        = 300         // runes
	durationFormat = "like 10m, 2h or 7d, at most 365d"
)

// moderationOf is the room's moderation service, or nil after telling the
// user it is not available here.
func moderationOf(s Session) Moderation {
	mod := s.Member().Room().Moderation()
	if mod == nil {
		s.Keep()
		s.Notice("Moderation is not available on this server.")
	}
	return mod
}

// tellModeration shows why a moderation command failed: a Refusal as
// written, the room's own errors in words, anything else as the server's
// trouble without its details. The line stays with the user.
func tellModeration(s Session, what string, err error) {
	var refusal Refusal
	switch {
	case errors.As(err, &refusal), errors.Is(err, ErrRoomClosed), errors.Is(err, ErrLeft):
		tell(s, what, err)
	default:
		s.Keep()
		s.Notice("Cannot " + what + " now: the server had a problem. Try again in a moment.")
	}
}

// roleSuffix is how /whois says a role after the sign-up date.
func roleSuffix(r Role) string {
	if r == RoleMember {
		return ""
	}
	return "; " + r.String()
}

// actorRole reads the user's role and refuses them unless it is at least
// need; doing says what they asked ("kick", "give roles").
func actorRole(s Session, mod Moderation, need Role, doing string) (Role, bool) {
	role, err := mod.Role(s.Context(), s.Member().Name())
	if err != nil {
		tellModeration(s, doing, err)
		return role, false
	}
	if role < need {
		s.Keep()
		who := "moderators"
		if need == RoleAdmin {
			who = "admins"
		}
		s.Notice(fmt.Sprintf("Only %s can %s.", who, doing))
		return role, false
	}
	return role, true
}

// target is the account a moderation command acts on.
type target struct {
	name string // as the account spells it
	role Role
}

// authorize checks that the user may do doing (which needs the role need)
// to the account name: it exists, it is not the user (self says so; ""
// for "You cannot DOING yourself."), and it is no admin when the user is a
// moderator. On a refusal it tells the user and returns false.
func authorize(s Session, mod Moderation, need Role, doing, self, name string) (target, bool) {
	actor, ok := actorRole(s, mod, need, doing)
	if !ok {
		return target{}, false
	}
	name = strings.TrimPrefix(name, "@")
	p, err := s.Member().profile(s.Context(), name)
	if err != nil {
		tellModeration(s, doing+" "+Sanitize(name, 30), err)
		return target{}, false
	}
	if foldName(p.Name) == foldName(s.Member().Name()) {
		s.Keep()
		s.Notice(cmp.Or(self, "You cannot "+doing+" yourself."))
		return target{}, false
	}
	role, err := mod.Role(s.Context(), p.Name)
	if err != nil {
		tellModeration(s, doing+" "+p.Name, err)
		return target{}, false
	}
	if role > actor {
		s.Keep()
		s.Notice(fmt.Sprintf("%s is an admin: a moderator cannot %s an admin.", p.Name, doing))
		return target{}, false
	}
	return target{name: p.Name, role: role}, true
}

// word splits the first word off arg.
func word(arg string) (first, rest string) {
	arg = strings.TrimSpace(arg)
	i := strings.IndexFunc(arg, unicode.IsSpace)
	if i < 0 {
		return arg, ""
	}
	return arg[:i], strings.TrimSpace(arg[i:])
}

// reason is a sanction's reason as given: sanitised and bounded.
func reason(text string) string { return strings.TrimSpace(Sanitize(text, maxReason)) }

// ParseDuration reads a sanction's duration: a whole number of minutes,
// hours, days or weeks ("10m", "2h", "7d", "1w"), from 1m to 365d.
func ParseDuration(text string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration: write one %s", Sanitize(text, 20), durationFormat)
	if len(text) < 2 {
		return 0, bad
	}
	n, err := strconv.Atoi(text[:len(text)-1])
	if err != nil || n < 1 || text[0] == '+' {
		return 0, bad
	}
	var unit time.Duration
	switch text[len(text)-1] {
	case 'm', 'M':
		unit = time.Minute
	case 'h', 'H':
		unit = time.Hour
	case 'd', 'D':
		unit = 24 * time.Hour
	case 'w', 'W':
		unit = 7 * 24 * time.Hour
	default:
		return 0, bad
	}
	if n > int(maxSanction/unit) {
		return 0, fmt.Errorf("%s is too long: at most 365d", Sanitize(text, 20))
	}
	return time.Duration(n) * unit, nil
}

// durationAndReason splits "[DURATION] [REASON]": a first word that
// starts with a digit must be a duration.
func durationAndReason(rest string) (time.Duration, string, error) {
	first, after := word(rest)
	if first == "" || first[0] < '0' || first[0] > '9' {
		return 0, reason(rest), nil
	}
	d, err := ParseDuration(first)
	if err != nil {
		return 0, "", err
	}
	return d, reason(after), nil
}

// usageOf refuses a line whose arguments are wrong: why, then how the
// command is written.
func usageOf(s Session, name, why string) {
	c, _ := lookup(name)
	s.Keep()
	s.Notice(fmt.Sprintf("%s. Usage: %s (%s)", capitalFirst(why), c.usage(), c.Help))
}

func capitalFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// setRole is /op (role RoleModerator) and /deop (RoleMember): admins only.
func setRole(s Session, arg string, role Role) {
	mod := moderationOf(s)
	if mod == nil {
		return
	}
	name, _ := word(arg)
	const doing = "change roles"
	who := s.Member().Name()
	t, ok := authorize(s, mod, RoleAdmin, doing, "You cannot change your own role.", name)
	if !ok {
		return
	}
	switch {
	case t.role == RoleAdmin:
		s.Keep()
		s.Notice(t.name + " is an admin: an admin's role changes only from the command line (messaging users role).")
		return
	case t.role == role:
		s.Keep()
		if role == RoleModerator {
			s.Notice(t.name + " is a moderator already.")
		} else {
			s.Notice(t.name + " is not a moderator.")
		}
		return
	}
	if err := mod.SetRole(s.Context(), who, t.name, role); err != nil {
		tellModeration(s, "change "+t.name+"'s role", err)
		return
	}
	r := s.Member().Room()
	why := who + " took the moderator role back from " + t.name
	if role == RoleModerator {
		why = who + " made " + t.name + " a moderator"
	}
	online, err := r.SetRole(s.Context(), t.name, role, why)
	if err != nil {
		r.log.Warn("chat: role not shown", "name", t.name, "err", err)
	}
	if !online { // online, the role notice says it in each of their channels
		r.Announce(why)
	}
}

func kick(s Session, arg string) {
	mod := moderationOf(s)
	if mod == nil {
		return
	}
	name, rest := word(arg)
	t, ok := authorize(s, mod, RoleModerator, "kick", "", name)
	if !ok {
		return
	}
	why := reason(rest)
	r := s.Member().Room()
	if !r.live(t.name) {
		s.Keep()
		s.Notice(t.name + " is not online: nobody to kick. /ban " + t.name + " keeps them out.")
		return
	}
	me := s.Member().Name()
	if err := mod.Kick(s.Context(), me, t.name, why); err != nil {
		tellModeration(s, "kick "+t.name, err)
		return
	}
	r.Disconnect(t.name, KickNotice(why))
	r.Announce(t.name + " was kicked by " + me + suffix(": ", why))
}

// sanctionArgs reads "NAME [DURATION] [REASON]" for command (mute or ban)
// and checks that the user may do it to NAME; ok is false once the user
// has been told why not.
func sanctionArgs(s Session, command, arg string) (mod Moderation, t target, d time.Duration, why string, ok bool) {
	if mod = moderationOf(s); mod == nil {
		return nil, target{}, 0, "", false
	}
	name, rest := word(arg)
	d, why, err := durationAndReason(rest)
	if err != nil {
		usageOf(s, command, err.Error())
		return nil, target{}, 0, "", false
	}
	t, ok = authorize(s, mod, RoleModerator, command, "", name)
	return mod, t, d, why, ok
}

func mute(s Session, arg string) {
	mod, t, d, why, ok := sanctionArgs(s, "mute", arg)
	if !ok {
		return
	}
	me := s.Member().Name()
	sanction, err := mod.Mute(s.Context(), me, t.name, d, why)
	if err != nil {
		tellModeration(s, "mute "+t.name, err)
		return
	}
	r := s.Member().Room()
	r.Mute(t.name, Mute{Until: sanction.Until, Reason: sanction.Reason})
	r.Announce(t.name + " was muted by " + me + " " + Until(r.cfg.Now(), sanction.Until) + suffix(": ", sanction.Reason))
}

func unmute(s Session, arg string) {
	mod := moderationOf(s)
	if mod == nil {
		return
	}
	name, _ := word(arg)
	t, ok := authorize(s, mod, RoleModerator, "unmute", "", name)
	if !ok {
		return
	}
	me := s.Member().Name()
	if err := mod.Unmute(s.Context(), me, t.name); err != nil {
		tellModeration(s, "unmute "+t.name, err)
		return
	}
	r := s.Member().Room()
	r.Unmute(t.name)
	r.Announce(t.name + " was unmuted by " + me)
}

func ban(s Session, arg string) {
	mod, t, d, why, ok := sanctionArgs(s, "ban", arg)
	if !ok {
		return
	}
	me := s.Member().Name()
	sanction, err := mod.Ban(s.Context(), me, t.name, d, why)
	if err != nil {
		tellModeration(s, "ban "+t.name, err)
		return
	}
	r := s.Member().Room()
	now := r.cfg.Now()
	r.Disconnect(t.name, BanNotice(now, sanction.Until, sanction.Reason))
	r.Announce(BanAnnouncement(t.name, me, now, sanction.Until, sanction.Reason))
}

func unban(s Session, arg string) {
	mod := moderationOf(s)
	if mod == nil {
		return
	}
	name, _ := word(arg)
	t, ok := authorize(s, mod, RoleModerator, "unban", "", name)
	if !ok {
		return
	}
	if err := mod.Unban(s.Context(), s.Member().Name(), t.name); err != nil {
		tellModeration(s, "unban "+t.name, err)
		return
	}
	s.Notice(t.name + " is no longer banned.")
}

func listSanctions(s Session, _ string) {
	mod := moderationOf(s)
	if mod == nil {
		return
	}
	if _, ok := actorRole(s, mod, RoleModerator, "list bans and mutes"); !ok {
		return
	}
	list, err := mod.Sanctions(s.Context())
	if err != nil {
		tellModeration(s, "list bans and mutes", err)
		return
	}
	if len(list) == 0 {
		s.Notice("Nobody is banned or muted.")
		return
	}
	now := s.Member().Room().cfg.Now()
	s.Notice(fmt.Sprintf("Bans and mutes (%d):", len(list)))
	for _, x := range list {
		s.Notice(fmt.Sprintf("  %s %s by %s on %s, %s%s", x.Kind, Sanitize(x.Account, 30), byWhom(x.By),
			x.At.Local().Format("2 Jan 15:04"), Until(now, x.Until), suffix(": ", Sanitize(x.Reason, maxReason))))
	}
}

// byWhom names who acted: "" is the command line.
func byWhom(name string) string {
	if name == "" {
		return "the command line"
	}
	return Sanitize(name, 30)
}

func purge(s Session, arg string) {
	mod := moderationOf(s)
	if mod == nil {
		return
	}
	name, rest := word(arg)
	minutes := defaultPurge
	if rest != "" {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > maxPurge {
			usageOf(s, "purge", fmt.Sprintf("minutes are a whole number from 1 to %d", maxPurge))
			return
		}
		minutes = n
	}
	t, ok := authorize(s, mod, RoleModerator, "purge", "", name)
	if !ok {
		return
	}
	r := s.Member().Room()
	me := s.Member().Name()
	since := r.cfg.Now().Add(-time.Duration(minutes) * time.Minute)
	n, err := mod.Purge(s.Context(), me, t.name, since)
	if err != nil {
		tellModeration(s, "purge "+t.name+"'s messages", err)
		return
	}
	if err := r.Purged(s.Context(), t.name, me, since); err != nil {
		r.log.Warn("chat: purge not shown", "name", t.name, "err", err)
	}
	s.Notice(fmt.Sprintf("Removed %s by %s from the last %s.", plural(n, "message"), t.name, plural(minutes, "minute")))
}

func motd(s Session, arg string) {
	mod := moderationOf(s)
	if mod == nil {
		return
	}
	if arg == "" {
		text, err := mod.MOTD(s.Context())
		switch {
		case err != nil:
			tellModeration(s, "read the message of the day", err)
		case text == "":
			s.Notice("There is no message of the day.")
		default:
			s.Notice("Message of the day: " + Sanitize(text, maxMOTD))
		}
		return
	}
	if _, ok := actorRole(s, mod, RoleAdmin, "set the message of the day"); !ok {
		return
	}
	text := strings.TrimSpace(Sanitize(arg, maxMOTD))
	if strings.EqualFold(text, "clear") {
		text = ""
	}
	if err := mod.SetMOTD(s.Context(), s.Member().Name(), text); err != nil {
		tellModeration(s, "set the message of the day", err)
		return
	}
	if text == "" {
		s.Notice("The message of the day is cleared.")
		return
	}
	s.Notice("Message of the day set: " + text)
}

func audit(s Session, arg string) {
	mod := moderationOf(s)
	if mod == nil {
		return
	}
	n := defaultAudit
	if arg != "" {
		v, err := strconv.Atoi(arg)
		if err != nil || v < 1 || v > maxAudit {
			usageOf(s, "audit", fmt.Sprintf("N is a whole number from 1 to %d", maxAudit))
			return
		}
		n = v
	}
	if _, ok := actorRole(s, mod, RoleModerator, "read the audit log"); !ok {
		return
	}
	entries, err := mod.Audit(s.Context(), n)
	if err != nil {
		tellModeration(s, "read the audit log", err)
		return
	}
	if len(entries) == 0 {
		s.Notice("The audit log is empty.")
		return
	}
	s.Notice(fmt.Sprintf("Audit log, newest first (%d):", len(entries)))
	for _, e := range entries {
		s.Notice(fmt.Sprintf("  %s %s %s%s%s", e.At.Local().Format("2 Jan 15:04"), byWhom(e.Actor), Sanitize(e.Action, 20),
			suffix(" ", Sanitize(e.Target, 30)), suffix(": ", Sanitize(e.Reason, maxReason))))
	}
}

// showStats is /stats: admins only.
func showStats(s Session, _ string) {
	mod := moderationOf(s)
	if mod == nil {
		return
	}
	const doing = "see the server's statistics"
	if _, ok := actorRole(s, mod, RoleAdmin, doing); !ok {
		return
	}
	st, err := mod.Stats(s.Context(), s.Member().Name())
	if err != nil {
		tellModeration(s, doing, err)
		return
	}
	s.Notice(fmt.Sprintf("The server, the last %s (oldest first; the last is this minute so far):", plural(len(st.Posted), "minute")))
	for _, line := range StatsRows(st) {
		s.Notice("  " + line)
	}
}
