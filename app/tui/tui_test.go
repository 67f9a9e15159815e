package tui

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"messaging/chat"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture is a model for "alice" in a real room over an in-memory store.
type fixture struct {
	t     testing.TB
	store *memStore
	room  *chat.Room
	model Model
}

func newFixture(t testing.TB, width, height int, recent []chat.Message) *fixture {
	t.Helper()
	room, st := newRoom(t)
	return joinFixture(t, room, st, width, height, recent)
}

// joinFixture is alice's screen in room, with recent as #lobby's history.
func joinFixture(t testing.TB, room *chat.Room, st *memStore, width, height int, recent []chat.Message) *fixture {
	t.Helper()
	ctx := context.Background()
	member, err := room.Join(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(member.Leave)
	if _, err := member.Receive(ctx); err != nil { // alice's join notice: stored by now
		t.Fatal(err)
	}
	m := newModel(ctx, Options{Room: room, Member: member, Recent: recent, HistoryLen: 100, MaxMessage: 1000, Width: width, Height: height})
	return &fixture{t: t, store: st, room: room, model: m}
}

// newRoom is a room over a fresh in-memory store, closed after the test.
func newRoom(t testing.TB) (*chat.Room, *memStore) {
	t.Helper()
	return newRoomWith(t, chat.RoomConfig{Workers: 1})
}

func newRoomWith(t testing.TB, cfg chat.RoomConfig) (*chat.Room, *memStore) {
	t.Helper()
	if cfg.PresenceWindow == 0 {
		cfg.PresenceWindow = -1 // each login told at once: the pictures do not wait
	}
	st := newMemStore()
	room, err := chat.NewRoom(context.Background(), st, st, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(room.Close)
	return room, st
}

// setOnline shows names as who is online in the conversation shown, as
// the room would.
func (m *Model) setOnline(names []string) {
	m.online = m.online[:0:0]
	for _, name := range names {
		m.online = append(m.online, chat.Presence{Name: name})
	}
	m.refreshChrome(membersPart)
}

// appendMessages delivers msgs as the room would (live is always so).
func (m *Model) appendMessages(msgs []chat.Message, _ bool) { m.received(msgs) }

// send runs one message through Update and returns the command it gave.
func (f *fixture) send(msg tea.Msg) tea.Cmd {
	f.t.Helper()
	next, cmd := f.model.Update(msg)
	f.model = next.(Model)
	return cmd
}

func (f *fixture) typeText(s string) {
	for _, r := range s {
		f.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func (f *fixture) press(code rune) tea.Cmd {
	return f.send(tea.KeyPressMsg{Code: code})
}

// screen is the view as plain text, one string per row.
func (f *fixture) screen() []string {
	return strings.Split(ansi.Strip(f.model.View().Content), "\n")
}

func (f *fixture) screenText() string { return strings.Join(f.screen(), "\n") }

var base = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)

func conversation(n int) []chat.Message {
	authors := []string{"bob", "alice", "carol"}
	var msgs []chat.Message
	for i := 1; i <= n; i++ {
		msgs = append(msgs, chat.Message{
			ID: int64(i), Time: base.Add(time.Duration(i) * time.Minute),
			Author: authors[i%3], Kind: chat.KindText, Body: fmt.Sprintf("message number %d", i),
		})
	}
	return msgs
}

func sample() []chat.Message {
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	return []chat.Message{
		{ID: 1, Time: at(0), Author: "bob", Kind: chat.KindJoin},
		{ID: 2, Time: at(1), Author: "bob", Kind: chat.KindText, Body: "hello everyone"},
		{ID: 3, Time: at(2), Author: "alice", Kind: chat.KindText, Body: "hi bob! this line is long enough that it has to wrap around at least once on a narrow terminal, with a hanging indent"},
		{ID: 4, Time: at(3), Author: "carol", Kind: chat.KindAction, Body: "waves"},
		{ID: 5, Time: at(4), Author: "carol", Kind: chat.KindText, Body: "wide characters: 世界 こんにちは 👋🏽 wrap by cells, not bytes 世界世界世界世界世界世界"},
		{ID: 6, Time: at(5), Author: "bob", Kind: chat.KindText, Body: "@alice are you there?"},
		{ID: 7, Time: at(6), Author: "carol", Kind: chat.KindLeave},
	}
}

func TestViewGolden(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {120, 40}, {60, 15}, {24, 8}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			checkGolden(t, newFixture(t, size.w, size.h, sample()), fmt.Sprintf("view_%dx%d.golden", size.w, size.h))
		})
	}
}

func TestLayout(t *testing.T) {
	f := newFixture(t, 80, 24, sample())
	s := f.screenText()
	for _, want := range []string{
		"Messaging", "1 online", "signed in as alice", // header
		"Online (1)",                   // member list at 80 columns
		"09:31:00 bob: hello everyone", // time, name, text
		"09:33:00 * carol waves",       // /me
		"→ bob joined", "← carol left", // notices
		"/help", "PgUp/PgDn", "Ctrl+C quit", // hints
	} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	// The wrapped line hangs under the text, not under the time.
	rows := f.screen()
	for i, row := range rows {
		if strings.Contains(row, "09:32:00 alice: hi bob!") {
			next := []rune(rows[i+1])[f.model.leftWidth():] // the list's cells are one rune each
			if !strings.HasPrefix(string(next), strings.Repeat(" ", timeWidth)) || next[timeWidth] == ' ' {
				t.Errorf("continuation %q does not hang at column %d of the log", string(next), timeWidth)
			}
		}
	}

	narrow := newFixture(t, 79, 24, sample())
	if s := narrow.screenText(); strings.Contains(s, "Online (") {
		t.Errorf("member list shown at 79 columns:\n%s", s)
	}
	narrow.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	if s := narrow.screenText(); !strings.Contains(s, "Online (1)") {
		t.Errorf("member list missing after resize to 100 columns:\n%s", s)
	}
}

func TestResizeReflows(t *testing.T) {
	f := newFixture(t, 120, 30, sample())
	wide := len(f.model.log.lines)
	f.send(tea.WindowSizeMsg{Width: 40, Height: 30})
	if len(f.model.log.lines) <= wide {
		t.Errorf("%d lines at 40 columns, %d at 120: no reflow", len(f.model.log.lines), wide)
	}
	for _, l := range f.model.log.lines {
		if l.width > 40 {
			t.Errorf("line %q is %d wide at 40 columns", ansi.Strip(l.text), l.width)
		}
	}
	f.send(tea.WindowSizeMsg{Width: 0, Height: 0}) // a hostile or broken client
	_ = f.model.View()
}

func TestMentionIsHighlighted(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	f.send(receivedMsg{[]chat.Message{
		{ID: 10, Time: base, Author: "bob", Kind: chat.KindText, Body: "lunch, ALICE?"},
		{ID: 11, Time: base, Author: "bob", Kind: chat.KindText, Body: "malice aforethought"},
	}})
	var mention, plain string
	for _, l := range f.model.log.lines {
		switch {
		case strings.Contains(l.text, "lunch"):
			mention = l.text
		case strings.Contains(l.text, "malice"):
			plain = l.text
		}
	}
	hl := f.model.st.mention.Render("x")
	hlStart := hl[:strings.Index(hl, "x")]
	if !strings.Contains(mention, hlStart) {
		t.Errorf("mention not highlighted: %q", mention)
	}
	if strings.Contains(plain, hlStart) {
		t.Errorf("'malice' highlighted as a mention of alice: %q", plain)
	}
}

func TestMentions(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{"hi alice", true},
		{"@alice look", true},
		{"ALICE!", true},
		{"alice's cat", true},
		{"(alice)", true},
		{"malice", false},
		{"alicex", false},
		{"alice2", false},
		{"ali ce", false},
		{"", false},
		{"alicealice alice", true},
	}
	for _, tt := range tests {
		if got := mentions(tt.body, "Alice"); got != tt.want {
			t.Errorf("mentions(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestScrollingKeepsTheViewAndCountsNewMessages(t *testing.T) {
	f := newFixture(t, 80, 24, conversation(60))
	if s := f.screenText(); !strings.Contains(s, "message number 60") {
		t.Fatalf("latest message not shown:\n%s", s)
	}
	f.press(tea.KeyPgUp)
	before := f.screen()
	if strings.Contains(strings.Join(before, "\n"), "message number 60") {
		t.Fatal("PgUp did not scroll")
	}
	f.send(receivedMsg{[]chat.Message{{ID: 61, Time: base, Author: "bob", Kind: chat.KindText, Body: "new one"}}})
	after := f.screen()
	logRows := f.model.logHeight() - 1 // the last row holds the marker
	for i := 1; i <= logRows; i++ {
		if before[i] != after[i] {
			t.Errorf("row %d moved while scrolled up:\n%q\n%q", i, before[i], after[i])
		}
	}
	if s := strings.Join(after, "\n"); !strings.Contains(s, "1 new message below") {
		t.Errorf("no new-message marker:\n%s", s)
	}
	f.press(tea.KeyEnd)
	if s := f.screenText(); !strings.Contains(s, "new one") || strings.Contains(s, "new message") {
		t.Errorf("End did not return to the newest messages:\n%s", s)
	}
	f.press(tea.KeyPgUp)
	f.press(tea.KeyPgDown)
	if f.model.log.scroll != 0 {
		t.Errorf("PgDn did not return to the bottom: scroll %d", f.model.log.scroll)
	}
	f.send(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	if f.model.log.scroll != wheelLines {
		t.Errorf("wheel up scrolled %d lines, want %d", f.model.log.scroll, wheelLines)
	}
}

func TestScrollingPastTheTopLoadsOlderHistory(t *testing.T) {
	all := conversation(250)
	for i := range all {
		all[i].ID = 0
	}
	f := newFixture(t, 80, 24, nil)
	if err := f.store.Append(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	recent, err := f.model.member.Recent(context.Background(), f.room.Lobby().ID)
	if err != nil {
		t.Fatal(err)
	}
	f = &fixture{t: t, store: f.store, room: f.room, model: newModel(context.Background(), Options{
		Room: f.room, Member: f.model.member, Recent: recent, HistoryLen: 100, MaxMessage: 1000, Width: 80, Height: 24,
	})}
	for range 10 {
		cmd := f.press(tea.KeyHome)
		if cmd == nil {
			break
		}
		f.send(cmd()) // the page from the store
	}
	if !f.model.log.atStart {
		t.Fatal("Home never reached the start of the history")
	}
	s := f.screenText()
	if !strings.Contains(s, "message number 1\n") && !strings.Contains(s, "message number 1 ") {
		t.Errorf("first message not reachable:\n%s", s)
	}
	if !strings.Contains(s, "start of the conversation") {
		t.Errorf("no start marker:\n%s", s)
	}
	// 250 messages and alice's own join notice, each exactly once.
	if got := len(f.model.log.entries); got != 251 {
		t.Errorf("%d entries loaded, want all 251 exactly once", got)
	}
}

func TestInput(t *testing.T) {
	f := newFixture(t, 80, 24, nil)

	// Unknown commands stay local, and in the input to correct.
	f.typeText("/frobnicate now")
	if cmd := f.press(tea.KeyEnter); cmd != nil {
		t.Error("unknown command produced a command (a post?)")
	}
	if s := f.screenText(); !strings.Contains(s, "-!- Unknown command /frobnicate") {
		t.Errorf("no notice for an unknown command:\n%s", s)
	}
	if got := f.model.prompt.input.Value(); got != "/frobnicate now" {
		t.Errorf("after an unknown command the input holds %q", got)
	}
	f.model.prompt.input.SetValue("")

	// A blank line is cleared, so that it cannot hide the next line's
	// slash: "   " then "/who" runs /who, and " /who" does too.
	f.typeText("   ")
	if cmd := f.press(tea.KeyEnter); cmd != nil || f.model.prompt.input.Value() != "" {
		t.Errorf("Enter on a blank line: command %v, input left %q", cmd != nil, f.model.prompt.input.Value())
	}
	f.typeText(" /who")
	if cmd := f.press(tea.KeyEnter); cmd != nil {
		t.Error(`" /who" was posted`)
	}
	if s := f.screenText(); !strings.Contains(s, "1 online in #lobby: alice") {
		t.Errorf("\" /who\" did not run /who:\n%s", s)
	}

	// Overlong text is refused with a notice and kept for editing.
	long := strings.Repeat("x", 1001)
	f.model.prompt.input.SetValue(long)
	if cmd := f.press(tea.KeyEnter); cmd != nil {
		t.Error("overlong message was posted")
	}
	if f.model.prompt.input.Value() != long {
		t.Error("overlong message was not kept in the input")
	}
	if last := f.model.log.entries[len(f.model.log.entries)-1].msg.Body; !strings.Contains(last, "1001 characters long; the limit is 1000") {
		t.Errorf("notice for an overlong message = %q", last)
	}
	if s := f.screenText(); !strings.Contains(s, "1001/1000") {
		t.Errorf("no counter for an overlong message:\n%s", s)
	}
	f.model.prompt.input.SetValue("")

	// A pasted paragraph becomes one line.
	f.send(tea.PasteMsg{Content: "line one\nline two\r\nline three"})
	if got := f.model.prompt.input.Value(); got != "line one line two line three" {
		t.Errorf("paste gave %q", got)
	}
	f.model.prompt.input.SetValue("")

	// A paste that could never be sent is refused whole, not cut.
	f.send(tea.PasteMsg{Content: strings.Repeat("z", inputLimit(1000)+1)})
	if got := f.model.prompt.input.Value(); got != "" {
		t.Errorf("an oversized paste left %d characters in the input", len(got))
	}
	if last := f.model.log.entries[len(f.model.log.entries)-1].msg.Body; !strings.Contains(last, "Not pasted") {
		t.Errorf("no notice for an oversized paste: %q", last)
	}

	// Up and Down recall earlier lines.
	for _, text := range []string{"/help", "/who"} {
		f.typeText(text)
		f.press(tea.KeyEnter)
	}
	f.press(tea.KeyUp)
	if got := f.model.prompt.input.Value(); got != "/who" {
		t.Errorf("Up recalled %q, want /who", got)
	}
	f.press(tea.KeyUp)
	if got := f.model.prompt.input.Value(); got != "/help" {
		t.Errorf("Up Up recalled %q, want /help", got)
	}
	f.press(tea.KeyDown)
	f.press(tea.KeyDown)
	if got := f.model.prompt.input.Value(); got != "" {
		t.Errorf("Down past the newest left %q", got)
	}
	// A half-typed line survives a trip through the recall.
	f.typeText("my draft")
	f.press(tea.KeyUp)
	f.press(tea.KeyDown)
	if got := f.model.prompt.input.Value(); got != "my draft" {
		t.Errorf("Up then Down turned the draft into %q", got)
	}
	// With text in the input, Home and End edit it instead of scrolling.
	f.press(tea.KeyHome)
	f.typeText(">")
	f.press(tea.KeyEnd)
	f.typeText("<")
	if got := f.model.prompt.input.Value(); got != ">my draft<" || f.model.log.scroll != 0 {
		t.Errorf("Home/End in a draft: %q, scroll %d", got, f.model.log.scroll)
	}
	for _, want := range []string{"/me ACTION", "/quit", "1 online in #lobby: alice"} {
		if len(f.logEntries(want)) == 0 {
			t.Errorf("/help or /who output lacks %q:\n%s", want, f.screenText())
		}
	}
}

// noticesSince are the log's notices from entry i on.
func (f *fixture) noticesSince(i int) []string {
	var notices []string
	for _, e := range f.model.log.entries[i:] {
		if e.local {
			notices = append(notices, e.msg.Body)
		}
	}
	return notices
}

// A command used wrongly says how to use it and stays in the input to fix;
// Enter on it again does not post it, and a command typed after it runs
// alone: "/me" then " /who" is /who, not "* alice /who".
func TestAWrongCommandStaysInTheInput(t *testing.T) {
	f := newFixture(t, 100, 30, nil)
	f.typeText("/me")
	for i := range 2 {
		if cmd := f.press(tea.KeyEnter); cmd != nil {
			t.Errorf("Enter %d on /me alone gave a command (a post?)", i+1)
		}
		if got := f.model.prompt.input.Value(); got != "/me" {
			t.Errorf("Enter %d on /me alone left %q in the input", i+1, got)
		}
	}
	if n := len(f.logEntries("Usage: /me ACTION")); n != 1 {
		t.Errorf("%d usage notices, want 1 (counted)", n)
	}
	before := len(f.model.log.entries)
	f.typeText(" /who")
	if cmd := f.press(tea.KeyEnter); cmd != nil {
		t.Error(`"/me" then " /who" was posted`)
	}
	if got := f.noticesSince(before); !slices.Equal(got, []string{"1 online in #lobby: alice"}) {
		t.Errorf(`"/me" then " /who" gave notices %q, want /who's`, got)
	}
	if got := f.model.prompt.input.Value(); got != "" {
		t.Errorf("after /who the input holds %q", got)
	}
	if f.press(tea.KeyUp); f.model.prompt.input.Value() != "/who" {
		t.Errorf("Up recalls %q, want the /who that ran", f.model.prompt.input.Value())
	}
	f.model.prompt.input.SetValue("")

	// Edited into another command, it runs that command.
	f.typeText("/me")
	f.press(tea.KeyEnter)
	f.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	f.typeText(" /who")
	before = len(f.model.log.entries)
	if cmd := f.press(tea.KeyEnter); cmd != nil || f.model.prompt.input.Value() != "" {
		t.Errorf("/me edited into /who: command %v, input %q", cmd != nil, f.model.prompt.input.Value())
	}
	if got := f.noticesSince(before); !slices.Equal(got, []string{"1 online in #lobby: alice"}) {
		t.Errorf("/me edited into /who gave notices %q", got)
	}

	// Fixed, it is sent.
	f.typeText("/me")
	f.press(tea.KeyEnter)
	f.typeText(" waves")
	if cmd := f.press(tea.KeyEnter); cmd == nil || f.model.prompt.input.Value() != "" {
		t.Errorf("/me fixed into /me waves: command %v, input %q; want it sent", cmd != nil, f.model.prompt.input.Value())
	}

	// A wrong command typed after a wrong one is what stays.
	f.typeText("/me")
	f.press(tea.KeyEnter)
	f.typeText(" /nosuch")
	if cmd := f.press(tea.KeyEnter); cmd != nil || f.model.prompt.input.Value() != "/nosuch" {
		t.Errorf("/me then /nosuch: command %v, input %q; want /nosuch kept", cmd != nil, f.model.prompt.input.Value())
	}
}

// An unknown command says so and stays in the input; Enter again counts
// the notice and posts nothing.
func TestAnUnknownCommandStaysInTheInput(t *testing.T) {
	f := newFixture(t, 100, 30, nil)
	f.typeText("/foo bar")
	for i := range 2 {
		if cmd := f.press(tea.KeyEnter); cmd != nil {
			t.Errorf("Enter %d on /foo bar gave a command (a post?)", i+1)
		}
		if got := f.model.prompt.input.Value(); got != "/foo bar" {
			t.Errorf("Enter %d on /foo bar left %q in the input", i+1, got)
		}
	}
	if s := f.screenText(); !strings.Contains(s, "Unknown command /foo. Type /help for the list") || !strings.Contains(s, "(×2)") {
		t.Errorf("want one notice for /foo, counted twice:\n%s", s)
	}
}

func TestTabCompletesCommandNames(t *testing.T) {
	f := newFixture(t, 100, 30, nil)
	f.typeText("/wh")
	f.press(tea.KeyTab)
	if got := f.model.prompt.input.Value(); got != "/who" {
		t.Fatalf("/wh Tab gave %q, want %q (what /who and /whois share)", got, "/who")
	}
	f.press(tea.KeyTab)
	if s := f.screenText(); !strings.Contains(s, "2 commands match: /who, /whois") {
		t.Errorf("/who Tab does not list /who and /whois:\n%s", s)
	}
	f.typeText(" ")
	before := len(f.model.log.entries)
	if cmd := f.press(tea.KeyEnter); cmd != nil || !slices.Equal(f.noticesSince(before), []string{"1 online in #lobby: alice"}) {
		t.Errorf("the completed /who did not run: command %v, notices %q", cmd != nil, f.noticesSince(before))
	}

	f.typeText("/")
	f.press(tea.KeyTab)
	want := make([]string, 0)
	for _, c := range chat.Commands() {
		want = append(want, "/"+c.Name)
	}
	if got := f.model.prompt.input.Value(); got != "/" {
		t.Errorf("/ Tab changed the line to %q", got)
	}
	if len(f.logEntries(fmt.Sprintf("%d commands match: %s", len(want), strings.Join(want, ", ")))) != 1 {
		t.Errorf("/ Tab does not list the commands %q:\n%s", want, f.screenText())
	}
}

// /help lists exactly the command table, in its order, then the keys.
func TestHelpListsExactlyTheCommandTable(t *testing.T) {
	f := newFixture(t, 100, 40, nil)
	before := len(f.model.log.entries)
	f.typeText("/help")
	f.press(tea.KeyEnter)
	got := f.noticesSince(before)
	want := []string{"Commands:"}
	for _, c := range chat.Commands() {
		want = append(want, c.HelpLine())
	}
	keys := slices.Index(got, "Keys:")
	if keys < 0 || !slices.Equal(got[:keys], want) {
		t.Errorf("/help lists\n%s\nwant the commands\n%s\nthen the keys", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if keys >= 0 && len(got)-keys-1 != len(keyBindings) {
		t.Errorf("/help lists %d keys, want %d", len(got)-keys-1, len(keyBindings))
	}
}

func TestQuitKeys(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup string
		key   tea.KeyPressMsg
		quits bool
	}{
		{"ctrl+c", "", tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}, true},
		{"ctrl+c with text clears it", "draft", tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}, false},
		{"ctrl+d on empty line", "", tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}, true},
		{"ctrl+d with text", "draft", tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}, false},
		{"esc on empty line", "", tea.KeyPressMsg{Code: tea.KeyEscape}, false},
		{"esc with text clears it", "draft", tea.KeyPressMsg{Code: tea.KeyEscape}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 80, 24, nil)
			f.typeText(tt.setup)
			cmd := f.send(tt.key)
			quits := cmd != nil && isQuit(cmd())
			if quits != tt.quits {
				t.Errorf("quits = %v, want %v", quits, tt.quits)
			}
		})
	}
	f := newFixture(t, 80, 24, nil)
	f.typeText("/quit")
	if cmd := f.press(tea.KeyEnter); cmd == nil || !isQuit(cmd()) {
		t.Error("/quit does not quit")
	}
}

func isQuit(msg tea.Msg) bool {
	_, ok := msg.(tea.QuitMsg)
	return ok
}

func TestCursorIsTheRealTerminalCursorOnTheInputLine(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	f.typeText("hey")
	v := f.model.View()
	if v.Cursor == nil || v.Cursor.Blink || v.Cursor.Y != 22 || v.Cursor.X != 5 {
		t.Errorf("cursor = %+v, want a steady cursor at (5, 22)", v.Cursor)
	}
}

func TestDaysAreMarked(t *testing.T) {
	msgs := []chat.Message{
		{ID: 1, Time: base, Author: "bob", Kind: chat.KindText, Body: "yesterday"},
		{ID: 2, Time: base.Add(2 * time.Hour), Author: "bob", Kind: chat.KindText, Body: "same day"},
		{ID: 3, Time: base.Add(24 * time.Hour), Author: "bob", Kind: chat.KindText, Body: "today"},
	}
	f := newFixture(t, 80, 24, msgs)
	s := f.screenText()
	if strings.Count(s, "— Thursday, 26 November 2026 —") != 1 || strings.Count(s, "— Friday, 27 November 2026 —") != 1 {
		t.Errorf("want one line per day:\n%s", s)
	}
	if strings.Index(s, "Friday") > strings.Index(s, "today") || strings.Index(s, "Friday") < strings.Index(s, "same day") {
		t.Errorf("the day line is not between the days:\n%s", s)
	}
}

func TestALongSessionForgetsTheOldestLinesCheaply(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	for i := 1; i <= maxEntries+50; i++ {
		f.send(receivedMsg{[]chat.Message{{ID: int64(i), Time: base, Author: "bob", Kind: chat.KindText,
			Body: fmt.Sprintf("line %d with enough words to wrap around the edge of a narrow log, twice over for good measure", i)}}})
	}
	if got := len(f.model.log.entries); got != maxEntries {
		t.Fatalf("%d entries kept, want %d", got, maxEntries)
	}
	want := 0
	for _, e := range f.model.log.entries {
		want += e.rows
	}
	if len(f.model.log.lines) != want {
		t.Errorf("%d lines for entries that take %d", len(f.model.log.lines), want)
	}
	if f.model.log.oldestID != 51 {
		t.Errorf("oldest ID %d, want 51", f.model.log.oldestID)
	}
	if s := f.screenText(); !strings.Contains(s, fmt.Sprintf("line %d with", maxEntries+50)) {
		t.Errorf("newest message not shown:\n%s", s)
	}
	// Scroll-back is bounded: at the top of a full session nothing more
	// is fetched.
	if cmd := f.send(tea.KeyPressMsg{Code: tea.KeyHome, Mod: tea.ModCtrl}); cmd != nil {
		t.Error("a full session still fetches older pages")
	}
	want = f.model.log.head
	for _, e := range f.model.log.entries {
		want += e.rows
	}
	if len(f.model.log.lines) != want {
		t.Errorf("%d lines for entries and markers that take %d", len(f.model.log.lines), want)
	}
}

func TestIndentIsTheTimeColumn(t *testing.T) {
	if len(indent) != timeWidth || strings.Trim(indent, " ") != "" {
		t.Errorf("indent %q is not %d spaces", indent, timeWidth)
	}
}

// inputRow is the input row as a Screen draws it, and the cursor's
// column. (A Screen keeps its model; View works on a copy, which would
// forget where the row was scrolled to.)
func (f *fixture) inputRow() (string, int) {
	frame := f.model.frame()
	return ansi.Strip(frame.input.text), frame.cursorX
}

func TestInputRowShowsTheTextAroundTheCursor(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	alphabet := strings.Repeat("abcdefghijklmnopqrstuvwxyz", 6)[:100]

	// A long line scrolls sideways; the cursor stays after the text.
	f.typeText(alphabet)
	row, x := f.inputRow()
	if !strings.HasSuffix(row, alphabet[len(alphabet)-20:]) || x != 79 {
		t.Errorf("long line: row %q, cursor %d", row, x)
	}
	// Moving left keeps the window; the character under the cursor shows.
	for range 5 {
		f.press(tea.KeyLeft)
	}
	f.typeText("#")
	if row, x = f.inputRow(); x != strings.Index(row, "#")+1 {
		t.Errorf("inserted mid-line: row %q, cursor %d, want just after the #", row, x)
	}
	// After clearing it, a short line shows whole.
	f.press(tea.KeyEscape)
	f.typeText("hello")
	if row, x = f.inputRow(); row != "> hello" || x != 7 {
		t.Errorf("after a long line: row %q, cursor %d", row, x)
	}
	// Recalling a short line after a long one shows it whole.
	f.press(tea.KeyEnter) // posts "hello": it goes into the recall list
	f.typeText(alphabet)
	f.press(tea.KeyEnter)
	f.press(tea.KeyUp)
	f.press(tea.KeyUp)
	if row, _ = f.inputRow(); row != "> hello" {
		t.Errorf("recalled a short line after a long one: row %q", row)
	}
	// Wide characters count two cells each.
	f.press(tea.KeyEscape)
	f.typeText("你好世界")
	if row, x = f.inputRow(); row != "> 你好世界" || x != 10 {
		t.Errorf("wide characters: row %q, cursor %d", row, x)
	}
	// Narrowing and widening again fills the row instead of leaving it
	// half empty with text hidden on the left.
	f.press(tea.KeyEscape)
	f.typeText(strings.Repeat("z", 150))
	f.send(tea.WindowSizeMsg{Width: 30, Height: 10})
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	if row, x = f.inputRow(); len(row) != 79 || x != 79 {
		t.Errorf("after narrowing and widening: row %q (%d cells), cursor %d", row, len(row), x)
	}
}

func TestPageUpKeepsALineInView(t *testing.T) {
	f := newFixture(t, 80, 24, conversation(100))
	top := ansi.Strip(f.model.frame().log[0].text)
	f.press(tea.KeyPgUp)
	log := f.model.frame().log
	// The last row is the scrolled-back marker; the one above it is the
	// line that was at the top before.
	if got := ansi.Strip(log[len(log)-2].text); got != top {
		t.Errorf("after PgUp the row above the marker is %q, want the old top line %q", got, top)
	}
	f.press(tea.KeyPgDown)
	if got := ansi.Strip(f.model.frame().log[0].text); got != top {
		t.Errorf("PgDn did not come back: top row %q, want %q", got, top)
	}
}

// Ctrl+V must not read the clipboard: it would be the server's.
func TestCtrlVDoesNotReadTheServersClipboard(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	if cmd := f.send(tea.KeyPressMsg{Code: 'v', Mod: tea.ModCtrl}); cmd != nil {
		t.Errorf("Ctrl+V gave a command (%T): a clipboard read on the server", cmd())
	}
}

// TestPageDownCountsOnlyTheMessagesStillBelow: paging down part of the way
// shows some of the new messages; the marker counts the rest.
func TestPageDownCountsOnlyTheMessagesStillBelow(t *testing.T) {
	f := newFixture(t, 80, 24, conversation(60))
	f.press(tea.KeyPgUp)
	for i := range 12 {
		f.send(receivedMsg{[]chat.Message{{ID: int64(61 + i), Time: base, Author: "bob", Kind: chat.KindText, Body: fmt.Sprintf("burst %d", i+1)}}})
	}
	if s := f.screenText(); !strings.Contains(s, "12 new messages below") {
		t.Fatalf("want 12 new messages below:\n%s", s)
	}
	f.press(tea.KeyPgDown) // the view's bottom is where it was when they came
	f.send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	s := f.screenText()
	shown := 0
	for i := 1; i <= 12; i++ {
		if strings.Contains(s, fmt.Sprintf("burst %d ", i)) {
			shown++
		}
	}
	if shown == 0 || shown == 12 {
		t.Fatalf("the test wants some, not all, new messages in view; %d are:\n%s", shown, s)
	}
	if want := fmt.Sprintf("%d new message%s below", 12-shown, plural(12-shown)); !strings.Contains(s, want) {
		t.Errorf("want %q with %d of 12 in view:\n%s", want, shown, s)
	}
}

// TestNoticesBelowAreNotNewMessages: a /help typed while scrolled up adds
// lines below, but no new messages.
func TestNoticesBelowAreNotNewMessages(t *testing.T) {
	f := newFixture(t, 80, 24, conversation(60))
	f.press(tea.KeyPgUp)
	for i := range 2 {
		f.send(receivedMsg{[]chat.Message{{ID: int64(61 + i), Time: base.Add(time.Hour), Author: "bob", Kind: chat.KindText, Body: fmt.Sprintf("burst %d", i+1)}}})
	}
	before := len(f.model.log.entries)
	f.typeText("/help")
	f.press(tea.KeyEnter)
	rows := 0
	for _, e := range f.model.log.entries[before:] {
		rows += e.rows
	}
	f.model.scrollBy(rows - 1 - f.model.log.scroll) // every notice below, both bursts in view
	s := f.screenText()
	if !strings.Contains(s, "burst 1 ") || !strings.Contains(s, "burst 2 ") {
		t.Fatalf("want both bursts in view:\n%s", s)
	}
	if strings.Contains(s, "new message") {
		t.Errorf("both new messages are in view, yet:\n%s", s)
	}
}

// Ctrl+C with a line typed clears it, keeps it for Up and says how to quit;
// on the empty line, Ctrl+C quits.
func TestCtrlCClearsALineBeforeItQuits(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	ctrlC := tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	f.typeText("a long draft")
	if cmd := f.send(ctrlC); cmd != nil && isQuit(cmd()) {
		t.Fatal("Ctrl+C quit with a line typed: the line is lost")
	}
	if got := f.model.prompt.input.Value(); got != "" {
		t.Errorf("Ctrl+C left %q in the input", got)
	}
	if s := f.screenText(); !strings.Contains(s, "Ctrl+C again to quit") {
		t.Errorf("no notice after Ctrl+C cleared the line:\n%s", s)
	}
	if f.press(tea.KeyUp); f.model.prompt.input.Value() != "a long draft" {
		t.Errorf("Up after Ctrl+C gave %q, want the cleared line", f.model.prompt.input.Value())
	}
	f.press(tea.KeyDown)
	if cmd := f.send(ctrlC); cmd == nil || !isQuit(cmd()) {
		t.Error("Ctrl+C on the empty line did not quit")
	}
}

// logEntries are the log's entries whose text contains s.
func (f *fixture) logEntries(s string) []entry {
	var found []entry
	for _, e := range f.model.log.entries {
		if strings.Contains(e.msg.Body, s) {
			found = append(found, e)
		}
	}
	return found
}

// A notice given again, with nothing logged since, takes the last one's
// place and counts; after anything else it is a new notice.
func TestARepeatedNoticeCountsInsteadOfPilingUp(t *testing.T) {
	f := newFixture(t, 80, 24, nil)
	for _, name := range []string{"bob", "bobby"} {
		if _, err := f.room.Join(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	f.model.redraw(membersPart)
	f.typeText("bo")
	f.press(tea.KeyTab) // completes the shared "bob"
	for range 3 {
		f.press(tea.KeyTab)
	}
	if n := len(f.logEntries("2 names match")); n != 1 {
		t.Errorf("three Tabs on an ambiguous name logged %d notices, want 1", n)
	}
	s := f.screenText()
	if !strings.Contains(s, "2 names match: bob, bobby (×3)") {
		t.Errorf("no count on the repeated notice:\n%s", s)
	}
	if strings.Count(s, "names match") != 1 {
		t.Errorf("the repeated notice shows more than once:\n%s", s)
	}

	f.send(receivedMsg{[]chat.Message{{ID: 100, Time: time.Now(), Author: "bob", Kind: chat.KindText, Body: "in between"}}})
	f.press(tea.KeyTab)
	if n := len(f.logEntries("2 names match")); n != 2 {
		t.Errorf("a notice after a message: %d notices, want 2", n)
	}
	if last := f.screen()[21]; !strings.HasSuffix(strings.TrimRight(last, " │"), "2 names match: bob, bobby") {
		t.Errorf("the notice after a message has a count: %q", last)
	}
}

// Enter pressed again and again while rate-limited shows one notice,
// counted, though the wait it names changes.
func TestSlowDownNoticesCountInOne(t *testing.T) {
	room, st := newRoomWith(t, chat.RoomConfig{Workers: 1, MsgBurst: 2, MsgPerSec: 0.01})
	member, err := room.Join(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, room: room, model: newModel(context.Background(), Options{
		Room: room, Member: member, HistoryLen: 100, MaxMessage: 1000, Width: 80, Height: 24,
	})}
	refused := 0
	f.typeText("spam")
	for range 8 {
		if cmd := f.press(tea.KeyEnter); cmd != nil {
			f.typeText("spam") // sent: type the next one
		} else {
			refused++
		}
	}
	if refused < 3 {
		t.Fatalf("%d of 8 lines refused; the test wants several", refused)
	}
	if n := len(f.logEntries("slow down")); n != 1 {
		t.Errorf("%d refused lines logged %d notices, want 1", refused, n)
	}
	if s := f.screenText(); !strings.Contains(s, fmt.Sprintf("(×%d)", refused)) {
		t.Errorf("the notice does not count %d refusals:\n%s", refused, s)
	}
	// A refusal that names another wait is the same notice, with the new
	// wait.
	f.send(postedMsg{text: "spam", err: &chat.SlowDownError{Wait: 42 * time.Second}})
	if n := len(f.logEntries("slow down")); n != 1 {
		t.Errorf("another wait logged %d notices, want 1", n)
	}
	if s := f.screenText(); !strings.Contains(s, "42s") || !strings.Contains(s, fmt.Sprintf("(×%d)", refused+1)) {
		t.Errorf("the notice does not show the new wait, counted %d times:\n%s", refused+1, s)
	}
}

// A repeated notice drawn by the line renderer looks as View says, at the
// bottom and while scrolled up, where the view stays put.
func TestARepeatedNoticeIsDrawnInPlace(t *testing.T) {
	f := newFixture(t, 80, 24, conversation(60))
	term := newTerminal(80, 24)
	term.draw(&f.model)
	check := func(what string) {
		t.Helper()
		term.draw(&f.model)
		if err := sameScreen(term.emu, reference(vt.NewEmulator(80, 24), f.model)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for i := range 3 {
		f.typeText("/nosuch")
		f.press(tea.KeyEnter)
		check(fmt.Sprintf("notice %d", i+1))
	}
	f.press(tea.KeyPgUp)
	before := f.screen()
	f.model.notice(f.model.log.entries[len(f.model.log.entries)-1].msg.Body)
	check("a repeat while scrolled up")
	if after := f.screen(); !slices.Equal(before[1:21], after[1:21]) {
		t.Errorf("a repeated notice moved the view scrolled up:\n%s\n---\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
	f.press(tea.KeyEscape)
	if s := f.screenText(); !strings.Contains(s, "(×4)") || strings.Count(s, "Unknown command") != 1 {
		t.Errorf("want one notice, counted 4 times:\n%s", s)
	}
}

// A window too small for the chat says the size it needs, in what room
// there is.
func TestTooSmallSaysTheSizeNeeded(t *testing.T) {
	need := fmt.Sprintf("%d×%d", minWidth, minHeight)
	f := newFixture(t, 80, 24, nil)
	for w := 1; w <= 40; w++ {
		for _, h := range []int{1, 2, 3, 4, 24} {
			if w >= minWidth && h >= minHeight {
				continue
			}
			f.send(tea.WindowSizeMsg{Width: w, Height: h})
			rows := f.screen()
			for i, row := range rows {
				if cells := ansi.StringWidth(row); cells > w {
					t.Errorf("%dx%d: row %d is %d cells: %q", w, h, i, cells, row)
				}
			}
			if s := f.screenText(); w >= len([]rune(need)) && !strings.Contains(s, need) {
				t.Errorf("%dx%d: %q does not say the chat needs %s", w, h, s, need)
			}
		}
	}
	f.send(tea.WindowSizeMsg{Width: 30, Height: 3})
	if s := f.screenText(); s != "Too small: need "+need {
		t.Errorf("30x3 shows %q", s)
	}
}
