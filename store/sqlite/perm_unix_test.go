//go:build unix

package sqlite

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"messaging/store"
)

// The database holds password hashes: a new one, and the -wal and -shm files
// SQLite makes beside it, are readable by their owner only, under the usual
// umask 022 that would give 0644. Not parallel: the umask is process-wide.
func TestNewDatabaseIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	path := filepath.Join(t.TempDir(), "messaging.db")
	s := open(t, path)
	defer s.Close()
	// A write, so that the -wal file has something in it; checked while the
	// store is open, because closing the last connection removes both.
	if err := s.CreateAccount(t.Context(), store.Account{Name: "alice", PasswordHash: "h", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Errorf("stat: %v", err)
			continue
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want %v", filepath.Base(name), perm, fs.FileMode(0o600))
		}
	}
}

// Open does not change an existing file's permissions: the operator chose
// them (or will be warned about them).
func TestExistingDatabaseKeepsItsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "messaging.db")
	s := open(t, path)
	s.Close()
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o640 {
		t.Errorf("after Open the existing database has mode %v, want %v", perm, fs.FileMode(0o640))
	}
}
