package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

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
	runes, start, pos, found := wordBefore(line, pos)
	word := string(runes[start:pos])
	if !found || strings.TrimSpace(string(runes[:start])) != "" || !strings.HasPrefix(word, "/") || strings.HasPrefix(word, "//") {
		return line, pos, nil, false
	}
	commands := make([]string, len(names))
	for i, name := range names {
		commands[i] = "/" + name
	}
	word, matches, unique := extend(word, commands)
	if unique && pos == len(runes) {
		word += " "
	}
	completed, cursor = splice(runes, start, pos, word)
	return completed, cursor, matches, true
}

// completeChannel completes a channel's name (channels: "#name", lower
// case) in the word before the cursor, which begins with "#", as
// completeCommand does a command's; ok reports that the word is one.
func completeChannel(line string, pos int, channels []string) (completed string, cursor int, matches []string, ok bool) {
	runes, start, pos, found := wordBefore(line, pos)
	word := string(runes[start:pos])
	if !found || !strings.HasPrefix(word, "#") {
		return line, pos, nil, false
	}
	word, matches, unique := extend(word, channels)
	if unique && pos == len(runes) {
		word += " "
	}
	completed, cursor = splice(runes, start, pos, word)
	return completed, cursor, matches, true
}

// completeName completes the word before the cursor (pos, in runes) to the
// name of someone online, as Tab does in most chats; the cursor must be at
// the word's end. A word that begins one name only becomes that name,
// followed by ": " at the start of the line (addressing someone) or a
// space elsewhere; a leading @ is kept. A word that begins several names
// grows to what they have in common; when it cannot grow, matches lists
// those names. Names compare in any case.
func completeName(line string, pos int, names []string) (completed string, cursor int, matches []string) {
	runes, start, pos, found := wordBefore(line, pos)
	word := string(runes[start:pos])
	at := strings.HasPrefix(word, "@")
	typed := strings.TrimPrefix(word, "@")
	if !found || typed == "" {
		return line, pos, nil
	}
	name, matches, unique := extend(typed, names)
	if unique {
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
	completed, cursor = splice(runes, start, pos, name)
	return completed, cursor, matches
}

// wordBefore splits line into runes and finds the word that ends at the
// cursor (pos, in runes, brought within the line): it starts at start.
// found is false when the cursor is inside a word: Tab completes a word's
// end.
func wordBefore(line string, pos int) (runes []rune, start, end int, found bool) {
	runes = []rune(line)
	pos = min(max(pos, 0), len(runes))
	if pos < len(runes) && !unicode.IsSpace(runes[pos]) {
		return runes, pos, pos, false
	}
	start = pos
	for start > 0 && !unicode.IsSpace(runes[start-1]) {
		start--
	}
	return runes, start, pos, true
}

// extend completes typed among the candidates that begin with it, in any
// case: one is that candidate (unique); several grow typed to what they
// share, or, when that adds nothing, are the matches to list. With none,
// typed stays.
func extend(typed string, candidates []string) (word string, matches []string, unique bool) {
	prefix := strings.ToLower(typed)
	for _, c := range candidates {
		if strings.HasPrefix(strings.ToLower(c), prefix) {
			matches = append(matches, c)
		}
	}
	switch len(matches) {
	case 0:
		return typed, nil, false
	case 1:
		return matches[0], nil, true
	}
	if common := commonPrefix(matches); utf8.RuneCountInString(common) > utf8.RuneCountInString(typed) {
		return common, nil, false
	}
	return typed, matches, false
}

// splice puts word in place of runes[start:end] and returns the line with
// the cursor after word.
func splice(runes []rune, start, end int, word string) (line string, cursor int) {
	return string(runes[:start]) + word + string(runes[end:]), start + utf8.RuneCountInString(word)
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

// matchesNotice lists the names (or channels, or commands: what) a Tab
// could not choose between: the first maxListed names or channels (there
// may be hundreds), every command (the table is short, and "/" Tab is how
// one browses it).
func matchesNotice(what string, names []string) string {
	maxListed := 20
	if what == "commands" {
		maxListed = len(names)
	}
	text := fmt.Sprintf("%d %s match: %s", len(names), what, strings.Join(names[:min(len(names), maxListed)], ", "))
	if len(names) > maxListed {
		text += ", …"
	}
	return text
}

// names are who Tab completes a name to: everyone online (all are in
// #lobby), then the user's direct conversations' peers.
func (m *Model) names() []string {
	online := m.online
	if m.cur != m.convs.lobby {
		online = m.room.Online(m.convs.lobby.ID)
	}
	names := make([]string, 0, len(online))
	for _, p := range online {
		names = append(names, p.Name)
	}
	for _, c := range m.convs.all {
		if peer := c.Peer(m.me); c.Kind == chat.Direct && !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, peer) }) {
			names = append(names, peer)
		}
	}
	return names
}

// channelNames are the channels Tab completes after a "#": the user's,
// and those chat last listed for them, by name.
func (m *Model) channelNames() []string {
	names := slices.Clone(m.channels.names)
	for _, c := range m.convs.all {
		if c.Kind == chat.Channel {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// channelList is the channels chat last listed for the user
// (Member.Channels: the public ones, and the invite-only ones the user is
// in or invited to; never others), for Tab. Completing a "#" word lists
// them again once the list is older than channelsMaxAge.
type channelList struct {
	names    []string
	at       time.Time
	fetching bool
	// pendingTab is the input at a Tab that waits for the first listing
	// (""; none).
	pendingTab string
}

const channelsMaxAge = time.Minute

// channelsMsg is the channels listed (or why not).
type channelsMsg struct {
	names []string
	at    time.Time
	err   error
}

// refresh lists the channels again in the returned command, if the list
// is old and no listing is under way.
func (l *channelList) refresh(ctx context.Context, member *chat.Member, now time.Time) tea.Cmd {
	if l.fetching || now.Sub(l.at) < channelsMaxAge {
		return nil
	}
	l.fetching = true
	return func() tea.Msg {
		list, err := member.Channels(ctx)
		names := make([]string, len(list))
		for i, ch := range list {
			names[i] = ch.Conv.Name
		}
		return channelsMsg{names: names, at: time.Now(), err: err}
	}
}

// set takes a listing; a failed one leaves the list as it was, to be
// tried again.
func (l *channelList) set(msg channelsMsg) {
	l.fetching = false
	if msg.err == nil {
		l.names, l.at = msg.names, msg.at
	}
}
