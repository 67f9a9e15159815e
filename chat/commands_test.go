package chat

import (
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

// session is a Session that records what commands did.
type session struct {
	notices []string
	posts   []string // "text: body" or "action: body"
	quit    bool
}

func (s *session) Notice(text string) { s.notices = append(s.notices, text) }
func (s *session) Post(kind Kind, body string) {
	s.posts = append(s.posts, map[Kind]string{KindText: "text", KindAction: "action"}[kind]+": "+body)
}
func (s *session) Online() []string { return []string{"alice", "b\x1b[31mob"} }
func (s *session) Keys() []string   { return []string{"Keys:", "  Enter  send"} }
func (s *session) Quit()            { s.quit = true }

func TestRun(t *testing.T) {
	tests := []struct {
		line    string
		ok      bool
		posts   string
		notices string // joined by "|"; checked as a prefix of each
		quit    bool
	}{
		{line: "hello", ok: true, posts: "text: hello"},
		{line: "  hello ", ok: true, posts: "text: hello "},
		{line: "//me waves", ok: true, posts: "text: /me waves"},
		{line: "   ", ok: true, posts: "text: "}, // Post refuses it
		{line: "/me waves", ok: true, posts: "action: waves"},
		{line: "/ME  waves ", ok: true, posts: "action: waves"},
		{line: "/me", notices: "Usage: /me ACTION (describe an action"},
		{line: " /me   ", notices: "Usage: /me ACTION"},
		{line: "/who", ok: true, notices: "2 online: alice, b[31mob"},
		{line: "/who now", ok: true, notices: "2 online: alice, b[31mob"},
		{line: "/quit", ok: true, quit: true},
		{line: "/foo bar", notices: "Unknown command /foo. Type /help"},
		{line: "/f\x1b[2Joo", notices: "Unknown command /f[2joo."},
	}
	for _, tt := range tests {
		s := &session{}
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
	for _, line := range []string{"/me", "/foo bar", "/nosuch x"} {
		s := &session{}
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
	s := &session{}
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
