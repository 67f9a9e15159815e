package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Command is one slash command: an entry of the command table, which holds
// each command's name, how its argument is written, one line of help, and
// what it does. /help (in both user interfaces), Tab completion of command
// names and Run all read the table, so a new command is one entry here and
// nothing else.
//
// A command acts on the user's chat through a Session, which the two user
// interfaces implement: the full-screen chat (app/tui) and the line mode
// for dumb terminals (app). A command never sees a screen, a terminal or
// the room itself.
//
// What Run decides, so that both user interfaces behave the same:
//   - text (and "//text") goes to Session.Post as KindText;
//   - a known command runs with its argument. An argument written in
//     capitals ("ACTION") is required: without one, Run shows
//     "Usage: /me ACTION (...)" and refuses the line. One in brackets
//     ("[TEXT]") is optional. A command that takes no argument ignores
//     what follows it ("/quit now" quits);
//   - an unknown command gets one notice and is refused;
//   - a refused line is never posted. The user interface keeps it for the
//     user to fix (the full-screen input keeps it; the line mode prints it
//     at the prompt again), and Enter on it again is refused again.
//   - a user who does not notice the kept text and types a new command
//     after it ("/me" kept, then " /who" typed: "/me /who") gets that
//     command, not a post of "* bob /who": the user interface passes each
//     line through AfterRefused before Run.
type Command struct {
	Name string // without the slash, lower case: "me"
	Args string // its argument as /help writes it: "ACTION" required, "[TEXT]" optional, "" none
	Help string // one line
	// Run does the command; arg is trimmed, and not empty when Args is
	// required.
	Run func(s Session, arg string)
}

// Session is one user's chat as a command sees it. The full-screen chat
// and the line mode implement it.
type Session interface {
	// Notice shows text, one line, to this user only.
	Notice(text string)
	// Keys are the lines /help shows after the commands: the keys this
	// user interface knows.
	Keys() []string
	// Quit ends the session, as the user asked.
	Quit()
	// Context bounds what a command asks of the store.
	Context() context.Context
	// Member is the user's membership of the room.
	Member() *Member
	// Current is the conversation the user is looking at: where text goes.
	Current() Conversation
	// Show makes c the current conversation, adding it to the user's list
	// if it is new there.
	Show(c Conversation)
	// Forget drops conversation id from the user's list (it was left); if
	// it was the current one, #lobby becomes current.
	Forget(id int64)
	// Post sends a message from this user to conversation c. A refusal
	// (too long, too fast, the room busy) is the user interface's to
	// report, and to keep the line for sending again where it can.
	Post(c Conversation, kind Kind, body string)
	// LastPrivate is who wrote to this user privately last in this
	// session, "" if nobody has.
	LastPrivate() string
	// Keep says the command did not do what the line asked (refused, or
	// the store failed): the user interface keeps the line, as for a
	// refused post, to fix or to send again. Run still returns true.
	Keep()
	// Ask asks the questions in turn in the input line, then calls answer
	// with the answers, in order, where commands run. A Secret answer is
	// typed masked (•), never echoed, never kept in the input or in the
	// lines Up recalls, never logged. If the user cancels (Esc, Ctrl+C),
	// or the session ends first, answer is not called; a cancel says so.
	Ask(questions []Question, answer func(answers []string))
}

var commands []Command

// The table is set in init: /help's handler reads it.
func init() {
	commands = []Command{
		{Name: "help", Help: "list the commands and keys", Run: help},
		{Name: "who", Help: "list who is online here", Run: who},
		{Name: "me", Args: "ACTION", Help: "describe an action: /me waves", Run: func(s Session, arg string) { s.Post(s.Current(), KindAction, arg) }},
		{Name: "join", Args: "#CHANNEL", Help: "join a channel, or create it", Run: joinChannel},
		{Name: "part", Args: "[#CHANNEL]", Help: "leave this channel (or the one named)", Run: part},
		{Name: "list", Help: "list the channels you may join", Run: listChannels},
		{Name: "topic", Args: "[TEXT]", Help: "show or (owner) set this channel's topic", Run: topic},
		{Name: "private", Help: "(owner) make this channel invite-only", Run: func(s Session, _ string) { setPrivate(s, true) }},
		{Name: "public", Help: "(owner) let anyone join this channel", Run: func(s Session, _ string) { setPrivate(s, false) }},
		{Name: "invite", Args: "NAME", Help: "(owner) let NAME join this channel", Run: invite},
		{Name: "uninvite", Args: "NAME", Help: "(owner) take NAME's invitation back", Run: uninvite},
		{Name: "msg", Args: "NAME [TEXT]", Help: "write to NAME privately (or open that conversation)", Run: msg},
		{Name: "reply", Args: "TEXT", Help: "answer whoever wrote to you privately last", Run: reply},
		{Name: "away", Args: "[REASON]", Help: "say you are away (typing a message brings you back)", Run: func(s Session, arg string) {
			var muted *MutedError
			if errors.As(s.Member().Room().muted(s.Member().Name()), &muted) && arg != "" {
				s.Notice(muted.Sentence() + ": you are away, without a reason.")
				arg = ""
			}
			s.Member().SetAway(arg)
			s.Notice("You are away" + suffix(": ", Sanitize(arg, maxAwayReason)) + ". /back or any message brings you back.")
		}},
		{Name: "back", Help: "say you are back", Run: func(s Session, _ string) { s.Member().Back(); s.Notice("You are back.") }},
		{Name: "whois", Args: "NAME", Help: "who NAME is: since when, away or not, channels in common", Run: whois},
		{Name: "ignore", Args: "[NAME]", Help: "hide NAME's messages from you (alone: list whom you ignore)", Run: ignore},
		{Name: "unignore", Args: "NAME", Help: "show NAME's messages again", Run: unignore},
		{Name: "key", Args: "[add KEY|list|remove N]", Help: "your SSH public keys: log in without a password", Run: key},
		{Name: "passwd", Help: "change your password", Run: passwd},
		{Name: "account", Args: "[delete]", Help: "your account: signed up, keys, last logins (or delete it)", Run: accountCommand},
		{Name: "motd", Args: "[TEXT|clear]", Help: "the message of the day; (admins) set or clear it", Run: motd},
		{Name: "op", Args: "NAME", Help: "(admins) make NAME a moderator", Run: func(s Session, arg string) { setRole(s, arg, RoleModerator) }},
		{Name: "deop", Args: "NAME", Help: "(admins) make moderator NAME a member again", Run: func(s Session, arg string) { setRole(s, arg, RoleMember) }},
		{Name: "kick", Args: "NAME [REASON]", Help: "(moderators) end NAME's sessions now", Run: kick},
		{Name: "mute", Args: "NAME [DURATION] [REASON]", Help: "(moderators) NAME reads but cannot post, for 10m, 2h, 7d... or until lifted", Run: mute},
		{Name: "unmute", Args: "NAME", Help: "(moderators) let NAME post again", Run: unmute},
		{Name: "ban", Args: "NAME [DURATION] [REASON]", Help: "(moderators) kick NAME and refuse their logins, for 10m, 2h, 7d... or until lifted", Run: ban},
		{Name: "unban", Args: "NAME", Help: "(moderators) let NAME log in again", Run: unban},
		{Name: "bans", Help: "(moderators) list the bans and mutes in force", Run: listSanctions},
		{Name: "purge", Args: "NAME [MINUTES]", Help: "(moderators) remove NAME's messages of the last MINUTES (60)", Run: purge},
		{Name: "audit", Args: "[N]", Help: "(moderators) the last N moderation actions (20)", Run: audit},
		{Name: "stats", Help: "(admins) sessions, messages a minute and delivery latency of the last 5 minutes", Run: showStats},
		{Name: "quit", Help: "leave the chat", Run: func(s Session, _ string) { s.Quit() }},
	}
}

// Commands returns the slash commands, in the order /help lists them.
// The slice is a copy: callers may keep or change it.
func Commands() []Command { return append([]Command(nil), commands...) }

// lookup finds a command by its name, lower case, without the slash.
func lookup(name string) (Command, bool) {
	for _, c := range commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// usage is how a command is written: "/me ACTION".
func (c Command) usage() string { return strings.TrimSpace("/" + c.Name + " " + c.Args) }

// argRequired reports whether the command needs an argument.
func (c Command) argRequired() bool { return c.Args != "" && !strings.HasPrefix(c.Args, "[") }

// HelpLine is the command's row in /help.
func (c Command) HelpLine() string { return fmt.Sprintf("  %-13s %s", c.usage(), c.Help) }

func help(s Session, _ string) {
	s.Notice("Commands:")
	for _, c := range commands {
		s.Notice(c.HelpLine())
	}
	for _, line := range s.Keys() {
		s.Notice(line)
	}
}

func who(s Session, _ string) {
	c := s.Current()
	var names []string
	for _, p := range s.Member().Room().Online(c.ID) {
		name := Sanitize(p.Name, 64)
		if p.IsAway {
			name += " (away" + suffix(": ", Sanitize(p.Away, maxAwayReason)) + ")"
		}
		names = append(names, name)
	}
	s.Notice(fmt.Sprintf("%d online in %s: %s", len(names), c.Title(s.Member().Name()), strings.Join(names, ", ")))
}

// Run runs a line the user typed in s: a command from the table or, for
// text, s.Post. It returns false when it refused the line (an unknown
// command, or a command without its required argument), having told the
// user why: the caller keeps the line for the user to fix, and passes it to
// AfterRefused with the next line. Text, even blank, goes to Post, which
// refuses what Sanitize leaves empty: callers skip a blank line before.
func Run(s Session, line string) (ok bool) {
	in := ParseInput(line)
	if in.Command == "" {
		s.Post(s.Current(), KindText, in.Text)
		return true
	}
	c, found := lookup(in.Command)
	switch {
	case !found:
		s.Notice(fmt.Sprintf("Unknown command /%s. Type /help for the list; start a line with // to send a slash.", Sanitize(in.Command, 30)))
		return false
	case c.argRequired() && in.Arg == "":
		s.Notice(fmt.Sprintf("Usage: %s (%s)", c.usage(), c.Help))
		return false
	}
	c.Run(s, in.Arg)
	return true
}

// AfterRefused is the line to run when the user presses Enter on line,
// which may still begin with refused, the line Run refused last (kept for
// the user to fix). Usually it was fixed ("/me" became "/me waves"), or is
// the same (refused again): that is line itself. But when a command was
// typed after the refused text ("/me /who", "/foo bar/who"), the user did
// not mean the refused text (they did not see it was kept): the new
// command alone is the line, and "/me" does not post "* bob /who". If Run
// refuses that command too, it is what the caller keeps.
func AfterRefused(line, refused string) string {
	rest, ok := strings.CutPrefix(line, refused)
	if !ok || refused == "" || ParseInput(rest).Command == "" {
		return line
	}
	return strings.TrimLeftFunc(rest, unicode.IsSpace)
}

// Input is a line typed into the chat, parsed.
type Input struct {
	Command string // "" for text; else the command name, lower case, without the slash
	Arg     string // the command's argument, trimmed
	Text    string // the text to send when Command is ""
}

// ParseInput splits a typed line into a command or text. Leading blanks,
// and characters Sanitize drops (a byte-order mark copied with the text),
// are ignored: a post is cleaned and trimmed anyway, so " /who" must not
// reach everyone as "/who". Then:
//   - "/name arg" is command "name" (case-insensitive: "/ME waves" is "me")
//     with argument "arg";
//   - "//text" is the text "/text": a doubled slash sends one slash;
//   - anything else, including "/" alone or "/ x", is text as typed.
//
// ParseInput does not know which commands exist: Run looks Command up in
// the table and reports unknown ones.
func ParseInput(line string) Input {
	line = strings.TrimLeftFunc(line, func(r rune) bool { return unicode.IsSpace(r) || r == '\u2800' || dropped(r) })
	rest, ok := strings.CutPrefix(line, "/")
	if !ok {
		return Input{Text: line}
	}
	r, _ := utf8.DecodeRuneInString(rest)
	switch {
	case r == '/':
		return Input{Text: rest}
	case rest == "" || unicode.IsSpace(r):
		return Input{Text: line}
	}
	name, arg := rest, ""
	if i := strings.IndexFunc(rest, unicode.IsSpace); i >= 0 {
		name, arg = rest[:i], rest[i:]
	}
	return Input{Command: strings.ToLower(name), Arg: strings.TrimSpace(arg)}
}
