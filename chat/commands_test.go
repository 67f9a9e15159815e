package chat

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestParseInput(t *testing.T) {
	tests := []struct {
		line string
		want Input
	}{
		{"hello", Input{Text: "hello"}},
		{"", Input{Text: ""}},
		{"/me waves", Input{Command: "me", Arg: "waves"}},
		{"/ME   waves hello  ", Input{Command: "me", Arg: "waves hello"}},
		{"/me\twaves", Input{Command: "me", Arg: "waves"}},
		{"/Who", Input{Command: "who"}},
		{"/quit now", Input{Command: "quit", Arg: "now"}},
		{"/nosuch x", Input{Command: "nosuch", Arg: "x"}},
		{"//me waves", Input{Text: "/me waves"}},
		{"//", Input{Text: "/"}},
		{"///", Input{Text: "//"}},
		{"/", Input{Text: "/"}},
		{"/ shrug", Input{Text: "/ shrug"}},
		{" /me", Input{Command: "me"}},
		{" \t /Who now", Input{Command: "who", Arg: "now"}},
		{"   //me", Input{Text: "/me"}},
		{"  hello ", Input{Text: "hello "}},
		{"   ", Input{Text: ""}},
		{"\ufeff/who", Input{Command: "who"}},
		{"\u2800/who", Input{Command: "who"}}, // a Braille blank is a blank
		{"\u3164\u00ad/who", Input{Command: "who"}},
		{"\u200b \x1b/me waves", Input{Command: "me", Arg: "waves"}},
		{"a/b", Input{Text: "a/b"}},
	}
	for _, tt := range tests {
		if got := ParseInput(tt.line); got != tt.want {
			t.Errorf("ParseInput(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestCommands(t *testing.T) {
	seen := make(map[string]bool)
	for _, c := range Commands() {
		if c.Name == "" || c.Name != strings.ToLower(c.Name) || strings.HasPrefix(c.Name, "/") || seen[c.Name] {
			t.Errorf("command name %q: want unique, lower case, no slash", c.Name)
		}
		seen[c.Name] = true
		if c.Help == "" || strings.Contains(c.Help, "\n") {
			t.Errorf("/%s: want one line of help, got %q", c.Name, c.Help)
		}
		if c.Run == nil {
			t.Errorf("/%s does nothing", c.Name)
		}
		if c.Args != strings.TrimSpace(c.Args) || strings.Contains(c.Args, "/") {
			t.Errorf("/%s: Args %q: want a word such as ACTION or [TEXT]", c.Name, c.Args)
		}
		if in := ParseInput("/" + strings.ToUpper(c.Name) + " x"); in.Command != c.Name || in.Arg != "x" {
			t.Errorf("ParseInput of /%s = %+v", strings.ToUpper(c.Name), in)
		}
	}
	for _, name := range []string{"help", "who", "me", "quit"} {
		if !seen[name] {
			t.Errorf("no /%s in Commands()", name)
		}
	}
	Commands()[0].Name = "changed"
	if Commands()[0].Name == "changed" {
		t.Error("Commands() shares its table with callers")
	}
}

// session is a Session that records what commands did, over a real
// member of a room.
type session struct {
	ctx         context.Context
	member      *Member
	current     Conversation
	list        []Conversation // as Show and Forget left it
	lastPrivate string

	notices []string
	posts   []string // "#lobby text: body", "@bob action: body"
	quit    bool
	kept    bool
	asked   []Question // what Ask was asked
	answers []string   // what Ask answers; nil: cancelled
}

// newSession joins a session of name to r (creating the account).
func newSession(t testing.TB, r *Room, name string) *session {
	return &session{ctx: testCtx(t), member: join(t, r, name), current: r.Lobby(), list: []Conversation{r.Lobby()}}
}

func (s *session) Notice(text string)       { s.notices = append(s.notices, text) }
func (s *session) Keys() []string           { return []string{"Keys:", "  Enter  send"} }
func (s *session) Quit()                    { s.quit = true }
func (s *session) Context() context.Context { return s.ctx }
func (s *session) Member() *Member          { return s.member }
func (s *session) Current() Conversation    { return s.current }
func (s *session) LastPrivate() string      { return s.lastPrivate }

// Ask answers with the session's prepared answers (nil: the user
// cancels), each checked as it is given; the first refused ends the
// questions, as when its re-asks run out.
func (s *session) Ask(questions []Question, answer func([]string)) {
	s.asked = append(s.asked, questions...)
	if s.answers == nil {
		return
	}
	for i, q := range questions {
		if q.Check == nil {
			continue
		}
		if problem := q.Check(s.answers[i]); problem != "" {
			s.Notice(problem)
			return
		}
	}
	answer(s.answers)
}

func (s *session) Show(c Conversation) {
	s.current = c
	if i := slices.IndexFunc(s.list, func(k Conversation) bool { return k.ID == c.ID }); i >= 0 {
		s.list[i] = c
		return
	}
	s.list = append(s.list, c)
}

func (s *session) Forget(id int64) {
	s.list = slices.DeleteFunc(s.list, func(k Conversation) bool { return k.ID == id })
	if s.current.ID == id {
		s.current = s.member.Room().Lobby()
	}
}

func (s *session) Post(c Conversation, kind Kind, body string) {
	s.posts = append(s.posts, c.Title(s.member.Name())+" "+map[Kind]string{KindText: "text", KindAction: "action"}[kind]+": "+body)
}

// reset forgets what the session recorded.
func (s *session) reset() {
	s.notices, s.posts, s.quit, s.kept, s.asked, s.answers = nil, nil, false, false, nil, nil
}
func (s *session) Keep() { s.kept = true }

// testSession is a session of alice in a room where b\x1b[31mob is online too.
func testSession(t *testing.T) *session {
	r := newTestRoom(t, &memHistory{}, RoomConfig{})
	s := newSession(t, r, "alice")
	join(t, r, "b\x1b[31mob")
	return s
}

func TestRun(t *testing.T) {
	tests := []struct {
		line    string
		ok      bool
		posts   string
		notices string // joined by "|"; checked as a prefix of each
		quit    bool
	}{
		{line: "hello", ok: true, posts: "#lobby text: hello"},
		{line: "  hello ", ok: true, posts: "#lobby text: hello "},
		{line: "//me waves", ok: true, posts: "#lobby text: /me waves"},
		{line: "   ", ok: true, posts: "#lobby text: "}, // Post refuses it
		{line: "/me waves", ok: true, posts: "#lobby action: waves"},
		{line: "/ME  waves ", ok: true, posts: "#lobby action: waves"},
		{line: "/me", notices: "Usage: /me ACTION (describe an action"},
		{line: " /me   ", notices: "Usage: /me ACTION"},
		{line: "/who", ok: true, notices: "2 online in #lobby: alice, b[31mob"},
		{line: "/who now", ok: true, notices: "2 online in #lobby: alice, b[31mob"},
		{line: "/quit", ok: true, quit: true},
		{line: "/foo bar", notices: "Unknown command /foo. Type /help"},
		{line: "/f\x1b[2Joo", notices: "Unknown command /f[2joo."},
	}
	s := testSession(t)
	for _, tt := range tests {
		s.reset()
		ok := Run(s, tt.line)
		notices := strings.Join(s.notices, "|")
		if ok != tt.ok || strings.Join(s.posts, "|") != tt.posts || !strings.HasPrefix(notices, tt.notices) ||
			(tt.notices == "") != (notices == "") || s.quit != tt.quit {
			t.Errorf("Run(%q) = %v, posts %q, notices %q, quit %v; want %v, %q, %q…, %v",
				tt.line, ok, s.posts, s.notices, s.quit, tt.ok, tt.posts, tt.notices, tt.quit)
		}
	}
}

// Enter again on a refused line refuses it again: it is never posted.
func TestARefusedLineIsRefusedAgain(t *testing.T) {
	s := testSession(t)
	for _, line := range []string{"/me", "/foo bar", "/nosuch x"} {
		s.reset()
		refused := ""
		for range 3 {
			line = AfterRefused(line, refused)
			if Run(s, line) {
				t.Errorf("%q was taken", line)
			}
			refused = line
		}
		if len(s.posts) > 0 || len(s.notices) != 3 {
			t.Errorf("%q three times: posts %q, notices %q", line, s.posts, s.notices)
		}
	}
}

func TestAfterRefused(t *testing.T) {
	tests := []struct{ line, refused, want string }{
		{"/me waves", "/me", "/me waves"},         // fixed
		{"/me", "/me", "/me"},                     // the same: refused again
		{"/me /who", "/me", "/who"},               // a new command typed after it
		{"/me/who", "/me", "/who"},                // the same without a blank
		{"/me //who", "/me", "/me //who"},         // "//" is text: an action
		{"/foo bar /who x", "/foo bar", "/who x"}, // the new command keeps its argument
		{"/fo bar /who", "/foo bar", "/fo bar /who"},
		{" /who", "/me", " /who"},         // edited: no longer begins with it
		{"/who", "", "/who"},              // nothing refused
		{"/me /nosuch", "/me", "/nosuch"}, // refused in turn, it is what is kept
	}
	for _, tt := range tests {
		if got := AfterRefused(tt.line, tt.refused); got != tt.want {
			t.Errorf("AfterRefused(%q, %q) = %q, want %q", tt.line, tt.refused, got, tt.want)
		}
	}
}

// /help lists exactly the table, in its order, then the session's keys.
func TestHelpListsExactlyTheTable(t *testing.T) {
	s := testSession(t)
	if !Run(s, "/help") {
		t.Fatal("/help refused")
	}
	want := []string{"Commands:"}
	for _, c := range Commands() {
		want = append(want, c.HelpLine())
	}
	want = append(want, s.Keys()...)
	if !slices.Equal(s.notices, want) {
		t.Errorf("/help shows\n%s\nwant\n%s", strings.Join(s.notices, "\n"), strings.Join(want, "\n"))
	}
	if got := Commands()[2].HelpLine(); got != "  /me ACTION    describe an action: /me waves" {
		t.Errorf("/me's help line is %q", got)
	}
}

func FuzzParseInput(f *testing.F) {
	for _, s := range []string{"", "hi", "/me waves", "//x", "/", "/ x", "/ME\tA", "\xff", "/\xff x", "//\u2028", " /who", "\u2028 //x", "\ufeff/who", "\u2800", "\u2800/who"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		in := ParseInput(typed)
		line := strings.TrimLeftFunc(typed, func(r rune) bool { return unicode.IsSpace(r) || r == '\u2800' || dropped(r) }) // ignored
		switch {
		case in.Command != "":
			if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
				t.Fatalf("%q parsed as command %q", line, in.Command)
			}
			if in.Text != "" || in.Command != strings.ToLower(in.Command) ||
				strings.IndexFunc(in.Command, unicode.IsSpace) >= 0 || in.Arg != strings.TrimSpace(in.Arg) {
				t.Fatalf("ParseInput(%q) = %+v", line, in)
			}
		case strings.HasPrefix(line, "//"):
			if in.Text != line[1:] || in.Arg != "" {
				t.Fatalf("ParseInput(%q) = %+v, want text %q", line, in, line[1:])
			}
		default:
			if in.Text != line || in.Arg != "" {
				t.Fatalf("ParseInput(%q) = %+v, want the line as text", line, in)
			}
		}
	})
}

// Every command of the table runs through Run with a session of the two
// user interfaces: its usage error, its refusals and what it does. The
// steps run in order in one room; each names the session that types it.
func TestEveryCommand(t *testing.T) {
	r := newTestRoom(t, &memHistory{}, RoomConfig{Accounts: &memAccounts{password: "old password"}}, "carol")
	sessions := map[string]*session{"alice": newSession(t, r, "alice"), "bob": newSession(t, r, "bob")}
	answer := func(answers ...string) func(*session) { return func(s *session) { s.answers = answers } }
	type step struct {
		who, line string
		refused   bool     // Run returns false
		kept      bool     // the command asks the user interface to keep the line
		notices   []string // each a prefix of the notice given, in order, all of them
		atLeast   bool     // more notices may follow those
		posts     []string
		current   string // the title of the current conversation after it ("": #lobby)
		quit      bool
		before    func(s *session)
	}
	steps := []step{
		{who: "alice", line: "/help", notices: []string{"Commands:", "  /help"}, atLeast: true},
		{who: "alice", line: "/who", notices: []string{"2 online in #lobby: alice, bob"}},
		{who: "alice", line: "/me", refused: true, notices: []string{"Usage: /me ACTION (describe an action: /me waves)"}},
		{who: "alice", line: "/me waves", posts: []string{"#lobby action: waves"}},
		{who: "alice", line: "/join", refused: true, notices: []string{"Usage: /join #CHANNEL (join a channel, or create it)"}},
		{who: "alice", line: "/join #a", notices: []string{"A channel name is # and 2 to 30 letters, digits, - or _."}},
		{who: "alice", line: "/join #dev", notices: []string{"You are in #dev"}, current: "#dev"},
		{who: "alice", line: "/join #bad name", notices: []string{"A channel name is # and 2 to 30 letters, digits, - or _; ' ' is not allowed."}, current: "#dev", kept: true},
		{who: "bob", line: "/join #DEV", notices: []string{"You are in #dev"}, current: "#dev"},
		{who: "alice", line: "/who", notices: []string{"2 online in #dev: alice, bob"}, current: "#dev"},
		{who: "alice", line: "/topic", notices: []string{"#dev has no topic."}, current: "#dev"},
		{who: "bob", line: "/topic mine now", notices: []string{"Only #dev's owner, alice, changes the topic there."}, current: "#dev"},
		{who: "alice", line: "/topic Go things", current: "#dev"},
		{who: "alice", line: "/topic", notices: []string{"#dev's topic: Go things"}, current: "#dev"},
		{who: "bob", line: "/private", notices: []string{"Only #dev's owner, alice, changes who may join there."}, current: "#dev"},
		{who: "alice", line: "/private", current: "#dev"},
		{who: "bob", line: "/list", notices: []string{"2 channels (/join #NAME to join one):", "  #dev", "  #lobby"}, current: "#dev"},
		{who: "bob", line: "/part", notices: []string{"You left #dev."}},
		{who: "bob", line: "/join #dev", notices: []string{"Cannot join #dev: that name is not available."}},
		{who: "alice", line: "/invite", refused: true, notices: []string{"Usage: /invite NAME ((owner) let NAME join this channel)"}, current: "#dev"},
		{who: "alice", line: "/invite nobody", notices: []string{"Nobody is called nobody."}, current: "#dev"},
		{who: "alice", line: "/invite alice", notices: []string{"That is you: you own #dev."}, current: "#dev", kept: true},
		{who: "alice", line: "/uninvite carol", notices: []string{"carol is neither invited to #dev nor in it."}, current: "#dev", kept: true},
		{who: "alice", line: "/invite carol please", notices: []string{"Nobody is called carol please."}, current: "#dev", kept: true},
		{who: "bob", line: "/invite carol", notices: []string{"#lobby is everyone's: nobody changes invitations there."}},
		{who: "alice", line: "/invite bob", current: "#dev"},
		{who: "bob", line: "/join #dev", notices: []string{"You are in #dev: Go things"}, current: "#dev"},
		{who: "alice", line: "/invite BOB", notices: []string{"bob is in #dev already."}, current: "#dev", kept: true},
		{who: "alice", line: "/uninvite", refused: true, notices: []string{"Usage: /uninvite NAME"}, current: "#dev"},
		{who: "alice", line: "/uninvite alice", notices: []string{"You own #dev: use /part to leave it."}, current: "#dev"},
		{who: "alice", line: "/uninvite bob", notices: []string{"bob may no longer join #dev."}, current: "#dev"},
		{who: "bob", line: "/part", notices: []string{"Cannot leave #dev: no such conversation."}, current: "#dev"},
		{who: "bob", line: "hello?", posts: []string{"#dev text: hello?"}, current: "#dev"}, // the session's Post refuses it
		{who: "alice", line: "/public", current: "#dev"},
		{who: "alice", line: "/uninvite bob", notices: []string{"#dev is public: anyone may join it."}, current: "#dev"},
		{who: "alice", line: "/part #nosuch", notices: []string{"You are not in #nosuch."}, current: "#dev"},
		{who: "alice", line: "/part #a", notices: []string{"No channel #a: a channel name is"}, current: "#dev"},
		{who: "alice", line: "/part #dev", notices: []string{"You left #dev."}},
		{who: "alice", line: "/part", notices: []string{"You cannot leave #lobby: it is where everyone is."}},
		{who: "alice", line: "/private", notices: []string{"#lobby is everyone's: nobody changes who may join there."}},
		{who: "alice", line: "/msg", refused: true, notices: []string{"Usage: /msg NAME [TEXT] (write to NAME privately"}},
		{who: "alice", line: "/msg alice hi", notices: []string{"That is you: write to someone else."}},
		{who: "alice", line: "/msg nobody hi", notices: []string{"Nobody is called nobody."}},
		{who: "alice", line: "/msg carol hello", notices: []string{"carol is offline: they will see your messages when they next log in."},
			posts: []string{"@carol text: hello"}, current: "@carol"},
		{who: "alice", line: "/topic", notices: []string{"A direct conversation has no topic."}, current: "@carol"},
		{who: "alice", line: "/topic x", notices: []string{"A direct conversation is between its two people: only a channel's owner changes the topic."}, current: "@carol"},
		{who: "alice", line: "/msg @bob", current: "@bob"},
		{who: "bob", line: "/away", notices: []string{"You are away. /back or any message brings you back."}, current: "#dev"},
		{who: "bob", line: "/away lunch\x1b[2J", notices: []string{"You are away: lunch[2J. /back"}, current: "#dev"},
		{who: "alice", line: "/msg bob are you there", notices: []string{"bob is away: lunch[2J."},
			posts: []string{"@bob text: are you there"}, current: "@bob"},
		{who: "alice", line: "/who", notices: []string{"2 online in @bob: alice, bob (away: lunch[2J)"}, current: "@bob"},
		{who: "bob", line: "/back", notices: []string{"You are back."}, current: "#dev"},
		{who: "alice", line: "/reply", refused: true, notices: []string{"Usage: /reply TEXT (answer whoever wrote to you privately last)"}, current: "@bob"},
		{who: "alice", line: "/reply hi", notices: []string{"Nobody has written to you privately yet: use /msg NAME TEXT."}, current: "@bob"},
		{who: "bob", line: "/reply hi", posts: []string{"@alice text: hi"}, current: "@alice",
			before: func(s *session) { s.lastPrivate = "alice" }},
		{who: "alice", line: "/whois", refused: true, notices: []string{"Usage: /whois NAME"}, current: "@bob"},
		{who: "alice", line: "/whois nobody", notices: []string{"Nobody is called nobody."}, current: "@bob"},
		{who: "alice", line: "/whois @BOB", notices: []string{"bob: signed up ", "  online since ", "  channels in common: #lobby"}, current: "@bob"},
		{who: "alice", line: "/whois carol", notices: []string{"carol: signed up ", "  offline"}, current: "@bob"},
		{who: "alice", line: "/ignore", notices: []string{"You ignore nobody. /ignore NAME hides NAME's messages from you."}, current: "@bob"},
		{who: "alice", line: "/ignore alice", notices: []string{"You cannot ignore yourself."}, current: "@bob"},
		{who: "alice", line: "/ignore nobody", notices: []string{"Nobody is called nobody."}, current: "@bob"},
		{who: "alice", line: "/ignore BOB", notices: []string{"You ignore bob: their messages are hidden from you, not from others. /unignore bob to undo."}, current: "@bob"},
		{who: "alice", line: "/ignore bob", notices: []string{"You ignore bob already."}, current: "@bob", kept: true},
		{who: "alice", line: "/ignore", notices: []string{"You ignore: bob. /unignore NAME shows them again."}, current: "@bob"},
		{who: "alice", line: "/unignore", refused: true, notices: []string{"Usage: /unignore NAME"}, current: "@bob"},
		{who: "alice", line: "/unignore nobody", notices: []string{"Nobody is called nobody."}, current: "@bob"},
		{who: "alice", line: "/unignore bob", notices: []string{"You see bob's messages again."}, current: "@bob"},
		{who: "alice", line: "/unignore bob", notices: []string{"You do not ignore bob."}, current: "@bob", kept: true},
		{who: "alice", line: "/key", notices: []string{"You have no keys. /key add followed by"}, current: "@bob"},
		{who: "alice", line: "/key add", notices: []string{"Usage: /key add KEY"}, current: "@bob", kept: true},
		{who: "alice", line: "/key add ssh-ed25519 AAAAC3 laptop", notices: []string{"Key added: ssh-ed25519 SHA256:AAAAC3 laptop."}, current: "@bob"},
		{who: "alice", line: "/key add ssh-ed25519 AAAAC3 again", notices: []string{"That key is registered already."}, current: "@bob", kept: true},
		{who: "alice", line: "/key add broken", notices: []string{"Cannot add the key now: the server had a problem. Try again in a moment."}, current: "@bob", kept: true},
		{who: "alice", line: "/key LIST", notices: []string{"Your keys (1):", "  1. ssh-ed25519 SHA256:AAAAC3 laptop, added ", "/key remove N removes one."}, current: "@bob"},
		{who: "alice", line: "/key remove", notices: []string{"Usage: /key remove FINGERPRINT|N"}, current: "@bob", kept: true},
		{who: "alice", line: "/key remove 2", notices: []string{"You have no key 2."}, current: "@bob", kept: true},
		{who: "alice", line: "/key remove 1", notices: []string{"Key removed: ssh-ed25519 SHA256:AAAAC3 laptop."}, current: "@bob"},
		{who: "alice", line: "/key frob", notices: []string{"Usage: /key [list] | /key add KEY | /key remove FINGERPRINT|N"}, current: "@bob", kept: true},
		{who: "alice", line: "/passwd", current: "@bob"}, // cancelled: nothing said by the command
		{who: "alice", line: "/passwd", notices: []string{"The password is wrong."}, current: "@bob",
			before: answer("wrong", "new password", "new password")},
		{who: "alice", line: "/passwd", notices: []string{"Password must be 8 to 15 characters long."}, current: "@bob",
			before: answer("old password", "short", "short")},
		{who: "alice", line: "/passwd", notices: []string{"That is not the new password typed before."}, current: "@bob",
			before: answer("old password", "new password", "new pasword")},
		{who: "alice", line: "/passwd old new new", notices: []string{"/passwd takes nothing after it"}, current: "@bob"},
		{who: "alice", line: "/passwd", notices: []string{"Password changed."}, current: "@bob",
			before: answer("old password", "new password", "new password")},
		{who: "alice", line: "/account", notices: []string{"Account alice: signed up ", "Last logins (scripts count too):", "  1. "}, current: "@bob"},
		{who: "alice", line: "/account frob", notices: []string{"Usage: /account shows your account; /account delete deletes it."}, current: "@bob", kept: true},
		{who: "alice", line: "/account delete", notices: []string{"Deleting your account removes it", "The name typed is not alice: your account is not deleted."}, current: "@bob",
			before: answer("new password", "bob")},
		{who: "alice", line: "/account delete", notices: []string{"Deleting your account removes it", "The password is wrong."}, current: "@bob",
			before: answer("old password", "Alice")},
		{who: "alice", line: "/nosuch", refused: true, notices: []string{"Unknown command /nosuch."}, current: "@bob"},
		{who: "alice", line: "/quit now", quit: true, current: "@bob"},
	}
	typed := make(map[string]bool)
	for i, st := range steps {
		s := sessions[st.who]
		s.reset()
		if st.before != nil {
			st.before(s)
		}
		in := ParseInput(st.line)
		typed[in.Command] = true
		ok := Run(s, st.line)
		where := fmt.Sprintf("step %d: %s types %q", i, st.who, st.line)
		if ok == st.refused {
			t.Errorf("%s: Run = %v, want %v", where, ok, !st.refused)
		}
		if len(s.notices) < len(st.notices) || (!st.atLeast && len(s.notices) != len(st.notices)) {
			t.Errorf("%s: notices %q, want %q", where, s.notices, st.notices)
		} else {
			for j, want := range st.notices {
				if !strings.HasPrefix(s.notices[j], want) {
					t.Errorf("%s: notice %q, want %q…", where, s.notices[j], want)
				}
			}
		}
		if !slices.Equal(s.posts, st.posts) {
			t.Errorf("%s: posts %q, want %q", where, s.posts, st.posts)
		}
		if got, want := s.current.Title(st.who), cmp.Or(st.current, Lobby); got != want {
			t.Errorf("%s: current %s, want %s", where, got, want)
		}
		if s.quit != st.quit {
			t.Errorf("%s: quit %v, want %v", where, s.quit, st.quit)
		}
		if st.kept && !s.kept {
			t.Errorf("%s: the line is not kept", where)
		}
		if !st.refused && len(st.notices) == 0 && s.kept {
			t.Errorf("%s: a command that did what it was asked keeps the line", where)
		}
	}
	for _, c := range Commands() {
		if !typed[c.Name] && !slices.Contains(moderationCommands, c.Name) { // TestModerationCommands
			t.Errorf("/%s is not tested here", c.Name)
		}
	}
}

// A command refused for the room's own reasons says so in words: the
// flood limit, and a room shut down.
func TestCommandsRefusedByTheRoom(t *testing.T) {
	h := &memHistory{}
	r := newTestRoom(t, h, RoomConfig{MsgBurst: 2, MsgPerSec: 0.001, ChannelsPerAccount: 2})
	s := newSession(t, r, "alice") // its join notice costs one message
	steps := []struct{ line, notice string }{
		{"/join #one", "You are in #one"},
		{"/join #two", "You are in 2 channels, the most one account may be in: /part one first."},
		{"/topic news", "Cannot set the topic now: slow down: you can send again in "},
	}
	for _, st := range steps {
		s.reset()
		Run(s, st.line)
		if len(s.notices) != 1 || !strings.HasPrefix(s.notices[0], st.notice) {
			t.Errorf("%q: notices %q, want %q…", st.line, s.notices, st.notice)
		}
	}
	r.Close()
	s.reset()
	Run(s, "/join #three")
	if want := "Cannot join #three: the server is shutting down."; !slices.Equal(s.notices, []string{want}) {
		t.Errorf("/join after Close: notices %q, want %q", s.notices, want)
	}
}
