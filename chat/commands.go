package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Command describes one slash command for /help.
type Command struct {
	Name string // without the slash, lower case: "me"
	Args string // how its argument is written in help, "" if none
	Help string // one line
}

var commands = []Command{
	{Name: "help", Help: "list the commands and keys"},
	{Name: "who", Help: "list who is online"},
	{Name: "me", Args: "ACTION", Help: "describe an action: /me waves"},
	{Name: "quit", Help: "leave the chat"},
}

// Commands returns the slash commands, in the order /help lists them.
// The slice is a copy: callers may keep or change it.
func Commands() []Command { return append([]Command(nil), commands...) }

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
// ParseInput does not know which commands exist: callers look Command up in
// Commands and report unknown ones.
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
