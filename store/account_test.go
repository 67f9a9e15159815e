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
