package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"messaging/chat"
)

// keyBinding is one row of /help's key list and what those keys do: the
// list is both the help and the dispatch, so neither can forget a key.
type keyBinding struct {
	names []string // how /help (and the README) name the keys
	help  string
	keys  []string // as tea.KeyPressMsg.String() names them
	// do handles a key and reports whether it did; a key it leaves, and
	// every key of a binding without do, goes to the input line, whose
	// editing keys (textinput's) these rows then describe.
	do func(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool)
}

var (
	keyBindings []keyBinding
	keyHandlers map[string]*keyBinding // by key, the bindings with do
)

// The list is set in init: its handlers reach help, which reads it.
func init() {
	keyBindings = []keyBinding{
		{names: []string{"Enter"}, help: "send the line", keys: []string{"enter", "ctrl+j"}, do: (*Model).enterKey},
		{names: []string{"Tab"}, help: "complete a name or /command", keys: []string{"tab"}, do: (*Model).tabKey},
		{names: []string{"Up/Down"}, help: "recall earlier lines", keys: []string{"up", "down"}, do: (*Model).recallKey},
		{names: []string{"PgUp/PgDn", "mouse wheel"}, help: "scroll up / down", keys: []string{"pgup", "pgdown"}, do: (*Model).pageKey},
		{names: []string{"Ctrl+Home/End"}, help: "oldest / newest messages", keys: []string{"ctrl+home", "ctrl+end"}, do: (*Model).endsKey},
		{names: []string{"Home/End"}, help: "the same, on an empty line", keys: []string{"home", "end"}, do: (*Model).homeEndKey},
		{names: []string{"Esc"}, help: "back down, then clear the line", keys: []string{"esc"}, do: (*Model).escKey},
		// Conversations. Over SSH, and in tmux, Alt+key arrives as ESC
		// then the key ("\x1b1"), Alt+Up as "\x1b[1;3A", Ctrl+P, N and K as
		// 0x10, 0x0e and 0x0b (TestTheConversationKeysDecodeAsTmuxSendsThem).
		{names: []string{"Alt+1..9"}, help: "show the conversation at that place in the list", keys: []string{"alt+1", "alt+2", "alt+3", "alt+4", "alt+5", "alt+6", "alt+7", "alt+8", "alt+9"}, do: (*Model).placeKey},
		{names: []string{"Alt+Up/Down", "Ctrl+P/N"}, help: "the previous / next conversation", keys: []string{"alt+up", "alt+down", "ctrl+p", "ctrl+n"}, do: (*Model).stepKey},
		{names: []string{"Ctrl+K"}, help: "jump to a conversation: type part of its name, Enter", keys: []string{"ctrl+k"}, do: (*Model).jumpKey},
		{names: []string{"Ctrl+C"}, help: "clear the line, else quit", keys: []string{"ctrl+c"}, do: (*Model).interruptKey},
		{names: []string{"Ctrl+D"}, help: "quit on an empty line", keys: []string{"ctrl+d"}, do: (*Model).eofKey},
		// The input line's own editing keys (Home/End in text, and Ctrl+D,
		// which deletes forward there, are its too).
		{names: []string{"Left/Right", "Ctrl+B/F"}, help: "move a character", keys: []string{"left", "right", "ctrl+b", "ctrl+f"}},
		{names: []string{"Alt+B/F", "Ctrl+Left/Right"}, help: "move a word", keys: []string{"alt+b", "alt+f", "ctrl+left", "ctrl+right", "alt+left", "alt+right"}},
		{names: []string{"Ctrl+A/E", "Home/End"}, help: "start / end of the line", keys: []string{"ctrl+a", "ctrl+e"}},
		{names: []string{"Backspace", "Delete"}, help: "delete a character", keys: []string{"backspace", "delete"}},
		{names: []string{"Ctrl+W", "Alt+D"}, help: "delete a word back / forward", keys: []string{"ctrl+w", "alt+backspace", "alt+d", "alt+delete"}},
		{names: []string{"Ctrl+U"}, help: "delete to the start", keys: []string{"ctrl+u"}},
	}
	keyHandlers = map[string]*keyBinding{}
	for i := range keyBindings {
		b := &keyBindings[i]
		for _, k := range b.keys {
			if b.do != nil {
				keyHandlers[k] = b
			}
		}
	}
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if m.ask.active {
		return m.answering(k)
	}
	if m.jump.active {
		return m.jumping(k)
	}
	if b := keyHandlers[k.String()]; b != nil {
		if cmd, done := b.do(m, k); done {
			return cmd
		}
	}
	return m.prompt.edit(k)
}

// enterKey sends the line. Ctrl+J is a line feed: what Enter sends while
// the client's terminal is still in cooked mode, as when typing ahead of
// the chat screen.
func (m *Model) enterKey(tea.KeyPressMsg) (tea.Cmd, bool) { return m.submit(), true }

// tabKey completes the word being typed; a channel's name also has the
// channels listed again if the list is old, for the next Tab.
func (m *Model) tabKey(tea.KeyPressMsg) (tea.Cmd, bool) {
	var cmd tea.Cmd
	if strings.HasPrefix(m.prompt.typing(), "#") {
		cmd = m.channels.refresh(m.ctx, m.member, time.Now())
		if m.channels.at.IsZero() {
			// Never listed: completing now would offer only the user's own
			// channels. The listing's arrival completes this Tab.
			m.channels.pendingTab = m.prompt.value()
			return cmd, true
		}
	}
	if notice := m.prompt.complete(m.names(), m.channelNames()); notice != "" {
		m.notice(notice)
	}
	return cmd, true
}

// placeKey shows the nth conversation of the list (Alt+n).
func (m *Model) placeKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(k.String(), "alt+"))
	if err != nil || n < 1 || n > len(m.convs.all) {
		return nil, true
	}
	return m.show(m.convs.all[n-1]), true
}

// stepKey shows the conversation before or after the one shown, going
// round the list.
func (m *Model) stepKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	step := 1
	if s := k.String(); s == "alt+up" || s == "ctrl+p" {
		step = -1
	}
	return m.show(m.convs.step(m.cur, step)), true
}

func (m *Model) recallKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	if k.String() == "up" {
		m.prompt.recallLine(-1)
	} else {
		m.prompt.recallLine(1)
	}
	return nil, true
}

func (m *Model) pageKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	if k.String() == "pgup" {
		return m.scrollBy(m.log.page()), true
	}
	return m.scrollBy(-m.log.page()), true
}

func (m *Model) endsKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	if k.String() == "ctrl+home" {
		return m.scrollBy(len(m.log.lines)), true
	}
	m.log.follow()
	return nil, true
}

// homeEndKey scrolls as Ctrl+Home/End on an empty line; in text it moves
// the cursor, as in any line editor.
func (m *Model) homeEndKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	if !m.prompt.empty() {
		return nil, false
	}
	return m.endsKey(tea.KeyPressMsg{Code: k.Code, Mod: tea.ModCtrl})
}

// escKey never quits: Esc means "cancel", and pressed twice to clear a
// line it would end the chat.
func (m *Model) escKey(tea.KeyPressMsg) (tea.Cmd, bool) {
	if m.log.scroll > 0 {
		m.log.follow()
	} else {
		m.prompt.clear()
	}
	return nil, true
}

// interruptKey quits, unless there is a line to lose: then it clears the
// line, which Up brings back, as a shell does (unless it may hold a
// secret: chat.Sensitive).
func (m *Model) interruptKey(tea.KeyPressMsg) (tea.Cmd, bool) {
	text := m.prompt.value()
	if text == "" {
		return tea.Quit, true
	}
	m.prompt.clear()
	if chat.Sensitive(text) { // it may hold a secret: gone for good
		m.prompt.drop()
		m.notice("Ctrl+C again to quit.")
		return nil, true
	}
	m.prompt.remember(text)
	m.notice("Ctrl+C again to quit; Up brings the line back.")
	return nil, true
}

// eofKey quits on an empty line; in text the input line deletes the
// character at the cursor.
func (m *Model) eofKey(tea.KeyPressMsg) (tea.Cmd, bool) {
	if m.prompt.empty() {
		return tea.Quit, true
	}
	return nil, false
}

// keyHelp is the key list /help shows after the commands (chat.Run lists
// those, from the command table).
func keyHelp() []string {
	lines := []string{"Keys:"}
	for _, b := range keyBindings {
		lines = append(lines, fmt.Sprintf("  %-13s %s", strings.Join(b.names, ", "), b.help))
	}
	return lines
}
