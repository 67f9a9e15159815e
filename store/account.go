package store

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Username rules. Names are plain ASCII so that they look the same in every
// terminal, cannot impersonate each other with letters from other scripts, and
// can be compared case-insensitively with strings.ToLower. Look-alikes within
// ASCII ("lris" for "Iris") are caught by Skeleton.
const (
	minUsername = 2
	maxUsername = 20
)

// reserved holds names, in lower case, that could be mistaken for the server
// or its staff, or that the SSH layer uses itself ("signup"). Their look-alikes
// are refused too (reservedSkeletons).
var reserved = map[string]bool{
	"signup": true, "root": true, "admin": true, "administrator": true,
	"system": true, "server": true, "messaging": true, "moderator": true,
	"mod": true, "operator": true, "sysop": true, "guest": true,
	"anonymous": true, "nobody": true, "everyone": true, "here": true,
	"help": true, "support": true,
}

// reservedSkeletons holds the Skeleton of every reserved name, so that
// "adm1n" and "r00t" are refused like "admin" and "root".
var reservedSkeletons = func() map[string]bool {
	m := make(map[string]bool, len(reserved))
	for name := range reserved {
		m[Skeleton(name)] = true
	}
	return m
}()

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
	if reservedSkeletons[Skeleton(name)] {
		return fmt.Errorf("%q looks like a reserved name; choose another username", name)
	}
	return nil
}

// Skeleton returns the form of name that look-alike names share: two names
// with the same skeleton are too similar to both be accounts
// (ErrNameSimilar). The rule, in order:
//
//  1. Lower-case the name (so I is i).
//  2. Replace each character on its own: i and 1 become l, 0 becomes o,
//     and w becomes vv.
//  3. Scanning left to right, replace rn with m and vv with w. A match uses
//     up both its letters and the scan goes on after them, so rnn becomes mn
//     and vvv becomes wv.
//
// So Iris, lris and 1ris share the skeleton "lrls"; mallory and rnalIory
// share "mallory"; bob and B0B share "bob"; walter and vvalter share
// "walter". Step 2's w -> vv makes a run of v and w letters count only its
// v strokes, w counting two, so vvv, vw and wv all become wv; rn needs no
// such step because it cannot overlap itself.
//
// Nothing else is folded: not 5/s, 2/z, 8/b, 6/b, cl/d nor nn/m. Names are
// shown in monospace terminal fonts, where those are told apart more easily
// than I and l or 0 and O, and each extra pair would refuse honest names
// ("clara" next to "dara", "anna" next to "ama") for little gain. The rule is
// meant for valid usernames (ASCII); other characters pass through after
// strings.ToLower.
//
// Stores keep the skeleton beside each account: a change to this rule needs
// a migration that recomputes it.
func Skeleton(name string) string {
	return contractLookAlikes.Replace(expandLookAlikes.Replace(strings.ToLower(name)))
}

// Skeleton's steps 2 and 3. A strings.Replacer works left to right and never
// rescans what it wrote, which is exactly the rule.
var (
	expandLookAlikes   = strings.NewReplacer("i", "l", "1", "l", "0", "o", "w", "vv")
	contractLookAlikes = strings.NewReplacer("rn", "m", "vv", "w")
)

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
