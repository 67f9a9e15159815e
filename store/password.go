package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Today's argon2id parameters, OWASP's first recommendation: 19 MiB, two
// passes, one lane. A hash costs tens of milliseconds and 19 MiB of memory,
// which is why the server bounds concurrent logins.
const (
	hashMemory  = 19 * 1024 // KiB
	hashTime    = 2
	hashThreads = 1
	saltLen     = 16
	keyLen      = 32
)

// Bounds on parameters read back from the database. Hashes made with other
// parameters still verify, but a tampered or corrupt row must not make a login
// allocate or spin without bound.
const (
	maxMemory  = 1 << 20 // KiB, 1 GiB
	maxTime    = 16
	maxThreads = 16
	minBytes   = 8 // salt and key length
	maxBytes   = 128
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
// Strict refuses non-canonical encodings, so each hash has one spelling.
var b64 = base64.RawStdEncoding.Strict()

// errMalformed deliberately says nothing about the string itself: it comes
// from the database and is a secret.
var errMalformed = errors.New("malformed argon2id hash")

// HashPassword returns password hashed with argon2id and a fresh random salt,
// in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// The string carries its own parameters, so they can be raised later without
// breaking existing accounts.
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, hashTime, hashMemory, hashThreads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, hashMemory, hashTime, hashThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches encoded, a PHC string made
// by HashPassword, perhaps with other parameters. A wrong password is false
// with a nil error; an error means encoded itself is unusable.
func CheckPassword(encoded, password string) (bool, error) {
	h, err := parsePHC(encoded)
	if err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	key := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// phc is a parsed argon2id PHC string.
type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parsePHC accepts exactly the form HashPassword writes, with any parameters
// within the bounds above.
func parsePHC(s string) (phc, error) {
	var h phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" ||
		parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, errMalformed
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, errMalformed
	}
	m, err := param(params[0], "m=", maxMemory)
	if err != nil {
		return h, err
	}
	t, err := param(params[1], "t=", maxTime)
	if err != nil {
		return h, err
	}
	p, err := param(params[2], "p=", maxThreads)
	if err != nil {
		return h, err
	}
	// RFC 9106: memory is at least 8 KiB per lane.
	if m < 8*p {
		return h, fmt.Errorf("argon2id memory %d KiB below 8 KiB per lane", m)
	}
	salt, err := decodeBytes(parts[4], "salt")
	if err != nil {
		return h, err
	}
	key, err := decodeBytes(parts[5], "key")
	if err != nil {
		return h, err
	}
	return phc{memory: m, time: t, threads: uint8(p), salt: salt, key: key}, nil
}

// param parses "name=N" with 1 <= N <= max, N in decimal digits (ParseUint
// takes no sign).
func param(s, name string, max uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, errMalformed
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, errMalformed
	}
	if n < 1 || n > uint64(max) {
		return 0, fmt.Errorf("argon2id parameter %s%d out of range 1..%d", name, n, max)
	}
	return uint32(n), nil
}

func decodeBytes(s, what string) ([]byte, error) {
	// Check the encoded length first so a huge field is never decoded.
	if len(s) > b64.EncodedLen(maxBytes) {
		return nil, fmt.Errorf("argon2id %s longer than %d bytes", what, maxBytes)
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, errMalformed
	}
	if len(b) < minBytes {
		return nil, fmt.Errorf("argon2id %s shorter than %d bytes", what, minBytes)
	}
	return b, nil
}
