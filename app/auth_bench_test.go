package app

import (
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// BenchmarkFailedLogin compares a wrong password for a real account with an
// unknown user over real SSH: the two should cost about the same, so timing
// does not tell an attacker which names exist.
func BenchmarkFailedLogin(b *testing.B) {
	ts := startServer(b, testConfig(b))
	c, _, err := ts.dialKeyboard("signup", []string{"alice", "password1", "password1"})
	if err != nil {
		b.Fatal(err)
	}
	c.Close()
	for _, user := range []string{"alice", "mallory"} {
		b.Run(user, func(b *testing.B) {
			for b.Loop() {
				if _, err := ts.dial(user, gossh.Password("wrong-password")); err == nil {
					b.Fatal("logged in")
				}
			}
		})
	}
}
