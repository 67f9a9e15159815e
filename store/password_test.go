package store

import (
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestHashAndCheck(t *testing.T) {
	const password = "correct horse battery staple"
	encoded, err := HashPassword(password)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("HashPassword = %q, want today's argon2id parameters", encoded)
	}
	h, err := parsePHC(encoded)
	if err != nil {
		t.Fatalf("parsePHC(HashPassword) = %v", err)
	}
	if len(h.salt) != 16 || len(h.key) != 32 {
		t.Errorf("salt %d bytes, key %d bytes; want 16 and 32", len(h.salt), len(h.key))
	}
	if strings.Contains(encoded, password) {
		t.Error("the hash contains the password")
	}

	for _, tt := range []struct {
		password string
		want     bool
	}{
		{password, true},
		{"correct horse battery stapl", false},
		{"Correct horse battery staple", false},
	} {
		ok, err := CheckPassword(encoded, tt.password)
		if err != nil || ok != tt.want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v, nil", tt.password, ok, err, tt.want)
		}
	}

	again, err := HashPassword(password)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if again == encoded {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

// Hashes made with other parameters, older or newer, still verify.
func TestCheckOtherParameters(t *testing.T) {
	salt := []byte("saltsaltsalt")
	key := argon2.IDKey([]byte("pw"), salt, 1, 64, 2, 20)
	b64 := base64.RawStdEncoding
	encoded := "$argon2id$v=19$m=64,t=1,p=2$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	for _, tt := range []struct {
		password string
		want     bool
	}{{"pw", true}, {"pW", false}} {
		ok, err := CheckPassword(encoded, tt.password)
		if err != nil || ok != tt.want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v, nil", tt.password, ok, err, tt.want)
		}
	}
}

func TestCheckRefusesMalformed(t *testing.T) {
	const (
		salt = "c2FsdHNhbHRzYWx0c2FsdA"                             // 16 bytes
		key  = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"            // 29 bytes
		good = "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key // parses
	)
	if _, err := parsePHC(good); err != nil {
		t.Fatalf("parsePHC(good) = %v; the cases below would prove nothing", err)
	}
	long := strings.Repeat("A", 200)
	for _, encoded := range []string{
		"",
		"$",
		"password",
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$m=19456,t=2,p=1$" + salt + "$" + key,
		"argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt,
		"$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1,k=1$" + salt + "$" + key,
		"$argon2id$v=19$m=,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=0x10,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m= 19456,t=2,p=1$" + salt + "$" + key,
		// Absurd costs: a tampered row must not make a login allocate or spin.
		"$argon2id$v=19$m=1048577,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999999,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=17,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=17$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=8,t=2,p=2$" + salt + "$" + key, // below 8 KiB per lane
		// Salt and key lengths outside 8..128 bytes, and bad base64.
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$a2V5",
		"$argon2id$v=19$m=19456,t=2,p=1$$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
		"$argon2id$v=19$m=19456,t=2,p=1$" + long + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + long,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "!",
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:len(key)-1] + "V", // non-canonical
	} {
		ok, err := CheckPassword(encoded, "password")
		if err == nil || ok {
			t.Errorf("CheckPassword(%q) = %v, %v; want false and an error", encoded, ok, err)
			continue
		}
		if strings.Contains(err.Error(), salt) || strings.Contains(err.Error(), key) {
			t.Errorf("error %q reveals the stored hash", err)
		}
	}
}

// The stored hash is input too (a restored backup, a tampered file): the
// parser must never panic and never accept costs outside the bounds.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=64,t=1,p=2$c2FsdHNhbHQ$a2V5a2V5a2V5")
	f.Add("$argon2id$v=19$m=4294967295,t=2,p=1$$")
	f.Fuzz(func(t *testing.T, encoded string) {
		h, err := parsePHC(encoded)
		if err != nil {
			return
		}
		if h.memory > maxMemory || h.memory < 8*uint32(h.threads) || h.time < 1 || h.time > maxTime ||
			h.threads < 1 || h.threads > maxThreads {
			t.Errorf("accepted costs m=%d t=%d p=%d", h.memory, h.time, h.threads)
		}
		for _, b := range [][]byte{h.salt, h.key} {
			if len(b) < minBytes || len(b) > maxBytes {
				t.Errorf("accepted a %d-byte salt or key", len(b))
			}
		}
	})
}
