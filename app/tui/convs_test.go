package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// scene is alice's chat with conversations, as README.md shows it: #lobby
// shown, with its history read; #go (bob's, with a topic) with 3 posts
// unread; #random (carol's) with one unread (that names alice, which the
// count from the store does not say); and a direct conversation with bob,
// one message unread. bob and carol are online.
type scene struct {
	*fixture
	bob, carol              *chat.Member
	lobbyID, goID, randomID int64
	dmID                    int64
}

func newScene(t *testing.T, width, height int) *scene {
	t.Helper()
	ctx := context.Background()
	// The room's clock: the times of its notices (joins) are drawn.
	now := base.Add(20 * time.Minute)
	room, st := newRoomWith(t, chat.RoomConfig{Workers: 1, Now: func() time.Time { return now }})
	for _, name := range []string{"alice", "bob", "carol"} {
		must(t, st.AddMember(ctx, 0, name, 0))
	}
	goCh, err := st.CreateChannel(ctx, chat.Conversation{Name: "#go", Owner: "bob", Topic: "all things Go, and gophers"}, 0)
	must(t, err)
	random, err := st.CreateChannel(ctx, chat.Conversation{Name: "#random", Owner: "carol"}, 0)
	must(t, err)
	dm, err := st.Direct(ctx, "alice", "bob")
	must(t, err)
	must(t, st.AddMember(ctx, goCh.ID, "alice", 0))
	must(t, st.AddMember(ctx, random.ID, "alice", 0))

	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	lobby := []chat.Message{
		{Time: at(0), Author: "bob", Kind: chat.KindJoin},
		{Time: at(1), Author: "bob", Kind: chat.KindText, Body: "hello everyone"},
		{Time: at(2), Author: "alice", Kind: chat.KindText, Body: "hi bob! this line is long enough that it has to wrap, with a hanging indent under the text"},
		{Time: at(3), Author: "carol", Kind: chat.KindAction, Body: "waves"},
		{Time: at(4), Author: "carol", Kind: chat.KindText, Body: "wide characters: 世界 こんにちは 👋🏽 wrap by cells"},
		{Time: at(5), Author: "bob", Kind: chat.KindText, Body: "@alice are you there?"},
	}
	must(t, st.Append(ctx, lobby))
	must(t, st.Append(ctx, []chat.Message{
		{Conv: goCh.ID, Time: at(6), Author: "bob", Kind: chat.KindText, Body: "generics or not?"},
		{Conv: goCh.ID, Time: at(7), Author: "bob", Kind: chat.KindText, Body: "1.26 is out"},
		{Conv: random.ID, Time: at(8), Author: "carol", Kind: chat.KindText, Body: "alice: lunch at noon?"},
		{Conv: goCh.ID, Time: at(9), Author: "bob", Kind: chat.KindText, Body: "anyone?"},
		{Conv: dm.ID, Time: at(10), Author: "bob", Kind: chat.KindText, Body: "got a minute?"},
	}))
	must(t, st.SetRead(ctx, []chat.Read{{Account: "alice", Conv: 0, ID: lobby[len(lobby)-1].ID}}))

	s := &scene{lobbyID: 0, goID: goCh.ID, randomID: random.ID, dmID: dm.ID}
	s.bob, s.carol = joinRoom(t, room, "bob"), joinRoom(t, room, "carol")
	s.fixture = joinFixture(t, room, st, width, height, lobby)
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// joinRoom is a session of name in room, left after the test.
func joinRoom(t testing.TB, room *chat.Room, name string) *chat.Member {
	t.Helper()
	m, err := room.Join(context.Background(), name)
	must(t, err)
	t.Cleanup(m.Leave)
	return m
}

// say posts text from member in conversation conv and waits for it to be
// stored.
func say(t testing.TB, member *chat.Member, conv int64, text string) {
	t.Helper()
	receipt, err := member.Send(conv, chat.KindText, text)
	must(t, err)
	must(t, receipt.Wait(context.Background()))
}

// deliverUntil hands alice's screen what the room delivers to her, as her
// session does, until a message done accepts has come, running the
// commands the screen gives back.
func (f *fixture) deliverUntil(done func(chat.Message) bool) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for {
		msgs, err := f.model.member.Receive(ctx)
		if err != nil {
			f.t.Fatalf("waiting for a delivery: %v", err)
		}
		f.run(f.send(receivedMsg{msgs}))
		if slices.ContainsFunc(msgs, done) {
			return
		}
	}
}

// run runs cmd as the program would, and hands what it brings to Update,
// but never quits.
func (f *fixture) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			f.run(c)
		}
	case nil, tea.QuitMsg:
	default:
		f.run(f.send(msg))
	}
}

// key presses a key as tea names it ("alt+2", "ctrl+k") and runs its
// command.
func (f *fixture) key(name string) {
	f.t.Helper()
	f.run(f.send(keyPress(f.t, name)))
}

// keyPress is the key tea names name.
func keyPress(t testing.TB, name string) tea.KeyPressMsg {
	t.Helper()
	k := tea.KeyPressMsg{}
	mods, code, _ := strings.Cut(name, "+")
	if code == "" {
		mods, code = "", name
	}
	for _, mod := range strings.Split(mods, "+") {
		switch mod {
		case "alt":
			k.Mod |= tea.ModAlt
		case "ctrl":
			k.Mod |= tea.ModCtrl
		case "shift":
			k.Mod |= tea.ModShift
		}
	}
	switch code {
	case "up":
		k.Code = tea.KeyUp
	case "down":
		k.Code = tea.KeyDown
	case "enter":
		k.Code = tea.KeyEnter
	case "esc":
		k.Code = tea.KeyEscape
	case "tab":
		k.Code = tea.KeyTab
	default:
		k.Code = []rune(code)[0]
	}
	if k.String() != name {
		t.Fatalf("key %q is %q", name, k.String())
	}
	return k
}

// shown is the title of the conversation on screen.
func (f *fixture) shown() string { return f.model.cur.title }

// listed are the titles of the list, in its order.
func (f *fixture) listed() []string {
	var titles []string
	for _, c := range f.model.convs.all {
		titles = append(titles, c.badgedTitle())
	}
	return titles
}

func TestConversationsGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 30}, {60, 15}, {30, 8}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			s := newScene(t, size.w, size.h)
			checkGolden(t, s.fixture, fmt.Sprintf("convs_%dx%d.golden", size.w, size.h))
			// #go, opened: its topic in the header, the line above its
			// first unread message.
			s.key("alt+2")
			checkGolden(t, s.fixture, fmt.Sprintf("convs_go_%dx%d.golden", size.w, size.h))
		})
	}
}

// checkGolden compares the view with testdata/name (-update rewrites it)
// and checks that it fits the terminal.
func checkGolden(t *testing.T, f *fixture, name string) {
	t.Helper()
	got := f.model.View().Content
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./app/tui -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("view differs from %s:\n%s\nwant:\n%s", path, ansi.Strip(got), ansi.Strip(string(want)))
	}
	rows := f.screen()
	if len(rows) != f.model.height {
		t.Errorf("%d rows, want %d", len(rows), f.model.height)
	}
	for i, row := range rows {
		if w := ansi.StringWidth(row); w > f.model.width {
			t.Errorf("row %d is %d cells wide, terminal %d: %q", i, w, f.model.width, row)
		}
	}
}

func TestTheListShowsChannelsThenDirectOnesWithUnreadCounts(t *testing.T) {
	s := newScene(t, 100, 30)
	if got, want := s.listed(), []string{"#lobby", "#go(3)", "#random(1)", "@bob(1)*"}; !slices.Equal(got, want) {
		t.Errorf("list %q, want %q", got, want)
	}
	screen := s.screenText()
	for _, want := range []string{" Channels ", " #lobby ", " #go ", "3 │", " #random ", " @bob ", "1* │", " Direct "} {
		if !strings.Contains(screen, want) {
			t.Errorf("the list lacks %q:\n%s", want, screen)
		}
	}
	// Below 80 columns the header is the switcher.
	s.send(tea.WindowSizeMsg{Width: 79, Height: 30})
	if header := s.screen()[0]; !strings.HasPrefix(header, " #lobby  #go(3)  #random(1)  @bob(1)*") || strings.Contains(s.screenText(), "│") {
		t.Errorf("at 79 columns, header %q, want the switcher, and no columns:\n%s", header, s.screenText())
	}
	// A list longer than the column scrolls with the one shown.
	s.send(tea.WindowSizeMsg{Width: 100, Height: 6})
	s.key("alt+4")
	if screen := s.screenText(); !strings.Contains(screen, " @bob ") || !strings.Contains(screen, "↑ 2 more ") {
		t.Errorf("a short list does not show @bob with what is above:\n%s", screen)
	}
}

// Each key that switches conversations, as the list reads: #lobby, #go,
// #random, @bob.
func TestSwitchKeys(t *testing.T) {
	for _, tt := range []struct {
		keys []string
		want string
	}{
		{[]string{"alt+1"}, "#lobby"},
		{[]string{"alt+2"}, "#go"},
		{[]string{"alt+3"}, "#random"},
		{[]string{"alt+4"}, "@bob"},
		{[]string{"alt+3", "alt+5"}, "#random"}, // nothing there
		{[]string{"alt+9"}, "#lobby"},
		{[]string{"alt+down"}, "#go"},
		{[]string{"alt+up"}, "@bob"}, // round the list
		{[]string{"ctrl+n"}, "#go"},
		{[]string{"ctrl+n", "ctrl+n", "ctrl+n"}, "@bob"},
		{[]string{"ctrl+p"}, "@bob"},
		{[]string{"alt+4", "ctrl+n"}, "#lobby"},
		{[]string{"alt+3", "alt+up"}, "#go"},
	} {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			s := newScene(t, 100, 30)
			for _, k := range tt.keys {
				s.key(k)
			}
			if got := s.shown(); got != tt.want {
				t.Errorf("shows %s, want %s", got, tt.want)
			}
			if header := s.screen()[0]; !strings.Contains(header, "Messaging · "+tt.want) {
				t.Errorf("the header %q does not name %s", header, tt.want)
			}
		})
	}
}

// Ctrl+K opens a prompt in the input line: part of a name, Enter shows
// the best match; Tab picks the next; Esc cancels, keeping the line being
// typed.
func TestCtrlKJumpsToAConversationByName(t *testing.T) {
	for _, tt := range []struct {
		typed string
		keys  []string
		want  string
	}{
		{"ran", []string{"enter"}, "#random"},
		{"g", []string{"enter"}, "#go"},       // a name it begins
		{"bo", []string{"enter"}, "@bob"},     // a direct one, by its peer
		{"rdm", []string{"enter"}, "#random"}, // letters in order
		{"RAN", []string{"enter"}, "#random"}, // any case
		{"@", []string{"enter"}, "@bob"},      // only direct ones
		{"#", []string{"enter"}, "#go"},       // only channels: unread first, then in the list's order
		{"", []string{"enter"}, "@bob"},       // nothing typed: what needs the user most
		{"o", []string{"tab", "enter"}, "#go"},
		{"o", []string{"tab", "tab", "enter"}, "#random"},
		{"o", []string{"up", "enter"}, "#random"},
		{"lob", []string{"enter"}, "#lobby"}, // the one shown is no match: stays
		{"zzz", []string{"enter"}, "#lobby"}, // nothing matches: stays
		{"go", []string{"esc"}, "#lobby"},    // cancelled
		{"go", []string{"ctrl+c"}, "#lobby"}, // cancelled too: no quitting
	} {
		t.Run(strings.Join(append([]string{tt.typed}, tt.keys...), ","), func(t *testing.T) {
			s := newScene(t, 100, 30)
			s.typeText("a draft")
			s.key("ctrl+k")
			if row, _ := s.inputRow(); !strings.HasPrefix(row, "Go to: ") {
				t.Fatalf("Ctrl+K: the input row is %q", row)
			}
			s.typeText(tt.typed)
			for _, k := range tt.keys {
				s.key(k)
			}
			if got := s.shown(); got != tt.want {
				t.Errorf("shows %s, want %s", got, tt.want)
			}
			if s.model.jump.active {
				t.Error("the prompt is still open")
			}
			if got := s.model.prompt.value(); got != "a draft" {
				t.Errorf("the input holds %q, want the draft", got)
			}
			if nothing := len(s.logEntries("No conversation matches")) == 1; nothing != (tt.typed == "zzz" || tt.typed == "lob") {
				t.Errorf("said nothing matched: %v", nothing)
			}
		})
	}
	// The hint bar lists the matches while typing.
	s := newScene(t, 100, 30)
	s.key("ctrl+k")
	s.typeText("o")
	if hint := s.screen()[29]; !strings.HasPrefix(hint, " @bob(1)*  #go(3)  #random(1)") {
		t.Errorf("the hint bar lists %q", hint)
	}
}

func TestRankConvs(t *testing.T) {
	list := newConvList(chat.Conversation{ID: 0, Kind: chat.Channel, Name: chat.Lobby}, nil, "alice")
	for i, name := range []string{"#learn-go", "#go", "#golang", "#ergo"} {
		list.add(chat.Conversation{ID: int64(i + 1), Kind: chat.Channel, Name: name}, "alice")
	}
	list.add(chat.Conversation{ID: 9, Kind: chat.Direct, Peers: [2]string{"alice", "Gopher"}}, "alice")
	cur := list.byID[0]
	var got []string
	for _, c := range rankConvs(list.all, cur, "go") {
		got = append(got, c.title)
	}
	if want := []string{"#go", "#golang", "@Gopher", "#learn-go", "#ergo"}; !slices.Equal(got, want) {
		t.Errorf("go ranks %q, want %q", got, want)
	}
}

// A conversation opens at its first unread message, under a line saying
// since when, scrolled back to it when the unread ones take more than the
// screen; the list counted them until then. Seeing the newest marks them
// read.
func TestAConversationOpensAtItsFirstUnreadMessage(t *testing.T) {
	for _, tt := range []struct {
		name      string
		read, all int // messages read, and in all
		scrolled  bool
	}{
		{"a few unread", 5, 8, false},
		{"more than a screen unread", 5, 60, true},
		{"all unread", 0, 30, true},
		{"none unread", 12, 12, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			room, st := newRoom(t)
			for _, name := range []string{"alice", "bob"} {
				must(t, st.AddMember(ctx, 0, name, 0))
			}
			ch, err := st.CreateChannel(ctx, chat.Conversation{Name: "#go", Owner: "bob"}, 0)
			must(t, err)
			must(t, st.AddMember(ctx, ch.ID, "alice", 0))
			msgs := conversation(tt.all)
			for i := range msgs {
				msgs[i].ID, msgs[i].Conv, msgs[i].Author = 0, ch.ID, []string{"bob", "alice"}[min(i%3, 1)]
			}
			must(t, st.Append(ctx, msgs))
			if tt.read > 0 {
				must(t, st.SetRead(ctx, []chat.Read{{Account: "alice", Conv: ch.ID, ID: msgs[tt.read-1].ID}}))
			}
			var unread []chat.Message
			for _, msg := range msgs[tt.read:] {
				if msg.Author != "alice" {
					unread = append(unread, msg)
				}
			}
			f := joinFixture(t, room, st, 80, 24, nil)
			if want := fmt.Sprintf("#go(%d)", len(unread)); len(unread) > 0 && f.listed()[1] != want {
				t.Errorf("the list has %q, want %q", f.listed()[1], want)
			}
			f.key("alt+2")
			screen := f.screenText()
			if len(unread) == 0 {
				if strings.Contains(screen, "new since") {
					t.Errorf("nothing unread, yet:\n%s", screen)
				}
			} else {
				marker := fmt.Sprintf("— new since Thu 26 Nov %s —", unread[0].Time.Format("15:04"))
				first := fmt.Sprintf("%s %s: %s", unread[0].Time.Format("15:04:05"), unread[0].Author, unread[0].Body)
				rows := f.screen()
				at := slices.IndexFunc(rows, func(r string) bool { return strings.Contains(r, marker) })
				if at < 0 || !strings.Contains(rows[at+1], first) {
					t.Fatalf("want %q above %q:\n%s", marker, first, screen)
				}
				if tt.scrolled && at != 1 {
					t.Errorf("the line is on row %d, want the top of the log:\n%s", at, screen)
				}
				if scrolled := f.model.log.scroll > 0; scrolled != tt.scrolled {
					t.Errorf("scrolled back %v, want %v", scrolled, tt.scrolled)
				}
			}
			if f.listed()[1] != "#go" {
				t.Errorf("the list has %q once it is shown", f.listed()[1])
			}
			// Read once the newest is on screen (alice's join, after the
			// messages), and not before.
			newest, err := st.Before(ctx, ch.ID, 0, 1)
			must(t, err)
			f.key("alt+1")
			room.Close() // stores the read pointers
			want := newest[0].ID
			if tt.scrolled {
				want = 0
				if tt.read > 0 {
					want = msgs[tt.read-1].ID
				}
			}
			if got := st.lastRead(ch.ID, "alice"); got != want {
				t.Errorf("read up to %d, want %d", got, want)
			}
		})
	}
}

// Messages for a conversation not shown only count, and mark it when they
// name the user or are direct; they ring the bell then, wherever they
// arrive. A direct conversation someone opens is looked up and listed.
func TestMessagesElsewhereCountAndDirectOnesRing(t *testing.T) {
	s := newScene(t, 100, 30)
	say(t, s.bob, s.goID, "still nobody?")
	s.deliverUntil(func(m chat.Message) bool { return m.Body == "still nobody?" })
	if got := s.listed()[1]; got != "#go(4)" || s.model.bell {
		t.Errorf("a post elsewhere: %q, bell %v; want #go(4) and no bell", got, s.model.bell)
	}
	say(t, s.bob, s.goID, "alice?")
	s.deliverUntil(func(m chat.Message) bool { return m.Body == "alice?" })
	if got := s.listed()[1]; got != "#go(5)*" || !s.model.bell {
		t.Errorf("a mention elsewhere: %q, bell %v; want #go(5)* and the bell", got, s.model.bell)
	}
	s.model.bell = false

	// carol opens a direct conversation: new to alice's list.
	dm, err := s.carol.Direct(context.Background(), "alice")
	must(t, err)
	say(t, s.carol, dm.ID, "psst")
	s.deliverUntil(func(m chat.Message) bool { return m.Body == "psst" })
	if got := s.listed(); !slices.Equal(got, []string{"#lobby", "#go(5)*", "#random(1)", "@bob(1)*", "@carol(1)*"}) || !s.model.bell {
		t.Errorf("a new direct message: list %q, bell %v", got, s.model.bell)
	}
	if s.model.lastPrivate != "carol" {
		t.Errorf("last private %q, want carol", s.model.lastPrivate)
	}
	// /reply answers her, in that conversation.
	s.typeText("/reply on my way")
	s.key("enter")
	if s.shown() != "@carol" {
		t.Errorf("/reply shows %s", s.shown())
	}
	s.deliverUntil(func(m chat.Message) bool { return m.Body == "on my way" })
	if s.model.log.lastID == 0 || !strings.Contains(s.screenText(), "alice: on my way") {
		t.Errorf("the reply is not in @carol:\n%s", s.screenText())
	}
	// The one shown rings for a direct message too, and counts nothing.
	s.model.bell = false
	say(t, s.carol, dm.ID, "great")
	s.deliverUntil(func(m chat.Message) bool { return m.Body == "great" })
	if !s.model.bell || s.listed()[4] != "@carol" {
		t.Errorf("a direct message shown: bell %v, list %q", s.model.bell, s.listed())
	}
}

// A conversation the user leaves, or is removed from, leaves the list;
// #lobby is shown if it was.
func TestALeftConversationLeavesTheList(t *testing.T) {
	s := newScene(t, 100, 30)
	s.key("alt+3") // #random, carol's
	ctx := context.Background()
	_, err := s.carol.SetPrivate(ctx, s.randomID, true)
	must(t, err)
	must(t, s.carol.Uninvite(ctx, s.randomID, "alice"))
	s.deliverUntil(func(m chat.Message) bool { return m.Kind == chat.KindLeave && m.To == "alice" })
	if got := s.listed(); slices.Contains(got, "#random") || s.shown() != "#lobby" {
		t.Errorf("removed: list %q, shown %s", got, s.shown())
	}
	if len(s.logEntries("You were removed from #random by carol.")) != 1 {
		t.Errorf("no notice of the removal:\n%s", s.screenText())
	}

	// Left in another session.
	other := joinRoom(t, s.room, "alice")
	must(t, other.Part(ctx, s.goID))
	s.deliverUntil(func(m chat.Message) bool { return m.Kind == chat.KindLeave && m.To == "alice" })
	if got := s.listed(); slices.ContainsFunc(got, func(t string) bool { return strings.HasPrefix(t, "#go") }) {
		t.Errorf("left elsewhere: list %q", got)
	}
	if len(s.logEntries("You left #go.")) != 1 {
		t.Errorf("no notice of leaving:\n%s", s.screenText())
	}

	// Left here, with /part: said once, though the room tells this
	// session too.
	s.typeText("/join #tmp")
	s.key("enter")
	s.typeText("/part")
	s.key("enter")
	s.deliverUntil(func(m chat.Message) bool { return m.Kind == chat.KindLeave && m.To == "alice" })
	if got := s.listed(); !slices.Equal(got, []string{"#lobby", "@bob(1)*"}) || s.shown() != "#lobby" {
		t.Errorf("/part: list %q, shown %s", got, s.shown())
	}
	if len(s.logEntries("You left #tmp.")) != 1 {
		t.Errorf("want one notice of leaving:\n%s", s.screenText())
	}
	// A direct conversation stays.
	s.key("alt+2")
	s.typeText("/part")
	s.key("enter")
	if s.shown() != "@bob" || len(s.logEntries("A direct conversation stays in your list")) != 1 {
		t.Errorf("/part in a direct conversation: shown %s\n%s", s.shown(), s.screenText())
	}
}

// Joining a channel in this session shows it; in another, lists it; an
// invitation is a notice where the user is.
func TestJoinedChannelsAndInvitations(t *testing.T) {
	s := newScene(t, 100, 30)
	s.typeText("/join #rust")
	s.key("enter")
	if s.shown() != "#rust" || !slices.Contains(s.listed(), "#rust") {
		t.Errorf("/join: shown %s, list %q", s.shown(), s.listed())
	}
	other := joinRoom(t, s.room, "alice")
	ctx := context.Background()
	art, err := other.JoinChannel(ctx, "#art")
	must(t, err)
	s.deliverUntil(func(m chat.Message) bool { return m.Kind == chat.KindJoin && m.Conv == art.ID })
	if got := s.listed(); !slices.Equal(got[:5], []string{"#lobby", "#art", "#go(3)", "#random(1)", "#rust"}) || s.shown() != "#rust" {
		t.Errorf("joined elsewhere: list %q, shown %s", got, s.shown())
	}

	secret, err := s.bob.JoinChannel(ctx, "#secret")
	must(t, err)
	_, err = s.bob.SetPrivate(ctx, secret.ID, true)
	must(t, err)
	must(t, s.bob.Invite(ctx, secret.ID, "alice"))
	s.deliverUntil(func(m chat.Message) bool { return m.To == "alice" })
	if len(s.logEntries("bob invited alice to #secret: /join #secret")) != 1 || slices.Contains(s.listed(), "#secret") {
		t.Errorf("an invitation: list %q\n%s", s.listed(), s.screenText())
	}
}

// Tab completes channels after "#": the user's, and those chat lists for
// them, never an invite-only one they are not in.
func TestTabCompletesChannels(t *testing.T) {
	s := newScene(t, 100, 30)
	ctx := context.Background()
	_, err := s.bob.JoinChannel(ctx, "#rust")
	must(t, err)
	hidden, err := s.bob.JoinChannel(ctx, "#rustaceans")
	must(t, err)
	_, err = s.bob.SetPrivate(ctx, hidden.ID, true)
	must(t, err)

	// The first Tab waits for the listing, and completes from it.
	s.typeText("/join #ru")
	s.key("tab")
	if got := s.model.prompt.value(); got != "/join #rust " {
		t.Errorf("#ru Tab gave %q, want #rust, not the invite-only #rustaceans", got)
	}
	s.model.prompt.clear()
	s.typeText("/part #ra")
	s.key("tab")
	if got := s.model.prompt.value(); got != "/part #random " {
		t.Errorf("#ra Tab gave %q", got)
	}
	s.model.prompt.clear()
	s.typeText("#")
	s.key("tab")
	if n := len(s.logEntries("5 channels match: #go, #lobby, #random, #rust, #welcome")); n != 0 {
		t.Error("a channel that does not exist was listed")
	}
	if n := len(s.logEntries("4 channels match: #go, #lobby, #random, #rust")); n != 1 {
		t.Errorf("# Tab does not list the four channels:\n%s", s.screenText())
	}
}

// Topic, away and back notices, and removals, say what happened; the
// member column shows who is away.
func TestConversationEventsAreDrawn(t *testing.T) {
	s := newScene(t, 100, 30)
	ctx := context.Background()
	s.key("alt+2")
	_, err := s.bob.SetTopic(ctx, s.goID, "Go 1.26")
	must(t, err)
	s.bob.SetAway("lunch")
	s.deliverUntil(func(m chat.Message) bool { return m.Kind == chat.KindAway && m.Conv == s.goID })
	screen := s.screenText()
	for _, want := range []string{"bob set the topic: Go 1.26", "bob is away: lunch", "bob (away)", "Messaging · #go — Go 1.26"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen lacks %q:\n%s", want, screen)
		}
	}
	s.bob.Back()
	s.deliverUntil(func(m chat.Message) bool { return m.Kind == chat.KindBack && m.Conv == s.goID })
	if screen := s.screenText(); !strings.Contains(screen, "bob is back") || strings.Contains(screen, "(away)") {
		t.Errorf("back:\n%s", screen)
	}
	msg := chat.Message{ID: 1000, Conv: s.goID, Time: base, Author: "carol", Kind: chat.KindLeave, To: "carol", Body: "removed by bob"}
	s.send(receivedMsg{[]chat.Message{msg}})
	if screen := s.screenText(); !strings.Contains(screen, "← carol left (removed by bob)") {
		t.Errorf("a removal:\n%s", screen)
	}
}

// A session keeps few entries for the conversations not shown, and the
// logs of only the last few shown; the others load theirs again.
func TestConversationsNotShownKeepLittle(t *testing.T) {
	s := newScene(t, 100, 30)
	ctx := context.Background()
	var ids []int64
	for i := range maxLogs + 2 {
		c, err := s.model.member.JoinChannel(ctx, fmt.Sprintf("#c%02d", i))
		must(t, err)
		s.run(s.model.showConversation(c))
		ids = append(ids, c.ID)
	}
	logs := 0
	for _, c := range s.model.convs.all {
		if c.log != nil {
			logs++
		}
	}
	if logs != maxLogs {
		t.Errorf("%d logs kept, want %d", logs, maxLogs)
	}
	if s.model.convs.byID[ids[0]].log != nil || s.model.convs.lobby.log == nil {
		t.Error("the least recently shown kept its log, or #lobby lost its own")
	}
	// A busy conversation not shown keeps its newest entries only.
	shown := s.model.convs.byID[ids[len(ids)-1]]
	for i := range hiddenEntries + 50 {
		s.send(receivedMsg{[]chat.Message{{ID: int64(10000 + i), Conv: s.lobbyID, Time: base, Author: "bob", Kind: chat.KindText, Body: "busy"}}})
	}
	if n := len(s.model.convs.lobby.log.entries); n != hiddenEntries {
		t.Errorf("#lobby, not shown, keeps %d entries, want %d", n, hiddenEntries)
	}
	if s.model.cur != shown || s.listed()[0] != fmt.Sprintf("#lobby(%d)", hiddenEntries+50) {
		t.Errorf("list %q", s.listed())
	}
	// Shown again, it loads its history again.
	s.key("alt+" + fmt.Sprint(slices.Index(s.model.convs.all, s.model.convs.byID[ids[0]])+1))
	if !strings.Contains(s.screenText(), "→ alice joined") {
		t.Errorf("a conversation shown again has not its history:\n%s", s.screenText())
	}
}

// A conversation left before its history came keeps its count: the page,
// when it comes, counts it again.
func TestSwitchingAwayBeforeTheHistoryComesKeepsTheCount(t *testing.T) {
	s := newScene(t, 100, 30)
	load := s.send(keyPress(t, "alt+2"))
	if load == nil {
		t.Fatal("#go shown for the first time loads nothing")
	}
	s.key("alt+1")
	s.run(load)
	if got := s.listed()[1]; got != "#go(3)" {
		t.Errorf("once its history came, #go shows as %q, want #go(3)", got)
	}
	// Shown again, it opens at the first of them.
	s.key("alt+2")
	if !strings.Contains(s.screenText(), "— new since Thu 26 Nov 09:36 —") {
		t.Errorf("no line above the first unread:\n%s", s.screenText())
	}
}
