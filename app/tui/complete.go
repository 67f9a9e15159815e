package tui

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"messaging/chat"
)

// commandNames are the command table's names, in its order.
func commandNames() []string {
	var names []string
	for _, c := range chat.Commands() {
		names = append(names, c.Name)
	}
	return names
}

// completeCommand completes a command's name (names: without the slash)
// in the line's first word, as completeName does a person's: ok reports
// that the word before the cursor is one (it begins with one slash, only
// blanks before it), whether or not a command matches. One command
// becomes "/name " (lower case, as the table writes it); several complete
// what they share, then matches lists them ("/" alone lists them all).
func completeCommand(line string, pos int, names []string) (completed string, cursor int, matches []string, ok bool) {
	runes := []rune(line)
	pos = min(max(pos, 0), len(runes))
	if pos < len(runes) && !unicode.IsSpace(runes[pos]) {
		return line, pos, nil, false // inside a word
	}
	start := pos
	for start > 0 && !unicode.IsSpace(runes[start-1]) {
		start--
	}
	word := string(runes[start:pos])
	if strings.TrimSpace(string(runes[:start])) != "" || !strings.HasPrefix(word, "/") || strings.HasPrefix(word, "//") {
		return line, pos, nil, false
	}
	prefix := strings.ToLower(word[1:])
	for _, name := range names {
		if strings.HasPrefix(name, prefix) {
			matches = append(matches, "/"+name)
		}
	}
	switch {
	case len(matches) == 0:
		return line, pos, nil, true
	case len(matches) > 1:
		word = commonPrefix(matches)
		if utf8.RuneCountInString(word) <= utf8.RuneCountInString(prefix)+1 {
			return line, pos, matches, true // nothing to add: say which match
		}
		matches = nil
	default:
		word = matches[0]
		if pos == len(runes) {
			word += " "
		}
		matches = nil
	}
	return string(runes[:start]) + word + string(runes[pos:]), start + utf8.RuneCountInString(word), nil, true
}

// completeName completes the word before the cursor (pos, in runes) to the
// name of someone online, as Tab does in most chats; the cursor must be at
// the word's end. A word that begins one name only becomes that name,
// followed by ": " at the start of the line (addressing someone) or a
// space elsewhere; a leading @ is kept. A word that begins several names
// grows to what they have in common; when it cannot grow, matches lists
// those names. Names compare in any case.
func completeName(line string, pos int, names []string) (completed string, cursor int, matches []string) {
	runes := []rune(line)
	pos = min(max(pos, 0), len(runes))
	if pos < len(runes) && !unicode.IsSpace(runes[pos]) {
		return line, pos, nil // inside a word: Tab completes a word's end
	}
	start := pos
	for start > 0 && !unicode.IsSpace(runes[start-1]) {
		start--
	}
	word := string(runes[start:pos])
	at := strings.HasPrefix(word, "@")
	prefix := strings.ToLower(strings.TrimPrefix(word, "@"))
	if prefix == "" {
		return line, pos, nil
	}
	for _, name := range names {
		if strings.HasPrefix(strings.ToLower(name), prefix) {
			matches = append(matches, name)
		}
	}
	if len(matches) == 0 {
		return line, pos, nil
	}
	name := matches[0]
	if len(matches) > 1 {
		name = commonPrefix(matches)
		if utf8.RuneCountInString(name) <= utf8.RuneCountInString(prefix) {
			return line, pos, matches // nothing to add: say who matches
		}
	} else {
		switch {
		case pos < len(runes): // a blank follows already
		case strings.TrimSpace(string(runes[:start])) == "" && !at: // the line's first word
			name += ": "
		default:
			name += " "
		}
	}
	if at {
		name = "@" + name
	}
	out := string(runes[:start]) + name + string(runes[pos:])
	return out, start + utf8.RuneCountInString(name), nil
}

// commonPrefix is the start all names share, in any case, as the first
// name spells it.
func commonPrefix(names []string) string {
	first := []rune(names[0])
	n := len(first)
	for _, name := range names[1:] {
		i := 0
		for _, r := range name {
			if i == n || unicode.ToLower(r) != unicode.ToLower(first[i]) {
				break
			}
			i++
		}
		n = i
	}
	return string(first[:n])
}

// matchesNotice lists the names (or commands: what) a Tab could not choose
// between, the first maxListed of them.
func matchesNotice(what string, names []string) string {
	const maxListed = 20
	text := fmt.Sprintf("%d %s match: %s", len(names), what, strings.Join(names[:min(len(names), maxListed)], ", "))
	if len(names) > maxListed {
		text += ", …"
	}
	return text
}
