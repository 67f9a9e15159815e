package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"

	"messaging/chat"
)

// viewer is one session's model in a shared room.
type viewer struct {
	name          string
	width         int
	profile       colorprofile.Profile
	shared, alone *Model // with the cache and without
}

// TestSharedLinesLookAsIfRenderedAlone gives sessions that differ in who
// they are, their width and their colours the same messages, some by them
// and some naming them: every session sharing a LineCache must show
// exactly the lines it would have rendered alone, and the cache must have
// saved work.
func TestSharedLinesLookAsIfRenderedAlone(t *testing.T) {
	ctx := context.Background()
	room, _ := newRoom(t)
	cache := NewLineCache()
	viewers := []*viewer{
		{name: "alice", width: 100, profile: colorprofile.ANSI256},
		{name: "bob", width: 100, profile: colorprofile.ANSI256},
		{name: "carol", width: 100, profile: colorprofile.ANSI256},
		{name: "dave", width: 60, profile: colorprofile.ANSI256},
		{name: "erin", width: 100, profile: colorprofile.Ascii},
		{name: "frank", width: 100, profile: colorprofile.ANSI},
	}
	for _, v := range viewers {
		member, err := room.Join(ctx, v.name)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Room: room, Member: member, HistoryLen: 100, MaxMessage: 1000, Width: v.width, Height: 30, Profile: v.profile}
		alone := newModel(ctx, o)
		o.Lines = cache
		shared := newModel(ctx, o)
		v.alone, v.shared = &alone, &shared
	}
	var msgs []chat.Message
	authors := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	for i := 1; i <= 60; i++ {
		author := authors[i%len(authors)]
		body := fmt.Sprintf("message %d, long enough to wrap at sixty columns but not at a hundred", i)
		if i%7 == 0 {
			body = fmt.Sprintf("@%s, message %d names you", authors[(i+1)%len(authors)], i)
		}
		kind := chat.KindText
		if i%5 == 0 {
			kind = chat.KindAction
		}
		msgs = append(msgs, chat.Message{ID: int64(1000 + i), Time: base, Author: author, Kind: kind, Body: body})
	}
	for _, msg := range msgs {
		for _, v := range viewers {
			v.alone.appendMessages([]chat.Message{msg}, true)
			v.shared.appendMessages([]chat.Message{msg}, true)
		}
	}
	for _, v := range viewers {
		if len(v.shared.log.lines) != len(v.alone.log.lines) {
			t.Fatalf("%s: %d lines shared, %d alone", v.name, len(v.shared.log.lines), len(v.alone.log.lines))
		}
		for i := range v.alone.log.lines {
			got, want := v.shared.log.lines[i], v.alone.log.lines[i]
			if got.text != want.text || got.width != want.width {
				t.Errorf("%s, line %d: shared %q (%d cells), alone %q (%d cells)", v.name, i, got.text, got.width, want.text, want.width)
			}
		}
	}
	// Four ways of showing a message (100 columns in 256 colours, 60
	// columns, no colour, 16 colours): at most four renderings each.
	if n := len(cache.lines); n == 0 || n > 4*len(msgs) {
		t.Errorf("the cache holds %d renderings of %d messages for %d sessions", n, len(msgs), len(viewers))
	}
}

// TestLineCacheForgetsTheOldest checks the cache's bound.
func TestLineCacheForgetsTheOldest(t *testing.T) {
	c := NewLineCache()
	key := func(i int) lineKey { return lineKey{id: int64(i + 1), width: 80} }
	for i := range lineCacheSize + 10 {
		c.put(key(i), []line{{text: fmt.Sprint(i)}})
	}
	if len(c.lines) != lineCacheSize {
		t.Errorf("the cache holds %d renderings, want %d", len(c.lines), lineCacheSize)
	}
	if _, ok := c.get(key(9)); ok {
		t.Error("the 10th oldest rendering is still there")
	}
	if lines, ok := c.get(key(lineCacheSize + 9)); !ok || lines[0].text != fmt.Sprint(lineCacheSize+9) {
		t.Errorf("the newest rendering: %v, %v", lines, ok)
	}
	c.put(key(lineCacheSize+9), []line{{text: "again"}})
	if lines, _ := c.get(key(lineCacheSize + 9)); lines[0].text == "again" {
		t.Error("a second rendering of the same key replaced the first")
	}
}

// TestASharedLineIsNobodysOwn: a name that sanitising changes
// ("alice\u200b" shows as "alice") must not reach the cache in alice's
// own style, for bob to show.
func TestASharedLineIsNobodysOwn(t *testing.T) {
	ctx := context.Background()
	room, _ := newRoom(t)
	cache := NewLineCache()
	model := func(name string, lines *LineCache) *Model {
		member, err := room.Join(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		m := newModel(ctx, Options{Room: room, Member: member, HistoryLen: 100, MaxMessage: 1000, Width: 100, Height: 30, Profile: colorprofile.ANSI256, Lines: lines})
		return &m
	}
	alice, bob, bobAlone := model("alice", cache), model("bob", cache), model("bob", nil)
	msg := chat.Message{ID: 5000, Time: base, Author: "alice\u200b", Kind: chat.KindText, Body: "hi"}
	for _, m := range []*Model{alice, bob, bobAlone} { // alice first: she fills the cache
		m.appendMessages([]chat.Message{msg}, true)
	}
	if got, want := bob.log.lines[len(bob.log.lines)-1].text, bobAlone.log.lines[len(bobAlone.log.lines)-1].text; got != want {
		t.Errorf("bob shows alice's rendering:\n shared %q\n alone  %q", got, want)
	}
}

// TestAReflowAddsNothingToTheCache: a resize re-wraps a session's whole
// log; adding it all would push the live messages out of the cache.
func TestAReflowAddsNothingToTheCache(t *testing.T) {
	f := newFixture(t, 100, 30, nil)
	f.model.log.shared = NewLineCache()
	for i := range 50 {
		f.model.appendMessages([]chat.Message{{ID: int64(100 + i), Time: base, Author: "bob", Kind: chat.KindText, Body: fmt.Sprint("message ", i)}}, true)
	}
	if n := len(f.model.log.shared.lines); n != 50 {
		t.Fatalf("%d renderings cached for 50 messages", n)
	}
	f.model.resize(70, 30)
	if n := len(f.model.log.shared.lines); n != 50 {
		t.Errorf("a resize left %d renderings cached, want the same 50", n)
	}
	if s := f.screenText(); !strings.Contains(s, "bob: message 49") {
		t.Errorf("the resized log lost its messages:\n%s", s)
	}
}
