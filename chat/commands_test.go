package chat

import (
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

func FuzzParseInput(f *testing.F) {
	for _, s := range []string{"", "hi", "/me waves", "//x", "/", "/ x", "/ME\tA", "\xff", "/\xff x", "//\u2028", " /who", "\u2028 //x", "\ufeff/who"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		in := ParseInput(typed)
		line := strings.TrimLeftFunc(typed, func(r rune) bool { return unicode.IsSpace(r) || dropped(r) }) // ignored
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
