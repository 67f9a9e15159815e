package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// newTestLog is alice's log, 60 cells by 10 rows, holding msgs as history;
// atStart says no older history is left to fetch.
func newTestLog(t *testing.T, msgs []chat.Message, atStart bool) *logView {
	t.Helper()
	st := newStyles(colorprofile.ANSI256)
	l := newLogView(&st, "alice", nil, atStart)
	l.resize(60, 60, 10)
	l.append(msgs, false)
	l.reflow()
	return &l
}

// shown is the log's rows as plain text.
func (l *logView) shown() []string {
	var rows []string
	for _, r := range l.rows() {
		rows = append(rows, ansi.Strip(r.text))
	}
	return rows
}

func TestLogSkipsDuplicatesAndSaysWhatLiveMessagesMean(t *testing.T) {
	l := newTestLog(t, conversation(5), true)
	if mentioned, changed := l.append(conversation(5), true); mentioned || changed || len(l.entries) != 5 {
		t.Fatalf("the same messages again: mentioned %v, members changed %v, %d entries; want nothing new", mentioned, changed, len(l.entries))
	}
	naming := chat.Message{ID: 6, Time: base, Author: "bob", Kind: chat.KindText, Body: "lunch, Alice?"}
	if mentioned, _ := l.append([]chat.Message{naming}, true); !mentioned {
		t.Error("a live message naming alice is not a mention")
	}
	own := chat.Message{ID: 7, Time: base, Author: "alice", Kind: chat.KindText, Body: "alice here"}
	if mentioned, _ := l.append([]chat.Message{own}, true); mentioned {
		t.Error("alice's own message naming herself is a mention")
	}
	join := chat.Message{ID: 8, Time: base, Author: "carol", Kind: chat.KindJoin}
	if _, changed := l.append([]chat.Message{join}, true); !changed {
		t.Error("a live join does not change the members")
	}
	history := chat.Message{ID: 9, Time: base, Author: "bob", Kind: chat.KindText, Body: "alice!"}
	if mentioned, _ := l.append([]chat.Message{history}, false); mentioned {
		t.Error("history naming alice rang as a live mention")
	}
	if !l.entries[len(l.entries)-1].mention {
		t.Error("history naming alice is not highlighted")
	}
}

func TestLogRowsAreBottomAligned(t *testing.T) {
	l := newTestLog(t, conversation(2), true)
	rows := l.shown()
	if len(rows) != 10 {
		t.Fatalf("%d rows, want the log's 10", len(rows))
	}
	if rows[0] != "" || !strings.Contains(rows[9], "message number 2") {
		t.Errorf("a short log is not at the bottom:\n%s", strings.Join(rows, "\n"))
	}
	if !strings.Contains(strings.Join(rows, "\n"), "start of the conversation") {
		t.Errorf("the whole history shown without its start marker:\n%s", strings.Join(rows, "\n"))
	}
}

// A reader scrolled up keeps their view as messages arrive below; the
// marker counts them, and follow returns to them.
func TestLogKeepsAReaderScrolledUpInPlace(t *testing.T) {
	l := newTestLog(t, conversation(30), true)
	if fetch := l.scrollBy(l.page()); fetch {
		t.Fatal("scrolling a log with its whole history asked for an older page")
	}
	before := l.shown()
	l.append([]chat.Message{{ID: 31, Time: base, Author: "bob", Kind: chat.KindText, Body: "new one"}}, true)
	after := l.shown()
	for i := range 9 { // the last row holds the marker
		if before[i] != after[i] {
			t.Errorf("row %d moved: %q became %q", i, before[i], after[i])
		}
	}
	if l.unseen != 1 || !strings.Contains(after[9], "1 new message below") {
		t.Errorf("unseen %d, marker %q; want one new message below", l.unseen, after[9])
	}
	l.follow()
	if rows := l.shown(); l.scroll != 0 || l.unseen != 0 || !strings.Contains(rows[9], "new one") {
		t.Errorf("follow: scroll %d, unseen %d, last row %q", l.scroll, l.unseen, rows[9])
	}
}

// Reaching the top asks for one older page, not one per key; the page
// arrives above the view, which stays.
func TestLogAsksForAnOlderPageAtTheTop(t *testing.T) {
	msgs := conversation(130)
	l := newTestLog(t, msgs[100:], false)
	fetches := 0
	for range 20 {
		if l.scrollBy(l.page()) {
			fetches++
		}
	}
	if fetches != 1 || !l.loading || l.oldestID != 101 {
		t.Fatalf("%d fetches, loading %v, oldest %d; want one page before 101 on its way", fetches, l.loading, l.oldestID)
	}
	before := l.shown()
	l.loaded(msgs[50:100], pageSize, nil) // fewer than a page: the start
	if l.loading || !l.atStart || l.oldestID != 51 || len(l.entries) != 80 {
		t.Errorf("after the page: loading %v, at start %v, oldest %d, %d entries", l.loading, l.atStart, l.oldestID, len(l.entries))
	}
	// The day line that headed the view now heads the older page: every
	// row below it stays.
	if after := l.shown(); strings.Join(after[1:], "\n") != strings.Join(before[1:], "\n") {
		t.Errorf("the view moved when the page arrived:\n%s\n---\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
	if l.scrollBy(len(l.lines)) {
		t.Error("the whole history loaded, scrolling up still fetches")
	}
	if rows := l.shown(); !strings.Contains(rows[0], "start of the conversation") {
		t.Errorf("the top of the log is %q, want the start marker", rows[0])
	}
}

func TestLogSaysWhenAnOlderPageFailed(t *testing.T) {
	l := newTestLog(t, conversation(30), false)
	for !l.scrollBy(l.page()) {
	}
	l.loaded(nil, pageSize, errors.New("store down"))
	if l.loading || l.atStart {
		t.Errorf("after a failed page: loading %v, at start %v; want another try possible", l.loading, l.atStart)
	}
	if last := l.entries[len(l.entries)-1]; !last.local || !strings.Contains(last.msg.Body, "Could not load older messages") {
		t.Errorf("the last entry is %+v, want the notice", last)
	}
}

func TestLogCountsARepeatedNotice(t *testing.T) {
	l := newTestLog(t, nil, true)
	lines := len(l.lines)
	for range 3 {
		l.notice("k", "try again")
	}
	if len(l.entries) != 1 || l.entries[0].repeats != 3 {
		t.Fatalf("%d entries, repeats %d; want one notice given 3 times", len(l.entries), l.entries[0].repeats)
	}
	if got := len(l.lines) - lines; got != l.entries[0].rows {
		t.Errorf("the notice added %d lines, its entry takes %d", got, l.entries[0].rows)
	}
	if rows := l.shown(); !strings.Contains(rows[9], "-!- try again (×3)") {
		t.Errorf("the last row is %q", rows[9])
	}
	l.notice("other", "something else")
	l.notice("k", "try again")
	if len(l.entries) != 3 || l.entries[2].repeats != 1 {
		t.Errorf("a notice after another counted on: %d entries, repeats %d", len(l.entries), l.entries[2].repeats)
	}
}

// resize re-wraps the log only when the wrap width changes; the lines fit
// it.
func TestLogRewrapsOnlyForANewWrapWidth(t *testing.T) {
	long := make([]chat.Message, 10)
	for i := range long {
		long[i] = chat.Message{ID: int64(i + 1), Time: base.Add(time.Duration(i) * time.Minute), Author: "bob", Kind: chat.KindText,
			Body: fmt.Sprintf("message %d, long enough to wrap at a narrow width more than once or twice", i)}
	}
	l := newTestLog(t, long, true)
	numbered := l.lastLineID
	l.resize(80, 60, 20) // taller and wider, the same wrap
	if l.lastLineID != numbered {
		t.Error("the log was re-wrapped though its wrap width stayed")
	}
	l.resize(30, 30, 20)
	if l.lastLineID == numbered {
		t.Fatal("the log was not re-wrapped at a new wrap width")
	}
	rows := 0
	for _, e := range l.entries {
		rows += e.rows
	}
	if len(l.lines) != rows+l.head {
		t.Errorf("%d lines for entries taking %d and %d marker lines", len(l.lines), rows, l.head)
	}
	for _, line := range l.lines {
		if line.width > 30 {
			t.Errorf("line %q is %d cells at a wrap of 30", ansi.Strip(line.text), line.width)
		}
	}
}

// A log opened after message 20 marks the first post by someone else
// after it, and scrolls back to it when the rest takes more than the view;
// a log with nothing unread after it marks nothing.
func TestLogOpensAtTheFirstUnreadPost(t *testing.T) {
	l := newTestLog(t, conversation(40), true) // alice wrote 1, 4, 7…
	l.open(60, 60, 10, 20, true)
	rows := l.shown()
	if !strings.Contains(rows[0], "— new since Thu 26 Nov 09:51 —") || !strings.Contains(rows[1], "bob: message number 21") {
		t.Errorf("want the line above message 21, at the top:\n%s", strings.Join(rows, "\n"))
	}
	if n, mention := l.unreadAfter(20); n != 13 || mention {
		t.Errorf("%d unread after 20 (mention %v), want 13 by bob and carol", n, mention)
	}
	l.open(60, 60, 10, 39, true) // only alice's own message 40 after 39
	if l.marking || strings.Contains(strings.Join(l.shown(), "\n"), "new since") || l.scroll != 0 {
		t.Errorf("nothing unread, yet marking %v, scroll %d:\n%s", l.marking, l.scroll, strings.Join(l.shown(), "\n"))
	}
	l.open(60, 60, 10, 36, true) // 37 and 40 alice's, 38 and 39 not: in view
	if rows := l.shown(); l.scroll != 0 || !strings.Contains(rows[6], "new since Thu 26 Nov 10:08") {
		t.Errorf("a few unread: scroll %d:\n%s", l.scroll, strings.Join(rows, "\n"))
	}
}

func TestEventsAreSentences(t *testing.T) {
	for _, tt := range []struct {
		msg  chat.Message
		want string
	}{
		{chat.Message{Author: "bob", Kind: chat.KindTopic, Body: "Go 1.26"}, "bob set the topic: Go 1.26"},
		{chat.Message{Author: "bob", Kind: chat.KindTopic}, "bob cleared the topic"},
		{chat.Message{Author: "bob", Kind: chat.KindAway, Body: "lunch"}, "bob is away: lunch"},
		{chat.Message{Author: "bob", Kind: chat.KindAway}, "bob is away"},
		{chat.Message{Author: "bob", Kind: chat.KindBack}, "bob is back"},
		{chat.Message{Author: "bob", Kind: chat.KindLeave, Body: "removed by carol", To: "bob"}, "← bob left (removed by carol)"},
	} {
		l := newTestLog(t, []chat.Message{tt.msg}, true)
		if rows := strings.Join(l.shown(), "\n"); !strings.Contains(rows, tt.want) {
			t.Errorf("%v shows as\n%s\nwant %q", tt.msg, rows, tt.want)
		}
	}
}
