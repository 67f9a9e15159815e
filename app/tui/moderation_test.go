package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// setPresences shows ps as who is online in the conversation shown, in
// that order, as the room would.
func (m *Model) setPresences(ps ...chat.Presence) {
	m.online = ps
	m.refreshChrome(membersPart)
}

// memberColumn is the member column's rows on screen, each as after its
// border, blanks at the end trimmed.
func (f *fixture) memberColumn() []string {
	f.t.Helper()
	var col []string
	for _, row := range f.screen()[1 : 1+f.model.logHeight()] {
		i := strings.LastIndex(row, sideBorder+" ")
		if i < 0 {
			f.t.Fatalf("no member column in %q", row)
		}
		col = append(col, strings.TrimRight(row[i+len(sideBorder+" "):], " "))
	}
	return col
}

func TestTheMemberColumnMarksAdminsAndModeratorsAtEveryWidth(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	f.model.setPresences(
		chat.Presence{Name: "alice", Role: chat.RoleAdmin},
		chat.Presence{Name: "bob", Role: chat.RoleModerator},
		chat.Presence{Name: "carol"},
		chat.Presence{Name: "dave", Role: chat.RoleModerator, IsAway: true},
		chat.Presence{Name: "abcdefghijklmnopq", Role: chat.RoleModerator}, // 18 cells with its mark: just fits
		chat.Presence{Name: "abcdefghijklmnopqr", Role: chat.RoleAdmin},    // 19: cut
	)
	want := []string{"Online (6)", "@alice", "+bob", "carol", "+dave (away)", "+abcdefghijklmnopq", "@abcdefghijklmnop…"}
	for _, width := range []int{80, 100, 120, 200} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			f.send(tea.WindowSizeMsg{Width: width, Height: 24})
			col := f.memberColumn()
			for i, w := range want {
				if col[i] != w {
					t.Errorf("member row %d: %q, want %q", i, col[i], w)
				}
			}
			for i, c := range f.model.chrome.side {
				if got := ansi.StringWidth(c.text); got != c.width || c.width > sideWidth-sideBorderWidth {
					t.Errorf("member cell %d %q: counted %d cells, is %d, column %d", i, ansi.Strip(c.text), c.width, got, sideWidth-sideBorderWidth)
				}
			}
			for i, row := range f.screen() {
				if w := ansi.StringWidth(row); w > width {
					t.Errorf("row %d is %d cells wide, terminal %d: %q", i, w, width, row)
				}
			}
		})
	}
}

func TestARemovedMessageShowsItWasRemovedDimmed(t *testing.T) {
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	recent := []chat.Message{
		{ID: 1, Time: at(1), Author: "bob", Kind: chat.KindText, Removed: true},
		{ID: 2, Time: at(2), Author: "carol", Kind: chat.KindText, Body: "still here"},
	}
	f := newFixture(t, 80, 24, recent)
	lobby := f.model.convs.lobby.ID
	// A store may leave a body in a removed message: it never shows.
	f.send(receivedMsg{[]chat.Message{{ID: 3, Conv: lobby, Time: at(3), Author: "bob", Kind: chat.KindAction, Body: "secret", Removed: true}}})
	screen := f.screenText()
	for _, want := range []string{"09:31:00 bob: [removed by a moderator]", "09:32:00 carol: still here", "09:33:00 * bob [removed by a moderator]"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "secret") {
		t.Errorf("screen shows a removed text:\n%s", screen)
	}
	for _, l := range f.model.log.lines {
		if strings.Contains(ansi.Strip(l.text), removedText) && !strings.Contains(l.text, f.model.st.hint.Render(removedText)) {
			t.Errorf("removed line %q is not dimmed", l.text)
		}
	}
}

func TestAPurgeRemovesExactlyTheAuthorsMessagesSinceItsTimeInItsConversation(t *testing.T) {
	f := newFixture(t, 160, 30, nil)
	m := &f.model
	lobby := m.convs.lobby.ID
	// #go, with its log kept while #lobby is shown.
	goCh := m.convs.add(chat.Conversation{ID: 99, Kind: chat.Channel, Name: "#go"}, m.me)
	goLog := newLogView(m.st, m.me, m.lines, true)
	goCh.log = &goLog

	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	post := func(id int64, conv int64, minute int, author string, kind chat.Kind, body string) chat.Message {
		return chat.Message{ID: id, Conv: conv, Time: at(minute), Author: author, Kind: kind, Body: body}
	}
	f.send(receivedMsg{[]chat.Message{
		post(10, lobby, 1, "bob", chat.KindText, "bob before"),
		post(11, lobby, 3, "bob", chat.KindText, "bob at since"),
		post(12, lobby, 4, "carol", chat.KindText, "carol after"),
		post(13, lobby, 5, "Bob", chat.KindAction, "bob acts"),
		post(14, 99, 5, "bob", chat.KindText, "bob in go"),
		post(15, lobby, 6, "bob", chat.KindAway, "lunch"),
	}})
	f.send(receivedMsg{[]chat.Message{{ID: 16, Conv: lobby, Time: at(7), Author: "bob", Kind: chat.KindPurge, Body: "carol", Since: at(3)}}})

	removed := map[int64]bool{}
	for _, e := range m.log.entries {
		if e.msg.Removed {
			removed[e.msg.ID] = true
		}
	}
	if len(removed) != 3 || !removed[11] || !removed[13] || !removed[15] {
		t.Errorf("removed %v, want bob's posts and away reason since 09:33 in #lobby: 11, 13 and 15", removed)
	}
	for _, e := range goLog.entries {
		if e.msg.Removed {
			t.Errorf("#go's message %d was removed by #lobby's purge", e.msg.ID)
		}
	}
	screen := f.screenText()
	for _, want := range []string{
		"09:31:00 bob: bob before",
		"09:33:00 bob: [removed by a moderator]",
		"09:34:00 carol: carol after",
		"09:35:00 * Bob [removed by a moderator]",
		"09:36:00 bob is away",
		"09:37:00 bob's messages since 09:33 were removed by a moderator (carol)",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	for _, gone := range []string{"bob at since", "bob acts", "lunch"} {
		if strings.Contains(screen, gone) {
			t.Errorf("screen still shows %q:\n%s", gone, screen)
		}
	}
	if n := strings.Count(screen, "were removed by a moderator"); n != 1 {
		t.Errorf("the purge notice shows %d times, want once:\n%s", n, screen)
	}
	// The same purge again (a duplicate delivery) changes nothing.
	f.send(receivedMsg{[]chat.Message{{ID: 16, Conv: lobby, Time: at(7), Author: "bob", Kind: chat.KindPurge, Body: "carol", Since: at(3)}}})
	if n := strings.Count(f.screenText(), "were removed by a moderator"); n != 1 {
		t.Errorf("after a duplicate, the purge notice shows %d times, want once", n)
	}

	// #go's own purge, while it is not shown, marks it there; shown, it
	// is drawn so.
	f.send(receivedMsg{[]chat.Message{{ID: 17, Conv: 99, Time: at(8), Author: "bob", Kind: chat.KindPurge, Body: "carol", Since: at(0)}}})
	f.run(m.show(goCh))
	if screen := f.screenText(); !strings.Contains(screen, "09:35:00 bob: [removed by a moderator]") || strings.Contains(screen, "bob in go") {
		t.Errorf("#go after its purge:\n%s", screen)
	}
}

// TestTheLineCacheNeverServesARemovedMessagesOldText: sessions sharing a
// LineCache draw a message, which a purge then removes. Neither they, at
// their width or another, nor a session that loads it from history later
// (as Removed, at the width whose old rendering is cached) show its text.
func TestTheLineCacheNeverServesARemovedMessagesOldText(t *testing.T) {
	ctx := context.Background()
	room, _ := newRoom(t)
	cache := NewLineCache()
	lobby := room.Lobby().ID
	open := func(name string, recent []chat.Message) *Model {
		member, err := room.Join(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(member.Leave)
		m := newModel(ctx, Options{Room: room, Member: member, Recent: recent, HistoryLen: 100, MaxMessage: 1000,
			Width: 100, Height: 20, Profile: colorprofile.ANSI256, Lines: cache})
		return &m
	}
	text := chat.Message{ID: 1000, Conv: lobby, Time: base, Author: "bob", Kind: chat.KindText, Body: "the old text"}
	purge := chat.Message{ID: 1001, Conv: lobby, Time: base.Add(time.Minute), Author: "bob", Kind: chat.KindPurge, Body: "carol", Since: base}
	dave, erin := open("dave", nil), open("erin", nil)
	for _, m := range []*Model{dave, erin} {
		m.received([]chat.Message{text})
	}
	if _, ok := cache.get(lineKey{id: text.ID, width: dave.wrapWidth(), profile: colorprofile.ANSI256}); !ok {
		t.Fatal("the message's rendering was not shared: the test proves nothing")
	}
	for _, m := range []*Model{dave, erin} {
		m.received([]chat.Message{purge})
		m.resize(120, 20)
		m.resize(100, 20)
	}
	removed := text
	removed.Body, removed.Removed = "", true
	frank := open("frank", []chat.Message{removed, purge})
	for _, m := range []*Model{dave, erin, frank} {
		screen := ansi.Strip(m.View().Content)
		if strings.Contains(screen, "the old text") || !strings.Contains(screen, "bob: [removed by a moderator]") {
			t.Errorf("%s's screen:\n%s", m.me, screen)
		}
	}
}
