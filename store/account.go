package store

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Username rules. Names are plain ASCII so that they look the same in every
// terminal, cannot impersonate each other with look-alike letters, and can be
// compared case-insensitively with strings.ToLower.
const (
	minUsername = 2
	maxUsername = 20
)

// reserved holds names, in lower case, that could be mistaken for the server
// or its staff, or that the SSH layer uses itself ("signup").
var reserved = map[string]bool{
	"signup": true, "root": true, "admin": true, "administrator": true,
	"system": true, "server": true, "messaging": true, "moderator": true,
	"mod": true, "operator": true, "sysop": true, "guest": true,
	"anonymous": true, "nobody": true, "everyone": true, "here": true,
	"help": true, "support": true,
}

// ValidateUsername reports whether name may be used for a new account. The
// error text is a sentence meant for the person at the signup prompt.
func ValidateUsername(name string) error {
	if n := utf8.RuneCountInString(name); n < minUsername || n > maxUsername {
		return fmt.Errorf("username must be %d to %d characters long", minUsername, maxUsername)
	}
	for i := range len(name) {
		if !isASCIILetter(name[i]) && !('0' <= name[i] && name[i] <= '9') {
			return errors.New("username may contain only letters a-z and digits 0-9")
		}
	}
	if !isASCIILetter(name[0]) {
		return errors.New("username must start with a letter")
	}
	if reserved[strings.ToLower(name)] {
		// Quoting is safe: name is ASCII letters and digits by now.
		return fmt.Errorf("%q is reserved; choose another username", name)
	}
	return nil
}

func isASCIILetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// ValidatePassword reports whether password may be set, its length counted in
// characters (runes), between min and max inclusive. Following NIST SP 800-63B
// any printable character is allowed, spaces included, so that passphrases
// work; only control characters are refused, because a terminal cannot type
// them reliably. The password is not Unicode-normalised, so it must be typed
// the same way each time (the standard library has no NFKC).
func ValidatePassword(password string, min, max int) error {
	if !utf8.ValidString(password) {
		return errors.New("password must be valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(password); n < min || n > max {
		return fmt.Errorf("password must be %d to %d characters long", min, max)
	}
	if strings.ContainsFunc(password, unicode.IsControl) {
		return errors.New("password must not contain control characters")
	}
	return nil
}
