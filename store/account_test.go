package store

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // a substring of the error; "" means valid
	}{
		{"al", ""},
		{"Alice", ""},
		{"bob42", ""},
		{"B0B", ""},
		{"a1234567890123456789", ""}, // 20
		{"signups", ""},
		{"admin2", ""},

		{"", "2 to 20 characters"},
		{"a", "2 to 20 characters"},
		{"a12345678901234567890", "2 to 20 characters"}, // 21
		{strings.Repeat("x", 1000), "2 to 20 characters"},

		{"1alice", "start with a letter"},
		{"42", "start with a letter"},

		{"Ålice", "only letters a-z and digits 0-9"},
		{"alicé", "only letters a-z and digits 0-9"},
		{"аlice", "only letters a-z and digits 0-9"}, // Cyrillic а
		{"al ice", "only letters a-z and digits 0-9"},
		{"al_ice", "only letters a-z and digits 0-9"},
		{"al-ice", "only letters a-z and digits 0-9"},
		{"al.ice", "only letters a-z and digits 0-9"},
		{"alice\n", "only letters a-z and digits 0-9"},
		{"al\x1b[31m", "only letters a-z and digits 0-9"},
		{"_alice", "only letters a-z and digits 0-9"},
		{"al\xffice", "only letters a-z and digits 0-9"},
		{"ａｌｉｃｅ", "only letters a-z and digits 0-9"}, // fullwidth

		{"signup", `"signup" is reserved`},
		{"SignUp", `"SignUp" is reserved`},
		{"ADMIN", "is reserved"},
		{"Root", "is reserved"},
		{"administrator", "is reserved"},
		{"System", "is reserved"},
		{"server", "is reserved"},
		{"Messaging", "is reserved"},
		{"moderator", "is reserved"},
		{"MOD", "is reserved"},
		{"operator", "is reserved"},
		{"sysop", "is reserved"},
		{"Guest", "is reserved"},
		{"anonymous", "is reserved"},
		{"nobody", "is reserved"},
		{"everyone", "is reserved"},
		{"HERE", "is reserved"},
		{"help", "is reserved"},
		{"Support", "is reserved"},
		{"adm1n", `"adm1n" looks like a reserved name`},
		{"ADRNIN", "looks like a reserved name"},
		{"R00T", "looks like a reserved name"},
		{"rnod", "looks like a reserved name"},
		{"he1p", "looks like a reserved name"},
		{"Sysop", "is reserved"},
		{"sy5op", ""}, // 5 is not folded
	}
	for _, tt := range tests {
		err := ValidateUsername(tt.name)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateUsername(%q) = %q, want nil", tt.name, err)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ValidateUsername(%q) = nil, want %q", tt.name, tt.wantErr)
		case err != nil && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("ValidateUsername(%q) = %q, want it to contain %q", tt.name, err, tt.wantErr)
		case err != nil:
			checkUserFacing(t, err)
		}
	}
}

func TestSkeleton(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"Iris", "lrls"},
		{"lris", "lrls"},
		{"1RIS", "lrls"},
		{"mallory", "mallory"},
		{"rnalIory", "mallory"},
		{"bob", "bob"},
		{"B0B", "bob"},
		{"walter", "walter"},
		{"vvalter", "walter"},
		{"VVALTER", "walter"},
		{"O0", "oo"},
		{"oo", "oo"},
		// Left to right, each match using up both its letters.
		{"rnn", "mn"},
		{"rnrn", "mm"},
		{"rrn", "rm"},
		{"vvv", "wv"},
		{"vvvv", "ww"},
		// w counts as vv, so equally wide runs of v and w agree.
		{"vw", "wv"},
		{"wv", "wv"},
		{"ww", "ww"},
		// Not folded.
		{"s5", "s5"},
		{"z2", "z2"},
		{"b86", "b86"},
		{"clnn", "clnn"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Skeleton(tt.name); got != tt.want {
			t.Errorf("Skeleton(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSkeletonTellsApart(t *testing.T) {
	for _, pair := range [][2]string{
		{"alice", "alicia"},
		{"bob", "rob"},
		{"bob", "b0bby"},
		{"mallory", "nallory"},
		{"walter", "valter"},
		{"sam", "5am"},
		{"zed", "2ed"},
		{"ben", "8en"},
		{"dara", "clara"},
		{"ama", "anna"},
		{"vvv", "vv"},
	} {
		if Skeleton(pair[0]) == Skeleton(pair[1]) {
			t.Errorf("Skeleton(%q) == Skeleton(%q) == %q, want them apart", pair[0], pair[1], Skeleton(pair[0]))
		}
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		password string
		wantErr  string
	}{
		{"12345678", ""},                               // min
		{"123456789012345", ""},                        // max
		{"correct horse b", ""},                        // spaces are fine
		{"        ", ""},                               // even only spaces (NIST: no composition rules)
		{"pässwörd", ""},                               // 8 runes, 10 bytes
		{"日本語のパスワード", ""},                              // 9 runes, 27 bytes
		{"🔑🔑🔑🔑🔑🔑🔑🔑", ""},                               // 8 runes, 32 bytes
		{"1234567", "must be 8 to 15 characters long"}, // min-1
		{"1234567890123456", "must be 8 to 15 characters long"},
		{"", "must be 8 to 15 characters long"},
		{"pässwö", "must be 8 to 15 characters long"}, // 8 bytes, 6 runes
		{"password\xff", "valid UTF-8"},
		{"pass\tword", "control characters"},
		{"password\n", "control characters"},
		{"pass\x00word", "control characters"},
		{"pass\x7fword", "control characters"},   // DEL
		{"pass\u0085word", "control characters"}, // C1 NEL
		{"\x1b[31mpassword", "control characters"},
	}
	for _, tt := range tests {
		err := ValidatePassword(tt.password, 8, 15)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidatePassword(%q) = %q, want nil", tt.password, err)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ValidatePassword(%q) = nil, want %q", tt.password, tt.wantErr)
		case err != nil && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("ValidatePassword(%q) = %q, want it to contain %q", tt.password, err, tt.wantErr)
		case err != nil:
			checkUserFacing(t, err)
			if tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Errorf("ValidatePassword error %q shows the password", err)
			}
		}
	}
}

// checkUserFacing checks that an error can be shown as-is at the prompt.
func checkUserFacing(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	for _, r := range msg {
		if r > unicode.MaxASCII || unicode.IsControl(r) {
			t.Errorf("error %q is not plain printable ASCII", msg)
			return
		}
	}
	if strings.HasSuffix(msg, ".") || len(msg) > 80 {
		t.Errorf("error %q is not a short sentence without a period", msg)
	}
}

var validUsername = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{1,19}$`)

func FuzzValidateUsername(f *testing.F) {
	for _, s := range []string{"alice", "Admin", "1x", "Ålice", "a b", "a1234567890123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateUsername(name)
		if err != nil {
			checkUserFacing(t, err)
			return
		}
		if !validUsername.MatchString(name) {
			t.Errorf("accepted %q, which is not ^[A-Za-z][A-Za-z0-9]{1,19}$", name)
		}
		if reserved[strings.ToLower(name)] {
			t.Errorf("accepted reserved name %q", name)
		}
		// Names equal but for case have one skeleton, so ErrNameTaken
		// implies ErrNameSimilar and a store can check both in one go.
		skeleton := Skeleton(name)
		if Skeleton(strings.ToUpper(name)) != skeleton || Skeleton(strings.ToLower(name)) != skeleton {
			t.Errorf("Skeleton(%q) = %q depends on letter case", name, skeleton)
		}
		if again := Skeleton(skeleton); again != skeleton {
			t.Errorf("Skeleton(%q) = %q, but Skeleton(%q) = %q", name, skeleton, skeleton, again)
		}
		if reservedSkeletons[skeleton] {
			t.Errorf("accepted %q, a look-alike of a reserved name", name)
		}
	})
}

func FuzzValidatePassword(f *testing.F) {
	f.Add("correct horse", 8, 64)
	f.Add("pässwörd", 8, 8)
	f.Add("pass\tword", 1, 100)
	f.Add("\xff\xfe", 0, 10)
	f.Fuzz(func(t *testing.T, password string, min, max int) {
		err := ValidatePassword(password, min, max)
		if err != nil {
			checkUserFacing(t, err)
			return
		}
		if !utf8.ValidString(password) {
			t.Errorf("accepted invalid UTF-8 %q", password)
		}
		if n := utf8.RuneCountInString(password); n < min || n > max {
			t.Errorf("accepted %q of %d characters, outside %d..%d", password, n, min, max)
		}
		if strings.ContainsFunc(password, unicode.IsControl) {
			t.Errorf("accepted %q with a control character", password)
		}
	})
}
