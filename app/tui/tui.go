// Package tui is the chat screen each SSH session runs: a Bubble Tea model
// that knows the chat core but nothing of SSH.
package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// Model is one session's screen.
type Model struct {
	name          string
	width, height int
}

// New returns the screen of the user called name.
func New(name string, width, height int) Model {
	return Model{name: name, width: width, height: height}
}

func (m Model) Init() tea.Cmd { return nil }

func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyPressMsg:
		switch msg.String() {
		case "ctrl+c", "ctrl+d", "esc":
			return m, tea.Quit
		}
	}
	return m, nil
}

func (m Model) View() tea.View {
	box := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(1, 3).
		Render(fmt.Sprintf("Messaging\n\nsigned in as %s\n\nCtrl+C, Ctrl+D or Esc to quit", m.name))
	v := tea.NewView(lipgloss.Place(max(m.width, 1), max(m.height, 1), lipgloss.Center, lipgloss.Center, box))
	v.AltScreen = true
	return v
}
