package tui

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
)

// chattingSection is the README's "Chatting" section, where users read
// about the keys.
func chattingSection(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start := strings.Index(s, "\n## Chatting\n")
	if start < 0 {
		t.Fatal("README.md has no Chatting section")
	}
	s = s[start+1:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	return s
}

func TestTheREADMENamesEveryKeyHelpLists(t *testing.T) {
	section := chattingSection(t)
	for _, b := range keyBindings {
		for _, name := range b.names {
			if !strings.Contains(section, name) {
				t.Errorf("/help lists %s (%s); README.md's Chatting section does not", name, b.help)
			}
		}
	}
}

// The keys /help lists that the chat leaves to the input line are the
// input line's: /help does not promise what it does not do.
func TestHelpsEditingKeysAreTheInputLines(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	keyMap := reflect.ValueOf(f.model.prompt.input.KeyMap)
	bound := func(k string) bool {
		for i := range keyMap.NumField() {
			if b, ok := keyMap.Field(i).Interface().(key.Binding); ok && b.Enabled() && slices.Contains(b.Keys(), k) {
				return true
			}
		}
		return false
	}
	for _, b := range keyBindings {
		if b.do != nil {
			continue
		}
		for _, k := range b.keys {
			if !bound(k) {
				t.Errorf("/help says %s (%s) edit the line; the input line does nothing with %s", strings.Join(b.names, ", "), b.help, k)
			}
		}
	}
}

func TestEachKeyHasOneBinding(t *testing.T) {
	seen := map[string]string{}
	for _, b := range keyBindings {
		for _, k := range b.keys {
			if other, ok := seen[k]; ok {
				t.Errorf("%s is bound twice: %s and %s", k, other, strings.Join(b.names, ", "))
			}
			seen[k] = strings.Join(b.names, ", ")
		}
	}
}

func TestHelpListsTheKeys(t *testing.T) {
	f := newFixture(t, 140, 60, nil)
	f.typeText("/help")
	f.press(tea.KeyEnter)
	s := f.screenText()
	for _, b := range keyBindings {
		if !strings.Contains(s, strings.Join(b.names, ", ")+" ") || !strings.Contains(s, b.help) {
			t.Errorf("/help lacks %s (%s):\n%s", strings.Join(b.names, ", "), b.help, s)
		}
	}
}

// readmeScreen is the chat as README.md's Chatting section shows it.
func readmeScreen(t *testing.T) Model {
	t.Helper()
	return newScene(t, 100, 14).model
}

// The keys that switch conversations work over plain OpenSSH inside tmux
// (3.3a, checked with send-keys and a raw pane): these are the bytes it
// sends, whatever the outer terminal sent it. They decode to the keys the
// table binds.
func TestTheConversationKeysDecodeAsTmuxSendsThem(t *testing.T) {
	sent := []struct{ bytes, key string }{
		{"\x1b[1;3A", "alt+up"},
		{"\x1b[1;3B", "alt+down"},
		{"\x1b1", "alt+1"},
		{"\x1b9", "alt+9"},
		{"\x10", "ctrl+p"},
		{"\x0e", "ctrl+n"},
		{"\x0b", "ctrl+k"},
	}
	// The session's scanner reads no terminfo: the bytes alone decide.
	for _, tt := range sent {
		reads := make(chunkReader, 1)
		reads <- tt.bytes
		close(reads)
		events := scanning(t, &loneEscReader{r: reads}, uv.DefaultEscTimeout)
		ev, ok := <-events
		k, isKey := ev.(uv.KeyPressEvent)
		if !ok || !isKey {
			t.Errorf("%q decodes to %v", tt.bytes, ev)
			continue
		}
		if got := tea.KeyPressMsg(k).String(); got != tt.key {
			t.Errorf("%q decodes to %s, want %s", tt.bytes, got, tt.key)
		}
		if b := keyHandlers[tt.key]; b == nil || b.do == nil {
			t.Errorf("%s is bound to nothing", tt.key)
		}
	}
}

func TestTheREADMEShowsTheRealScreen(t *testing.T) {
	section := chattingSection(t)
	start := strings.Index(section, "```\n")
	end := strings.Index(section[start+4:], "```")
	if start < 0 || end < 0 {
		t.Fatal("no sample screen in README.md's Chatting section")
	}
	sample := strings.TrimSuffix(section[start+4:start+4+end], "\n")
	m := readmeScreen(t)
	rows := strings.Split(ansi.Strip(m.View().Content), "\n")
	for i := range rows {
		rows[i] = strings.TrimRight(rows[i], " ")
	}
	if real := strings.Join(rows, "\n"); sample != real {
		t.Errorf("README.md's sample screen:\n%s\nthe real one:\n%s", sample, real)
	}
}
