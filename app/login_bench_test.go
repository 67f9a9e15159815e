package app

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"messaging/store"
	"messaging/store/sqlite"
)

// loginRounds is how many logins of each method BenchmarkLogin measures.
const loginRounds = 100

// BenchmarkLogin measures the server's CPU per login, by key and by
// password, as a separate process (so the clients' CPU is not counted):
// each login is a new connection, the SSH handshake, the authentication,
// and the close; one at a time. Run it with
//
//	go test -run '^$' -bench Login -benchtime 1x ./app/
//
// It reports server-cpu-ms/key-login and server-cpu-ms/password-login. A
// key login verifies one signature; a password login hashes with argon2id
// (19 MiB, 2 passes).
func BenchmarkLogin(b *testing.B) {
	if raceEnabled {
		b.Skip("the login benchmark measures the server, not the race detector")
	}
	bin := buildServer(b)
	dir := b.TempDir()
	signer, _ := newKey(b, "ed25519", 0, "")
	prepareAccount(b, filepath.Join(dir, "messaging.db"), "alice", "password1", signer.PublicKey())
	srv := startServerProcess(b, bin, dir)
	pid := srv.cmd.Process.Pid

	login := func(auth gossh.AuthMethod) {
		c, err := srv.dial("alice", auth)
		if err != nil {
			b.Fatalf("login: %v", err)
		}
		c.Close()
	}
	// One of each first: the server's first hash and first key lookup
	// pay for warming up.
	login(gossh.PublicKeys(signer))
	login(gossh.Password("password1"))

	b.ResetTimer()
	for range b.N {
		keyCPU, keyWall := cpuDuring(b, pid, func() {
			for range loginRounds {
				login(gossh.PublicKeys(signer))
			}
		})
		passwordCPU, passwordWall := cpuDuring(b, pid, func() {
			for range loginRounds {
				login(gossh.Password("password1"))
			}
		})
		perLogin := func(d time.Duration) float64 { return d.Seconds() * 1000 / loginRounds }
		b.ReportMetric(perLogin(keyCPU), "server-cpu-ms/key-login")
		b.ReportMetric(perLogin(passwordCPU), "server-cpu-ms/password-login")
		b.ReportMetric(perLogin(keyWall), "wall-ms/key-login")
		b.ReportMetric(perLogin(passwordWall), "wall-ms/password-login")
		b.Logf("%d logins each, one at a time: key %.2f ms of server CPU (%.2f ms wall), password %.2f ms (%.2f ms wall): %.0f×",
			loginRounds, perLogin(keyCPU), perLogin(keyWall), perLogin(passwordCPU), perLogin(passwordWall),
			float64(passwordCPU)/float64(max(keyCPU, 1)))
	}
}

// prepareAccount creates the database at path with one account and its
// key, before the server opens it.
func prepareAccount(tb testing.TB, path, name, password string, key gossh.PublicKey) {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	hash, err := store.HashPassword(password)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.CreateAccount(ctx, store.Account{Name: name, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		tb.Fatal(err)
	}
	k := store.Key{Fingerprint: gossh.FingerprintSHA256(key), Account: name, Type: key.Type(), Data: key.Marshal(), Added: time.Now()}
	if err := st.AddKey(ctx, k, 0); err != nil {
		tb.Fatal(fmt.Errorf("add key: %w", err))
	}
}
