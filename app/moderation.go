package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"charm.land/ssh"

	"messaging/chat"
	"messaging/store"
)

// Moderation on the server's side: the service behind the chat's
// moderation commands (chat.Moderation over the store), ADMINS, the bans
// at login and signup, the message of the day at login, and the watch
// that applies what the command line changed to the live sessions.

// moderationService stores roles, sanctions and the message of the day,
// and records every change in the audit log. It checks the actor's role
// again (the commands checked it too, but a role can change meanwhile).
type moderationService struct {
	store store.Store
	log   *slog.Logger
	now   func() time.Time
	stats *statsRecorder // what /stats shows; nil: none kept
}

var _ chat.Moderation = (*moderationService)(nil)

// moderationPoll is how often the server looks for changes made by the
// command line (store.LastAudit): a ban or mute from it takes effect on
// live sessions within this.
const moderationPoll = time.Second

// adminsActor is the audit log's actor for roles given by ADMINS.
const adminsActor = "ADMINS"

func (m *moderationService) Role(ctx context.Context, account string) (chat.Role, error) {
	role, err := m.store.Role(ctx, account)
	if errors.Is(err, store.ErrNotFound) {
		return chat.RoleMember, nil
	}
	return role, err
}

// authorize refuses actor unless their role is at least need, and, if
// target is named, unless target's role is no higher than actor's.
func (m *moderationService) authorize(ctx context.Context, actor, target string, need chat.Role) error {
	role, err := m.Role(ctx, actor)
	if err != nil {
		return err
	}
	if role < need {
		if need == chat.RoleAdmin {
			return chat.Refusal("Only admins can do that.")
		}
		return chat.Refusal("Only moderators can do that.")
	}
	if target == "" {
		return nil
	}
	theirs, err := m.Role(ctx, target)
	if err != nil {
		return err
	}
	if theirs > role {
		return chat.Refusal(target + " is an admin: a moderator cannot act on an admin.")
	}
	return nil
}

// record appends an entry to the audit log. The action is done already:
// a failure is logged, not reported to the actor.
func (m *moderationService) record(ctx context.Context, actor, action, target, reason string) {
	e := store.AuditEntry{At: m.now(), Actor: actor, Action: action, Target: target, Reason: reason}
	if err := m.store.Audit(ctx, e); err != nil {
		m.log.Error("audit not recorded", "actor", actor, "action", action, "target", target, "err", err)
	}
	m.log.Info("moderation", "actor", actor, "action", action, "target", target, "reason", reason)
}

func (m *moderationService) SetRole(ctx context.Context, actor, account string, role chat.Role) error {
	if err := m.authorize(ctx, actor, account, chat.RoleAdmin); err != nil {
		return err
	}
	if err := m.store.SetRole(ctx, account, role); err != nil {
		m.log.Error("set role", "user", account, "err", err)
		return err
	}
	m.record(ctx, actor, "role", account, role.String())
	return nil
}

func (m *moderationService) Kick(ctx context.Context, actor, account, reason string) error {
	if err := m.authorize(ctx, actor, account, chat.RoleModerator); err != nil {
		return err
	}
	m.record(ctx, actor, "kick", account, reason)
	return nil
}

// durationText writes a sanction's length as the commands take it: "2h",
// "7d", "90m"; "until lifted" for none.
func durationText(d time.Duration) string {
	switch {
	case d <= 0:
		return "until lifted"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

// sanctionDetail is a sanction's audit detail: "2h: spam".
func sanctionDetail(d time.Duration, reason string) string {
	if reason == "" {
		return durationText(d)
	}
	return durationText(d) + ": " + reason
}

func (m *moderationService) sanction(ctx context.Context, kind, actor, account string, d time.Duration, reason string) (chat.Sanction, error) {
	if err := m.authorize(ctx, actor, account, chat.RoleModerator); err != nil {
		return chat.Sanction{}, err
	}
	s := store.Sanction{Kind: kind, Account: account, By: actor, Reason: reason, At: m.now()}
	if d > 0 {
		s.Until = s.At.Add(d)
	}
	if kind == store.Ban {
		// Signups from the address it last logged in from are refused too.
		logins, err := m.store.Logins(ctx, account)
		if err != nil {
			m.log.Error("list logins", "user", account, "err", err)
			return chat.Sanction{}, err
		}
		if len(logins) > 0 {
			s.Address = logins[0].Address
		}
	}
	if err := m.store.Sanction(ctx, s); err != nil {
		m.log.Error("set sanction", "kind", kind, "user", account, "err", err)
		return chat.Sanction{}, err
	}
	m.record(ctx, actor, kind, account, sanctionDetail(d, reason))
	return chatSanction(s), nil
}

func (m *moderationService) lift(ctx context.Context, kind, actor, account string) error {
	if err := m.authorize(ctx, actor, account, chat.RoleModerator); err != nil {
		return err
	}
	err := m.store.Lift(ctx, account, kind)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if kind == store.Ban {
			return chat.Refusal(account + " is not banned.")
		}
		return chat.Refusal(account + " is not muted.")
	case err != nil:
		m.log.Error("lift sanction", "kind", kind, "user", account, "err", err)
		return err
	}
	m.record(ctx, actor, "un"+kind, account, "")
	return nil
}

func (m *moderationService) Mute(ctx context.Context, actor, account string, d time.Duration, reason string) (chat.Sanction, error) {
	return m.sanction(ctx, store.Mute, actor, account, d, reason)
}

func (m *moderationService) Unmute(ctx context.Context, actor, account string) error {
	return m.lift(ctx, store.Mute, actor, account)
}

func (m *moderationService) Ban(ctx context.Context, actor, account string, d time.Duration, reason string) (chat.Sanction, error) {
	return m.sanction(ctx, store.Ban, actor, account, d, reason)
}

func (m *moderationService) Unban(ctx context.Context, actor, account string) error {
	return m.lift(ctx, store.Ban, actor, account)
}

func chatSanction(s store.Sanction) chat.Sanction {
	return chat.Sanction{Kind: s.Kind, Account: s.Account, By: s.By, Reason: s.Reason, At: s.At, Until: s.Until}
}

func (m *moderationService) Sanctions(ctx context.Context) ([]chat.Sanction, error) {
	list, err := m.store.Sanctions(ctx, m.now())
	if err != nil {
		m.log.Error("list sanctions", "err", err)
		return nil, err
	}
	out := make([]chat.Sanction, len(list))
	for i, s := range list {
		out[i] = chatSanction(s)
	}
	return out, nil
}

func (m *moderationService) Purge(ctx context.Context, actor, account string, since time.Time) (int, error) {
	if err := m.authorize(ctx, actor, account, chat.RoleModerator); err != nil {
		return 0, err
	}
	n, err := m.store.Purge(ctx, account, since)
	if err != nil {
		m.log.Error("purge", "user", account, "err", err)
		return 0, err
	}
	minutes := int(m.now().Sub(since).Round(time.Minute) / time.Minute)
	m.record(ctx, actor, "purge", account, fmt.Sprintf("%d min, %d messages", minutes, n))
	return n, nil
}

func (m *moderationService) MOTD(ctx context.Context) (string, error) {
	text, err := m.store.MOTD(ctx)
	if err != nil {
		m.log.Error("read the message of the day", "err", err)
	}
	return text, err
}

func (m *moderationService) SetMOTD(ctx context.Context, actor, text string) error {
	if err := m.authorize(ctx, actor, "", chat.RoleAdmin); err != nil {
		return err
	}
	if err := m.store.SetMOTD(ctx, text); err != nil {
		m.log.Error("set the message of the day", "err", err)
		return err
	}
	m.record(ctx, actor, "motd", "", cmp.Or(text, "cleared"))
	return nil
}

func (m *moderationService) Audit(ctx context.Context, n int) ([]chat.AuditEntry, error) {
	entries, err := m.store.AuditLog(ctx, n)
	if err != nil {
		m.log.Error("read the audit log", "err", err)
		return nil, err
	}
	out := make([]chat.AuditEntry, len(entries))
	for i, e := range entries {
		out[i] = chat.AuditEntry{At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Reason: e.Reason}
	}
	return out, nil
}

// Stats is the server's last minutes, for an admin.
func (m *moderationService) Stats(ctx context.Context, actor string) (chat.Stats, error) {
	if err := m.authorize(ctx, actor, "", chat.RoleAdmin); err != nil {
		return chat.Stats{}, err
	}
	if m.stats == nil {
		return chat.Stats{}, chat.Refusal("This server keeps no statistics.")
	}
	return m.stats.stats(), nil
}

// applyAdmins makes the accounts ADMINS names admins, if they exist; the
// others are noted in the log. Idempotent; nobody is ever demoted here.
func (s *Server) applyAdmins(ctx context.Context) error {
	for _, name := range s.cfg.Admins {
		acct, err := s.store.Account(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.log.Warn("ADMINS names no account: sign it up, then restart", "user", name)
			continue
		case err != nil:
			return fmt.Errorf("ADMINS: %s: %w", name, err)
		}
		role, err := s.store.Role(ctx, acct.Name)
		if err != nil {
			return fmt.Errorf("ADMINS: %s: %w", name, err)
		}
		if role == chat.RoleAdmin {
			s.log.Info("admin", "user", acct.Name)
			continue
		}
		if err := s.store.SetRole(ctx, acct.Name, chat.RoleAdmin); err != nil {
			return fmt.Errorf("ADMINS: %s: %w", name, err)
		}
		if err := s.store.Audit(ctx, store.AuditEntry{At: time.Now(), Actor: adminsActor, Action: "role", Target: acct.Name, Reason: chat.RoleAdmin.String()}); err != nil {
			s.log.Error("audit not recorded", "action", "role", "target", acct.Name, "err", err)
		}
		s.log.Info("admin from ADMINS", "user", acct.Name, "was", role.String())
	}
	return nil
}

// applyModeration brings the live sessions in line with the store: the
// room's muted accounts, banned accounts disconnected, the roles online
// accounts show. The store may have changed through the command line.
func (s *Server) applyModeration(ctx context.Context) error {
	now := time.Now()
	list, err := s.store.Sanctions(ctx, now)
	if err != nil {
		return fmt.Errorf("sanctions: %w", err)
	}
	mutes := make(map[string]chat.Mute)
	for _, x := range list {
		if x.Kind == store.Mute {
			mutes[x.Account] = chat.Mute{Until: x.Until, Reason: x.Reason}
		}
	}
	s.room.SetMutes(mutes) // first: a test that sees a ban applied sees the mutes too
	for _, x := range list {
		if x.Kind != store.Ban {
			continue
		}
		// Here only: every node reads the sanctions itself.
		if n := s.room.DisconnectHere(x.Account, chat.BanNotice(now, x.Until, x.Reason)); n > 0 {
			// A ban from the chat ended the sessions already: this one
			// came from the command line.
			s.log.Info("banned account disconnected", "user", x.Account, "sessions", n)
			s.room.Announce(chat.BanAnnouncement(x.Account, x.By, now, x.Until, x.Reason))
		}
	}
	for _, p := range s.room.Online(s.room.Lobby().ID) {
		role, err := s.store.Role(ctx, p.Name)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) { // deleted from the command line
				s.room.DisconnectHere(p.Name, "Your account "+p.Name+" was deleted by an admin.")
				continue
			}
			return fmt.Errorf("role of %s: %w", p.Name, err)
		}
		if role != p.Role {
			if _, err := s.room.SetRole(ctx, p.Name, role, p.Name+" is now "+withArticle(role)+" (command line)"); err != nil {
				return err
			}
		}
	}
	return nil
}

// watchModeration applies what changed in the store (store.LastAudit
// moved: the command line, or this server's own commands) to the live
// sessions, every moderationPoll, until ctx ends.
func (s *Server) watchModeration(ctx context.Context) {
	tick := time.NewTicker(moderationPoll)
	defer tick.Stop()
	var seen int64 = -1
	for {
		last, err := s.store.LastAudit(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.log.Warn("moderation: audit log not read", "err", err)
			}
		case last != seen:
			if err := s.applyModeration(ctx); err != nil {
				if ctx.Err() == nil {
					s.log.Warn("moderation: changes not applied", "err", err)
				}
			} else {
				seen = last
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ban is the ban in force on account, if any: ok false if none (or the
// store failed: logged, and the login goes on).
func (a *authenticator) ban(ctx context.Context, match func(store.Sanction) bool) (store.Sanction, bool) {
	list, err := a.store.Sanctions(ctx, time.Now())
	if err != nil {
		a.log.Error("list sanctions", "err", err)
		return store.Sanction{}, false
	}
	for _, x := range list {
		if x.Kind == store.Ban && match(x) {
			return x, true
		}
	}
	return store.Sanction{}, false
}

// banned is why account may not log in ("You are banned until …"), or ""
// if it may.
func (a *authenticator) banned(ctx context.Context, account string) string {
	x, ok := a.ban(ctx, func(x store.Sanction) bool { return strings.EqualFold(x.Account, account) })
	if !ok {
		return ""
	}
	return chat.BanNotice(time.Now(), x.Until, x.Reason)
}

// bannedAddress is why no account may be signed up from ip (a banned
// account last logged in from it), or "" if one may.
func (a *authenticator) bannedAddress(ctx context.Context, ip string) string {
	x, ok := a.ban(ctx, func(x store.Sanction) bool { return x.Address != "" && x.Address == ip })
	if !ok {
		return ""
	}
	// Said to someone who may have no account: not "you are banned".
	return "Signups from your address are refused " + chat.Until(time.Now(), x.Until) + "."
}

// motd is the message of the day to show at login, "" for none.
func (s *Server) motd(ctx ssh.Context) string {
	bg, cancel := context.WithTimeout(ctx, storeWriteTimeout)
	defer cancel()
	text, err := s.store.MOTD(bg)
	if err != nil {
		s.log.Error("read the message of the day", "err", err)
		return ""
	}
	return strings.TrimSpace(chat.Sanitize(text, 300))
}

// withArticle is the role with its article: "a moderator", "an admin".
func withArticle(r chat.Role) string {
	if r == chat.RoleAdmin {
		return "an admin"
	}
	return "a " + r.String()
}
