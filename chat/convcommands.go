package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The commands of conversations: channels, direct messages, presence.

// tell shows the user why what they asked failed: a Refusal as written,
// the chat's own errors in words, anything else (the store failed) with
// what was being done.
// The line stays with the user (Session.Keep), to fix or to try again.
func tell(s Session, what string, err error) {
	s.Keep()
	var refusal Refusal
	switch {
	case errors.As(err, &refusal):
		s.Notice(string(refusal))
	case errors.Is(err, ErrNoConversation):
		s.Notice("Cannot " + what + ": no such conversation.")
	case errors.Is(err, ErrRoomClosed):
		s.Notice("Cannot " + what + ": the server is shutting down.")
	case errors.Is(err, ErrLeft):
		s.Notice("Cannot " + what + ": you have left the chat.")
	case errors.As(err, new(*SlowDownError)):
		s.Notice("Cannot " + what + " now: " + err.Error() + ".")
	default:
		s.Notice("Cannot " + what + " now: " + err.Error() + ". Try again in a moment.")
	}
}

func suffix(sep, text string) string {
	if text == "" {
		return ""
	}
	return sep + text
}

func joinChannel(s Session, arg string) {
	c, err := s.Member().JoinChannel(s.Context(), arg)
	if err != nil {
		tell(s, "join "+Sanitize(arg, 32), err)
		return
	}
	s.Show(c)
	s.Notice("You are in " + c.Name + suffix(": ", c.Topic))
}

func part(s Session, arg string) {
	c := s.Current()
	if arg != "" {
		name, err := ChannelName(arg)
		if err != nil {
			s.Keep()
			s.Notice("No channel " + Sanitize(arg, 32) + ": " + err.Error() + ".")
			return
		}
		if c, err = s.Member().Room().dir.Channel(s.Context(), name); err != nil || !s.Member().In(c.ID) {
			s.Keep()
			s.Notice("You are not in " + name + ".")
			return
		}
	}
	if err := s.Member().Part(s.Context(), c.ID); err != nil {
		tell(s, "leave "+c.Title(s.Member().Name()), err)
		return
	}
	s.Forget(c.ID)
	s.Notice("You left " + c.Title(s.Member().Name()) + ".")
}

func listChannels(s Session, _ string) {
	channels, err := s.Member().Channels(s.Context())
	if err != nil {
		tell(s, "list the channels", err)
		return
	}
	s.Notice(fmt.Sprintf("%d channel%s (/join #NAME to join one):", len(channels), pluralS(len(channels))))
	for _, ch := range channels {
		var marks []string
		if ch.Conv.Private {
			marks = append(marks, "invite-only")
		}
		if s.Member().In(ch.Conv.ID) {
			marks = append(marks, "joined")
		}
		mark := ""
		if len(marks) > 0 {
			mark = " (" + strings.Join(marks, ", ") + ")"
		}
		s.Notice(fmt.Sprintf("  %-20s %3d member%s%s%s", ch.Conv.Name, ch.Members, pluralS(ch.Members), mark, suffix(": ", ch.Conv.Topic)))
	}
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func topic(s Session, arg string) {
	c := s.Current()
	if arg == "" {
		if c.Kind != Channel {
			s.Notice("A direct conversation has no topic.")
			return
		}
		if c.Topic == "" {
			s.Notice(c.Name + " has no topic.")
			return
		}
		s.Notice(c.Name + "'s topic: " + c.Topic)
		return
	}
	c, err := s.Member().SetTopic(s.Context(), c.ID, arg)
	if err != nil {
		tell(s, "set the topic", err)
		return
	}
	s.Show(c)
}

func setPrivate(s Session, private bool) {
	c, err := s.Member().SetPrivate(s.Context(), s.Current().ID, private)
	if err != nil {
		tell(s, "change who may join", err)
		return
	}
	s.Show(c)
}

func invite(s Session, arg string) {
	name := arg // a name has no blanks: "carol please" is nobody
	if err := s.Member().Invite(s.Context(), s.Current().ID, name); err != nil {
		tell(s, "invite "+Sanitize(name, 30), err)
	}
}

func uninvite(s Session, arg string) {
	name := arg // a name has no blanks: "carol please" is nobody
	if err := s.Member().Uninvite(s.Context(), s.Current().ID, name); err != nil {
		tell(s, "uninvite "+Sanitize(name, 30), err)
		return
	}
	s.Notice(Sanitize(name, 30) + " may no longer join " + s.Current().Name + ".")
}

// msg opens the direct conversation with NAME and, with text, sends it.
func msg(s Session, arg string) {
	name, text, _ := strings.Cut(arg, " ")
	name = strings.TrimPrefix(name, "@")
	writeTo(s, name, strings.TrimSpace(text))
}

func reply(s Session, arg string) {
	name := s.LastPrivate()
	if name == "" {
		s.Notice("Nobody has written to you privately yet: use /msg NAME TEXT.")
		return
	}
	writeTo(s, name, arg)
}

func writeTo(s Session, name, text string) {
	c, err := s.Member().Direct(s.Context(), name)
	if err != nil {
		tell(s, "write to "+Sanitize(name, 30), err)
		return
	}
	s.Show(c)
	peer := c.Peer(s.Member().Name())
	if p, online := s.Member().Room().Presence(peer); !online {
		s.Notice(peer + " is offline: they will see your messages when they next log in.")
	} else if p.IsAway {
		s.Notice(peer + " is away" + suffix(": ", Sanitize(p.Away, maxAwayReason)) + ".")
	}
	if text != "" {
		s.Post(c, KindText, text)
	}
}

func whois(s Session, arg string) {
	name := arg
	w, err := s.Member().Whois(s.Context(), strings.TrimPrefix(name, "@"))
	if err != nil {
		tell(s, "look up "+Sanitize(name, 30), err)
		return
	}
	now := time.Now()
	s.Notice(fmt.Sprintf("%s: signed up %s%s", w.Name, w.Created.Local().Format("2 Jan 2006"), roleSuffix(w.Role)))
	switch {
	case w.Online && w.Presence.IsAway:
		s.Notice("  away" + suffix(": ", Sanitize(w.Presence.Away, maxAwayReason)) + "; online since " + w.Presence.Since.Local().Format("15:04"))
	case w.Online:
		s.Notice("  online since " + w.Presence.Since.Local().Format("15:04") + " (" + Since(now, w.Presence.Since) + ")")
	case w.LastSeen.IsZero():
		s.Notice("  offline")
	default:
		s.Notice("  last seen " + Since(now, w.LastSeen))
	}
	if len(w.Common) > 0 {
		s.Notice("  channels in common: " + strings.Join(w.Common, ", "))
	}
}

func ignore(s Session, arg string) {
	if arg == "" {
		names, err := s.Member().Ignored(s.Context())
		switch {
		case err != nil:
			tell(s, "list whom you ignore", err)
		case len(names) == 0:
			s.Notice("You ignore nobody. /ignore NAME hides NAME's messages from you.")
		default:
			s.Notice("You ignore: " + strings.Join(names, ", ") + ". /unignore NAME shows them again.")
		}
		return
	}
	name := arg
	who, err := s.Member().Ignore(s.Context(), name, true)
	if err != nil {
		tell(s, "ignore "+Sanitize(name, 30), err)
		return
	}
	s.Notice("You ignore " + who + ": their messages are hidden from you, not from others. /unignore " + who + " to undo.")
}

func unignore(s Session, arg string) {
	name := arg
	who, err := s.Member().Ignore(s.Context(), name, false)
	if err != nil {
		tell(s, "unignore "+Sanitize(name, 30), err)
		return
	}
	s.Notice("You see " + who + "'s messages again.")
}
